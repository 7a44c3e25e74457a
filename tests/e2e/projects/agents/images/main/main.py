"""An agent on the node's built-in routes, a Repl in front of it, and an agent with a tool.

The tool's answer names the node it ran on (NODE, set in the container only), so a reply
that carries it shows that the tool ran here and that its result went through the model.
"""

import os

from autonomy import Agent, Model, Node, Repl, Tool

HARBOR_CODE = "kestrel-5521"


def harbor_code(harbor: str) -> str:
    """The access code of a harbor.

    Args:
        harbor: the harbor's name, as "Lisbon"
    """
    return f"{harbor} opens with {HARBOR_CODE} (asked on {os.environ['NODE']})"


async def main(node):
    henry = await Agent.start(
        node=node,
        name="henry",
        instructions="You are Henry, a friendly sailor. Answer in one short sentence.",
        model=Model("claude-sonnet-4-v1"),
    )
    await Repl.start(henry, listen_address="127.0.0.1:7000")
    await Repl.start(henry, listen_address="127.0.0.1:7001")
    await Agent.start(
        node=node,
        name="keeper",
        instructions="You keep the harbors. Use your tool to find a harbor's code.",
        model=Model("claude-sonnet-4-v1"),
        tools=[Tool(harbor_code)],
    )


Node.start(main)
