"""Which containers are nodes (docker/kinds.py), and which images are checked before a
deploy starts anything (docker/pullcheck.py). No Docker: the image check gets a stand-in
for the Docker API's two calls it makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker.errors
import pytest

from autonomy_cli.docker import kinds, pullcheck
from autonomy_cli.docker.pullcheck import check_images, is_ours, needed_images
from autonomy_cli.errors import ImageUnavailable
from autonomy_cli.manifest import load
from autonomy_cli.names import BASE_IMAGE
from autonomy_cli.plan import plan

CLUSTER = "19f138000c5dcc2eaa7d8f21594fc0c3"


def _context(root: Path, name: str, dockerfile: str, files: dict[str, str] | None = None) -> Path:
    folder = root / "images" / name
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text(dockerfile)
    for rel, text in (files or {}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


ON_BASE = f'FROM {BASE_IMAGE}\nCOPY . .\nENTRYPOINT ["python", "main.py"]\n'


@pytest.mark.parametrize(
    ("dockerfile", "files", "node"),
    [
        (ON_BASE, {"main.py": "from autonomy import Node\nNode.start(main)\n"}, True),
        (ON_BASE, {"app/agent.py": "import autonomy\nautonomy.Node.start()\n"}, True),
        (ON_BASE, {"main.py": "from autonomy import Node\nnode = Node (settings)\n"}, True),
        (ON_BASE, {"main.py": "import http.server\nhttp.server.test()\n"}, False),
        (ON_BASE, {"main.py": "from autonomy import RemoteNode\nRemoteNode('x')\n"}, False),
        (ON_BASE, {"notes.txt": "Node.start"}, False),  # only Python files count
        (ON_BASE, {"node_modules/x.py": "Node.start()"}, False),  # nor vendored folders
        (ON_BASE, {}, False),
        (ON_BASE.replace("main.py", "-c", 1) + 'CMD ["from autonomy import Node; Node.start()"]\n', {}, True),
        ("FROM python:3.12\n", {"main.py": "Node.start()"}, False),  # no runtime in it
    ],
)
def test_the_node_rule(tmp_path: Path, dockerfile: str, files: dict[str, str], node: bool) -> None:
    assert kinds.runs_node(_context(tmp_path, "x", dockerfile, files)) is node


def test_a_registry_image_is_a_service_and_contexts_are_read_once(tmp_path: Path) -> None:
    assert kinds.runs_node(None) is False
    _context(tmp_path, "a", ON_BASE, {"main.py": "Node.start()"})
    _context(tmp_path, "b", ON_BASE, {"main.py": "print('hi')"})
    found = kinds.node_contexts(tmp_path, ["images/a", "images/b", "images/a", None])
    assert found == {"images/a"}


# --- the image check -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "uses"),
    [
        ("from autonomy import Agent, Model\nawait Agent.start(node, 'hi', model=Model('nova-micro-v1'))\n", True),
        ("import autonomy\nautonomy.Agent.start_many(node, 'hi', 3)\n", True),
        ("from autonomy import Model\nm = Model ('claude-sonnet-4-v1')\n", True),
        ("from autonomy import Node\nNode.start()\n", False),
        ("class MyModel(Base):\n    pass\nx = SomeModel()\n", False),
        ("# an Agent and a Model in prose only\n", False),
    ],
)
def test_which_code_uses_models(tmp_path: Path, code: str, uses: bool) -> None:
    (tmp_path / "images" / "a").mkdir(parents=True)
    (tmp_path / "images" / "a" / "main.py").write_text(code)
    assert kinds.uses_models(tmp_path, ["images/a", None]) is uses


def test_needed_images_decisions() -> None:
    dockerfile = """\
# syntax=docker/dockerfile:1
ARG NODE_VERSION=20
ARG EMPTY
FROM --platform=linux/amd64 cgr.dev/chainguard/node:${NODE_VERSION} AS Build
RUN make
FROM build AS dev
FROM dev
FROM scratch
FROM python:${PY:-3.12}-slim
FROM ${EMPTY}
FROM $UNKNOWN
FROM cgr.dev/chainguard/node:20
"""
    # stages named earlier (any case), scratch and unresolved variables are not pulled;
    # global ARG defaults and ${VAR:-default} are put in; each image once
    assert needed_images(dockerfile) == ["cgr.dev/chainguard/node:20", "python:3.12-slim"]
    # an ARG after the first FROM does not reach FROM lines (Docker's rule)
    assert needed_images("FROM a:1\nARG X=b\nFROM ${X}\n") == ["a:1"]


def test_our_base_images_are_ours() -> None:
    assert is_ours(BASE_IMAGE) and is_ours(f"{BASE_IMAGE}:latest") and is_ours(f"{BASE_IMAGE}-dev")
    assert is_ours(f"{BASE_IMAGE}@sha256:{'0' * 64}")
    assert not is_ours(f"{BASE_IMAGE}x") and not is_ours("python:3.12")
    assert not is_ours("localhost:5000/autonomy-python")


class _Api:
    """What check_images asks Docker: inspect_image and pull."""

    def __init__(self, present: set[str], pull_errors: dict[str, str]) -> None:
        self.present = present
        self.pull_errors = pull_errors
        self.pulled: list[tuple[str, str | None]] = []
        self.timeout = 60

    def inspect_image(self, ref: str) -> dict[str, Any]:
        if ref not in self.present:
            raise docker.errors.ImageNotFound(ref)
        return {"Id": "sha256:x"}

    def pull(self, repository: str, tag: str | None = None, stream: bool = False, decode: bool = False) -> Any:
        assert self.timeout == pullcheck.PULL_SILENCE_TIMEOUT  # the pull is bounded
        self.pulled.append((repository, tag))
        ref = f"{repository}:{tag}"
        if ref in self.pull_errors:
            return iter([{"status": "Pulling"}, {"error": self.pull_errors[ref]}])
        return iter([{"status": "Downloaded"}])


class _Client:
    def __init__(self, api: _Api) -> None:
        self.api = api


def _project(tmp_path: Path, dockerfile: str) -> Any:
    root = tmp_path / "p"
    _context(root, "ui", dockerfile, {"main.py": "Node.start()"})
    (root / "autonomy.yaml").write_text(
        "name: z\npods:\n  - name: p\n    containers:\n      - {name: ui, image: ui}\n"
        "      - {name: mcp, image: 'example.org/mcp:1'}\n"
    )
    return plan(load(root), CLUSTER, root, tmp_path / "state", host_cpus=1)


def test_check_images_pulls_only_what_is_missing(tmp_path: Path) -> None:
    p = _project(tmp_path, f"FROM {BASE_IMAGE} AS base\nFROM node:20 AS ui\nFROM base\nCOPY --from=ui /x /x\n")
    api = _Api(present={"example.org/mcp:1"}, pull_errors={})
    assert check_images(_Client(api), p) == ["node:20"]  # type: ignore[arg-type]
    assert api.pulled == [("node", "20")]  # not the base image, not a stage, not what is here
    assert api.timeout == 60  # put back


def test_an_image_that_cannot_be_pulled_names_it_and_its_dockerfile(tmp_path: Path) -> None:
    p = _project(tmp_path, "FROM cgr.dev/chainguard/node:latest\nCOPY . .\n")
    why = 'Get "https://cgr.dev/v2/": dial tcp: lookup cgr.dev: no such host'
    api = _Api(present={"example.org/mcp:1"}, pull_errors={"cgr.dev/chainguard/node:latest": why})
    with pytest.raises(ImageUnavailable) as caught:
        check_images(_Client(api), p)  # type: ignore[arg-type]
    e = caught.value
    assert e.exit_code == 2 and e.image == "cgr.dev/chainguard/node:latest"
    assert e.wanted_by == "images/ui/Dockerfile"
    assert str(e).startswith("images/ui/Dockerfile: image cgr.dev/chainguard/node:latest ") and "no such host" in str(e)


def test_a_registry_image_of_autonomy_yaml_is_checked_too(tmp_path: Path) -> None:
    p = _project(tmp_path, f"FROM {BASE_IMAGE}\n")
    api = _Api(present=set(), pull_errors={"example.org/mcp:1": "not found"})
    with pytest.raises(ImageUnavailable, match=r"^autonomy.yaml: pod p, container mcp: image example.org/mcp:1 "):
        check_images(_Client(api), p)  # type: ignore[arg-type]


def test_a_registry_that_does_not_answer_fails_within_the_timeout(tmp_path: Path) -> None:
    p = _project(tmp_path, "FROM example.org/slow:1\n")

    class Silent(_Api):
        def pull(self, repository: str, tag: str | None = None, stream: bool = False, decode: bool = False) -> Any:
            import requests

            raise requests.exceptions.ReadTimeout("read timed out")

    with pytest.raises(ImageUnavailable, match="no answer within 10 s"):
        check_images(_Client(Silent(present={"example.org/mcp:1"}, pull_errors={})), p)  # type: ignore[arg-type]
