"""Docker, as the CLI needs it: the only package that touches the Docker SDK or the
Compose tool. Everything above it (autonomy_cli.zones, autonomy_cli.logs, the commands)
goes through these modules.

===================  ==============================================================
module               what
===================  ==============================================================
:mod:`.client`       the connection to the engine (one error when it is unreachable)
:mod:`.compose_cli`  the Compose command line (``docker compose`` or ``docker-compose``)
:mod:`.engine`       :class:`~.engine.DockerEngine`: build, start, watch, list, delete zones
:mod:`.containers`   :class:`~.containers.ContainerView`: a container as the CLI reads it
:mod:`.build`        the project's images (skipped when the digest of the context matches)
:mod:`.dockerfile`   reading Dockerfiles (FROM lines, the LABEL line appended to them)
:mod:`.image`        the base image, built locally (:mod:`.rootfs`: its root filesystem)
:mod:`.readiness`    the encrypted ping of every node, from the host or a container
:mod:`.helper`       throwaway containers on a zone's network (probe, status, relay)
:mod:`.relay`        the relay container of an inlet
:mod:`.logsource`    containers' log streams for autonomy_cli.logs
:mod:`.ports`        host ports: free or not, who holds one, picking one
===================  ==============================================================
"""
