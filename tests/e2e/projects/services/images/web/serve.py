"""A plain HTTP server (no node): answers every GET with its name.

``python serve.py <host> <port> <name>``; ``--sneaky`` starts the runtime's node under
another name, which the CLI cannot see, so the container is deployed as a service.
"""

import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

if sys.argv[1:] == ["--sneaky"]:
    from autonomy import Node as Hidden

    Hidden.start()
    sys.exit(0)

host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from {name}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


print(f"{name} serving on {host}:{port}", flush=True)
HTTPServer((host, port), Hello).serve_forever()
