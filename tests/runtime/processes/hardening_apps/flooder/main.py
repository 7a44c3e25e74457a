"""A raw ZeroMQ client that floods a node's echo worker and never reads a reply.

Run as a plain process (not a node): ``FLOOD_ENDPOINT``, ``FLOOD_SERVER_KEY`` and
``FLOOD_KEY_FILE`` (a roster member's key file) say where and who. Prints how many
requests it has handed to ZeroMQ every 10,000, until killed.
"""

import json
import os
import struct
import time

import zmq

header = struct.Struct(">BBQB")
key = json.load(open(os.environ["FLOOD_KEY_FILE"]))
sock = zmq.Context().socket(zmq.DEALER)
sock.linger = 0
sock.rcvhwm = 1  # replies pile up on the node's side: this client never reads them
sock.curve_serverkey = os.environ["FLOOD_SERVER_KEY"].encode()
sock.curve_publickey = key["public_key"].encode()
sock.curve_secretkey = key["secret_key"].encode()
sock.connect(os.environ["FLOOD_ENDPOINT"])
payload = b"f" * 100
print("flooding", flush=True)
started = time.monotonic()
for corr in range(1, 10**9):
    sock.send(header.pack(1, 1, corr, 4) + b"echo" + payload)
    if corr % 10_000 == 0:
        print(f"FLOOD sent={corr} after {time.monotonic() - started:.1f} s", flush=True)
