"""autonomy.transport.roster: key pairs, key files, the roster file and its validation."""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey
from zmq.utils import z85

from autonomy.errors import ConfigurationError
from autonomy.transport.roster import NodeEntry, Roster, generate_keypair, load_keypair, node_name

Z85_ALPHABET = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")


def _entry(i: int, key: str | None = None) -> NodeEntry:
    return NodeEntry(
        name=node_name("c0ffee", "hello", f"pod-{i}", "main"),
        pod="pod",
        instance=f"pod-{i}",
        clone=i,
        container="main",
        endpoint=f"tcp://pod-{i}:{5555 + i}",
        public_key=key or generate_keypair().public_key,
    )


def _roster_dict(n: int = 2) -> dict[str, Any]:
    return Roster.build("c0ffee", "hello", [_entry(i) for i in range(n)]).to_dict()


# --------------------------------------------------------------------------- keys


def test_generate_keypair_shape_and_derivation() -> None:
    kp = generate_keypair()
    for key in (kp.public_key, kp.secret_key):
        assert len(key) == 40
        assert set(key) <= Z85_ALPHABET
    secret = z85.decode(kp.secret_key)
    public = z85.decode(kp.public_key)
    assert len(secret) == 32 and len(public) == 32
    assert bytes(PrivateKey(secret).public_key) == public


def test_generate_keypair_is_fresh() -> None:
    a, b = generate_keypair(), generate_keypair()
    assert a.public_key != b.public_key
    assert a.secret_key != b.secret_key


def test_keypair_repr_hides_secret() -> None:
    kp = generate_keypair()
    assert kp.secret_key not in repr(kp)
    assert kp.public_key in repr(kp)


def test_keypair_write_mode_and_load(tmp_path: Path) -> None:
    kp = generate_keypair()
    path = tmp_path / "deep" / "dir" / "node.key"
    kp.write(path, "node-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"name": "node-1", "public_key": kp.public_key, "secret_key": kp.secret_key}
    name, loaded = load_keypair(path)
    assert name == "node-1"
    assert loaded == kp


def test_keypair_write_tightens_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    path.write_text("old, much longer content than the key file will be " * 10)
    os.chmod(path, 0o644)
    kp = generate_keypair()
    kp.write(str(path), "n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keypair(str(path)) == ("n", kp)


def _key_file(tmp_path: Path, data: Any, raw: str | None = None) -> Path:
    p = tmp_path / "node.key"
    p.write_text(raw if raw is not None else json.dumps(data))
    return p


def _load_error(path: Path) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        load_keypair(path)
    assert str(path) in str(info.value)
    return info.value


def test_load_keypair_missing_file(tmp_path: Path) -> None:
    e = _load_error(tmp_path / "nope.key")
    assert "not found" in str(e)


@pytest.mark.parametrize("raw", ["", "not json", "{", "\x00\x01"])
def test_load_keypair_not_json(tmp_path: Path, raw: str) -> None:
    _load_error(_key_file(tmp_path, None, raw))


def test_load_keypair_directory(tmp_path: Path) -> None:
    _load_error(tmp_path)


def test_load_keypair_not_an_object(tmp_path: Path) -> None:
    _load_error(_key_file(tmp_path, ["name"]))


@pytest.mark.parametrize("missing", ["name", "public_key", "secret_key"])
def test_load_keypair_missing_field(tmp_path: Path, missing: str) -> None:
    kp = generate_keypair()
    data = {"name": "n", "public_key": kp.public_key, "secret_key": kp.secret_key}
    del data[missing]
    e = _load_error(_key_file(tmp_path, data))
    assert missing in e.where


@pytest.mark.parametrize("field", ["public_key", "secret_key"])
@pytest.mark.parametrize(
    "bad",
    [None, 42, "", "short", "x" * 39, "x" * 41, "~" * 40, " " * 40, "é" * 40],
)
def test_load_keypair_bad_key(tmp_path: Path, field: str, bad: Any) -> None:
    kp = generate_keypair()
    data = {"name": "n", "public_key": kp.public_key, "secret_key": kp.secret_key}
    data[field] = bad
    e = _load_error(_key_file(tmp_path, data))
    assert e.where.endswith(field)


def test_load_keypair_rejects_key_with_trailing_newline(tmp_path: Path) -> None:
    kp = generate_keypair()
    data = {"name": "n", "public_key": kp.public_key + "\n", "secret_key": kp.secret_key}
    _load_error(_key_file(tmp_path, data))


# --------------------------------------------------------------------------- roster


def test_roster_round_trip(tmp_path: Path) -> None:
    roster = Roster.build("c0ffee", "hello", [_entry(0), _entry(1), _entry(2)])
    text = roster.to_json()
    assert json.loads(text)["version"] == 1
    assert Roster.from_dict(json.loads(text)) == roster
    path = tmp_path / "sub" / "roster.json"
    roster.write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    loaded = Roster.load(path)
    assert loaded == roster
    assert loaded.by_name(roster.nodes[1].name) == roster.nodes[1]
    assert loaded.by_name("nobody") is None
    assert loaded.by_key()[roster.nodes[2].public_key] == roster.nodes[2]


def test_roster_defaults_instance_and_clone() -> None:
    data = _roster_dict(1)
    node = data["nodes"][0]
    del node["instance"], node["clone"]
    entry = Roster.from_dict(data).nodes[0]
    assert entry.instance == entry.pod == "pod"
    assert entry.clone == 0


def test_roster_load_missing_and_not_json(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        Roster.load(tmp_path / "absent.json")
    assert str(tmp_path / "absent.json") in str(info.value)
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ConfigurationError) as info:
        Roster.load(bad)
    assert str(bad) in str(info.value)


def test_roster_load_error_names_file_and_field(tmp_path: Path) -> None:
    data = _roster_dict(2)
    data["nodes"][1]["endpoint"] = "pod-1:5556"
    path = tmp_path / "roster.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigurationError) as info:
        Roster.load(path)
    assert info.value.where == f"{path}: nodes[1].endpoint"


def _from_dict_error(data: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        Roster.from_dict(data)
    return info.value


@pytest.mark.parametrize("data", [[], "roster", None, 1])
def test_from_dict_not_an_object(data: Any) -> None:
    assert _from_dict_error(data).where == "roster"


@pytest.mark.parametrize("version", [None, 0, 2, "1", 1.5])
def test_from_dict_wrong_version(version: Any) -> None:
    data = _roster_dict()
    if version is None:
        del data["version"]
    else:
        data["version"] = version
    assert _from_dict_error(data).where == "roster: version"


@pytest.mark.parametrize("nodes", [None, "a,b", {"0": {}}, 3])
def test_from_dict_nodes_not_a_list(nodes: Any) -> None:
    data = _roster_dict()
    if nodes is None:
        del data["nodes"]
    else:
        data["nodes"] = nodes
    assert _from_dict_error(data).where == "roster: nodes"


def test_from_dict_node_not_an_object() -> None:
    data = _roster_dict()
    data["nodes"][1] = "node"
    assert _from_dict_error(data).where == "roster: nodes[1]"


@pytest.mark.parametrize("field", ["name", "pod", "container", "endpoint", "public_key"])
def test_from_dict_missing_field(field: str) -> None:
    data = _roster_dict(2)
    del data["nodes"][1][field]
    e = _from_dict_error(data)
    assert e.where == f"roster: nodes[1].{field}"
    assert "missing" in str(e)


@pytest.mark.parametrize(
    "endpoint",
    ["pod:5555", "http://pod:5555", "tcp://pod", "tcp://pod:", "tcp://pod:port", "tcp://pod:55 55", "udp://pod:1"],
)
def test_from_dict_bad_endpoint(endpoint: str) -> None:
    data = _roster_dict(2)
    data["nodes"][1]["endpoint"] = endpoint
    assert _from_dict_error(data).where == "roster: nodes[1].endpoint"


@pytest.mark.parametrize("key", ["", "abc", "~" * 40, 7, None])
def test_from_dict_bad_public_key(key: Any) -> None:
    data = _roster_dict(2)
    data["nodes"][0]["public_key"] = key
    assert _from_dict_error(data).where == "roster: nodes[0].public_key"


def test_from_dict_duplicate_names() -> None:
    data = _roster_dict(3)
    data["nodes"][2]["name"] = data["nodes"][0]["name"]
    e = _from_dict_error(data)
    assert e.where == "roster: nodes"
    assert "names" in str(e)


def test_from_dict_duplicate_keys() -> None:
    data = _roster_dict(3)
    data["nodes"][2]["public_key"] = data["nodes"][1]["public_key"]
    e = _from_dict_error(data)
    assert e.where == "roster: nodes"
    assert "keys" in str(e)


def test_build_rejects_duplicates() -> None:
    a = _entry(0)
    with pytest.raises(ConfigurationError):
        Roster.build("c", "z", [a, _entry(1, key=a.public_key)])
    with pytest.raises(ConfigurationError):
        Roster.build("c", "z", [a, a])


def test_load_duplicate_error_names_file(tmp_path: Path) -> None:
    data = _roster_dict(2)
    data["nodes"][1]["name"] = data["nodes"][0]["name"]
    path = tmp_path / "roster.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigurationError) as info:
        Roster.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("clone", ["x", None, [1]])
def test_from_dict_bad_clone(clone: Any) -> None:
    data = _roster_dict(2)
    data["nodes"][1]["clone"] = clone
    assert _from_dict_error(data).where == "roster: nodes[1].clone"


@pytest.mark.parametrize("endpoint", ["tcp://pod:²", "tcp://pod:٣٣", "tcp://pod:99999", "tcp://pod:0"])
def test_from_dict_endpoint_port_out_of_range(endpoint: str) -> None:
    data = _roster_dict(1)
    data["nodes"][0]["endpoint"] = endpoint
    assert _from_dict_error(data).where == "roster: nodes[0].endpoint"


def test_from_dict_undecodable_key() -> None:
    data = _roster_dict(1)
    data["nodes"][0]["public_key"] = "#" * 40
    assert _from_dict_error(data).where == "roster: nodes[0].public_key"


@pytest.mark.parametrize(
    "endpoint,port",
    [("tcp://main-pod:5555", 5555), ("tcp://10.0.0.1:1", 1), ("tcp://[::1]:7000", 7000), ("tcp://h:65535", 65535)],
)
def test_node_entry_port(endpoint: str, port: int) -> None:
    entry = _entry(0)
    entry = NodeEntry(
        name=entry.name,
        pod=entry.pod,
        instance=entry.instance,
        clone=entry.clone,
        container=entry.container,
        endpoint=endpoint,
        public_key=entry.public_key,
    )
    assert entry.port == port


def test_from_dict_does_not_mutate_input() -> None:
    data = _roster_dict(2)
    before = copy.deepcopy(data)
    Roster.from_dict(data)
    assert data == before


def test_node_name() -> None:
    assert node_name("c", "z", "runner-pod-3", "main") == "c-z-runner-pod-3-main"
