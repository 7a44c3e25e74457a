"""The ``autonomy`` command: run Autonomy zones locally on Docker Compose.

The package is layered (see docs/architecture.md, layers): ``commands`` print and exit,
``zones`` holds the day-two services, ``docker`` is the only code that touches Docker,
``manifest`` -> ``plan`` -> ``compose`` is the pure pipeline (see docs/architecture.md,
from autonomy.yaml to running containers), and ``errors``, ``labels``, ``names``,
``layout``, ``sizes`` and ``settings`` are the single homes of their facts.
"""
