"""The manifest: a project's ``autonomy.yaml`` (+ ``secrets.yaml``), read and validated.

First stage of the CLI's one-way pipeline::

    autonomy.yaml + secrets.yaml --load()--> Manifest --plan()--> ZonePlan --render()--> compose dict

What users write::

    name: hello                    # the zone (or zone_name): 1..10 characters, a-z and 0-9
    pods:
      - name: main-pod             # a-z, 0-9 and '-', starts with a letter, <= 40 chars
        public: true               # at most one pod: its port 8000 is the zone's HTTP endpoint
        size: big                  # regular (default) | big
        clones: 5                  # >= 1: five separate pod instances
        containers:
          - name: main
            image: main            # images/main/Dockerfile exists -> built locally
            env:                   # a mapping, or a list of `- NAME: value` / `- {name: N, value: V}`
              - LOG_LEVEL: INFO
              - API_KEY: secrets.MY_KEY     # resolved from secrets.yaml
              - {name: MODE, value: fast}
            args: ["--port", "8001"]        # appended to the image's ENTRYPOINT
            volumeMounts:                   # volumes of this pod (.volumes)
              - {name: data, mountPath: /data}
        volumes:
          - {name: data, size: 1Gi}         # a Docker volume per pod instance, kept across deploys
        portals:                            # (or portal) see .portals for inlets
          outlets:
            - to: localhost:7000            # a port inside the pod ...
              inlet_from: localhost:32102   # ... reachable on 127.0.0.1:32102 here

The package, in reading order: :mod:`.model` (the frozen models and their field rules),
:mod:`.loading` (YAML in, :func:`load` and :func:`zone_name` out), :mod:`.parsing` (files
and YAML read within bounds), :mod:`.base`, :mod:`.portals` and :mod:`.volumes` (the models' parts),
:mod:`.notes` (warnings: what the cloud would refuse or ignore),
:mod:`.limits` (every bound, in one table), :mod:`.images`
(``images/<name>/`` folders), :mod:`.problems` (validation errors -> the YAML path the
user wrote), :mod:`.rules` (rules across items).
"""

from .loading import load, zone_name
from .model import (
    MANIFEST_FILE,
    MANIFEST_FILES,
    MAX_CLONES,
    RESERVED_ENV,
    SECRETS_FILE,
    SECRETS_FILES,
    Container,
    EnvVar,
    Image,
    Inlet,
    Manifest,
    Outlet,
    Pod,
    Portals,
    Volume,
    VolumeMount,
    is_zone_name,
    secret_value_problem,
)
from .notes import notes
from .volumes import format_size

__all__ = [
    "MANIFEST_FILE",
    "MANIFEST_FILES",
    "MAX_CLONES",
    "RESERVED_ENV",
    "SECRETS_FILE",
    "SECRETS_FILES",
    "Container",
    "EnvVar",
    "Image",
    "Inlet",
    "Manifest",
    "Outlet",
    "Pod",
    "Portals",
    "Volume",
    "VolumeMount",
    "format_size",
    "is_zone_name",
    "load",
    "notes",
    "secret_value_problem",
    "zone_name",
]
