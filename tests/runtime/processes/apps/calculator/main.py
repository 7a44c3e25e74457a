import json

from autonomy import Node


class Calculator:
    async def handle_message(self, context, message: str):
        data = json.loads(message)  # Parse JSON string
        result = data["x"] + data["y"]
        await context.reply(json.dumps({"result": result}))  # Reply with JSON string


async def main(node):
    await node.start_worker("calc", Calculator())
    message = json.dumps({"x": 10, "y": 32})  # Convert dict to JSON string
    reply = await node.send_and_receive("calc", message)
    result = json.loads(reply)  # Parse JSON string back to dict
    print(f"Result: {result['result']}")  # 42

    # This will fail!
    message = {"x": 10, "y": 32}  # Dict, not string
    try:
        reply = await node.send_and_receive("calc", message)  # TypeError!
    except TypeError as e:
        print(f"TypeError: {e}")


Node.start(main)
