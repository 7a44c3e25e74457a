"""The CLI's layers, read from its imports: no circle, and no import from a lower layer
to a higher one (commands -> services -> docker -> pipeline -> base).

Every import counts, also those inside functions (they are there to be lazy, not to hide
a dependency). A module over 400 lines must say at its top why it is one module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import autonomy_cli

PACKAGE = Path(autonomy_cli.__file__).resolve().parent
NAME = "autonomy_cli"

# (layer, module name or package prefix), most specific first; a higher layer may
# import a lower or the same one, never the other way
LAYERS: list[tuple[int, str]] = [
    (4, "autonomy_cli.commands"),
    (4, "autonomy_cli.main"),
    (4, "autonomy_cli.__main__"),
    (3, "autonomy_cli.zones"),
    (3, "autonomy_cli.logs.follow"),
    (3, "autonomy_cli.logs.page"),
    (3, "autonomy_cli.logs.api"),
    (2, "autonomy_cli.docker"),
    (1, "autonomy_cli.logs"),  # lines, merge, source, reader: pure
    (1, "autonomy_cli.manifest"),
    (1, "autonomy_cli.plan"),
    (1, "autonomy_cli.gateway"),
    (1, "autonomy_cli.materialize"),
    (1, "autonomy_cli.compose"),
    (1, "autonomy_cli.cluster"),
    (0, "autonomy_cli.errors"),
    (0, "autonomy_cli.labels"),
    (0, "autonomy_cli.names"),
    (0, "autonomy_cli.layout"),
    (0, "autonomy_cli.sizes"),
    (0, "autonomy_cli.settings"),
    (0, "autonomy_cli"),
]
LAYER_NAMES = {0: "base", 1: "pipeline", 2: "docker", 3: "services", 4: "commands"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [NAME, *rel.parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    for layer, prefix in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _imports(module: str, path: Path) -> set[str]:
    """The modules of the package that ``module`` imports (anywhere in it)."""
    is_package = path.name == "__init__.py"
    here = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names = []
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                names.append(sub if sub in MODULES else target)
        else:
            continue
        for name in names:
            while name and name not in MODULES:  # `import autonomy_cli.x.y` -> the deepest module known
                name = name.rpartition(".")[0]
            if name.startswith(NAME) and name != module:
                found.add(name)
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def test_the_package_is_read() -> None:
    assert "autonomy_cli.docker.engine" in GRAPH and "autonomy_cli.commands.zone" in GRAPH
    assert "autonomy_cli.docker.engine" in GRAPH["autonomy_cli.zones.inlet"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_from_a_lower_layer_to_a_higher_one(module: str) -> None:
    mine = _layer(module)
    upward = [m for m in sorted(GRAPH[module]) if _layer(m) > mine]
    assert not upward, f"{module} ({LAYER_NAMES[mine]}) imports {upward} from a higher layer"


def test_no_import_circle() -> None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(GRAPH[m]):
            if state.get(n) == 1:
                circle = path[path.index(n) :] + [n]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)


def test_only_the_docker_package_touches_docker() -> None:
    for module, path in MODULES.items():
        if module.startswith("autonomy_cli.docker"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            assert not [n for n in names if n == "docker" or n.startswith("docker.")], module
            assert not (isinstance(node, ast.Constant) and node.value in ("docker-compose", "compose")), module


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_are_short_or_say_why(module: str) -> None:
    text = MODULES[module].read_text()
    if text.count("\n") > 400:
        head = "\n".join(text.splitlines()[:30]).lower()
        assert "one module" in head, f"{module}: over 400 lines without saying why at its top"
