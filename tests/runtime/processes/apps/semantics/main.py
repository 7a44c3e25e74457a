"""Runs the runtime's semantic checks inside a node; prints `CHECK <name>: ok|FAIL ...`."""

import asyncio
import json
import traceback

from autonomy import Node, Zone


class Echo:
    def __init__(self):
        self.seen = []

    async def handle_message(self, context, message):
        self.seen.append(message)
        await context.reply(message)


class Boom:
    async def handle_message(self, context, message):
        raise ValueError(f"boom on {message}")


class BadReply:
    async def handle_message(self, context, message):
        await context.reply({"not": "a string"})


class Silent:
    async def handle_message(self, context, message):
        pass


class Serial:
    """Records order and how many messages it ever handled at once."""

    def __init__(self):
        self.active = 0
        self.max_active = 0
        self.order = []

    async def handle_message(self, context, message):
        if message == "report":
            await context.reply(json.dumps({"max_active": self.max_active, "order": self.order}))
            return
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        await asyncio.sleep(0)
        await asyncio.sleep(0.001 if int(message) % 7 == 0 else 0)
        self.order.append(int(message))
        self.active -= 1
        await context.reply(message)


async def expect_error(coro, *words, exc=RuntimeError):
    try:
        await coro
    except exc as e:
        text = str(e)
        missing = [w for w in words if w not in text]
        if missing:
            raise AssertionError(f"{text!r} lacks {missing}") from e
        return text
    raise AssertionError(f"no {exc.__name__} raised")


async def main(node):
    runners = await Zone.nodes(node, filter="runner")
    assert len(runners) == 2, runners
    r = runners[0]
    echo = Echo()
    await node.start_worker("echo", echo)
    await r.start_worker("recho", Echo())

    async def type_error_before_sending():
        await expect_error(node.send_and_receive("echo", {"x": 1}), "str", exc=TypeError)
        await expect_error(node.send_message("echo", 42), "str", exc=TypeError)
        await expect_error(r.send_and_receive("recho", b"bytes"), "str", exc=TypeError)
        await expect_error(r.send_message("recho", None), "str", exc=TypeError)
        assert echo.seen == [], echo.seen

    async def reply_must_be_str():
        await node.start_worker("badreply", BadReply())
        await expect_error(node.send_and_receive("badreply", "x", timeout=5), "badreply", node.name, "TypeError")

    async def unknown_worker_local():
        await expect_error(node.send_and_receive("nobody", "x"), "'nobody'", node.name)

    async def unknown_worker_remote():
        await expect_error(r.send_and_receive("nobody", "x"), "'nobody'", r.name)

    async def handler_raises_local():
        await node.start_worker("boom", Boom())
        await expect_error(node.send_and_receive("boom", "m1"), "'boom'", node.name, "ValueError: boom on m1")
        # the worker survives its handler's exception
        await expect_error(node.send_and_receive("boom", "m2"), "ValueError: boom on m2")

    async def handler_raises_remote():
        await r.start_worker("rboom", Boom())
        await expect_error(r.send_and_receive("rboom", "m1"), "'rboom'", r.name, "ValueError: boom on m1")
        # found by name alone, too
        await expect_error(node.send_and_receive("rboom", "m2"), "'rboom'", r.name, "ValueError: boom on m2")

    async def timeout_local():
        await node.start_worker("silent", Silent())
        await expect_error(node.send_and_receive("silent", "x", timeout=0.2), "timeout", "'silent'")

    async def timeout_remote():
        await r.start_worker("rsilent", Silent())
        await expect_error(r.send_and_receive("rsilent", "x", timeout=0.2), "timeout", "'rsilent'")

    async def duplicate_name():
        await expect_error(node.start_worker("echo", Echo()), "'echo'", "already")
        await expect_error(r.start_worker("recho", Echo()), "'recho'", "already", r.name)

    async def bad_names_and_objects():
        await expect_error(node.start_worker("a b", Echo()), "[A-Za-z0-9_-]", exc=ValueError)
        await expect_error(node.start_worker("x", object()), "handle_message", exc=TypeError)

    async def stop_then_unknown():
        await node.start_worker("temp", Echo())
        await node.stop_worker("temp")
        await expect_error(node.send_and_receive("temp", "x"), "'temp'")
        await r.start_worker("rtemp", Echo())
        await r.stop_worker("rtemp")
        await expect_error(r.send_and_receive("rtemp", "x"), "'rtemp'")
        await expect_error(node.stop_worker("never"), "'never'")

    async def one_at_a_time_in_order_local():
        await node.start_worker("serial", Serial())
        replies = await asyncio.gather(*(node.send_and_receive("serial", str(i), timeout=30) for i in range(300)))
        assert replies == [str(i) for i in range(300)]
        report = json.loads(await node.send_and_receive("serial", "report"))
        assert report["max_active"] == 1, report["max_active"]
        assert report["order"] == list(range(300))

    async def one_at_a_time_in_order_remote():
        await r.start_worker("rserial", Serial())
        replies = await asyncio.gather(*(r.send_and_receive("rserial", str(i), timeout=30) for i in range(300)))
        assert replies == [str(i) for i in range(300)]
        report = json.loads(await r.send_and_receive("rserial", "report"))
        assert report["max_active"] == 1, report["max_active"]
        assert report["order"] == list(range(300))

    async def explicit_node_argument():
        assert await node.send_and_receive("recho", "via node=", node=r) == "via node="
        assert await node.send_and_receive("recho", "via name", node=r.name) == "via name"
        other = await Zone.node(node, r.instance + "-runner")
        assert other.name == r.name

    async def zone_nodes_filters_by_pod():
        everyone = await Zone.nodes(node)
        assert sorted(n.name for n in everyone) == sorted([node.name] + [x.name for x in runners])
        assert await Zone.nodes(node, filter="nosuchpod") == []

    checks = [
        type_error_before_sending,
        reply_must_be_str,
        unknown_worker_local,
        unknown_worker_remote,
        handler_raises_local,
        handler_raises_remote,
        timeout_local,
        timeout_remote,
        duplicate_name,
        bad_names_and_objects,
        stop_then_unknown,
        one_at_a_time_in_order_local,
        one_at_a_time_in_order_remote,
        explicit_node_argument,
        zone_nodes_filters_by_pod,
    ]
    for check in checks:
        try:
            await asyncio.wait_for(check(), 20)
            print(f"CHECK {check.__name__}: ok")
        except BaseException as e:
            print(f"CHECK {check.__name__}: FAIL {type(e).__name__}: {e}")
            traceback.print_exc()
    print("CHECKS DONE")


Node.start(main)
