"""autonomy.yaml -> Manifest: what is accepted, and how every mistake is reported."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pydantic
import pytest

from autonomy_cli.errors import CliError, ManifestError, Problem
from autonomy_cli.manifest import EnvVar, Image, Manifest, load

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

HELLO = """\
name: hello
pods:
  - name: main-pod
    public: true
    containers:
      - name: main
        image: main
"""


def write(tmp: Path, manifest: str, *, secrets: str | None = None, images: tuple[str, ...] = ("main",)) -> Path:
    (tmp / "autonomy.yaml").write_text(textwrap.dedent(manifest))
    if secrets is not None:
        (tmp / "secrets.yaml").write_text(textwrap.dedent(secrets))
    for image in images:
        (tmp / "images" / image).mkdir(parents=True, exist_ok=True)
        (tmp / "images" / image / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\n")
    return tmp


def problems_of(tmp: Path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load(tmp)
    return str(info.value).splitlines()


# --------------------------------------------------------------------------- valid


def test_hello(tmp_path: Path) -> None:
    m = load(write(tmp_path, HELLO))
    assert m.name == "hello"
    (pod,) = m.pods
    assert (pod.name, pod.public, pod.size, pod.clones, pod.portals) == ("main-pod", True, "regular", 1, None)
    (c,) = pod.containers
    assert c.image == Image(name="main", local=True)
    assert c.image.context == "images/main"
    assert c.env == () and c.args is None
    assert m.public_pod is pod


def test_models_are_frozen(tmp_path: Path) -> None:
    m = load(write(tmp_path, HELLO))
    with pytest.raises(pydantic.ValidationError):
        m.name = "other"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        m.pods[0].containers[0].name = "x"  # type: ignore[misc]


def test_all_fixtures_load() -> None:
    cases = [p for p in FIXTURES.iterdir() if (p / "autonomy.yaml").is_file()]
    assert cases
    for case in cases:
        assert isinstance(load(case), Manifest)


def test_project_dir_may_be_the_file_itself(tmp_path: Path) -> None:
    write(tmp_path, HELLO)
    assert load(tmp_path / "autonomy.yaml").name == "hello"


def test_env_list_and_mapping_normalise_alike(tmp_path: Path) -> None:
    listed = load(
        write(
            tmp_path,
            """\
            name: a
            pods:
              - name: p
                containers:
                  - name: c
                    image: main
                    env:
                      - LOG_LEVEL: INFO
                      - WORKERS: 4
                      - VERBOSE: true
                      - RATIO: 0.5
            """,
        )
    )
    mapped = load(
        write(
            tmp_path,
            """\
            name: a
            pods:
              - name: p
                containers:
                  - name: c
                    image: main
                    env: {LOG_LEVEL: INFO, WORKERS: 4, VERBOSE: true, RATIO: 0.5}
            """,
        )
    )
    expected = [("LOG_LEVEL", "INFO"), ("WORKERS", "4"), ("VERBOSE", "true"), ("RATIO", "0.5")]
    for m in (listed, mapped):
        env = m.pods[0].containers[0].env
        assert [(e.name, e.value) for e in env] == expected
        assert not any(e.secret for e in env)


def test_secrets_are_resolved_and_marked(tmp_path: Path) -> None:
    m = load(
        write(
            tmp_path,
            """\
            name: a
            pods:
              - name: p
                containers:
                  - name: c
                    image: main
                    env:
                      - LOG_LEVEL: INFO
                      - API_KEY: secrets.MY_KEY
                      - HOST: secrets.example.com
            """,
            secrets="MY_KEY: s3cr3t-value\nOTHER: 12\n",
        )
    )
    c = m.pods[0].containers[0]
    assert c.env[1] == EnvVar(name="API_KEY", value="s3cr3t-value", secret=True)
    assert c.env[2] == EnvVar(name="HOST", value="secrets.example.com", secret=False)  # not a NAME
    assert [e.name for e in c.secret_env] == ["API_KEY"]
    assert [e.name for e in c.plain_env] == ["LOG_LEVEL", "HOST"]
    assert "s3cr3t-value" not in repr(m)


def test_registry_image_and_folder_without_dockerfile(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
        name: a
        pods:
          - name: p
            containers:
              - name: brave
                image: ghcr.io/build-trust/mcp-proxy
                args: ["--sse-port", 8001, "--", "npx"]
              - name: redis
                image: redis
              - name: tagged
                image: localhost:5000/team/app:1.2@sha256:0123456789abcdef0123456789abcdef
        """,
        images=(),
    )
    (tmp_path / "images" / "redis").mkdir(parents=True)  # a folder, but no Dockerfile
    m = load(tmp_path)
    brave, redis, tagged = m.pods[0].containers
    assert brave.image == Image(name="ghcr.io/build-trust/mcp-proxy", local=False)
    assert brave.args == ("--sse-port", "8001", "--", "npx")
    assert redis.image == Image(name="redis", local=False) and redis.image.context is None
    assert not tagged.image.local


def test_portals_forms(tmp_path: Path) -> None:
    m = load(
        write(
            tmp_path,
            """\
            name: a
            pods:
              - name: p
                clones: 3
                size: big
                containers: [{name: c, image: main}]
                portals:
                  outlets:
                    - {to: "localhost:7000", inlet_from: "localhost:32102"}
                    - {to: "127.0.0.1:7001", inlet_from: 32103}
                    - {to: 7002, inlet_from: "32104"}
            """,
        )
    )
    pod = m.pods[0]
    assert (pod.clones, pod.size) == (3, "big")
    assert [(o.to, o.inlet_from) for o in pod.outlets] == [(7000, 32102), (7001, 32103), (7002, 32104)]


def test_errors_are_cli_errors_with_exit_code_2(tmp_path: Path) -> None:
    with pytest.raises(CliError) as info:
        load(tmp_path)
    assert isinstance(info.value, ManifestError)
    assert info.value.exit_code == 2
    assert str(info.value) == f"autonomy.yaml: not found in {tmp_path}"


def test_problem_format() -> None:
    assert str(Problem("pods[1].containers[0].image", "bad")) == "autonomy.yaml: pods[1].containers[0].image: bad"
    assert str(Problem("MY_KEY", "bad", "secrets.yaml")) == "secrets.yaml: MY_KEY: bad"
    assert str(Problem("", "bad")) == "autonomy.yaml: bad"


def test_every_problem_at_once(tmp_path: Path) -> None:
    lines = problems_of(
        write(
            tmp_path,
            """\
            name: Hello_World
            pods:
              - name: main-pod
                size: huge
                clones: 0
                containers:
                  - name: main
                    image: 3
              - name: main-pod
                containers: []
            """,
        )
    )
    assert lines == [
        "autonomy.yaml: name: a zone name must be 1 to 10 characters of a-z and 0-9, got 'Hello_World'",
        "autonomy.yaml: pods[0].size: must be 'regular' or 'big', got 'huge'",
        "autonomy.yaml: pods[0].clones: must be at least 1, got a number (0)",
        "autonomy.yaml: pods[0].containers[0].image: expected an image name, got a number (3)",
        "autonomy.yaml: pods[1].containers: must list at least one container",
        "autonomy.yaml: pods[1].name: pod name 'main-pod' is already used by pods[0]",
    ]


def test_missing_secret_names_secret_and_file(tmp_path: Path) -> None:
    manifest = """\
        name: a
        pods:
          - name: p
            containers:
              - name: c
                image: main
                env:
                  - API_KEY: secrets.MY_KEY
        """
    lines = problems_of(write(tmp_path, manifest, secrets="OTHER: x\n"))
    assert lines == ["autonomy.yaml: pods[0].containers[0].env.API_KEY: secret 'MY_KEY' is not defined in secrets.yaml"]
    (tmp_path / "secrets.yaml").unlink()
    (line,) = problems_of(tmp_path)
    assert "secret 'MY_KEY' is not defined in secrets.yaml" in line
    assert "there is no secrets.yaml" in line


def test_secrets_file_problems(tmp_path: Path) -> None:
    manifest = """\
        name: a
        pods:
          - name: p
            containers: [{name: c, image: main, env: [{K: secrets.GOOD}]}]
        """
    lines = problems_of(write(tmp_path, manifest, secrets="GOOD: x\nBAD: [1, 2]\n"))
    assert lines == ["secrets.yaml: BAD: expected a string, number or boolean, got a list"]
    lines = problems_of(write(tmp_path, manifest, secrets="- a\n- b\n"))
    assert lines == ["secrets.yaml: expected a mapping of NAME: value, got a list"]
    lines = problems_of(write(tmp_path, manifest, secrets="GOOD: 'unterminated\n"))
    assert len(lines) == 1 and lines[0].startswith("secrets.yaml: line ")


def test_secret_value_that_an_env_file_cannot_carry(tmp_path: Path) -> None:
    manifest = """\
        name: a
        pods:
          - name: p
            containers: [{name: c, image: main, env: [{K: secrets.Q}]}]
        """
    (line,) = problems_of(write(tmp_path, manifest, secrets='Q: "it\'s"\n'))
    assert line.startswith(
        "autonomy.yaml: pods[0].containers[0].env.K: secret 'Q' in secrets.yaml contains a single quote"
    )
    assert "it's" not in line  # the value itself is never shown


def test_yaml_syntax_error_reports_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "autonomy.yaml").write_text("name: a\npods:\n  - name: p\n   containers: x\n")
    (line,) = problems_of(tmp_path)
    assert line.startswith("autonomy.yaml: line 4, column ")
    assert "invalid YAML" in line


# --------------------------------------------------------------------------- invalid: one path each

POD = "  - name: p\n    containers:\n      - name: c\n        image: main\n"

INVALID: list[tuple[str, str, str]] = [
    ("empty-file", "", "autonomy.yaml: is empty"),
    ("top-level-list", "- name: a\n", "autonomy.yaml: expected a mapping with keys 'name' and 'pods', got a list"),
    ("missing-name", "pods:\n" + POD, "autonomy.yaml: name: is required"),
    ("missing-pods", "name: a\n", "autonomy.yaml: pods: is required"),
    ("empty-pods", "name: a\npods: []\n", "autonomy.yaml: pods: must list at least one pod"),
    ("pods-not-list", "name: a\npods: {p: 1}\n", "autonomy.yaml: pods: expected a list, got a mapping"),
    ("zone-too-long", "name: abcdefghijk\npods:\n" + POD, "autonomy.yaml: name: a zone name must be 1 to 10"),
    ("zone-uppercase", "name: Hello\npods:\n" + POD, "autonomy.yaml: name: a zone name"),
    ("zone-not-string", "name: [a]\npods:\n" + POD, "autonomy.yaml: name: expected a string, got a list"),
    ("unknown-top-key", "name: a\npod:\n" + POD, "autonomy.yaml: pod: unknown key; did you mean 'pods'?"),
    (
        "unknown-container-key",
        "name: a\npods:\n  - name: p\n    containers:\n      - name: c\n        imgae: main\n",
        "autonomy.yaml: pods[0].containers[0].imgae: unknown key; did you mean 'image'?",
    ),
    (
        "unknown-pod-key-no-match",
        "name: a\npods:\n" + POD + "    replicas: 3\n",
        "autonomy.yaml: pods[0].replicas: unknown key; "
        "expected one of: name, public, size, clones, containers, portals",
    ),
    ("clones-zero", "name: a\npods:\n" + POD + "    clones: 0\n", "autonomy.yaml: pods[0].clones: must be at least 1"),
    (
        "clones-text",
        "name: a\npods:\n" + POD + "    clones: five\n",
        "autonomy.yaml: pods[0].clones: expected a whole number",
    ),
    (
        "clones-too-many",
        "name: a\npods:\n" + POD + "    clones: 1000\n",
        "autonomy.yaml: pods[0].clones: must be at most 100",
    ),
    (
        "size-huge",
        "name: a\npods:\n" + POD + "    size: huge\n",
        "autonomy.yaml: pods[0].size: must be 'regular' or 'big', got 'huge'",
    ),
    (
        "public-text",
        "name: a\npods:\n" + POD + "    public: maybe\n",
        "autonomy.yaml: pods[0].public: expected true or false",
    ),
    (
        "pod-name-bad",
        "name: a\npods:\n  - name: Main_Pod\n    containers: [{name: c, image: main}]\n",
        "autonomy.yaml: pods[0].name: pod name must be",
    ),
    (
        "pod-name-missing",
        "name: a\npods:\n  - containers: [{name: c, image: main}]\n",
        "autonomy.yaml: pods[0].name: is required",
    ),
    (
        "no-containers",
        "name: a\npods:\n  - name: p\n    containers: []\n",
        "autonomy.yaml: pods[0].containers: must list at least one container",
    ),
    ("containers-missing", "name: a\npods:\n  - name: p\n", "autonomy.yaml: pods[0].containers: is required"),
    (
        "container-not-mapping",
        "name: a\npods:\n  - name: p\n    containers: [main]\n",
        "autonomy.yaml: pods[0].containers[0]: expected a mapping, got 'main'",
    ),
    (
        "image-missing",
        "name: a\npods:\n  - name: p\n    containers: [{name: c}]\n",
        "autonomy.yaml: pods[0].containers[0].image: is required",
    ),
    (
        "image-number",
        "name: a\npods:\n  - name: p\n    containers: [{name: c, image: 3}]\n",
        "autonomy.yaml: pods[0].containers[0].image: expected an image name",
    ),
    (
        "image-uppercase",
        "name: a\npods:\n  - name: p\n    containers: [{name: c, image: Main}]\n",
        "autonomy.yaml: pods[0].containers[0].image: 'Main' is neither a folder images/Main/",
    ),
    (
        "container-name-bad",
        "name: a\npods:\n  - name: p\n    containers: [{name: 1c, image: main}]\n",
        "autonomy.yaml: pods[0].containers[0].name: container name must be",
    ),
    (
        "container-name-double-dash",
        "name: a\npods:\n  - name: p\n    containers: [{name: a--b, image: main}]\n",
        "autonomy.yaml: pods[0].containers[0].name: container name must be",
    ),
    (
        "duplicate-container",
        "name: a\npods:\n  - name: p\n    containers: [{name: c, image: main}, {name: c, image: main}]\n",
        "autonomy.yaml: pods[0].containers[1].name: container name 'c' is already used by containers[0]",
    ),
    (
        "duplicate-pod",
        "name: a\npods:\n" + POD + POD,
        "autonomy.yaml: pods[1].name: pod name 'p' is already used by pods[0]",
    ),
    (
        "two-public",
        "name: a\npods:\n" + POD + "    public: true\n" + POD.replace("name: p", "name: q") + "    public: true\n",
        "autonomy.yaml: pods[1].public: only one pod can be public, and pods[0] already is",
    ),
    (
        "clone-name-collision",
        "name: a\npods:\n" + POD + "    clones: 2\n" + POD.replace("name: p\n", "name: p-1\n"),
        "autonomy.yaml: pods[1].name: pod 'p-1' would be named 'p-1', like a pod instance of pods[0] ('p')",
    ),
    (
        "node-name-collision",
        "name: a\npods:\n  - name: x\n    containers: [{name: y-z, image: main}]\n"
        "  - name: x-y\n    containers: [{name: z, image: main}]\n",
        "autonomy.yaml: pods[1].containers: container 'z' of pod instance 'x-y' would get the same node name",
    ),
    (
        "env-not-mapping",
        "name: a\npods:\n  - name: p\n    containers: [{name: c, image: main, env: LOG=1}]\n",
        "autonomy.yaml: pods[0].containers[0].env: expected a mapping of NAME: value, or a list",
    ),
    (
        "env-item-equals",
        "name: a\npods:\n  - name: p\n    containers: [{name: c, image: main, env: [LOG_LEVEL=INFO]}]\n",
        "autonomy.yaml: pods[0].containers[0].env[0]: write `LOG_LEVEL: INFO` instead of 'LOG_LEVEL=INFO'",
    ),
    (
        "env-value-list",
        "name: a\npods:\n  - name: p\n    containers: [{name: c, image: main, env: {A: [1]}}]\n",
        "autonomy.yaml: pods[0].containers[0].env.A: expected a string, number or boolean, got a list",
    ),
    (
        "env-bad-name",
        "name: a\npods:\n  - name: p\n    containers: [{name: c, image: main, env: [{MY-VAR: 1}]}]\n",
        "autonomy.yaml: pods[0].containers[0].env.MY-VAR: a variable name must be",
    ),
    (
        "env-reserved",
        "name: a\npods:\n  - name: p\n    containers: [{name: c, image: main, env: [{NODE: x}]}]\n",
        "autonomy.yaml: pods[0].containers[0].env.NODE: NODE is set by autonomy",
    ),
    (
        "env-twice",
        "name: a\npods:\n  - name: p\n    containers: [{name: c, image: main, env: [{A: 1}, {A: 2}]}]\n",
        "autonomy.yaml: pods[0].containers[0].env.A: A is set twice",
    ),
    (
        "env-missing-secret",
        "name: a\npods:\n  - name: p\n    containers: [{name: c, image: main, env: [{API_KEY: secrets.MY_KEY}]}]\n",
        "autonomy.yaml: pods[0].containers[0].env.API_KEY: secret 'MY_KEY' is not defined in secrets.yaml",
    ),
    (
        "args-string",
        "name: a\npods:\n  - name: p\n    containers: [{name: c, image: main, args: --port 1}]\n",
        "autonomy.yaml: pods[0].containers[0].args: expected a list of strings",
    ),
    (
        "args-item-mapping",
        "name: a\npods:\n  - name: p\n    containers: [{name: c, image: main, args: [{a: 1}]}]\n",
        "autonomy.yaml: pods[0].containers[0].args[0]: expected a string, got a mapping",
    ),
    (
        "outlet-remote-host",
        "name: a\npods:\n" + POD + "    portals: {outlets: [{to: 7000, inlet_from: '0.0.0.0:32102'}]}\n",
        "autonomy.yaml: pods[0].portals.outlets[0].inlet_from: only localhost (or 127.0.0.1) is allowed here",
    ),
    (
        "outlet-port-range",
        "name: a\npods:\n" + POD + "    portals: {outlets: [{to: 70000, inlet_from: 32102}]}\n",
        "autonomy.yaml: pods[0].portals.outlets[0].to: a port must be between 1 and 65535",
    ),
    (
        "outlet-missing-to",
        "name: a\npods:\n" + POD + "    portals: {outlets: [{inlet_from: 32102}]}\n",
        "autonomy.yaml: pods[0].portals.outlets[0].to: is required",
    ),
    (
        "outlet-unknown-key",
        "name: a\npods:\n" + POD + "    portals: {outlets: [{to: 7000, inlet: 32102}]}\n",
        "autonomy.yaml: pods[0].portals.outlets[0].inlet: unknown key; did you mean 'inlet_from'?",
    ),
    (
        "inlet-port-twice",
        "name: a\npods:\n"
        + POD
        + "    portals: {outlets: [{to: 7000, inlet_from: 32102}, {to: 7001, inlet_from: 32102}]}\n",
        "autonomy.yaml: pods[0].portals.outlets[1].inlet_from: "
        "port 32102 is already used by pods[0].portals.outlets[0]",
    ),
    (
        "portals-unknown-key",
        "name: a\npods:\n" + POD + "    portals: {outlest: []}\n",
        "autonomy.yaml: pods[0].portals.outlest: unknown key; did you mean 'outlets'?",
    ),
    (
        "duplicate-key",
        "name: a\nname: b\npods:\n" + POD,
        "autonomy.yaml: line 2, column 1: key 'name' is written twice",
    ),
    ("yaml-syntax", "name: a\npods: [\n", "autonomy.yaml: line 3, column 1: invalid YAML"),
    ("python-tag", "name: !!python/object:os.system a\npods:\n" + POD, "autonomy.yaml: line 1, column 7: invalid YAML"),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in INVALID], ids=[i for i, _, _ in INVALID])
def test_invalid(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, text)
    lines = problems_of(tmp_path)
    assert any(line.startswith(expected) for line in lines), "\n".join(lines)


def test_enough_invalid_cases() -> None:
    assert len(INVALID) >= 20
