"""The manifest: a project's ``autonomy.yaml`` (+ ``secrets.yaml``), read and validated.

First stage of the CLI's one-way pipeline::

    autonomy.yaml + secrets.yaml --load()--> Manifest --plan()--> ZonePlan --render()--> compose dict

What users write::

    name: hello                    # the zone: 1..10 characters, a-z and 0-9
    pods:
      - name: main-pod             # a-z, 0-9 and '-', starts with a letter, <= 40 chars
        public: true               # at most one pod: its port 8000 is the zone's HTTP endpoint
        size: big                  # regular (default) | big
        clones: 5                  # >= 1: five separate pod instances
        containers:
          - name: main
            image: main            # images/main/Dockerfile exists -> built locally
            env:                   # a mapping, or a list of `- NAME: value`
              - LOG_LEVEL: INFO
              - API_KEY: secrets.MY_KEY     # resolved from secrets.yaml
            args: ["--port", "8001"]        # appended to the image's ENTRYPOINT
        portals:
          outlets:
            - to: localhost:7000            # a port inside the pod ...
              inlet_from: localhost:32102   # ... reachable on 127.0.0.1:32102 here

The package, in reading order: :mod:`.model` (the frozen models and their field rules),
:mod:`.loading` (YAML in, :func:`load` and :func:`zone_name` out), :mod:`.parsing` (files
and YAML read within bounds), :mod:`.limits` (every bound, in one table), :mod:`.images`
(``images/<name>/`` folders), :mod:`.problems` (validation errors -> the YAML path the
user wrote), :mod:`.rules` (rules across items).
"""

from .loading import load, zone_name
from .model import (
    MANIFEST_FILE,
    MAX_CLONES,
    RESERVED_ENV,
    SECRETS_FILE,
    Container,
    EnvVar,
    Image,
    Manifest,
    Outlet,
    Pod,
    Portals,
    is_zone_name,
    secret_value_problem,
)

__all__ = [
    "MANIFEST_FILE",
    "MAX_CLONES",
    "RESERVED_ENV",
    "SECRETS_FILE",
    "Container",
    "EnvVar",
    "Image",
    "Manifest",
    "Outlet",
    "Pod",
    "Portals",
    "is_zone_name",
    "load",
    "secret_value_problem",
    "zone_name",
]
