"""What a non-editable install carries: the base image's templates ship with the CLI."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

from autonomy_cli import image

ROOT = Path(__file__).resolve().parents[2]


def test_every_template_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["autonomy_cli.templates"] == "templates"
    assert "autonomy_cli.templates" in config["packages"]
    globs = config["package-data"]["autonomy_cli.templates"]
    files = [p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*") if p.is_file()]
    assert files, "templates/ is empty"
    for rel in files:
        assert any(fnmatch.fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), f"{rel} is not shipped"


def test_templates_are_found_where_an_install_puts_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed = tmp_path / "site-packages" / "autonomy_cli"
    (installed / "templates" / "base-image").mkdir(parents=True)
    (installed / "templates" / "base-image" / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.setattr(image, "_repo_root", lambda: tmp_path / "no-source-tree")
    monkeypatch.setattr(image, "__file__", str(installed / "image.py"))
    assert image.templates_dir() == installed / "templates" / "base-image"
    (installed / "templates" / "base-image" / "Dockerfile").unlink()
    with pytest.raises(image.ImageError, match="installed without its templates"):
        image.templates_dir()
