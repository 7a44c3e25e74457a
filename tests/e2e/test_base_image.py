"""The locally built base image runs a user project whose Dockerfile is the seeds' one."""

from __future__ import annotations

import io
import tarfile
import uuid

import docker.errors
import pytest

from autonomy_cli.docker.image import ensure_base_image
from autonomy_cli.names import BASE_IMAGE
from clirun import LABEL

pytestmark = pytest.mark.e2e

TEST_LABELS = {f"{LABEL}test": "1"}

USER_DOCKERFILE = 'FROM ghcr.io/build-trust/autonomy-python\nCOPY . .\nENTRYPOINT ["python", "main.py"]\n'

USER_MAIN = """\
import os, shutil, sys
import autonomy
import zmq
import nacl.public
import cloudpickle
import yaml
import fastapi, uvicorn, starlette, httpx, openai, anthropic, websockets, pydantic, aiohttp

assert sys.version_info >= (3, 12), sys.version
assert sys.prefix == "/app/venv", sys.prefix  # `python` is the venv's
assert os.environ["PATH"].split(":")[0] == "/app/venv/bin", os.environ["PATH"]
assert shutil.which("python") == "/app/venv/bin/python", shutil.which("python")
assert anthropic.__file__.startswith("/app/venv/"), anthropic.__file__  # from PyPI, in the venv
assert yaml.__file__.startswith("/usr/"), yaml.__file__  # a system package, seen by the venv
fastapi.FastAPI()  # the venv's FastAPI agrees with the Starlette and pydantic that mcp brings
assert shutil.which("pip") is None, "the base image has no pip"

assert zmq.has("curve"), "libzmq has no CURVE"
public, secret = zmq.curve_keypair()
box_key = nacl.public.PrivateKey.generate()
assert cloudpickle.loads(cloudpickle.dumps(lambda x: x + 1))(1) == 2
assert yaml.safe_load("a: 1") == {"a": 1}
print("base-image-ok", sys.version_info[:2], zmq.zmq_version(), os.getcwd(),
      os.environ.get("PYTHONUNBUFFERED"), flush=True)
"""


def _context(files: dict[str, str]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


@pytest.mark.timeout(900)  # the first e2e test on a cold engine builds the base image
def test_user_project_builds_and_runs_on_the_base_image(docker_client):
    steps: list[str] = []
    first = ensure_base_image(docker_client, on_step=steps.append)
    assert first.way in ("cached", "online", "offline"), first
    assert len(first.base_hash) == 64

    base = docker_client.images.get(BASE_IMAGE)
    assert base.id == first.image_id
    assert base.labels[f"{LABEL}base-hash"] == first.base_hash
    assert base.labels[f"{LABEL}managed"] == "true"
    config = base.attrs["Config"]
    assert config["WorkingDir"] == "/app"
    assert "PYTHONUNBUFFERED=1" in config["Env"]
    env = dict(e.split("=", 1) for e in config["Env"])
    assert env["PATH"].split(":")[0] == "/app/venv/bin", env
    assert not [k for k in env if k.startswith(("PIP_", "UV_", "SSL_", "REQUESTS_"))], env  # index settings: -dev only

    tag = f"autonomy-test/base-image-user:{uuid.uuid4().hex[:12]}"
    container = None
    try:
        log = []
        for chunk in docker_client.api.build(
            fileobj=_context({"Dockerfile": USER_DOCKERFILE, "main.py": USER_MAIN}),
            custom_context=True,
            tag=tag,
            labels=TEST_LABELS,
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
        ):
            log.append(chunk.get("stream") or chunk.get("error") or "")
            assert "error" not in chunk, "".join(log)

        container = docker_client.containers.run(tag, detach=True, labels=TEST_LABELS)
        status = container.wait(timeout=120)
        out = container.logs(stdout=True, stderr=True).decode(errors="replace")
        assert status["StatusCode"] == 0, out
        assert "base-image-ok (3, 1" in out, out
        assert "/app 1" in out, out

        # python3 and python are both on PATH in the base image, and both import the runtime
        for exe in ("python", "python3", "/usr/bin/python3"):
            probe = docker_client.containers.run(
                BASE_IMAGE, [exe, "-c", "import autonomy; print('hi')"], remove=True, labels=TEST_LABELS
            )
            assert probe.strip() == b"hi"
    finally:
        if container is not None:
            container.remove(force=True)
        try:
            docker_client.images.remove(tag, force=True)
        except docker.errors.ImageNotFound:
            pass

    second = ensure_base_image(docker_client)
    if second.base_hash == first.base_hash:
        assert second.way == "cached", second
        assert second.image_id == first.image_id
    else:  # someone edited runtime/autonomy meanwhile: rebuilt, as it must be
        assert second.way in ("online", "offline"), second
