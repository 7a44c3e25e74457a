"""A node with an agent: the model gateway's tests call the gateway from inside its pod.

Making a ``Model`` is what tells ``zone deploy`` that this zone uses models, so with no
provider configured the bundled offline model runs behind the gateway.
"""

from autonomy import Agent, Model, Node


async def main(node):
    await Agent.start(
        node=node, name="henry", instructions="Answer in one short sentence.", model=Model("claude-sonnet-4-v1")
    )


Node.start(main)
