"""Manifest -> ZonePlan (pure), and materialize() (keys, roster, secret env files)."""

from __future__ import annotations

import json
import stat
import textwrap
from pathlib import Path

import pytest

from autonomy.transport.roster import Roster, load_keypair
from autonomy_cli.errors import PlanError
from autonomy_cli.manifest import load
from autonomy_cli.materialize import env_file_text, materialize
from autonomy_cli.plan import BIG, REGULAR, ZonePlan, plan

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLUSTER = "19f138000c5dcc2eaa7d8f21594fc0c3"


def _plan(case: str, state: Path, *, host_cpus: float = 2.0, public_port: int = 32100) -> ZonePlan:
    return plan(load(FIXTURES / case), CLUSTER, FIXTURES / case, state, host_cpus=host_cpus, public_port=public_port)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_hello_nodes(tmp_path: Path) -> None:
    p = _plan("hello", tmp_path)
    (inst,) = p.instances
    assert (inst.name, inst.pod, inst.clone) == ("main-pod", "main-pod", 0)
    (node,) = inst.nodes
    assert node.name == f"{CLUSTER}-hello-main-pod-main"
    assert (node.port, node.endpoint) == (5555, "tcp://main-pod:5555")
    assert node.image == "autonomy-hello-main"
    assert node.build_context == FIXTURES / "hello" / "images" / "main"
    assert node.key_file == tmp_path / "keys" / f"{node.name}.key"
    assert node.secrets_file is None
    assert p.public_port == 32100
    assert [(pp.host_ip, pp.host_port, pp.container_port) for pp in inst.ports] == [("127.0.0.1", 32100, 8000)]
    assert (inst.cpus, inst.memory, inst.size) == (0.25, 268435456, "regular")
    assert p.warnings == ()


def test_clones_and_clamp_warning_once(tmp_path: Path) -> None:
    p = _plan("distribute", tmp_path, host_cpus=2)
    assert [i.name for i in p.instances] == ["main-pod"] + [f"runner-pod-{k}" for k in range(5)]
    assert [i.clone for i in p.instances] == [0, 0, 1, 2, 3, 4]
    assert all(i.cpus == 2.0 and i.memory == BIG.memory and i.size == "big" for i in p.instances)
    clamp = [w for w in p.warnings if "CPUs" in w]
    assert len(clamp) == 1, p.warnings
    assert "main-pod" in clamp[0] and "runner-pod" in clamp[0]
    names = [n.name for n in p.nodes()]
    assert names[1] == f"{CLUSTER}-distribute-runner-pod-0-runner"
    assert names[-1] == f"{CLUSTER}-distribute-runner-pod-4-runner"
    assert {n.endpoint for n in p.nodes()} >= {"tcp://runner-pod-3:5555"}
    # one build per distinct image
    assert [(b.tag, b.context.name) for b in p.builds] == [
        ("autonomy-distribute-main", "main"),
        ("autonomy-distribute-runner", "runner"),
    ]
    # no clamp on a big machine
    assert _plan("distribute", tmp_path, host_cpus=16).warnings == ()


def test_ports_follow_container_index(tmp_path: Path) -> None:
    p = _plan("mcp", tmp_path)
    main, fetch = p.instances[0].nodes
    assert (main.port, fetch.port) == (5555, 5556)
    assert fetch.image == "ghcr.io/build-trust/mcp-proxy" and fetch.build_context is None
    assert fetch.args == ("--sse-port", "8001", "--pass-environment", "--", "uvx", "mcp-server-fetch")


def test_public_port_and_outlets(tmp_path: Path) -> None:
    p = _plan("portals", tmp_path)
    assert p.public_port == 32101  # 32100 is an inlet of this zone
    main, db0, db1 = p.instances
    assert [(x.host_port, x.container_port, x.purpose) for x in main.ports] == [
        (32101, 8000, "public"),
        (32100, 7000, "outlet"),
    ]
    assert [(x.host_port, x.container_port) for x in db0.ports] == [(32200, 5432)]
    assert db1.ports == ()
    assert any("clone 0" in w for w in p.warnings)


def test_plan_is_pure(tmp_path: Path) -> None:
    state = tmp_path / "state"
    p1 = _plan("secrets", state)
    p2 = _plan("secrets", state)
    assert p1 == p2
    assert not state.exists()


def test_plan_rejects_bad_inputs(tmp_path: Path) -> None:
    m = load(FIXTURES / "hello")
    with pytest.raises(PlanError):
        plan(m, "Not A Cluster", tmp_path, tmp_path, host_cpus=2)
    with pytest.raises(PlanError):
        plan(m, CLUSTER, tmp_path, tmp_path, host_cpus=0)


def test_materialize_writes_roster_and_private_keys(tmp_path: Path) -> None:
    p = _plan("distribute", tmp_path / "zone")
    roster = materialize(p)
    loaded = Roster.load(p.roster_file)
    assert loaded == roster
    assert (loaded.cluster, loaded.zone) == (CLUSTER, "distribute")
    assert [n.name for n in loaded.nodes if n.role == "node"] == [n.name for n in p.nodes()]
    probes = [n for n in loaded.nodes if n.role == "probe"]
    assert [n.name for n in probes] == [p.probe_name]
    assert load_keypair(p.probe_key_file)[1].public_key == probes[0].public_key
    assert _mode(p.probe_key_file) == 0o600
    entry = loaded.by_name(f"{CLUSTER}-distribute-runner-pod-2-runner")
    assert entry is not None
    assert (entry.pod, entry.instance, entry.clone, entry.container, entry.endpoint) == (
        "runner-pod",
        "runner-pod-2",
        2,
        "runner",
        "tcp://runner-pod-2:5555",
    )
    for node in p.nodes():
        assert _mode(node.key_file) == 0o600
        name, pair = load_keypair(node.key_file)
        assert name == node.name
        assert loaded.by_name(name).public_key == pair.public_key  # type: ignore[union-attr]
    assert _mode(p.keys_dir) == 0o700
    assert "secret_key" not in p.roster_file.read_text()


def test_keys_are_stable_across_deploys(tmp_path: Path) -> None:
    p = _plan("multinode", tmp_path)
    first = materialize(p)
    second = materialize(p)
    assert first == second
    # a damaged key file is replaced, the others are kept
    node = p.nodes()[0]
    node.key_file.write_text("{not json")
    third = materialize(p)
    assert third.by_name(node.name) != first.by_name(node.name)
    other = p.nodes()[1].name
    assert third.by_name(other) == first.by_name(other)


def test_stale_files_are_removed(tmp_path: Path) -> None:
    materialize(_plan("distribute", tmp_path))
    assert len(list((tmp_path / "keys").glob("*.key"))) == 6 + 1  # + the probe's
    small = plan(
        load(FIXTURES / "hello").model_copy(update={"name": "distribute"}),
        CLUSTER,
        FIXTURES / "hello",
        tmp_path,
        host_cpus=2,
    )
    materialize(small)
    assert sorted(p.name for p in (tmp_path / "keys").glob("*.key")) == [
        f"{CLUSTER}-distribute-main-pod-main.key",
        "probe.key",
    ]


def test_secret_env_files(tmp_path: Path) -> None:
    p = _plan("secrets", tmp_path)
    main, brave = p.instances[0].nodes
    assert main.env == (("LOG_LEVEL", "INFO"),)
    assert main.secret_env == (("API_KEY", "sk-golden-test-do-not-leak-1234"),)
    assert "sk-golden" not in repr(main)
    materialize(p)
    assert main.secrets_file == tmp_path / "secrets" / "main-pod--main.env"
    assert main.secrets_file.read_text() == "API_KEY='sk-golden-test-do-not-leak-1234'\n"
    assert brave.secrets_file is not None
    assert brave.secrets_file.read_text() == "BRAVE_API_KEY='brave-golden-test-do-not-leak-5678'\n"
    assert _mode(main.secrets_file) == 0o600
    assert _mode(p.secrets_dir) == 0o700
    assert "never-referenced" not in main.secrets_file.read_text() + brave.secrets_file.read_text()


def test_env_file_is_read_alike_by_python_dotenv(tmp_path: Path) -> None:
    dotenv = pytest.importorskip("dotenv")
    values = (("A", "plain"), ("B", "with space # not a comment"), ("C", "dollar $HOME and $"), ("D", 'quote " here'))
    f = tmp_path / "x.env"
    f.write_text(env_file_text(values))
    assert dict(dotenv.dotenv_values(f)) == dict(values)
    with pytest.raises(PlanError):
        env_file_text((("E", "it's"),))


def test_secret_free_containers_get_no_env_file(tmp_path: Path) -> None:
    (tmp_path / "proj" / "images" / "main").mkdir(parents=True)
    (tmp_path / "proj" / "images" / "main" / "Dockerfile").write_text("FROM x\n")
    (tmp_path / "proj" / "autonomy.yaml").write_text(
        textwrap.dedent(
            """\
            name: z
            pods:
              - name: p
                containers:
                  - {name: a, image: main, env: [{K: secrets.S}]}
                  - {name: b, image: main, env: [{K: v}]}
            """
        )
    )
    (tmp_path / "proj" / "secrets.yaml").write_text("S: hidden\n")
    p = plan(load(tmp_path / "proj"), CLUSTER, tmp_path / "proj", tmp_path / "state", host_cpus=1)
    materialize(p)
    assert sorted(x.name for x in (tmp_path / "state" / "secrets").iterdir()) == ["p--a.env"]
    roster = json.loads((tmp_path / "state" / "roster.json").read_text())
    assert [n["endpoint"] for n in roster["nodes"] if n["role"] == "node"] == ["tcp://p:5555", "tcp://p:5556"]
    assert REGULAR.cpus == p.instances[0].cpus
