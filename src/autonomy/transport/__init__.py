"""Transport: how nodes reach each other, and who may.

:mod:`.envelope` is the wire format of one message, :mod:`.channel` a ZeroMQ socket
driven by asyncio, :mod:`.security` the CurveZMQ/ZAP admission of roster keys, and
:mod:`.roster` the zone roster and key files those rest on. Nothing is imported here,
so a tool that needs only :mod:`.roster` (the CLI) loads no asyncio and no socket.
"""

__all__: list[str] = []
