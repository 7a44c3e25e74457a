"""The shape of the ``autonomy`` package: no import circles, small modules, ``__all__``
on every public module, and an ``import autonomy`` that loads no asyncio or ZeroMQ."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import autonomy

ROOT = Path(autonomy.__file__).resolve().parent
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path) -> set[str]:
    """Modules of the package that ``name`` imports when it runs (typing-only imports,
    under ``if TYPE_CHECKING:``, are left out: they never execute)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    out.add(sub)
                elif target in MODULES:
                    out.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    out.discard(name)
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def walk(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return path[path.index(m) :] + [m]
            if m not in state:
                found = walk(m)
                if found:
                    return found
        path.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = walk(n)
            if found:
                return found
    return None


def test_the_package_has_its_rooms() -> None:
    for name in ("autonomy.nodes.node", "autonomy.transport.envelope", "autonomy.clusters.zone", "autonomy.logs"):
        assert name in MODULES


def test_no_import_circles() -> None:
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    assert graph["autonomy.nodes.node"], "the import graph should not be empty"
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_modules_are_small() -> None:
    for name, path in MODULES.items():
        text = path.read_text()
        if len(text.splitlines()) > MAX_LINES:
            assert "must be one module" in text[:2000], f"{name} has more than {MAX_LINES} lines"


def test_public_modules_declare_all() -> None:
    for name, path in MODULES.items():
        if any(part.startswith("_") for part in name.split(".")) or name == "autonomy.__main__":
            continue
        tree = ast.parse(path.read_text())
        names = {t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign)) for t in _targets(n)}
        assert "__all__" in names, f"{name} has no __all__"


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.Name]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [t for t in targets if isinstance(t, ast.Name)]


def test_import_autonomy_loads_no_asyncio_or_zmq() -> None:
    code = "import sys, autonomy; print(sorted(m for m in ('asyncio', 'zmq') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_lazy_names_load_on_first_use() -> None:
    code = "import autonomy; print(autonomy.Node.__module__, autonomy.Zone.__module__, autonomy.Context.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["autonomy.nodes.node", "autonomy.clusters.zone", "Context"]


def test_fastapi_loads_only_with_the_web_server() -> None:
    """A node imports FastAPI and uvicorn in a thread once it is up, never on the way."""
    code = (
        "import sys, autonomy, autonomy.nodes.node, autonomy.testing, autonomy.probe\n"
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'pydantic') if m in sys.modules))\n"
        "print(autonomy.HttpServer.__module__, autonomy.NodeDep.__origin__.__name__, 'fastapi' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "autonomy.nodes.http Node True"]
