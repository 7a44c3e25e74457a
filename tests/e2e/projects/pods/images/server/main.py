import socket
import threading

from autonomy import Node


def serve():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 7001))  # localhost only: reachable from this pod alone
    s.listen()
    while True:
        conn, _ = s.accept()
        conn.sendall(b"hello from the server")
        conn.close()


threading.Thread(target=serve, daemon=True).start()
Node.start()
