"""An agent started on a runner node from main: it runs there, with its tool, and answers."""

from autonomy import Agent, Model, Node, Tool, Zone


def where(city: str) -> str:
    """Where a city is.

    Args:
        city: the city's name
    """
    return f"{city} is in Portugal"


async def main(node):
    (runner, *_) = await Zone.nodes(node, filter="runner")
    agent = await Agent.start(runner, "You know places.", name="geo", model=Model("gpt-4o"), tools=[Tool(where)])
    workers = [w["name"] for w in await runner.list_workers()]
    print(f"GEO ON RUNNER {'geo' in workers} {agent.node_name == runner.name}", flush=True)
    reply = await agent.send("Where is Porto?", scope="s", conversation="c", timeout=60)
    print(f"REPLY {reply[-1].content.text}", flush=True)
    parts = [p async for p in agent.send_stream("Where is Porto?", scope="s", conversation="c2", timeout=60)]
    print(f"STREAMED {len(parts)} {parts[-1].finished}", flush=True)


Node.start(main)
