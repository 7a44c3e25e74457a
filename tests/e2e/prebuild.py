"""The images only some e2e tests need, built on a thread of their own while the others run.

A cold engine (``AUTONOMY_E2E_COLD=1``) has none of our images. The base image is built
first, before any e2e test starts: every test needs it. Then a thread builds, one after
the other and with the CLI's own functions, the ``-dev`` image, the MCP proxy and the
offline model (llama.cpp compiled from source): minutes of work that used to stop the
suite inside the first test that needed each. The tests that need one wait for it with
:meth:`Prebuild.wait` (and come last in the run: ``conftest.py`` orders them), so a
deploy never starts a second build of an image the thread is building.

A build that fails fails the tests that wait for it, with its error; the session's end
waits for the thread, so no build outlives the run.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

import docker

__all__ = ["BUILDS", "Prebuild"]


def _dev(client: Any) -> None:
    from autonomy_cli.docker.image import ensure_dev_image

    ensure_dev_image(client)


def _mcp(client: Any) -> None:
    from autonomy_cli.docker.mcpimage import ensure_mcp_image

    ensure_mcp_image(client)


def _model(client: Any) -> None:
    from autonomy_cli.docker.model import ensure_model_image

    ensure_model_image(client)


#: in the order the thread builds them (the model is built on the -dev image)
BUILDS: dict[str, Callable[[Any], None]] = {"dev": _dev, "mcp": _mcp, "model": _model}


class Prebuild:
    """The thread building :data:`BUILDS`; :meth:`wait` for the ones a test needs."""

    def __init__(self, names: Iterable[str] = tuple(BUILDS)) -> None:
        self._errors: dict[str, str] = {}
        wanted = set(names)
        unknown = wanted - set(BUILDS)
        if unknown:
            raise ValueError(f"no such image to build on the side: {', '.join(sorted(unknown))}")
        self._builds = [name for name in BUILDS if name in wanted]
        self._done = {name: threading.Event() for name in BUILDS}
        for name in set(BUILDS) - wanted:
            self._errors[name] = "not built on the side in this run: no module's NEEDS_IMAGES names it"
            self._done[name].set()
        self._seconds: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name="e2e-prebuild", daemon=True)

    def start(self) -> None:
        if self._builds:
            self._thread.start()

    def _run(self) -> None:
        client = docker.from_env(timeout=600)  # a client of its own: the tests keep theirs
        try:
            for name in self._builds:
                build = BUILDS[name]
                t0 = time.monotonic()
                try:
                    build(client)
                except BaseException:
                    self._errors[name] = traceback.format_exc()
                finally:
                    self._seconds[name] = time.monotonic() - t0
                    self._done[name].set()
        finally:
            client.close()

    def wait(self, *names: str, timeout: float = 2400) -> None:
        """Return once the images ``names`` are built; fail the calling test with the
        build's error when one failed, or when one is not done within ``timeout`` s."""
        import pytest

        deadline = time.monotonic() + timeout
        for name in names:
            if not self._done[name].wait(max(0.0, deadline - time.monotonic())):
                pytest.fail(f"the {name} image was not built within {timeout:g} s", pytrace=False)
            if name in self._errors:
                pytest.fail(f"the {name} image: {self._errors[name]}", pytrace=False)

    def join(self, timeout: float = 240) -> None:
        """Wait for the thread (session end: its time counts in the last test's timeout).
        Every test that needs an image waited for it, so the thread is done unless they
        failed first; a build still going after ``timeout`` s is left to end with the
        process, whose exit closes its connection to the engine, which stops it."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            import warnings

            warnings.warn(f"images still being built at the session's end: {self.report()}", stacklevel=1)

    def report(self) -> str:
        """What was built, in how long, and what is not done yet."""
        done = [f"{name} {self._seconds[name]:.0f} s" for name in self._builds if name in self._seconds]
        return ", ".join(done + [f"{name} not done" for name in self._builds if name not in self._seconds])
