"""autonomy.yaml as the cloud's CLI reads it: other file names and spellings, env forms,
volumes, portals (inlets too), and the cloud's rules that are warnings here."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from autonomy_cli.errors import ManifestError
from autonomy_cli.manifest import load, notes
from autonomy_cli.manifest.volumes import format_size, parse_size
from clirun import run_autonomy

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

POD = """\
name: a
pods:
  - name: p
    containers:
      - name: c
        image: main
"""


def project(
    tmp: Path, manifest: str = POD, *, file: str = "autonomy.yaml", secrets: dict[str, str] | None = None
) -> Path:
    (tmp / file).write_text(textwrap.dedent(manifest))
    for name, text in (secrets or {}).items():
        (tmp / name).write_text(text)
    (tmp / "images" / "main").mkdir(parents=True, exist_ok=True)
    (tmp / "images" / "main" / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\n")
    return tmp


def problems(tmp: Path, **kwargs: Path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load(tmp, **kwargs)
    return str(info.value).splitlines()


def container(text: str) -> str:
    """POD with ``text`` (YAML at the container's indent) added to its container."""
    return POD + textwrap.indent(textwrap.dedent(text), " " * 8)


def pod(text: str) -> str:
    """POD with ``text`` (YAML at the pod's indent) added to the pod."""
    return POD + textwrap.indent(textwrap.dedent(text), " " * 4)


# --------------------------------------------------------------------------- files


def test_autonomy_yml_and_secrets_yml(tmp_path: Path) -> None:
    text = container("env: [{K: secrets.S}]\n")
    m = load(project(tmp_path, text, file="autonomy.yml", secrets={"secrets.yml": "S: v\n"}))
    (e,) = m.pods[0].containers[0].env
    assert (e.name, e.value, e.secret) == ("K", "v", True)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (("autonomy.yaml", "autonomy.yml"), "autonomy.yaml: autonomy.yaml and autonomy.yml are both in"),
        (("secrets.yaml", "secrets.yml"), "secrets.yaml: secrets.yaml and secrets.yml are both in"),
    ],
)
def test_both_spellings_of_a_file_are_an_error(tmp_path: Path, files: tuple[str, str], expected: str) -> None:
    project(tmp_path)
    for f in files:
        (tmp_path / f).write_text(POD if f.startswith("autonomy") else "S: v\n")
    (line,) = problems(tmp_path)
    assert line.startswith(expected), line
    assert "--config" in line or "--secrets" in line


def test_explicit_config_and_secrets_are_named_as_given(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / "conf").mkdir()
    other = tmp_path / "conf" / "zone.yaml"
    other.write_text(container("env: [{K: secrets.S}]\n").replace("name: a", "name: other"))
    keys = tmp_path / "conf" / "keys.yaml"
    keys.write_text("S: from-keys\n")
    m = load(tmp_path, config=other, secrets=keys)
    assert m.name == "other"
    assert m.pods[0].containers[0].env[0].value == "from-keys"
    assert m.pods[0].containers[0].image.local  # images/ is still read in the project folder
    (line,) = problems(tmp_path, config=other, secrets=tmp_path / "none.yaml")
    assert line.startswith(f"{tmp_path / 'none.yaml'}: not found"), line
    (line,) = problems(tmp_path, config=tmp_path / "missing.yaml")
    assert line.startswith(f"{tmp_path / 'missing.yaml'}: not found"), line
    keys.write_text("T: x\n")
    (line,) = problems(tmp_path, config=other, secrets=keys)
    assert line == f"{other}: pods[0].containers[0].env.K: secret 'S' is not defined in {keys}"


# --------------------------------------------------------------------------- spellings


def test_zone_name_alias(tmp_path: Path) -> None:
    assert load(project(tmp_path, POD.replace("name: a", "zone_name: a"))).name == "a"
    (tmp_path / "autonomy.yaml").write_text("zone_name: a\n" + POD)
    (line,) = problems(tmp_path)
    assert line == "autonomy.yaml: name: 'name' and 'zone_name' are the same key; write it once"


def test_portal_aliases(tmp_path: Path) -> None:
    m = load(
        project(
            tmp_path,
            pod("""\
            portal:
              tcp-outlets: [{to: 7000, inlet_from: 32150, name: repl}]
              tcp-inlets: [{from: "0.0.0.0:9000", name: far}]
            """),
        )
    )
    p = m.pods[0]
    assert [(o.to, o.inlet_from, o.name) for o in p.outlets] == [(7000, 32150, "repl")]
    assert [(i.from_, i.name) for i in p.inlets] == [(9000, "far")]
    for key in ("outlet", "outlets"):
        assert load(project(tmp_path, pod(f"portals: {{{key}: [{{to: 1}}]}}\n"))).pods[0].outlets[0].to == 1
    for key in ("inlet", "inlets", "tcp-inlet"):
        assert load(project(tmp_path, pod(f"portals: {{{key}: [{{from: 2}}]}}\n"))).pods[0].inlets[0].from_ == 2


def test_two_spellings_of_one_key(tmp_path: Path) -> None:
    project(tmp_path, pod("portal: {}\nportals: {outlet: [], tcp-outlets: []}\n"))
    lines = problems(tmp_path)
    assert "autonomy.yaml: pods[0].portals: 'portals' and 'portal' are the same key; write it once" in lines
    assert (
        "autonomy.yaml: pods[0].portals.tcp-outlets: 'tcp-outlets' and 'outlet' are the same key; write it once"
        in lines
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (pod("portals: {inlest: []}\n"), "pods[0].portals.inlest: unknown key; did you mean 'inlets'?"),
        (pod("portls: {}\n"), "pods[0].portls: unknown key; did you mean 'portals'?"),
        (pod("volumez: []\n"), "pods[0].volumez: unknown key; did you mean 'volumes'?"),
        (
            container("volumeMount: []\n"),
            "pods[0].containers[0].volumeMount: unknown key; did you mean 'volumeMounts'?",
        ),
        (container("imagePullPolicies: Always\n"), "did you mean 'imagePullPolicy'?"),
        (POD.replace("name: a", "zone_nam: a"), "zone_nam: unknown key; did you mean 'name'?"),
    ],
)
def test_typos_still_fail_with_a_suggestion(tmp_path: Path, text: str, expected: str) -> None:
    lines = problems(project(tmp_path, text))
    assert any(expected in line for line in lines), lines


# --------------------------------------------------------------------------- env


def test_env_kubernetes_pairs_are_one_variable_each(tmp_path: Path) -> None:
    text = container("""\
    env:
      - {name: MODE, value: fast}
      - name: PORT
        value: 8080
      - LEVEL: INFO
      - {name: KEY, value: secrets.S}
    """)
    env = load(project(tmp_path, text, secrets={"secrets.yaml": "S: hidden\n"})).pods[0].containers[0].env
    assert [(e.name, e.value, e.secret) for e in env] == [
        ("MODE", "fast", False),
        ("PORT", "8080", False),
        ("LEVEL", "INFO", False),
        ("KEY", "hidden", True),
    ]


def test_env_pair_errors_name_the_variable(tmp_path: Path) -> None:
    lines = problems(project(tmp_path, container("env: [{name: 1BAD, value: x}, {name: OK, value: [1]}]\n")))
    assert any("env.1BAD: a variable name must be" in line for line in lines), lines
    assert any("env.OK: expected a string, number or boolean, got a list" in line for line in lines), lines
    lines = problems(project(tmp_path, container("env: [{name: A, value: x}, {A: y}]\n")))
    assert any("A is set twice" in line for line in lines), lines


# --------------------------------------------------------------------------- volumes


def test_volumes_and_mounts(tmp_path: Path) -> None:
    text = (
        POD
        + textwrap.indent(
            "volumeMounts: [{name: data, mountPath: /data/}, {name: tmp, mountPath: /t, readOnly: true}]\n", " " * 8
        )
        + textwrap.indent("volumes: [{name: data, size: 100Gi}, {name: tmp, size: 1500M}]\n", " " * 4)
    )
    p = load(project(tmp_path, text)).pods[0]
    assert [(v.name, v.size) for v in p.volumes] == [("data", 100 * 2**30), ("tmp", 1_500_000_000)]
    assert [(m.name, m.mount_path, m.read_only) for m in p.containers[0].volume_mounts] == [
        ("data", "/data", False),
        ("tmp", "/t", True),
    ]


@pytest.mark.parametrize(
    ("value", "size"),
    [("100Gi", 100 * 2**30), ("1.5Gi", 3 * 2**29), ("500M", 500 * 10**6), ("1k", 1000), (4096, 4096), ("1Ei", 2**60)],
)
def test_parse_size(value: object, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["", "Gi", "10 GB", "10gb", "-1Gi", "0", 0, True, 1.5, None, "2Ei", [1]])
def test_parse_size_refuses(value: object) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(value)


def test_format_size() -> None:
    assert [format_size(n) for n in (2**30, 3 * 2**29, 1000, 2**60)] == ["1Gi", "1536Mi", "1000", "1Ei"]


@pytest.mark.parametrize(
    ("volumes", "mounts", "expected"),
    [
        ("[]", "[{name: data, mountPath: /d}]", "containers[0].volumeMounts[0].name: no volume 'data' in this pod"),
        (
            "[{name: a, size: 1Gi}]",
            "[{name: b, mountPath: /d}]",
            "no volume 'b' in this pod's volumes; the pod declares a",
        ),
        (
            "[{name: a, size: 1Gi}]",
            "[{name: a, mountPath: data}]",
            "volumeMounts[0].mountPath: must be an absolute path",
        ),
        ("[{name: a, size: 1Gi}]", "[{name: a, mountPath: /}]", "mountPath: cannot be '/' itself"),
        ("[{name: a, size: 1Gi}]", "[{name: a, mountPath: /run/autonomy/x}]", "where autonomy mounts"),
        ("[{name: a, size: 1Gi}]", "[{name: a, mountPath: '/a:/b'}]", "without ':'"),
        ("[{name: a, size: 1Gi}]", "[{name: a, mountPath: /x/../y}]", "'..' parts"),
        ("[{name: a, size: 1Gi}]", "[{name: a, mountPath: /d}, {name: a, mountPath: /d/}]", "/d/ is already mounted"),
        (
            "[{name: a, size: 1Gi}]",
            "[{name: a, mountPath: /d, readOnly: yes-please}]",
            "readOnly: expected true or false",
        ),
        ("[{name: a, size: 1Gi}, {name: a, size: 2Gi}]", "[]", "volumes[1].name: volume 'a' is already declared"),
        ("[{name: a}]", "[]", "volumes[0].size: is required"),
        ("[{name: a, size: lots}]", "[]", "volumes[0].size: expected a size like 100Gi"),
        ("[{name: Data, size: 1Gi}]", "[]", "volumes[0].name: volume name must be lowercase"),
        ("[{name: a, size: 1Gi, kind: ssd}]", "[]", "volumes[0].kind: unknown key"),
    ],
)
def test_volume_errors(tmp_path: Path, volumes: str, mounts: str, expected: str) -> None:
    text = POD + f"        volumeMounts: {mounts}\n" + f"    volumes: {volumes}\n"
    lines = problems(project(tmp_path, text))
    assert any(expected in line for line in lines), lines
    assert all(line.startswith("autonomy.yaml: pods[0].") for line in lines), lines


# --------------------------------------------------------------------------- portals


def test_outlet_name_and_pod_name(tmp_path: Path) -> None:
    text = (
        POD
        + "    portals: {outlets: [{to: 5432, pod_name: db, name: pg, inlet_from: 32160}, {to: 7000}]}\n"
        + "  - name: db\n    containers: [{name: c, image: main}]\n"
    )
    p = load(project(tmp_path, text)).pods[0]
    assert [(o.to, o.pod_name, o.name, o.inlet_from) for o in p.outlets] == [
        (5432, "db", "pg", 32160),
        (7000, None, None, None),
    ]
    lines = problems(project(tmp_path, text.replace("pod_name: db", "pod_name: nope")))
    assert lines == ["autonomy.yaml: pods[0].portals.outlets[0].pod_name: there is no pod 'nope' in this zone"]


@pytest.mark.parametrize(
    ("portals", "expected"),
    [
        ("{inlets: [{name: x}]}", "inlets[0].from: is required"),
        ("{inlets: [{from: 'localhost:99999'}]}", "a port must be between 1 and 65535"),
        ("{inlets: [{from: 'a b:1'}]}", "expected localhost:<port>"),
        ("{inlets: [{from: 1, name: 'bad name'}]}", "inlets[0].name: a portal name must be"),
        ("{inlets: [{from: 1, to: 2}]}", "inlets[0].to: unknown key"),
        ("{outlets: [{to: 1, name: ''}]}", "outlets[0].name: a portal name must be"),
        ("{tcp-outlets: [{to: 1, inlet_from: 32170}, {to: 2, inlet_from: 32170}]}", "port 32170 is already used"),
    ],
)
def test_portal_errors(tmp_path: Path, portals: str, expected: str) -> None:
    lines = problems(project(tmp_path, pod(f"portals: {portals}\n")))
    assert any(expected in line for line in lines), lines


# --------------------------------------------------------------------------- warnings


def test_notes_are_warnings_not_errors(tmp_path: Path) -> None:
    text = (
        "name: a\npods:\n"
        "  - name: longer-pod-name\n    containers: [{name: c, image: main, imagePullPolicy: Always}]\n"
        "    volumes: [{name: v, size: 10Gi}]\n"
        "    portals: {inlets: [{from: 9000}]}\n"
        "  - name: other\n    containers: [{name: container-eleven, image: main}]\n"
    )
    found = notes(load(project(tmp_path, text)))
    assert len(found) == 5, found
    assert "pod 'longer-pod-name'" in found[0] and "container 'container-eleven' (pod other)" in found[0]
    assert "over 10 characters" in found[0]
    assert "none is named 'main-pod'" in found[1]
    assert "imagePullPolicy (containers c)" in found[2]
    assert "inlets (port 9000)" in found[3] and "do nothing here" in found[3]
    assert "longer-pod-name/v (10Gi)" in found[4] and "size is not enforced" in found[4]


def test_no_notes_for_what_the_cloud_takes(tmp_path: Path) -> None:
    assert notes(load(project(tmp_path))) == ()
    text = POD.replace("name: p", "name: main-pod") + "  - name: other\n    containers: [{name: c, image: main}]\n"
    assert notes(load(project(tmp_path, text))) == ()


def test_image_pull_policy_values(tmp_path: Path) -> None:
    for value in ("Always", "IfNotPresent", "Never"):
        assert load(project(tmp_path, container(f"imagePullPolicy: {value}\n"))).pods[0].containers[0].image_pull_policy
    lines = problems(project(tmp_path, container("imagePullPolicy: always\n")))
    assert any("imagePullPolicy: must be 'Always', 'IfNotPresent' or 'Never'" in line for line in lines), lines


# --------------------------------------------------------------------------- the command line


def _cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUTONOMY_HOME": str(tmp / "home"), "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    return run_autonomy(args, env={**env, "COLUMNS": "200"}, timeout=60)


def test_render_and_deploy_take_config_and_secrets(tmp_path: Path) -> None:
    proj = project(tmp_path)
    other = tmp_path / "zone.yml"
    other.write_text(
        container("env: [{name: K, value: secrets.S}]\nimagePullPolicy: Always\n").replace("name: a", "name: alt")
    )
    keys = tmp_path / "keys.yml"
    keys.write_text("S: never-printed-42\n")
    for option in ("--config", "--zone-config"):
        r = _cli(tmp_path, "zone", "render", "--dir", str(proj), option, str(other), "--secrets", str(keys))
        assert r.returncode == 0, r.stderr
        assert "ZONE: alt" in r.stdout and "never-printed-42" not in r.stdout + r.stderr
        assert "warning: imagePullPolicy" in r.stderr
    r = _cli(tmp_path, "zone", "deploy", "--dir", str(proj), "--config", str(other), "--secrets", "nope.yaml")
    assert r.returncode == 2, r.stderr
    assert "nope.yaml: not found" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "text",
    [
        pod("volumes: [{name: a, size: '" + "9" * 5000 + "Gi'}]\n"),
        pod("volumes: [{name: [a], size: 1Gi}, 7, {name: {x: 1}}]\n"),
        pod("portals: {outlets: [{to: 1, pod_name: [x]}, 3]}\n") + "  - name: [x]\n    containers: []\n",
        pod("portals: 5\nportal: [1]\n"),
        container("volumeMounts: [5, {name: [1], mountPath: {a: 1}}, {name: a, mountPath: 7}]\n"),
        container("env: [{name: [K], value: v}, {name: K, value: {a: 1}}, {name: null, value: null}]\n"),
    ],
)
def test_odd_shapes_are_problems_not_crashes(tmp_path: Path, text: str) -> None:
    assert problems(project(tmp_path, text))


def test_env_limit_counts_a_kubernetes_pair_once(tmp_path: Path) -> None:
    pairs = ", ".join(f"{{name: V{i}, value: x}}" for i in range(512))
    assert len(load(project(tmp_path, container(f"env: [{pairs}]\n"))).pods[0].containers[0].env) == 512
    lines = problems(project(tmp_path, container(f"env: [{pairs}, {{name: W, value: y}}]\n")))
    assert lines == ["autonomy.yaml: pods[0].containers[0].env: at most 512 items are allowed, got 513"]
