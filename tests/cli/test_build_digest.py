"""What decides that a project image need not be sent to Docker again (engine helpers)."""

from __future__ import annotations

import os
from pathlib import Path

from autonomy_cli.docker.build import context_files as _context_files
from autonomy_cli.docker.dockerfile import from_lines as _from_lines
from autonomy_cli.docker.dockerfile import labelled_dockerfile as _labelled_dockerfile
from autonomy_cli.settings import CliSettings
from clirun import LABEL


def _context(tmp_path: Path) -> Path:
    ctx = tmp_path / "images" / "main"
    ctx.mkdir(parents=True)
    (ctx / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\nCOPY . .\n")
    (ctx / "main.py").write_text("print('hi')\n")
    return ctx


def test_from_lines_skip_flags_and_name_stages() -> None:
    text = "ARG X\nFROM --platform=linux/amd64 python:3.11 AS build\nRUN make\nfrom build\nFROM scratch as final\n"
    assert _from_lines(text) == [("python:3.11", "build"), ("build", ""), ("scratch", "final")]


def test_context_digest_follows_content_not_timestamps(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    first = _context_files(ctx)
    os.utime(ctx / "main.py", (1, 1))
    assert _context_files(ctx) == first  # touched, same bytes
    (ctx / "main.py").write_text("print('hello')\n")
    changed = _context_files(ctx)
    assert changed != first
    (ctx / "lib").mkdir()
    (ctx / "lib" / "util.py").write_text("")
    assert _context_files(ctx) != changed  # a new (even empty) file counts
    os.chmod(ctx / "main.py", 0o755)
    assert _context_files(ctx) != changed


def test_context_digest_ignores_what_dockerignore_leaves_out(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    (ctx / ".dockerignore").write_text("# build output\n*.log\n")
    before = _context_files(ctx)
    (ctx / "debug.log").write_text("noise")
    assert _context_files(ctx) == before  # Docker would not be sent it either
    (ctx / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\nCOPY . /app\n")
    assert _context_files(ctx) != before


def test_probe_setting() -> None:
    assert CliSettings.from_env({}).probe == "auto"
    assert CliSettings.from_env({"AUTONOMY_PROBE": "Container"}).probe == "container"


def test_labels_are_one_instruction_after_the_users_dockerfile(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    (tmp_path / "out").mkdir()
    path = _labelled_dockerfile(ctx, {f"{LABEL}zone": "hello", f"{LABEL}context": "ab"}, tmp_path / "out")
    assert path is not None and path.parent == tmp_path / "out"
    assert path.read_text() == (
        f'FROM ghcr.io/build-trust/autonomy-python\nCOPY . .\nLABEL {LABEL}zone="hello" {LABEL}context="ab"\n'
    )
    assert (ctx / "Dockerfile").read_text() == "FROM ghcr.io/build-trust/autonomy-python\nCOPY . .\n"  # untouched
    (ctx / "Dockerfile").unlink()
    assert _labelled_dockerfile(ctx, {}, tmp_path / "out") is None
