"""TCP inlets: ``127.0.0.1:<local port>`` on this machine -> ``<pod instance>:<port>`` in a zone.

What ``autonomy zone inlet --to http`` and ``--to <pod>:<port>`` run. A zone's pods are
reachable only on the zone's own Docker network, so the forwarder is a relay *on that
network*: a small container from the base image running ``python -m
autonomy.clusters.relay`` (a TCP relay, nothing else) whose one port is published on
127.0.0.1 only (autonomy_cli.docker.relay). It works wherever Docker publishes ports, the
host needs no route into Docker's bridge networks.

The relay container carries ``computer.autonomy.zone-probe=<zone>`` and
``computer.autonomy.role=inlet``: ``zone delete`` sweeps it with the zone's probes (so a
running inlet never blocks the removal of the zone's network), and a deploy through
:func:`autonomy_cli.zones.deploy.deploy` leaves it alone. When the relay disappears while the
inlet runs (the zone was deleted and deployed again), :func:`forward` starts it again as
soon as the zone's network is back.

Library code: never prints; progress goes to ``on_event(str)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

from .. import labels as L
from ..docker.engine import DockerEngine
from ..docker.ports import free_port_from, port_free
from ..docker.relay import Relay
from ..errors import CliError, UsageError, ZoneNotFound
from ..plan import HTTP_PORT

__all__ = ["Inlet", "forward", "inlet_http", "inlet_port"]

FIRST_INLET_PORT = 32102


class _Instance(TypedDict):
    pod: str
    clone: int
    published: dict[int, int]
    outlets: dict[int, int]


def _outlets(label: str) -> dict[int, int]:
    """The ``outlets`` label of an infra container read: outlet port -> forwarder port."""
    pairs = (item.partition("=") for item in label.split(",") if item)
    return {int(to): int(fwd) for to, _, fwd in pairs if to.isdigit() and fwd.isdigit()}


def _instances(engine: DockerEngine, zone: str) -> dict[str, _Instance]:
    """pod instance -> its pod, clone, published ports (container port -> host port) and
    outlets (outlet port -> the port of the pod's forwarder for it)."""
    return {
        c.instance: {
            "pod": c.pod,
            "clone": c.clone,
            "published": dict(c.published),
            "outlets": _outlets(c.labels.outlets),
        }
        for c in engine.containers(zone)
        if c.role == L.Role.INFRA
    }


def forward(
    zone: str,
    target_instance: str,
    target_port: int,
    local_port: int,
    stop: threading.Event,
    *,
    ready: threading.Event | None = None,
    on_event: Callable[[str], None] | None = None,
    engine: DockerEngine | None = None,
) -> None:
    """Forward ``127.0.0.1:<local_port>`` to ``<target_instance>:<target_port>`` of ``zone``
    until ``stop`` is set (blocks). ``ready`` is set once connections are accepted.

    Raises :class:`CliError` when the zone is not running, the port is taken or the relay
    cannot start; later failures (the zone deleted and deployed again) are reported
    through ``on_event`` and retried. The relay container is removed in every case.
    """
    engine = engine or DockerEngine()
    say = on_event or (lambda _text: None)
    if not engine.network_exists(zone):
        raise ZoneNotFound(zone)
    relay: Relay | None = engine.start_relay(zone, target_instance, target_port, local_port)
    try:
        assert relay is not None
        relay.wait_ready(stop)
        if ready is not None:
            ready.set()
        while not stop.wait(0.5):
            alive = relay.alive() if relay is not None else False
            if alive is None or alive:
                continue
            if relay is not None:
                relay.remove()
            relay = None
            say(f"inlet 127.0.0.1:{local_port}: the relay into zone {zone} went away; waiting for the zone to be back")
            while not stop.is_set():
                if engine.target_running(zone, target_instance):
                    try:
                        relay = engine.start_relay(zone, target_instance, target_port, local_port)
                        relay.wait_ready(stop)
                        say(f"inlet 127.0.0.1:{local_port} -> {target_instance}:{target_port} is back")
                        break
                    except CliError as e:
                        if relay is not None:
                            relay.remove()
                        relay = None
                        say(f"inlet 127.0.0.1:{local_port}: {e}; retrying")
                stop.wait(2)
    finally:
        if relay is not None:
            relay.remove()
        engine.remove_relay(zone, local_port)


@dataclass
class Inlet:
    """A running inlet (see :func:`inlet_http`, :func:`inlet_port`); ``close()`` ends it.

    ``forwarded`` is False when nothing had to be forwarded (deploy already published the
    target on ``local_port``); ``note`` says why a port other than the asked one is used.
    """

    zone: str
    instance: str
    target_port: int
    local_port: int
    forwarded: bool = True
    note: str = ""
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _error: BaseException | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.local_port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def _start(self, engine: DockerEngine, on_event: Callable[[str], None] | None) -> Inlet:
        ready = threading.Event()

        def run() -> None:
            try:
                forward(
                    self.zone,
                    self.instance,
                    self.target_port,
                    self.local_port,
                    self._stop,
                    ready=ready,
                    on_event=on_event,
                    engine=engine,
                )
            except BaseException as e:  # handed to the caller's thread
                self._error = e
            finally:
                ready.set()

        self._thread = threading.Thread(target=run, name=f"inlet-{self.local_port}", daemon=True)
        self._thread.start()
        ready.wait()
        if self._error is not None:
            raise self._error
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self) -> None:
        """Block until closed (Ctrl-C raises KeyboardInterrupt here, as usual)."""
        while not self._stop.wait(0.5):
            if self._thread is not None and not self._thread.is_alive():
                break
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(20)

    def __enter__(self) -> Inlet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def inlet_port(
    zone: str,
    pod: str,
    port: int,
    local_port: int | None = None,
    *,
    on_event: Callable[[str], None] | None = None,
    engine: DockerEngine | None = None,
) -> Inlet:
    """Start forwarding ``127.0.0.1:<local_port>`` to ``<pod>:<port>`` of ``zone``.

    ``pod``: a pod instance (``runner-pod-3``) or a pod name (a cloned pod: its clone 0).
    ``local_port``: default ``port`` when that is free and not privileged, else the first
    free port from 32102. Returns the running :class:`Inlet`.
    """
    engine = engine or DockerEngine()
    if not 1 <= port <= 65535:
        raise UsageError(f"port must be between 1 and 65535, got {port}")
    instances = _instances(engine, zone)
    if not instances:
        raise ZoneNotFound(zone)
    note = ""
    if pod in instances:
        instance = pod
    else:
        clones = sorted((i for i, v in instances.items() if v["pod"] == pod), key=lambda i: instances[i]["clone"])
        if not clones:
            raise UsageError(f"zone {zone} has no pod {pod!r} (pods: {', '.join(sorted(instances))})")
        instance = clones[0]
        if len(clones) > 1:
            note = f"pod {pod} has {len(clones)} clones: forwarding to {instance}"
    if local_port is None:
        local_port = port if port >= 1024 and port_free(port) else free_port_from(FIRST_INLET_PORT)
    elif local_port == 0:
        local_port = free_port_from(FIRST_INLET_PORT)
    # a port an outlet of the pod names is reached through the pod's forwarder, from inside
    # the pod: so a server bound to the pod's 127.0.0.1 (the SDK's Repl) answers too
    target = instances[instance]["outlets"].get(port, port)
    return Inlet(zone, instance, target, local_port, note=note)._start(engine, on_event)


def inlet_http(
    zone: str,
    port: int = 32100,
    *,
    on_event: Callable[[str], None] | None = None,
    engine: DockerEngine | None = None,
) -> Inlet:
    """Start forwarding ``127.0.0.1:<port>`` to port 8000 of the zone's public pod.

    The public pod is the one whose 8000 deploy published; when deploy already published
    it on ``port``, nothing is forwarded (``forwarded`` False, the same URL). A zone
    without a published public pod: its only pod instance, else a UsageError asking for
    ``--to <pod>:8000``. When ``port`` is taken, the next free port is used (``note``).
    """
    engine = engine or DockerEngine()
    instances = _instances(engine, zone)
    if not instances:
        raise ZoneNotFound(zone)
    public = [i for i, v in instances.items() if HTTP_PORT in v["published"]]
    if public:
        instance = public[0]
        published = instances[instance]["published"][HTTP_PORT]
        if published == port or not port_free(port):
            return Inlet(
                zone,
                instance,
                HTTP_PORT,
                published,
                forwarded=False,
                note=f"deploy already published {instance}:{HTTP_PORT} on 127.0.0.1:{published}",
            )
    elif len(instances) == 1:
        instance = next(iter(instances))
    else:
        raise UsageError(
            f"zone {zone} has no public pod; name the pod: --to <pod>:{HTTP_PORT} "
            f"(pods: {', '.join(sorted(instances))})"
        )
    note = ""
    local = port
    if not port_free(port):
        local = free_port_from(port + 1)
        note = f"port {port} is held by {engine.port_holder(port)}; using {local}"
    return Inlet(zone, instance, HTTP_PORT, local, note=note)._start(engine, on_event)
