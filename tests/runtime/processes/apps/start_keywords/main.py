"""Node.start with every keyword of the SDK's, some of which mean nothing here.

START_NAME: name=; START_WAIT=0: wait_until_interrupted=False; MAIN_FAILS=1: main raises.
"""

import os

from autonomy import McpClient, Node, info


async def main(node):
    info(f"node name: {node.name}")
    if os.environ.get("MAIN_FAILS"):
        raise RuntimeError("main failed on purpose")


Node.start(
    main,
    name=os.environ.get("START_NAME") or None,
    ticket="ticket",
    allow="cluster=x",
    http_server=None,
    wait_until_interrupted=os.environ.get("START_WAIT", "1") == "1",
    cache_secure_channels=True,
    use_local_db=True,
    mcp_clients=[McpClient("nothing", "http://127.0.0.1:9/sse")],  # unreachable: logged, the node starts
    mcp_server=None,
    some_future_option=1,
)
info("Node.start returned")
