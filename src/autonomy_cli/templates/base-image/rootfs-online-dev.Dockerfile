# Online root filesystem of autonomy-python-dev: the slim Python image (the online base
# rootfs, as it is) plus a C toolchain for requirements that build from source (the image
# already has Python's headers). Tagged autonomy-local/rootfs:python3.13-slim-dev-<hash>.
ARG PYTHON_IMAGE=python:3.13-slim
FROM ${PYTHON_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
LABEL computer.autonomy.managed=true \
      computer.autonomy.site-packages=/usr/local/lib/python3.13/site-packages
