"""Counts its starts in a file on the pod's volume and says what GREETING is."""

import os
from pathlib import Path

from autonomy import Node, info

BOOTS = Path("/data/boots.txt")


async def main(node):
    greeting = os.environ.get("GREETING", "<unset>")
    with BOOTS.open("a") as f:
        f.write(greeting + "\n")
    boots = BOOTS.read_text().splitlines()
    info(f"VOLUME-CHECK greeting={greeting} boots={','.join(boots)} name-var={os.environ.get('name', '<unset>')}")


Node.start(main)
