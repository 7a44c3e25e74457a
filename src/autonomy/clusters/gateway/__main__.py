"""``python -m autonomy.clusters.gateway --listen HOST:PORT``: serve the model gateway.

Reads its configuration from the environment (:mod:`.config`), prints which backend
serves which models, then serves until SIGTERM or Ctrl-C. A wrong setting prints one
line naming it and exits 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from ...errors import ConfigurationError
from .config import from_env
from .routing import describe

__all__ = ["main", "parse_listen"]


def parse_listen(text: str) -> tuple[str, int]:
    """``"0.0.0.0:8080"`` -> ``("0.0.0.0", 8080)``; ``[::1]:80`` for IPv6."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autonomy.clusters.gateway", description=__doc__)
    parser.add_argument("--listen", type=parse_listen, default=("0.0.0.0", 8080), help="HOST:PORT (0.0.0.0:8080)")
    args = parser.parse_args(argv)
    try:
        config = from_env(os.environ)
    except ConfigurationError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None

    import uvicorn

    from ...logs import get_logger
    from .server import create_app

    log = get_logger("autonomy.gateway")
    for line in describe(config):
        log.info("%s", line)
    host, port = args.listen
    log.info("gateway listening on %s:%d", host, port)
    uvicorn.run(create_app(config), host=host, port=port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
