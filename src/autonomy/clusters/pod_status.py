"""The status helper: ``python3 -m autonomy.clusters.pod_status '<request JSON>'``.

What ``autonomy zone status`` runs in a short-lived container on a zone's network. The
request is ``{"instances": {instance: [node names of its running containers]}, "probe":
bool}``. For every pod instance at once it asks ``http://<instance>:8000/health``,
``/workers`` and ``/agents``; then, when ``probe`` is true (the container holds the zone's
probe identity), it pings the nodes that do not hold their pod's HTTP port over the
zone's encrypted ZeroMQ (``python -m autonomy.probe``). It prints one JSON object::

    {"http": {instance: {"health": {...}, "workers": {...},
                         "agents": {"agents": [...]} | "agents_error": "..."}
                        | {"error": "..."}},
     "ping": {node: {"ms": ..., "workers": ...}}}

``/agents`` is optional: a node whose image predates it answers 404, which is told as
``agents_error`` and spoils nothing else of the instance's answer.

The pings come after HTTP, so that a ping does not count as a message of the node whose
last-message time is shown. Standard library only (the probe runs in its own process).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

__all__ = ["HTTP_PORT", "main"]

HTTP_PORT = 8000


def _get(instance: str, path: str) -> Any:
    with urllib.request.urlopen(f"http://{instance}:{HTTP_PORT}/{path}", timeout=2) as f:
        return json.loads(f.read())


def _why(e: Exception) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code}"
    return f"{type(e).__name__}: {e}"


def _ask(instance: str, into: dict[str, Any], get: Callable[[str, str], Any] | None = None) -> None:
    """Ask one pod instance; its answer goes to ``into[instance]`` (``get(instance, path)``:
    the HTTP GET, :func:`_get` unless given)."""
    get = get or _get
    answer: dict[str, Any] = {}
    for path in ("health", "workers"):
        try:
            answer[path] = get(instance, path)
        except Exception as e:  # what was answered before stays (a /health tells the node)
            answer["error"] = _why(e)
            into[instance] = answer
            return
    try:
        answer["agents"] = get(instance, "agents")
    except Exception as e:  # an older node (404), or one that broke since /workers
        answer["agents_error"] = _why(e)
    into[instance] = answer


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    request = json.loads(args[0])
    out: dict[str, dict[str, Any]] = {"http": {}, "ping": {}}
    threads = [threading.Thread(target=_ask, args=(i, out["http"])) for i in request["instances"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    holders = {r.get("health", {}).get("node") for r in out["http"].values()}
    rest = [n for names in request["instances"].values() for n in names if n not in holders]
    if request["probe"] and rest:
        p = subprocess.run(
            [sys.executable, "-m", "autonomy.probe", "--wait", "2", "--names", ",".join(rest)],
            capture_output=True,
            text=True,
            timeout=20,
        )
        try:
            out["ping"] = json.loads(p.stdout.strip().splitlines()[-1])["answered"]
        except Exception:
            pass
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
