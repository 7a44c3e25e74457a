"""Hostile input: every file a user (or an attacker) can hand the CLI fails cleanly.

Each case runs the real command in a subprocess (`python -m autonomy_cli`), with Docker
pointing nowhere, under a 1 GiB address-space limit and a 10 s timeout. A hostile
autonomy.yaml or secrets.yaml, a bad `--wait` or a bad setting must end in exit code 2 and
a short message naming the file and where in it (a YAML path, or a line and column), with
the user's text shown escaped (no raw control characters reach the terminal, Rich markup
is printed literally) and shortened, never a traceback, never a secret value. Nothing may
be created under AUTONOMY_HOME: validation happens before anything else.

A stray exception inside the CLI prints one line (`error: internal error: ...`, exit 1);
AUTONOMY_DEBUG=1 shows its traceback instead.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from clirun import autonomy_argv

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10  # seconds a whole command may take, however hostile its input
MEMORY = 1 << 30  # bytes of address space the command may use

VALID = """\
name: hostile
pods:
  - name: main-pod
    containers:
      - name: main
        image: main
"""

SECRET = "s3cr3t-never-shown"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _env(home: Path, extra: dict[str, str] | None) -> dict[str, str]:
    env = {
        **os.environ,
        "AUTONOMY_HOME": str(home),
        "DOCKER_HOST": "unix:///nonexistent/docker.sock",
        "COLUMNS": "200",
    }
    env.pop("AUTONOMY_DEBUG", None)
    env.update(extra or {})
    return env


@dataclass
class Result:
    returncode: int
    raw: bytes  # stdout + stderr as bytes, to look for raw control characters
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(
    *args: str,
    home: Path,
    env: dict[str, str] | None = None,
    launcher: list[str] | None = None,
    stdout: int = subprocess.PIPE,
) -> Result:
    """`autonomy <args>` in a subprocess, bounded in time and memory."""
    r = subprocess.run(
        [*launcher, *args] if launcher else autonomy_argv(*args),
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=_env(home, env),
        timeout=TIMEOUT,
        preexec_fn=_limit_memory,
    )
    out = r.stdout or b""
    return Result(
        r.returncode,
        out + r.stderr,
        out.decode("utf-8", "backslashreplace"),
        r.stderr.decode("utf-8", "backslashreplace"),
    )


def make_project(
    root: Path,
    manifest: str | bytes = VALID,
    *,
    secrets: str | bytes | None = None,
    images: tuple[str, ...] = ("main",),
) -> Path:
    project = root / "project"
    project.mkdir(parents=True, exist_ok=True)
    for image in images:
        (project / "images" / image).mkdir(parents=True, exist_ok=True)
        (project / "images" / image / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\n")
    (project / "autonomy.yaml").write_bytes(manifest.encode() if isinstance(manifest, str) else manifest)
    if secrets is not None:
        (project / "secrets.yaml").write_bytes(secrets.encode() if isinstance(secrets, str) else secrets)
    return project


def assert_clean_failure(r: Result, *needles: str, code: int = 2, home: Path | None = None) -> None:
    """Exit ``code``; every needle in stderr; no traceback, no raw control character, short."""
    assert r.returncode == code, f"exit {r.returncode}\n{r.output[:3000]}"
    assert "Traceback" not in r.output, r.output[:3000]
    assert "error" in r.stderr.lower(), r.stderr[:3000]
    for needle in needles:
        assert needle in r.stderr, f"{needle!r} not in:\n{r.stderr[:3000]}"
    raw_controls = {c for c in r.raw if c < 0x20 and c not in (0x0A,)} | ({0x7F} & set(r.raw))
    assert not raw_controls, f"raw control bytes {sorted(raw_controls)} in output:\n{r.raw[:3000]!r}"
    assert "\u009b" not in r.output and "\u202e" not in r.output
    assert len(r.stderr) < 20_000, f"{len(r.stderr)} characters of stderr"
    if home is not None:
        assert not (home / "zones").exists(), "something was created under AUTONOMY_HOME"


# --------------------------------------------------------------------------- hostile manifests


def _nul_manifest() -> bytes:
    return VALID.replace("main-pod", "main-pod\x00").encode()


def _line_column(data: bytes, needle: bytes) -> str:
    offset = data.index(needle)
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _pods(n: int, *, clones: int = 1, name: str = "p{i}") -> str:
    body = "".join(
        f"  - name: {name.format(i=i)}\n    clones: {clones}\n    containers: [{{name: c, image: main}}]\n"
        for i in range(n)
    )
    return f"name: hostile\npods:\n{body}"


def _container_with(key: str, value: str) -> str:
    return VALID + f"        {key}: {value}\n"


def _bomb() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "name: hostile\n" + "\n".join(lines) + "\npods: *i\n"


def _aliased_args() -> str:
    items = ", ".join(["x"] * 500)
    pods = []
    for i in range(10):
        containers = []
        for j in range(30):
            args = f"&a [{items}]" if i == 0 and j == 0 else "*a"
            containers.append(f"      - {{name: c{j}, image: main, args: {args}}}\n")
        pods.append(f"  - name: p{i}\n    containers:\n" + "".join(containers))
    return "name: hostile\npods:\n" + "".join(pods)


def _deep_block_lists(depth: int) -> str:
    return "name: hostile\npods:\n  " + "- " * depth + "x\n"  # "- - x" is a list in a list


def _deep_block_maps(depth: int) -> str:
    return "name: hostile\npods:\n" + "".join(" " * (i + 2) + "a:\n" for i in range(depth)) + " " * (depth + 2) + "x\n"


@dataclass
class Case:
    id: str
    manifest: str | bytes
    needles: tuple[str, ...] = ()
    pattern: str | None = None  # a regular expression stderr must match
    secrets: str | bytes | None = None
    hidden: tuple[str, ...] = ()  # text that must appear nowhere in the output
    literal_lines: bool = False  # the message must keep "FORGED" on an escaped line
    max_lines: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


_SECRETS_REF = VALID + "        env: {API_KEY: secrets.API_KEY}\n"
_NUL_SECRETS = f'FIRST: {SECRET}-first\nAPI_KEY: "{SECRET}\x00-second"\n'.encode()
_BIG_NAME = "n" * 200_000
_LONG_KEY = "k" * 200_000

CASES = [
    Case(
        "nul-byte-in-manifest",
        _nul_manifest(),
        ("autonomy.yaml: " + _line_column(_nul_manifest(), b"\x00"), "#x0000"),
    ),
    Case(
        "nul-byte-in-secrets",
        _SECRETS_REF,
        ("secrets.yaml: " + _line_column(_NUL_SECRETS, b"\x00"), "#x0000"),
        secrets=_NUL_SECRETS,
        hidden=(SECRET,),
    ),
    Case(
        "bad-int-in-secrets",
        _SECRETS_REF,
        ("secrets.yaml: line 1, column 10",),
        secrets=f"API_KEY: !!int {SECRET}\n",
        hidden=(SECRET,),
    ),
    Case(
        "bad-date-in-secrets",
        _SECRETS_REF,
        ("secrets.yaml: line 2, column 10",),
        secrets=f"OTHER: {SECRET}\nAPI_KEY: 2024-13-45\n",
        hidden=(SECRET, "2024-13-45"),
    ),
    Case(
        "deep-block-lists", _deep_block_lists(1000), pattern=r"autonomy\.yaml: line \d+, column \d+: .*deeper than 32"
    ),
    Case(
        "deep-flow-lists",
        "name: hostile\npods: " + "[" * 1000 + "]" * 1000 + "\n",
        pattern=r"autonomy\.yaml: line 2, column \d+: .*deeper than 32",
    ),
    Case(
        "deep-flow-lists-100k",
        "name: hostile\npods: " + "[" * 100_000 + "\n",
        pattern=r"autonomy\.yaml: line 2, column \d+: .*deeper than 32",
    ),
    Case(
        "deep-block-mappings",
        _deep_block_maps(700),  # 700 levels of indentation: just under the size limit
        pattern=r"autonomy\.yaml: line \d+, column \d+: .*deeper than 32",
    ),
    Case(
        "deep-flow-mappings",
        "name: hostile\npods: " + "{a: " * 1000 + "x" + "}" * 1000 + "\n",
        pattern=r"autonomy\.yaml: line 2, column \d+: .*deeper than 32",
    ),
    Case("billion-laughs", _bomb(), pattern=r"autonomy\.yaml: line \d+, column \d+: .*more than 100000"),
    Case("aliased-huge-args", _aliased_args(), pattern=r"autonomy\.yaml: line \d+, column \d+: .*more than 100000"),
    Case(
        "too-many-args",
        _container_with("args", "[" + ", ".join(["x"] * 600) + "]"),
        ("autonomy.yaml: pods[0].containers[0].args:", "512", "600"),
    ),
    Case(
        "too-many-env-items",
        _container_with("env", "{" + ", ".join(f"V{i}: x" for i in range(600)) + "}"),
        ("autonomy.yaml: pods[0].containers[0].env:", "512", "600"),
    ),
    Case(
        "too-many-env-list-items",
        _container_with("env", "[" + ", ".join(f"{{V{i}: x}}" for i in range(600)) + "]"),
        ("autonomy.yaml: pods[0].containers[0].env:", "512", "600"),
    ),
    Case(
        "too-many-containers",
        "name: hostile\npods:\n  - name: p\n    containers:\n"
        + "".join(f"      - {{name: c{j}, image: main}}\n" for j in range(40)),
        ("autonomy.yaml: pods[0].containers:", "32", "40"),
    ),
    Case("too-many-pods", _pods(101), ("autonomy.yaml: pods:", "100", "101")),
    Case("thousands-of-pods", _pods(3000), ("autonomy.yaml: pods:", "100", "3000")),
    Case("too-many-instances", _pods(6, clones=100), ("autonomy.yaml: pods:", "500", "600")),
    Case("too-many-clones", _pods(1, clones=100_000), ("autonomy.yaml: pods[0].clones:", "100")),
    Case(
        "problems-are-capped",
        _pods(60, name="Bad_{i}"),
        ("autonomy.yaml: pods[0].name:",),
        pattern=r"\.\.\. and \d+ more problems",
        max_lines=25,
    ),
    Case("rich-closing-tag-in-key", VALID + '"[/bold]": 1\n', ("autonomy.yaml: [/bold]: unknown key",)),
    Case("rich-markup-in-key", VALID + '"[dim]x[/dim]": 1\n', ("[dim]x[/dim]",)),
    Case(
        "rich-markup-in-value",
        VALID.replace("name: hostile", 'name: "[dim]z[/]"'),
        ("autonomy.yaml: name:", "[dim]z[/]"),
    ),
    Case(
        "rich-markup-in-pod-name",
        VALID.replace("main-pod", '"[bold red]p[/bold red]"'),
        ("autonomy.yaml: pods[0].name:", "[bold red]p[/bold red]"),
    ),
    Case("ansi-in-key", VALID + '"\\e[31mRED\\e[0m": 1\n', ("autonomy.yaml: \\x1b[31mRED\\x1b[0m: unknown key",)),
    Case("ansi-in-nested-key", VALID + '        "\\e[2J": 1\n', ("pods[0].containers[0].\\x1b[2J: unknown key",)),
    Case(
        "osc-in-value",
        VALID.replace("name: hostile", 'name: "\\e]0;pwned\\a"'),
        ("autonomy.yaml: name:", "\\x1b]0;pwned"),
    ),
    Case("emoji-code-in-key", VALID + '":thumbs_up:": 1\n', ("autonomy.yaml: :thumbs_up:: unknown key",)),
    Case("c1-csi-in-key", VALID + '"\\u009b31mX": 1\n', ("\\x9b31mX",)),
    Case("bidi-override-in-key", VALID + '"abc\\u202edcb": 1\n', ("\\u202e",)),
    Case(
        "newline-in-key",
        VALID + '"x\\nerror: FORGED line": 1\n',
        ("autonomy.yaml: x\\nerror: FORGED line: unknown key",),
        literal_lines=True,
    ),
    Case(
        "newline-in-value",
        VALID.replace("name: hostile", 'name: "x\\nautonomy.yaml: FORGED"'),
        ("autonomy.yaml: name:",),
        literal_lines=True,
    ),
    Case("carriage-return-in-key", VALID + '"x\\rFORGED": 1\n', ("x\\rFORGED",), literal_lines=True),
    Case("10mb-manifest", _pods(200_000), ("autonomy.yaml:", "256 KiB")),
    Case("10mb-name", "name: " + "n" * 10_000_000 + "\npods: []\n", ("autonomy.yaml:", "256 KiB")),
    Case("200kb-name", VALID.replace("name: hostile", f"name: {_BIG_NAME}"), ("autonomy.yaml: name:",), max_lines=3),
    # a key this long must be an explicit one (`? key`)
    Case("200kb-key", VALID + f"? {_LONG_KEY}\n: 1\n", ("autonomy.yaml: kkkk", "more characters"), max_lines=3),
    Case("bad-date", "name: 2024-13-45\npods: []\n", ("autonomy.yaml: line 1, column 7", "2024-13-45")),
    Case("bad-time", "name: 2024-01-01 25:00:00\npods: []\n", ("autonomy.yaml: line 1, column 7",)),
    Case("bad-hex-int", "name: 0x_\npods: []\n", ("autonomy.yaml: line 1, column 7",)),
    Case("bad-binary-int", "name: 0b_\npods: []\n", ("autonomy.yaml: line 1, column 7",)),
    Case("tagged-bad-int", "name: !!int abc\npods: []\n", ("autonomy.yaml: line 1, column 7",)),
    Case("tagged-bad-float", "name: !!float abc\npods: []\n", ("autonomy.yaml: line 1, column 7",)),
    Case("tagged-bad-timestamp", "name: !!timestamp abc\npods: []\n", ("autonomy.yaml: line 1, column 7",)),
    Case("tagged-bad-bool", "name: !!bool maybe\npods: []\n", ("autonomy.yaml: line 1, column 7",)),
    Case("int-of-5000-digits", "name: 1" + "0" * 5000 + "\npods: []\n", ("autonomy.yaml: line 1, column 7",)),
    Case("two-documents", VALID + "---\n" + VALID, ("autonomy.yaml: line",)),
    Case(
        "python-tag",
        VALID.replace("name: hostile", "name: !!python/object/apply:os.system [id]"),
        ("autonomy.yaml: line 1",),
    ),
]


@pytest.mark.parametrize("command", ["render", "deploy"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_manifest_exits_2_with_one_clear_message(tmp_path: Path, case: Case, command: str) -> None:
    project = make_project(tmp_path, case.manifest, secrets=case.secrets)
    home = tmp_path / "home"
    r = run("zone", command, "--dir", str(project), home=home, env=case.extra)
    assert_clean_failure(r, *case.needles, home=home)
    if case.pattern is not None:
        assert re.search(case.pattern, r.stderr), r.stderr[:3000]
    for text in case.hidden:
        assert text not in r.output, f"{text!r} was shown:\n{r.output[:3000]}"
    if case.literal_lines:
        for line in r.stderr.splitlines():
            assert "FORGED" not in line or "\\n" in line or "\\r" in line, r.stderr
    if case.max_lines is not None:
        assert len(r.stderr.splitlines()) <= case.max_lines, r.stderr[:3000]
    assert r.stdout == "", "nothing is rendered from a bad manifest"


def test_every_problem_is_counted_when_capped(tmp_path: Path) -> None:
    project = make_project(tmp_path, _pods(60, name="Bad_{i}"))
    r = run("zone", "render", "--dir", str(project), home=tmp_path / "home")
    assert_clean_failure(r)
    shown = [line for line in r.stderr.splitlines() if "pods[" in line]
    m = re.search(r"\.\.\. and (\d+) more problems", r.stderr)
    assert m is not None, r.stderr
    assert len(shown) + int(m.group(1)) == 60, r.stderr


@pytest.mark.parametrize("target", ["dev-zero", "fifo"])
@pytest.mark.parametrize("file", ["autonomy.yaml", "secrets.yaml"])
def test_special_file_is_not_a_regular_file(tmp_path: Path, target: str, file: str) -> None:
    project = make_project(tmp_path, _SECRETS_REF, secrets=f"API_KEY: {SECRET}\n")
    (project / file).unlink()
    if target == "dev-zero":
        (project / file).symlink_to("/dev/zero")
    else:
        os.mkfifo(project / file)  # nobody ever writes: reading it would block forever
    r = run("zone", "render", "--dir", str(project), home=tmp_path / "home")
    assert_clean_failure(r, f"{file}: ", "is not a regular file")
    assert SECRET not in r.output


def test_secret_file_too_big(tmp_path: Path) -> None:
    secrets = f"API_KEY: {SECRET}\nPAD: " + "p" * 1_000_000 + "\n"
    project = make_project(tmp_path, _SECRETS_REF, secrets=secrets)
    r = run("zone", "render", "--dir", str(project), home=tmp_path / "home")
    assert_clean_failure(r, "secrets.yaml:", "256 KiB")
    assert SECRET not in r.output


def test_valid_project_still_renders_within_limits(tmp_path: Path) -> None:
    project = make_project(tmp_path, _pods(5, clones=100))  # exactly the instance limit
    r = run("zone", "render", "--dir", str(project), home=tmp_path / "home")
    assert r.returncode == 0, r.stderr[:3000]
    assert "p4-99--c:" in r.stdout


# --------------------------------------------------------------------------- settings and options


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "1e300", "abc"])
def test_bad_deploy_wait_option(tmp_path: Path, value: str) -> None:
    project = make_project(tmp_path)
    home = tmp_path / "home"
    r = run("zone", "deploy", "--dir", str(project), f"--wait={value}", home=home)
    assert_clean_failure(r, "--wait", home=home)
    assert not home.exists(), "nothing is enrolled before the options are checked"


@pytest.mark.parametrize("value", ["nan", "inf", "-5", "1e300", "abc"])
@pytest.mark.parametrize("command", ["render", "deploy"])
def test_bad_deploy_wait_setting(tmp_path: Path, value: str, command: str) -> None:
    project = make_project(tmp_path)
    home = tmp_path / "home"
    r = run("zone", command, "--dir", str(project), home=home, env={"AUTONOMY_DEPLOY_WAIT": value})
    assert_clean_failure(r, "AUTONOMY_DEPLOY_WAIT", home=home)
    assert not home.exists()


@pytest.mark.parametrize("kind", ["a-file", "unknown-user", "escape-in-path"])
@pytest.mark.parametrize("command", ["render", "deploy"])
def test_bad_autonomy_home(tmp_path: Path, kind: str, command: str) -> None:
    project = make_project(tmp_path)
    if kind == "a-file":
        home = tmp_path / "home-file"
        home.write_text("not a folder\n")
    elif kind == "unknown-user":
        home = Path("~no-such-user-autonomy/home")
    else:
        home = tmp_path / "home\x1b[31m"
        home.write_text("not a folder\n")
    r = run("zone", command, "--dir", str(project), home=home)
    assert_clean_failure(r, "AUTONOMY_HOME")
    if kind == "escape-in-path":
        assert "home\\x1b[31m" in r.stderr


# --------------------------------------------------------------------------- images/


def test_image_folder_outside_the_project_is_an_error(tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "main"
    outside.mkdir(parents=True)
    (outside / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\n")
    project = make_project(tmp_path / "p", images=())
    (project / "images").mkdir()
    (project / "images" / "main").symlink_to(outside)
    for command in ("render", "deploy"):
        r = run("zone", command, "--dir", str(project), home=tmp_path / "home")
        assert_clean_failure(r, "autonomy.yaml: pods[0].containers[0].image:", "images/main", "outside the project")


def test_images_folder_outside_the_project_is_an_error(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "main").mkdir(parents=True)
    (outside / "main" / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\n")
    project = make_project(tmp_path / "p", images=())
    (project / "images").symlink_to(outside)
    r = run("zone", "render", "--dir", str(project), home=tmp_path / "home")
    assert_clean_failure(r, "autonomy.yaml: pods[0].containers[0].image:", "images/main", "outside the project")


def test_dockerfile_outside_the_project_is_an_error(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\n")
    project = make_project(tmp_path / "p", images=())
    (project / "images" / "main").mkdir(parents=True)
    (project / "images" / "main" / "Dockerfile").symlink_to(outside / "Dockerfile")
    r = run("zone", "render", "--dir", str(project), home=tmp_path / "home")
    assert_clean_failure(r, "autonomy.yaml: pods[0].containers[0].image:", "images/main", "outside the project")


def test_image_folder_linked_inside_the_project_is_fine(tmp_path: Path) -> None:
    project = make_project(tmp_path, images=())
    (project / "app").mkdir()
    (project / "app" / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\n")
    (project / "images").mkdir()
    (project / "images" / "main").symlink_to(project / "app")
    r = run("zone", "render", "--dir", str(project), home=tmp_path / "home")
    assert r.returncode == 0, r.stderr
    assert "autonomy-hostile-main" in r.stdout


@pytest.mark.parametrize("folder", [False, True], ids=["no-folder", "folder-without-dockerfile"])
def test_missing_local_image_is_a_warning(tmp_path: Path, folder: bool) -> None:
    project = make_project(tmp_path, images=())
    if folder:
        (project / "images" / "main").mkdir(parents=True)
    r = run("zone", "render", "--dir", str(project), home=tmp_path / "home")
    assert r.returncode == 0, r.stderr
    assert "warning:" in r.stderr
    assert "docker.io/library/main" in r.stderr and "images/main/Dockerfile" in r.stderr, r.stderr
    assert "image: main" in r.stdout


def test_explicit_registry_image_is_not_warned_about(tmp_path: Path) -> None:
    project = make_project(tmp_path, VALID.replace("image: main", "image: redis:7"), images=())
    r = run("zone", "render", "--dir", str(project), home=tmp_path / "home")
    assert r.returncode == 0, r.stderr
    assert "warning:" not in r.stderr


# --------------------------------------------------------------------------- stray exceptions


def _failing_launcher(exception: str) -> list[str]:
    """The CLI with a fault injected after the manifest is loaded (the host's CPU count)."""
    code = (
        "import os, runpy, sys\n"
        "import autonomy_cli.main\n"
        "def fail(*args, **kwargs):\n"
        f"    raise {exception}\n"
        "os.cpu_count = fail\n"
        "sys.argv[0] = 'autonomy'\n"
        "runpy.run_module('autonomy_cli', run_name='__main__', alter_sys=True)\n"
    )
    return [sys.executable, "-c", code]


def test_internal_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    project = make_project(tmp_path, _SECRETS_REF, secrets=f"API_KEY: {SECRET}\n")
    r = run(
        "zone",
        "render",
        "--dir",
        str(project),
        home=tmp_path / "home",
        launcher=_failing_launcher("RuntimeError('forced failure')"),
    )
    assert r.returncode == 1, r.output
    assert "Traceback" not in r.output and "│" not in r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: internal error: "), r.stderr
    assert "forced failure" in lines[0] and "AUTONOMY_DEBUG" in lines[0]
    assert SECRET not in r.output


def test_internal_error_traceback_with_autonomy_debug(tmp_path: Path) -> None:
    project = make_project(tmp_path, _SECRETS_REF, secrets=f"API_KEY: {SECRET}\n")
    r = run(
        "zone",
        "render",
        "--dir",
        str(project),
        home=tmp_path / "home",
        env={"AUTONOMY_DEBUG": "1"},
        launcher=_failing_launcher("RuntimeError('forced failure')"),
    )
    assert r.returncode == 1, r.output
    assert "Traceback (most recent call last)" in r.stderr and "RuntimeError: forced failure" in r.stderr
    assert SECRET not in r.output  # a plain traceback: no local variables


def test_interrupt_exits_130_quietly(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    r = run(
        "zone", "render", "--dir", str(project), home=tmp_path / "home", launcher=_failing_launcher("KeyboardInterrupt")
    )
    assert r.returncode == 130, r.output
    assert "Traceback" not in r.output


def test_closed_stdout_exits_141_quietly(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    read, write = os.pipe()
    os.close(read)  # nobody reads what render prints
    try:
        r = run("zone", "render", "--dir", str(project), home=tmp_path / "home", stdout=write)
    finally:
        os.close(write)
    assert r.returncode == 141, r.stderr
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr and "error" not in r.stderr, r.stderr
