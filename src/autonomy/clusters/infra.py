"""pid 1 of a pod's infra container: ``python3 -m autonomy.clusters.infra``.

The infra container owns the pod's network namespace and does nothing else. It sleeps
without using CPU and exits at once on SIGTERM or SIGINT (a plain pid 1 ignores SIGTERM,
which would cost the whole stop grace period on every stop). Standard library only.
"""

from __future__ import annotations

import signal
import sys

__all__ = ["main"]


def _exit(signum: int, frame: object) -> None:
    sys.exit(0)


def main() -> None:
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
