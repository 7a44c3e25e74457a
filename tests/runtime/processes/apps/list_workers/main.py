import asyncio

from autonomy import Node, Zone


class Idle:
    async def handle_message(self, context, message):
        await context.reply(message)


async def list_all_workers(node):
    all_nodes = await Zone.nodes(node)
    for n in all_nodes:
        workers = await n.list_workers()
        print(f"Node {n.name}: {len(workers)} workers")
        for worker in workers:
            print(f"  - {worker}")


async def main(node):
    await node.start_worker("local-idle", Idle())
    runners = await Zone.nodes(node, filter="runner")
    for i, runner in enumerate(runners):
        await runner.start_worker(f"idle-{i}", Idle())

    # List workers on local node
    local_workers = await node.list_workers()
    print(f"Local workers: {[w['name'] for w in local_workers]}")

    # List workers on all runner nodes
    runners = await Zone.nodes(node, filter="runner")
    futures = [runner.list_workers() for runner in runners]
    workers_per_runner = await asyncio.gather(*futures)

    for runner, workers in zip(runners, workers_per_runner, strict=True):
        print(f"{runner.name}: {[w['name'] for w in workers]}")

    await list_all_workers(node)


Node.start(main)
