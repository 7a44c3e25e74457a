"""What a non-editable install carries: the base image's templates ship with the CLI."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from autonomy_cli.docker import image

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "autonomy_cli"


def test_every_template_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["packages"]["find"]["where"] == ["src"]
    globs = config["package-data"]["autonomy_cli"]
    files = [p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "templates").rglob("*") if p.is_file()]
    assert files, "templates/ is empty"
    for rel in files:
        assert any(fnmatch.fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), f"{rel} is not shipped"


def test_templates_are_found_through_the_package() -> None:
    assert image.templates_dir() == PACKAGE / "templates" / "base-image"
    assert (image.runtime_dir() / "__init__.py").is_file()


def test_every_data_file_of_the_package_is_package_data() -> None:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["autonomy_cli"]
    files = [
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert "docker-compose.base.yml" in files and "logs/page.html" in files
    for rel in files:
        assert any(fnmatch.fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), f"{rel} is not shipped"
