"""TCP inlets: ``127.0.0.1:<local port>`` on this machine -> ``<pod instance>:<port>`` in a zone.

What ``autonomy zone inlet --to http`` and ``--to <pod>:<port>`` run. A zone's pods are
reachable only on the zone's own Docker network, so the forwarder is a relay *on that
network*: a small container from the base image (a Python TCP relay, nothing else) whose
one port is published on 127.0.0.1 only. It works wherever Docker publishes ports, the
host needs no route into Docker's bridge networks.

The relay container carries ``computer.autonomy.zone-probe=<zone>`` and
``computer.autonomy.role=inlet``: ``zone delete`` sweeps it with the zone's probes (so a
running inlet never blocks the removal of the zone's network), and a deploy through
:func:`autonomy_cli.deploy.deploy` leaves it alone. When the relay disappears while the
inlet runs (the zone was deleted and deployed again), :func:`forward` starts it again as
soon as the zone's network is back.

Library code: never prints; progress goes to ``on_event(str)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import docker.errors

from . import compose as compose_mod
from .engine import INLET_ROLE, LABEL, Engine, port_free, port_holder
from .errors import CliError, EngineError, PreflightError, UsageError
from .plan import HTTP_PORT

__all__ = ["Inlet", "forward", "inlet_http", "inlet_port", "RELAY_SCRIPT"]

RELAY_PORT = 7999  # inside the relay container
FIRST_INLET_PORT = 32102
_READY = "relay ready"

RELAY_SCRIPT = r"""
import signal, socket, sys, threading
host, port = sys.argv[1], int(sys.argv[2])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 7999))
srv.listen(128)
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass
def serve(c):
    try:
        u = socket.create_connection((host, port), timeout=10)
    except OSError as e:
        print(f"cannot reach {host}:{port}: {e}", flush=True)
        c.close()
        return
    u.settimeout(None)
    t = threading.Thread(target=pipe, args=(u, c), daemon=True)
    t.start()
    pipe(c, u)
    t.join()
    c.close()
    u.close()
print("relay ready", flush=True)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def _relay_name(zone: str, local_port: int) -> str:
    return f"autonomy-{zone}-inlet-{local_port}"


def _network_exists(engine: Engine, zone: str) -> bool:
    try:
        return bool(engine.client.networks.list(names=[compose_mod.network_name(zone)]))
    except docker.errors.DockerException:
        return False


def _instances(engine: Engine, zone: str) -> dict[str, dict[str, object]]:
    """pod instance -> {"pod": ..., "clone": ..., "published": {container port: host port}}."""
    found: dict[str, dict[str, object]] = {}
    for c in engine.containers(zone):
        if c.labels.get(LABEL + "role") != "infra":
            continue
        published: dict[int, int] = {}
        for cport, bindings in (c.attrs.get("HostConfig", {}).get("PortBindings") or {}).items():
            for b in bindings or []:
                if str(b.get("HostPort", "")).isdigit():
                    published[int(cport.split("/")[0])] = int(b["HostPort"])
        found[c.labels.get(LABEL + "instance", "")] = {
            "pod": c.labels.get(LABEL + "pod", ""),
            "clone": int(c.labels.get(LABEL + "clone", "0") or 0),
            "published": published,
        }
    return found


def _free_port_from(start: int) -> int:
    for port in range(start, min(start + 200, 65536)):
        if port_free(port):
            return port
    raise PreflightError([f"no free port in 127.0.0.1:{start}..{start + 199}"])


def _start_relay(engine: Engine, zone: str, instance: str, port: int, local_port: int):
    client = engine.client
    name = _relay_name(zone, local_port)
    try:
        old = client.containers.get(name)
    except docker.errors.NotFound:
        pass
    else:
        if old.labels.get(LABEL + "role") == INLET_ROLE and old.status != "running":
            old.remove(force=True)  # left by an inlet that was killed
    if not port_free(local_port):
        raise PreflightError([f"port 127.0.0.1:{local_port} is held by {port_holder(local_port, client)}"])
    try:
        return client.containers.run(
            compose_mod.BASE_IMAGE,
            ["python3", "-c", RELAY_SCRIPT, instance, str(port)],
            name=name,
            detach=True,
            network=compose_mod.network_name(zone),
            ports={f"{RELAY_PORT}/tcp": ("127.0.0.1", local_port)},
            labels={
                LABEL + "zone-probe": zone,
                LABEL + "role": INLET_ROLE,
                LABEL + "inlet": f"127.0.0.1:{local_port}->{instance}:{port}",
            },
            mem_limit="64m",
        )
    except docker.errors.ImageNotFound:
        _remove_named(engine, name)
        raise EngineError(f"image {compose_mod.BASE_IMAGE} is missing: deploy the zone first") from None
    except docker.errors.DockerException as e:
        _remove_named(engine, name)  # created but not started (the network went meanwhile)
        raise EngineError(f"cannot start the inlet relay for {instance}:{port}: {e}") from None


def _remove_named(engine: Engine, name: str) -> None:
    try:
        c = engine.client.containers.get(name)
        if c.labels.get(LABEL + "role") == INLET_ROLE:
            c.remove(force=True)
    except docker.errors.DockerException:
        pass


def _target_running(engine: Engine, zone: str, instance: str) -> bool:
    """The zone's network is there and so is the target pod, running (not being deleted)."""
    if not _network_exists(engine, zone):
        return False
    try:
        found = engine.client.containers.list(
            filters={"label": [f"{LABEL}zone={zone}", f"{LABEL}instance={instance}", f"{LABEL}role=infra"]}
        )
    except docker.errors.DockerException:
        return False
    return any(c.status == "running" for c in found)


def _wait_ready(container, stop: threading.Event, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        container.reload()
        if container.status in ("exited", "dead"):
            logs = container.logs().decode(errors="replace").strip()
            raise EngineError(f"the inlet relay stopped at once:\n{logs[-1000:]}")
        if _READY in container.logs().decode(errors="replace"):
            return
        if time.monotonic() > deadline:
            raise EngineError("the inlet relay did not start")
        time.sleep(0.1)


def _remove(container) -> None:
    if container is None:
        return
    try:
        container.remove(force=True)
    except docker.errors.DockerException:
        pass


def forward(
    zone: str,
    target_instance: str,
    target_port: int,
    local_port: int,
    stop: threading.Event,
    *,
    ready: threading.Event | None = None,
    on_event: Callable[[str], None] | None = None,
    engine: Engine | None = None,
) -> None:
    """Forward ``127.0.0.1:<local_port>`` to ``<target_instance>:<target_port>`` of ``zone``
    until ``stop`` is set (blocks). ``ready`` is set once connections are accepted.

    Raises :class:`CliError` when the zone is not running, the port is taken or the relay
    cannot start; later failures (the zone deleted and deployed again) are reported
    through ``on_event`` and retried. The relay container is removed in every case.
    """
    engine = engine or Engine()
    say = on_event or (lambda _text: None)
    if not _network_exists(engine, zone):
        raise EngineError(f"zone {zone!r} is not running (no network {compose_mod.network_name(zone)})")
    relay = _start_relay(engine, zone, target_instance, target_port, local_port)
    try:
        _wait_ready(relay, stop)
        if ready is not None:
            ready.set()
        while not stop.wait(0.5):
            try:
                relay.reload()
                alive = relay.status == "running"
            except docker.errors.NotFound:
                alive = False
            except docker.errors.DockerException:
                continue
            if alive:
                continue
            _remove(relay)
            relay = None
            say(f"inlet 127.0.0.1:{local_port}: the relay into zone {zone} went away; waiting for the zone to be back")
            while not stop.is_set():
                if _target_running(engine, zone, target_instance):
                    try:
                        relay = _start_relay(engine, zone, target_instance, target_port, local_port)
                        _wait_ready(relay, stop)
                        say(f"inlet 127.0.0.1:{local_port} -> {target_instance}:{target_port} is back")
                        break
                    except CliError as e:
                        _remove(relay)
                        relay = None
                        say(f"inlet 127.0.0.1:{local_port}: {e}; retrying")
                stop.wait(2)
    finally:
        _remove(relay)
        _remove_named(engine, _relay_name(zone, local_port))


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

    def _start(self, engine: Engine, on_event: Callable[[str], None] | None) -> Inlet:
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
    engine: Engine | None = None,
) -> Inlet:
    """Start forwarding ``127.0.0.1:<local_port>`` to ``<pod>:<port>`` of ``zone``.

    ``pod``: a pod instance (``runner-pod-3``) or a pod name (a cloned pod: its clone 0).
    ``local_port``: default ``port`` when that is free and not privileged, else the first
    free port from 32102. Returns the running :class:`Inlet`.
    """
    engine = engine or Engine()
    if not 1 <= port <= 65535:
        raise UsageError(f"port must be between 1 and 65535, got {port}")
    instances = _instances(engine, zone)
    if not instances:
        raise EngineError(f"zone {zone!r} is not running")
    note = ""
    if pod in instances:
        instance = pod
    else:
        clones = sorted((i for i, v in instances.items() if v["pod"] == pod), key=lambda i: instances[i]["clone"])  # type: ignore[arg-type, return-value]
        if not clones:
            raise UsageError(f"zone {zone} has no pod {pod!r} (pods: {', '.join(sorted(instances))})")
        instance = clones[0]
        if len(clones) > 1:
            note = f"pod {pod} has {len(clones)} clones: forwarding to {instance}"
    if local_port is None:
        local_port = port if port >= 1024 and port_free(port) else _free_port_from(FIRST_INLET_PORT)
    elif local_port == 0:
        local_port = _free_port_from(FIRST_INLET_PORT)
    return Inlet(zone, instance, port, local_port, note=note)._start(engine, on_event)


def inlet_http(
    zone: str,
    port: int = 32100,
    *,
    on_event: Callable[[str], None] | None = None,
    engine: Engine | None = None,
) -> Inlet:
    """Start forwarding ``127.0.0.1:<port>`` to port 8000 of the zone's public pod.

    The public pod is the one whose 8000 deploy published; when deploy already published
    it on ``port``, nothing is forwarded (``forwarded`` False, the same URL). A zone
    without a published public pod: its only pod instance, else a UsageError asking for
    ``--to <pod>:8000``. When ``port`` is taken, the next free port is used (``note``).
    """
    engine = engine or Engine()
    instances = _instances(engine, zone)
    if not instances:
        raise EngineError(f"zone {zone!r} is not running")
    public = [i for i, v in instances.items() if HTTP_PORT in v["published"]]  # type: ignore[operator]
    if public:
        instance = public[0]
        published = instances[instance]["published"][HTTP_PORT]  # type: ignore[index]
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
            f"zone {zone} has no public pod; name the pod: --to <pod>:{HTTP_PORT} (pods: {', '.join(sorted(instances))})"
        )
    note = ""
    local = port
    if not port_free(port):
        local = _free_port_from(port + 1)
        note = f"port {port} is held by {port_holder(port, engine.client)}; using {local}"
    return Inlet(zone, instance, HTTP_PORT, local, note=note)._start(engine, on_event)
