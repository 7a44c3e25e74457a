"""One home per fact: the label keys, the base image's name, the sizes, the compose
command line and the policy of docker-compose.base.yml each live in one place."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from test_layers import MODULES

from autonomy_cli import compose, labels, names, sizes
from autonomy_cli.manifest import Pod
from autonomy_cli.plan import HTTP_PORT


def _strings(module: str) -> list[str]:
    tree = ast.parse(Path(MODULES[module]).read_text())
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def test_label_keys_are_written_in_labels_py_only() -> None:
    found = [m for m in MODULES if m != "autonomy_cli.labels" and any(labels.PREFIX in s for s in _strings(m))]
    assert found == []


def test_the_base_image_is_named_in_names_py_only() -> None:
    found = [m for m in MODULES if m != "autonomy_cli.names" and any(names.BASE_IMAGE in s for s in _strings(m))]
    assert found == []


def test_compose_is_called_from_compose_cli_only() -> None:
    found = [
        m
        for m in MODULES
        if m != "autonomy_cli.docker.compose_cli" and {"docker-compose", "compose"} & set(_strings(m))
    ]
    assert found == []


def test_sizes_agree() -> None:
    assert set(get_args(Pod.model_fields["size"].annotation)) == set(sizes.SIZES)


def test_the_base_policy_is_what_render_starts_from() -> None:
    base = compose.base_policy()
    assert base["services"]["app"]["environment"]["AUTONOMY_HTTP_PORT"] == str(HTTP_PORT)
    assert base["services"]["infra"]["entrypoint"] == ["python3", "-m", "autonomy.clusters.infra"]
    assert compose.ROSTER_MOUNT == base["services"]["app"]["environment"]["AUTONOMY_ROSTER"]
    assert set(base["x-policy"]) == {"restart", "stop_grace_period", "logging"}
