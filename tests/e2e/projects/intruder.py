# Runs in a container started by hand on a zone's network: it has a valid CURVE key of
# its own, the zone's roster (public keys, endpoints), and tries to reach every worker.
import json

import zmq

from autonomy.transport import envelope as _wire
from autonomy.transport.roster import generate_keypair

roster = json.load(open("/roster.json"))
mine = generate_keypair()
ctx = zmq.Context()
replies = 0
for node in roster["nodes"]:
    if node.get("role", "node") != "node":
        continue
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.curve_serverkey = node["public_key"].encode()
    s.curve_publickey = mine.public_key.encode()
    s.curve_secretkey = mine.secret_key.encode()
    s.connect(node["endpoint"])
    for worker in ("echoer", "main"):
        s.send(_wire.encode(_wire.Kind.REQUEST, 1, worker.encode(), b"intruder"))
    s.send(_wire.encode(_wire.Kind.LIST, 2))
    if s.poll(3000):
        replies += 1
        print("GOT A REPLY:", s.recv())
    s.close()
print("NO REPLY" if replies == 0 else f"{replies} REPLIES")
