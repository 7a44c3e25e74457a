"""autonomy.nodes helpers: argument checks, and pickling a user's worker by value."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import cloudpickle
import pytest
import zmq

import autonomy.nodes.node
from autonomy.nodes._shipping import dumps_worker as _dumps_worker
from autonomy.nodes._shipping import user_module as _user_module
from autonomy.nodes.workers import _check_message, _check_name, _check_worker

# --------------------------------------------------------------------------- _check_message


def test_check_message_returns_str() -> None:
    assert _check_message("hi") == "hi"
    assert _check_message("") == ""


@pytest.mark.parametrize("bad", [b"bytes", 1, None, {"a": 1}, ["x"], bytearray(b"x")])
def test_check_message_rejects_non_str(bad: object) -> None:
    with pytest.raises(TypeError) as info:
        _check_message(bad)
    text = str(info.value)
    assert "json.dumps" in text
    assert type(bad).__name__ in text
    assert text.startswith("message must be a str")


def test_check_message_names_what() -> None:
    with pytest.raises(TypeError, match=r"^reply must be a str"):
        _check_message(3, "reply")


# --------------------------------------------------------------------------- _check_name


@pytest.mark.parametrize("good", ["a-b_C9", "a", "0", "-", "_", "x" * 255])
def test_check_name_ok(good: str) -> None:
    assert _check_name(good) == good


@pytest.mark.parametrize("bad", ["", "a b", "é", "x" * 256, "a.b", "a/b", "a:b", " a", None, 5, b"ab"])
def test_check_name_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="worker name"):
        _check_name(bad)


@pytest.mark.parametrize("bad", ["abc\n", "x" * 255 + "\n"])
def test_check_name_rejects_trailing_newline(bad: str) -> None:
    with pytest.raises(ValueError):
        _check_name(bad)


# --------------------------------------------------------------------------- _check_worker


class _AsyncWorker:
    async def handle_message(self, context: Any, message: str) -> None:
        return None


class _SyncWorker:
    def handle_message(self, context: Any, message: str) -> None:
        return None


class _NoHandler:
    async def handle(self, context: Any, message: str) -> None:
        return None


class _NoneHandler:
    handle_message = None


def test_check_worker_accepts_async() -> None:
    assert _check_worker(_AsyncWorker()) is None


@pytest.mark.parametrize("obj", [_SyncWorker(), _NoHandler(), _NoneHandler(), object(), "worker", None])
def test_check_worker_rejects(obj: object) -> None:
    with pytest.raises(TypeError) as info:
        _check_worker(obj)
    assert type(obj).__name__ in str(info.value)
    assert "async def handle_message" in str(info.value)


# --------------------------------------------------------------------------- pickling by value

_MODULE_SOURCE = """
GREETING = "Hello"


def punctuate(text):
    return text + "!"


class Greeter:
    def __init__(self, who_am_i):
        self.who_am_i = who_am_i

    async def handle_message(self, context, message):
        await context.reply(punctuate(f"{GREETING}, {message}, from {self.who_am_i}"))
"""

_LOADER = textwrap.dedent(
    """
    import asyncio, importlib, sys
    import cloudpickle

    data = open(sys.argv[1], "rb").read()
    try:
        importlib.import_module(sys.argv[2])
    except ModuleNotFoundError:
        pass
    else:
        sys.exit("the user's module is importable here: the test proves nothing")

    class Ctx:
        def __init__(self):
            self.replies = []

        async def reply(self, message):
            self.replies.append(message)

    obj = cloudpickle.loads(data)
    ctx = Ctx()
    asyncio.run(obj.handle_message(ctx, "Alice"))
    print(type(obj).__name__, repr(ctx.replies))
    """
)


@pytest.fixture()
def user_module(tmp_path: Path) -> Iterator[ModuleType]:
    """A module of the 'user's project': a .py file outside site-packages, imported normally."""
    name = f"userproj_{uuid.uuid4().hex}"
    src = tmp_path / "project"
    src.mkdir()
    (src / f"{name}.py").write_text(_MODULE_SOURCE)
    sys.path.insert(0, str(src))
    try:
        module = importlib.import_module(name)
        yield module
    finally:
        if str(src) in sys.path:
            sys.path.remove(str(src))
        sys.modules.pop(name, None)
        if name in cloudpickle.list_registry_pickle_by_value():
            cloudpickle.unregister_pickle_by_value(module)


def _forget(module: ModuleType) -> None:
    """Make the module unimportable in this process (and its file gone) after pickling."""
    path = Path(module.__file__ or "")
    sys.modules.pop(module.__name__, None)
    if str(path.parent) in sys.path:
        sys.path.remove(str(path.parent))
    path.unlink()
    importlib.invalidate_caches()


def _load_elsewhere(tmp_path: Path, data: bytes, module_name: str) -> subprocess.CompletedProcess[str]:
    blob = tmp_path / "worker.pickle"
    blob.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    return subprocess.run(
        [sys.executable, "-c", _LOADER, str(blob), module_name],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_user_module_classification(user_module: ModuleType) -> None:
    assert _user_module(user_module) is True
    assert _user_module(json) is False
    assert _user_module(zmq) is False
    assert _user_module(cloudpickle) is False
    assert _user_module(autonomy.nodes.node) is False
    assert _user_module(sys) is False  # built in: no __file__


def test_dumps_worker_pickles_user_class_by_value(user_module: ModuleType, tmp_path: Path) -> None:
    worker = user_module.Greeter("node-a")
    _check_worker(worker)
    data = _dumps_worker(worker)
    name = user_module.__name__
    _forget(user_module)
    assert name not in sys.modules
    result = _load_elsewhere(tmp_path, data, name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Greeter ['Hello, Alice, from node-a!']"


def test_plain_cloudpickle_would_pickle_by_reference(user_module: ModuleType, tmp_path: Path) -> None:
    """The control: without _dumps_worker the same harness fails, so the test above means something."""
    data = cloudpickle.dumps(user_module.Greeter("node-a"))
    name = user_module.__name__
    _forget(user_module)
    result = _load_elsewhere(tmp_path, data, name)
    assert result.returncode != 0
    assert "ModuleNotFoundError" in result.stderr


def test_dumps_worker_does_not_register_library_modules() -> None:
    before = cloudpickle.list_registry_pickle_by_value()
    data = _dumps_worker(json.JSONEncoder(indent=3))
    assert "json" not in cloudpickle.list_registry_pickle_by_value()
    assert "json.encoder" not in cloudpickle.list_registry_pickle_by_value()
    assert cloudpickle.list_registry_pickle_by_value() == before
    assert cloudpickle.loads(data).indent == 3
