"""Host ports: a port is taken only while something listens on it."""

from __future__ import annotations

import socket

from autonomy_cli.docker.ports import port_free


def _listener() -> socket.socket:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def test_a_listening_port_is_taken():
    server = _listener()
    try:
        assert not port_free(server.getsockname()[1])
    finally:
        server.close()


def test_a_port_whose_server_went_is_free_despite_time_wait():
    # a server that closed its end first leaves the connection in TIME_WAIT on its port,
    # as a zone deleted just after a request does; the next zone may publish that port
    server = _listener()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()
    server.close()
    client.recv(1)  # the server's FIN has arrived
    client.close()
    with socket.socket() as plain:  # what the check did before: TIME_WAIT held the port
        try:
            plain.bind(("127.0.0.1", port))
            time_wait_blocks = False
        except OSError:
            time_wait_blocks = True
    assert time_wait_blocks, "the connection left no TIME_WAIT on the port; the test shows nothing"
    assert port_free(port)
