"""The host's package-index settings as the base images' builds get them: what travels
(index URLs, trusted hosts, the CA bundle), what does not (credentials, host paths)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autonomy_cli.docker import image as image_mod
from autonomy_cli.docker.pipindex import host_index_settings, strip_credentials

SECRET = "s3cr3t-pa55"


def _conf(tmp_path: Path, text: str, name: str = "pip.conf") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_strip_credentials() -> None:
    assert strip_credentials(f"https://me:{SECRET}@idx.example/simple") == ("https://idx.example/simple", True)
    assert strip_credentials("https://token@idx.example:8443/s") == ("https://idx.example:8443/s", True)
    assert strip_credentials("https://idx.example/simple") == ("https://idx.example/simple", False)


def test_config_files_then_environment(tmp_path: Path) -> None:
    low = _conf(tmp_path, "[global]\nindex-url = https://low.example/simple\ntrusted-host = low.example\n", "a.conf")
    high = _conf(
        tmp_path,
        "[global]\nindex-url = https://global.example/simple\nfind-links = /opt/wheels\n"
        "[install]\nindex-url = https://install.example/simple\n",
        "b.conf",
    )
    got = host_index_settings(environ={}, files=[low, high])
    assert got.index_url == "https://install.example/simple"  # [install] over [global], later file over earlier
    assert got.trusted_hosts == ("low.example",)
    env = {"PIP_INDEX_URL": "https://env.example/simple", "PIP_EXTRA_INDEX_URL": "https://x.example/a https://y/b"}
    got = host_index_settings(environ=env, files=[low, high])
    assert got.index_url == "https://env.example/simple"
    assert got.extra_index_urls == ("https://x.example/a", "https://y/b")
    assert "opt/wheels" not in got.pip_conf() and "find-links" not in got.pip_conf()


def test_ca_bundle_is_carried(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nproxy\n-----END CERTIFICATE-----\n")
    for env in ({"PIP_CERT": str(ca)}, {"SSL_CERT_FILE": str(ca)}, {"REQUESTS_CA_BUNDLE": str(ca)}):
        got = host_index_settings(environ=env, files=[])
        assert got.ca_bundle == ca.read_bytes()
        assert got.context_files()["index/ca.crt"] == ca.read_bytes()
        assert "cert = /etc/autonomy/index/ca.crt" in got.pip_conf()
        assert got.env()["SSL_CERT_FILE"] == "/etc/autonomy/index/ca.crt"
        assert got.env()["UV_NATIVE_TLS"] == "1"
    none = host_index_settings(environ={"PIP_CERT": str(tmp_path / "missing.pem")}, files=[])
    assert none.ca_bundle is None and "cert" not in none.pip_conf() and "SSL_CERT_FILE" not in none.env()


def test_credentials_are_stripped_and_reported(tmp_path: Path) -> None:
    conf = _conf(tmp_path, f"[global]\nextra-index-url = https://bot:{SECRET}@extra.example/simple\n")
    got = host_index_settings(environ={"PIP_INDEX_URL": f"https://me:{SECRET}@idx.example/simple"}, files=[conf])
    assert got.index_url == "https://idx.example/simple"
    assert got.extra_index_urls == ("https://extra.example/simple",)
    assert got.stripped == ("https://***@idx.example/simple", "https://***@extra.example/simple")
    assert got.env()["UV_DEFAULT_INDEX"] == "https://idx.example/simple"
    everything = repr(got) + got.pip_conf() + repr(got.env()) + repr(got.context_files())
    assert SECRET not in everything and "bot" not in everything


@pytest.mark.parametrize("target", ["base", "dev"])
def test_no_credential_reaches_a_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target: str) -> None:
    """What a base-image build sends to Docker (context files, build arguments, labels)
    holds no password planted in the host's PIP_INDEX_URL; a warning names the index."""
    monkeypatch.setenv("PIP_INDEX_URL", f"https://me:{SECRET}@idx.example/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", f"https://{SECRET}@extra.example/simple")
    monkeypatch.setenv(
        "PIP_CONFIG_FILE", str(_conf(tmp_path, f"[global]\nindex-url = https://a:{SECRET}@c.example/\n"))
    )
    sent: dict[str, Any] = {}

    def fake_build(client: object, files: dict[str, bytes], **kwargs: Any) -> str:
        sent.update(kwargs, files=files)
        return "sha256:0"

    monkeypatch.setattr(image_mod, "build_in_memory", fake_build)
    steps: list[str] = []
    labels = {"k": "v"}
    image_mod._build(None, target, "offline", image_mod._snapshot(), (labels, labels), on_step=steps.append)  # type: ignore[arg-type]
    assert sent["target"] == target
    blob = repr(sent["buildargs"]) + repr(sent["labels"]) + repr(sent["tag"])
    blob += "".join(data.decode(errors="replace") for data in sent["files"].values())
    assert SECRET not in blob
    dockerfile = sent["files"]["Dockerfile"].decode()
    assert "@BASE_LABELS@" not in dockerfile and "@DEV_LINES@" not in dockerfile
    assert 'UV_DEFAULT_INDEX="https://idx.example/simple"' in dockerfile
    assert "index-url = https://idx.example/simple" in sent["files"]["index/pip.conf"].decode()
    warnings = [s for s in steps if s.startswith("warning:")]
    assert len(warnings) == 2 and all("***@" in w and SECRET not in w for w in warnings)
