"""Reading a project's FROM lines: which image a Dockerfile's final stage runs on (a node
or not) and whether it needs the -dev image built first."""

from __future__ import annotations

from pathlib import Path

from autonomy_cli.docker.dockerfile import builds_on_base, final_image, names_dev_image
from autonomy_cli.names import BASE_DEV_IMAGE, BASE_IMAGE

TWO_STAGE = f"""\
FROM {BASE_DEV_IMAGE}:latest AS dev
COPY requirements.txt ./
RUN pip install -r requirements.txt
FROM {BASE_IMAGE}:latest
COPY --from=dev /app/venv venv
"""


def _context(tmp_path: Path, text: str) -> Path:
    (tmp_path / "Dockerfile").write_text(text)
    return tmp_path


def test_the_final_stage_decides(tmp_path: Path) -> None:
    assert final_image(TWO_STAGE) == BASE_IMAGE
    assert final_image("FROM a:1 AS x\nFROM x AS y\nFROM y\n") == "a"  # through aliases
    assert final_image("FROM localhost:5000/tool:2\n") == "localhost:5000/tool"
    assert final_image("# nothing\n") is None
    assert builds_on_base(_context(tmp_path, TWO_STAGE))
    assert not builds_on_base(_context(tmp_path, f"FROM {BASE_IMAGE} AS b\nFROM nginx\n"))
    assert builds_on_base(_context(tmp_path, f"FROM {BASE_DEV_IMAGE}\n"))  # -dev has the runtime too


def test_the_dev_image_is_built_only_when_named(tmp_path: Path) -> None:
    assert names_dev_image(_context(tmp_path, TWO_STAGE))
    assert names_dev_image(_context(tmp_path, f"FROM --platform=linux/amd64 {BASE_DEV_IMAGE}@sha256:ab AS d\n"))
    assert not names_dev_image(_context(tmp_path, f"FROM {BASE_IMAGE}\n"))
    assert not names_dev_image(None)
