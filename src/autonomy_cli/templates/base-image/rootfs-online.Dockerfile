# Online root filesystem: a slim Python image from a registry plus the runtime's
# dependencies from PyPI (pyzmq's wheels bundle libzmq with libsodium, so CURVE works).
# Tagged autonomy-local/rootfs:python3.11-slim-<hash> and cached; Dockerfile builds on top of it.
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
        --timeout 15 --retries 2 \
        "pyzmq>=24" "pynacl>=1.5" "cloudpickle>=2.2" "pyyaml>=6"
LABEL computer.autonomy.managed=true \
      computer.autonomy.site-packages=/usr/local/lib/python3.11/site-packages
