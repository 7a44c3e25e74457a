"""A TCP relay: ``python3 -m autonomy.clusters.relay <host> <port>``.

What ``autonomy zone inlet`` runs in a small container on a zone's network: it accepts
connections on :data:`LISTEN_PORT` (published on 127.0.0.1 of the host only) and pipes
each one to ``<host>:<port>`` inside the zone, both ways, until either side closes. It
prints :data:`READY` once it accepts connections. Standard library only.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading

__all__ = ["LISTEN_PORT", "READY", "main"]

#: the port the relay listens on inside its container
LISTEN_PORT = 7999
#: printed (flushed) once connections are accepted
READY = "relay ready"


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _serve(client: socket.socket, host: str, port: int) -> None:
    try:
        upstream = socket.create_connection((host, port), timeout=10)
    except OSError as e:
        print(f"cannot reach {host}:{port}: {e}", flush=True)
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    back.start()
    _pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    host, port = args[0], int(args[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", LISTEN_PORT))
    server.listen(128)
    print(READY, flush=True)
    while True:
        client, _ = server.accept()
        threading.Thread(target=_serve, args=(client, host, port), daemon=True).start()


if __name__ == "__main__":
    main()
