from autonomy import Node


class Counter:
    def __init__(self):
        self.count = 0

    async def handle_message(self, context, message):
        if message == "increment":
            self.count += 1
        await context.reply(f"Count: {self.count}")


async def main(node):
    await node.start_worker("counter", Counter())
    # Each message sees the updated state
    print(await node.send_and_receive("counter", "increment", timeout=10))  # Count: 1
    print(await node.send_and_receive("counter", "increment", timeout=10))  # Count: 2
    print(await node.send_and_receive("counter", "increment", timeout=10))  # Count: 3

    # Each worker has its own state
    await node.start_worker("counter-1", Counter())
    await node.start_worker("counter-2", Counter())
    # These two counters are completely independent
    print("counter-1", await node.send_and_receive("counter-1", "increment", timeout=10))
    print("counter-2", await node.send_and_receive("counter-2", "get", timeout=10))


Node.start(main)
