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
from autonomy_cli.plan import BIG, OUTLET_BASE_PORT, REGULAR, ZonePlan, memory_check, plan

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
    # an outlet is published to its pod's forwarder (a private port), which connects to `to`
    assert [(x.host_port, x.container_port, x.purpose, x.target) for x in main.ports] == [
        (32101, 8000, "public", "8000"),
        (32100, OUTLET_BASE_PORT, "outlet", "127.0.0.1:7000"),
    ]
    assert [(x.host_port, x.container_port, x.target) for x in db0.ports] == [
        (32200, OUTLET_BASE_PORT, "127.0.0.1:5432")
    ]
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


def test_nodes_and_services(tmp_path: Path) -> None:
    """A container is a node only when its local build context is one of node_contexts;
    a registry image is always a service. A service gets no key and no roster entry."""
    m = load(FIXTURES / "mcp")
    everything = plan(m, CLUSTER, FIXTURES / "mcp", tmp_path / "a", host_cpus=2)
    assert [(n.container, n.kind) for n in everything.nodes()] == [("main", "node"), ("fetch", "service")]
    assert [n.container for n in everything.zone_nodes()] == ["main"]
    none = plan(m, CLUSTER, FIXTURES / "mcp", tmp_path / "b", host_cpus=2, node_contexts=())
    assert [n.kind for n in none.nodes()] == ["service", "service"] and none.zone_nodes() == ()
    chosen = plan(m, CLUSTER, FIXTURES / "mcp", tmp_path / "c", host_cpus=2, node_contexts={"images/main"})
    assert [n.kind for n in chosen.nodes()] == [n.kind for n in everything.nodes()]
    roster = materialize(everything)
    assert [e.name for e in roster.nodes if e.role != "probe"] == [everything.nodes()[0].name]
    assert sorted(p.name for p in everything.keys_dir.glob("*.key")) == sorted(
        [everything.nodes()[0].key_file.name, everything.probe_key_file.name]
    )
    materialize(none)  # no node at all: only the probe's key and roster entry
    assert [p.name for p in none.keys_dir.glob("*.key")] == [none.probe_key_file.name]


def test_volumes_are_per_pod_instance_and_stable(tmp_path: Path) -> None:
    p = _plan("volumes", tmp_path)
    by_name = {i.name: i for i in p.instances}
    assert [(v.name, v.volume, v.size) for v in by_name["main-pod"].volumes] == [
        ("autonomy-volumes-main-pod--data", "data", 10 * 2**30),
        ("autonomy-volumes-main-pod--cache", "cache", 500 * 10**6),
    ]
    # each clone has its own volume, as each pod of the cloud has its own
    assert [v.name for v in by_name["db-0"].volumes] == ["autonomy-volumes-db-0--store"]
    assert [v.name for v in by_name["db-1"].volumes] == ["autonomy-volumes-db-1--store"]
    main, reader = by_name["main-pod"].nodes
    assert [(m.source, m.target, m.read_only) for m in main.mounts] == [
        ("autonomy-volumes-main-pod--data", "/var/lib/app", False),
        ("autonomy-volumes-main-pod--cache", "/cache", False),
    ]
    assert [(m.source, m.target, m.read_only) for m in reader.mounts] == [
        ("autonomy-volumes-main-pod--data", "/srv/data $HOME", True)
    ]
    # the same names at the next deploy, whatever the state folder or cluster
    again = plan(load(FIXTURES / "volumes"), "0" * 32, FIXTURES / "volumes", tmp_path / "x", host_cpus=1)
    assert [v.name for i in again.instances for v in i.volumes] == [v.name for i in p.instances for v in i.volumes]
    assert any("size is not enforced" in w for w in p.warnings)


def test_env_forms_reach_env_and_secret_files(tmp_path: Path) -> None:
    p = _plan("envforms", tmp_path)
    (node,) = p.nodes()
    assert node.env == (("LOG_LEVEL", "INFO"), ("MODE", "fast"), ("PORT", "8080"))
    assert node.secret_env == (("API_KEY", "sk-golden-envforms-1234"), ("TOKEN", "tok-golden-envforms-5678"))
    materialize(p)
    assert node.secrets_file is not None
    assert node.secrets_file.read_text() == "API_KEY='sk-golden-envforms-1234'\nTOKEN='tok-golden-envforms-5678'\n"


def test_outlets_pod_name_and_unpublished_outlets(tmp_path: Path) -> None:
    p = _plan("aliases", tmp_path)
    by_name = {i.name: i for i in p.instances}
    assert [(x.host_port, x.container_port, x.purpose) for x in by_name["main-pod"].ports] == [
        (32100, 8000, "public"),
        (32110, OUTLET_BASE_PORT, "outlet"),
    ]
    # an outlet listed by main-pod with pod_name: db-pod publishes db-pod's port; the one
    # without inlet_from gets a forwarder in its pod (for `zone inlet`) but no host port
    assert [(x.host_port, x.container_port, x.target) for x in by_name["db-pod"].ports] == [
        (32111, OUTLET_BASE_PORT, "127.0.0.1:5432"),
        (None, OUTLET_BASE_PORT + 1, "127.0.0.1:6379"),
    ]
    (unpublished,) = [w for w in p.warnings if "no inlet_from" in w]
    assert "db-pod:6379" in unpublished
    assert any("imagePullPolicy" in w for w in p.warnings)
    assert any("inlets (port 9000)" in w for w in p.warnings)


def test_memory_check_refuses_only_what_cannot_start(tmp_path: Path) -> None:
    p = _plan("distribute", tmp_path)  # main-pod and 5 runners, all big (2 GiB each)
    gib = 2**30
    assert memory_check(p, 0) == ([], [])  # unknown host memory: nothing to say
    assert memory_check(p, 64 * gib) == ([], [])
    problems, warnings = memory_check(p, 8 * gib)  # 12 GiB of caps: still starts
    assert problems == []
    (w,) = warnings
    assert "6 containers may use up to 12.0 GiB" in w and "this host has 8.0 GiB" in w and "caps, not reservations" in w
    problems, warnings = memory_check(p, 1 * gib)  # one big container alone is over the host
    assert problems == [
        f"pod {name} (big) gives each container 2.0 GiB of memory; this host has 1.0 GiB"
        for name in ("main-pod", "runner-pod")  # each pod once, not each clone
    ]
    assert warnings == []


def test_memory_check_a_hundred_regular_pods_is_a_warning(tmp_path: Path) -> None:
    pods = "".join(f"  - name: p{i}\n    containers: [{{name: c, image: x/y}}]\n" for i in range(100))
    (tmp_path / "autonomy.yaml").write_text("name: many\npods:\n" + pods)
    p = plan(load(tmp_path), CLUSTER, tmp_path, tmp_path / "state", host_cpus=2)
    problems, warnings = memory_check(p, int(23.5 * 2**30))  # 25 GiB of caps on a 23.5 GiB host
    assert problems == []
    assert len(warnings) == 1 and "100 containers may use up to 25.0 GiB" in warnings[0]
