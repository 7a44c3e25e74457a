"""Run a zone of node processes on 127.0.0.1, for development and tests.

:class:`LocalZone` does locally what ``autonomy zone deploy`` does with Docker: it makes
a key pair per node and the zone roster, then starts each node as its own Python
process running the pod's script, exactly as a container would run ``python main.py``::

    from autonomy.testing import LocalPod, LocalZone

    with LocalZone([LocalPod("main-pod", "images/main/main.py"),
                    LocalPod("runner-pod", "images/runner/main.py", clones=3)],
                   workdir=tmp_path) as zone:
        zone.wait_for("main-pod", "Processed 4 chunks", timeout=30)

Each process gets ``NODE``, ``CLUSTER``, ``ZONE``, ``AUTONOMY_ROSTER`` and ``AUTONOMY_KEY``
like a container; the ROUTER ports are free ports of 127.0.0.1. Output of each node goes
to ``<workdir>/logs/<instance>-<container>.log``. Leaving the ``with`` block sends SIGTERM
to every node and waits for it (then SIGKILL), so nothing is left running.

From a shell: ``python -m autonomy.testing main.py runner.py:3`` runs the scripts as pods
``<stem>-pod`` until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .transport.roster import NodeEntry, Roster, generate_keypair, node_name

__all__ = ["LocalPod", "LocalZone", "LocalNode", "free_port"]


_handed_out: set[int] = set()


def _ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (where outgoing connections get theirs)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now.

    Chosen at random below the ephemeral range, where the kernel never hands a port to an
    outgoing connection (an ephemeral port that was free when asked can be taken by a
    connection before the node binds it), and never the same port twice in one process.
    """
    top = _ephemeral_start() - 1000
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(max(1024, top - 11000), top)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class LocalPod:
    """A pod: a script run as one node (``container``), ``clones`` times."""

    name: str
    script: str | os.PathLike[str] | None = None  # None: ``python -m autonomy`` (serve only)
    clones: int = 1
    container: str = "main"
    env: Mapping[str, str] = field(default_factory=dict)
    autostart: bool = True  # False: in the roster with a key, but no process (for tests)


@dataclass
class LocalNode:
    entry: NodeEntry
    pod: LocalPod
    log_path: Path
    key_path: Path
    http_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return self.entry.name

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_http(self, timeout: float = 60.0) -> None:
        """Wait until the node's web server answers (it loads after the node is up)."""
        deadline = time.monotonic() + timeout
        while f":{self.http_port} (" not in self.log():
            exited = self.process is not None and self.process.poll() is not None
            if exited or time.monotonic() > deadline or not self.http_port:
                raise AssertionError(f"{self.name} serves no HTTP on {self.http_port}:\n{self.log()[-4000:]}")
            time.sleep(0.05)

    def get(self, path: str, timeout: float = 10.0) -> Any:
        """``GET path`` of the node's web server (once it answers), as JSON."""
        self.wait_http()
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=timeout) as r:
            return json.load(r)


class LocalZone:
    """Several node processes on 127.0.0.1 with a generated roster and keys."""

    def __init__(
        self,
        pods: Sequence[LocalPod],
        *,
        workdir: str | os.PathLike[str] | None = None,
        zone: str = "local",
        cluster: str = "0" * 32,
        http: bool = False,
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
    ) -> None:
        self.zone = zone
        self.cluster = cluster
        self._tmp = None if workdir is not None else tempfile.TemporaryDirectory(prefix="autonomy-zone-")
        self.workdir = Path(workdir if workdir is not None else self._tmp.name)  # type: ignore[union-attr]
        self._env = dict(env or {})
        self._python = python
        self.nodes: list[LocalNode] = []
        self._started = False
        entries = []
        keys = []
        for pod in pods:
            instances = [pod.name] if pod.clones == 1 else [f"{pod.name}-{i}" for i in range(pod.clones)]
            for clone, instance in enumerate(instances):
                kp = generate_keypair()
                entry = NodeEntry(
                    name=node_name(cluster, zone, instance, pod.container),
                    pod=pod.name,
                    instance=instance,
                    clone=clone,
                    container=pod.container,
                    endpoint=f"tcp://127.0.0.1:{free_port()}",
                    public_key=kp.public_key,
                )
                entries.append(entry)
                keys.append(kp)
                self.nodes.append(
                    LocalNode(
                        entry=entry,
                        pod=pod,
                        log_path=self.workdir / "logs" / f"{instance}-{pod.container}.log",
                        key_path=self.workdir / "keys" / f"{entry.name}.key",
                        http_port=free_port() if http else 0,
                    )
                )
        self.roster = Roster.build(cluster, zone, entries)
        self.roster_path = self.workdir / "roster.json"
        self.roster.write(self.roster_path)
        for node, kp in zip(self.nodes, keys, strict=True):
            kp.write(node.key_path, node.name)

    # ------------------------------------------------------------------ processes

    def node_env(self, node: LocalNode) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "NODE": node.name,
                "CLUSTER": self.cluster,
                "ZONE": self.zone,
                "AUTONOMY_ROSTER": str(self.roster_path),
                "AUTONOMY_KEY": str(node.key_path),
                "AUTONOMY_BIND_HOST": "127.0.0.1",
                "AUTONOMY_HTTP_HOST": "127.0.0.1",
                "AUTONOMY_HTTP_PORT": str(node.http_port),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self._env)
        env.update(node.pod.env)
        return env

    def start(self) -> LocalZone:
        """Start every node whose pod autostarts. Idempotent: a zone already started is
        left as it is, so ``with zone.start():`` starts each node once."""
        if self._started:
            return self
        self._started = True
        for node in self.nodes:
            if node.pod.autostart:
                self.start_node(node)
        return self

    def start_node(self, node: LocalNode) -> None:
        """Start one node's process (again, after :meth:`stop_node`); a node that is
        running is left as it is."""
        if node.process is not None and node.process.poll() is None:
            return
        node.log_path.parent.mkdir(parents=True, exist_ok=True)
        script = node.pod.script
        if script is None:
            argv, cwd = [self._python, "-m", "autonomy"], str(self.workdir)
        else:
            path = Path(script).resolve()
            argv, cwd = [self._python, path.name], str(path.parent)
        with open(node.log_path, "ab") as out:
            node.process = subprocess.Popen(
                argv, cwd=cwd, env=self.node_env(node), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def stop_node(self, node: LocalNode, timeout: float = 10.0, *, signalled: bool = False) -> int | None:
        """SIGTERM one node (once) and wait for it; SIGKILL after ``timeout``."""
        p = node.process
        if p is None:
            return None
        if p.poll() is None:
            if not signalled:
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def stop(self, timeout: float = 10.0) -> dict[str, int | None]:
        """SIGTERM every node, wait for it; returns each node's exit code. The zone can
        be started again afterwards."""
        self._started = False
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        return {node.name: self.stop_node(node, timeout, signalled=True) for node in self.nodes}

    def __enter__(self) -> LocalZone:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    # ------------------------------------------------------------------ looking

    def node(self, instance: str) -> LocalNode:
        """The node of a pod instance (``main-pod``, ``runner-pod-2``) or full name."""
        for n in self.nodes:
            if instance in (n.entry.instance, n.name, f"{n.entry.instance}-{n.entry.container}"):
                return n
        raise KeyError(instance)

    def log(self, instance: str) -> str:
        return self.node(instance).log()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until every started node listens on its ROUTER."""
        for node in self.nodes:
            if node.process is not None:
                self.wait_for(node.entry.instance, "listening on", timeout)

    def wait_for(self, instance: str, pattern: str, timeout: float = 30.0, *, regex: bool = False) -> str:
        """Wait until the node's output contains ``pattern``; returns the whole output.

        Raises AssertionError with the output if it does not appear in time, or at once if
        the process exits first.
        """
        node = self.node(instance)
        deadline = time.monotonic() + timeout

        def found(text: str) -> bool:
            return re.search(pattern, text) is not None if regex else pattern in text

        while True:
            text = node.log()
            if found(text):
                return text
            exited = node.process is not None and node.process.poll() is not None
            if exited or time.monotonic() > deadline:
                text = node.log()
                if found(text):
                    return text
                why = f"exited with {node.process.returncode}" if exited and node.process else f"not within {timeout} s"
                raise AssertionError(f"{pattern!r} not in the output of {instance} ({why}):\n{text[-4000:]}")
            time.sleep(0.05)


def _main(argv: list[str]) -> int:
    pods = []
    for arg in argv:
        script, _, clones = arg.partition(":")
        pods.append(LocalPod(f"{Path(script).stem}-pod", script, clones=int(clones or 1)))
    if not pods:
        print("usage: python -m autonomy.testing SCRIPT[:CLONES] ...", file=sys.stderr)
        return 2
    with LocalZone(pods) as zone:
        print(f"zone {zone.zone}: {len(zone.nodes)} nodes; logs in {zone.workdir / 'logs'}; Ctrl-C stops")
        try:
            while any(n.process and n.process.poll() is None for n in zone.nodes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
