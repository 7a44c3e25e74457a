"""The MCP proxy image ``ghcr.io/build-trust/mcp-proxy`` (docker/mcpimage.py), without
Docker: the image check treats it as ours, the build context carries the host's index
settings and no credential, a cached image is not rebuilt, and the image's launcher
names in one line what failed."""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import json
import types
from pathlib import Path
from typing import Any

import pytest

from autonomy_cli import labels as L
from autonomy_cli.docker import mcpimage
from autonomy_cli.docker.mcpimage import (
    ensure_mcp_image,
    mcp_build_files,
    mcp_hash,
    mcp_templates,
    npm_registry,
    npmrc,
    uv_toml,
)
from autonomy_cli.docker.pipindex import IndexSettings, host_index_settings
from autonomy_cli.docker.pullcheck import check_images, is_ours, mcp_refs
from autonomy_cli.docker.rootfs import mmdebstrap_command, offline_recipe, rootfs_tag
from autonomy_cli.manifest import load
from autonomy_cli.names import MCP_IMAGE
from autonomy_cli.plan import plan

SECRET = "s3cr3t-pa55"
TOKEN = "npm_T0KEN"
CLUSTER = "19f138000c5dcc2eaa7d8f21594fc0c3"
CA = b"-----BEGIN CERTIFICATE-----\nproxy\n-----END CERTIFICATE-----\n"


# --- the image check ----------------------------------------------------------------------


def test_the_mcp_proxy_is_ours_under_any_tag() -> None:
    for ref in (MCP_IMAGE, f"{MCP_IMAGE}:latest", f"{MCP_IMAGE}:v1", f"{MCP_IMAGE}@sha256:{'0' * 64}"):
        assert is_ours(ref), ref
    assert not is_ours(f"{MCP_IMAGE}x") and not is_ours("ghcr.io/other/mcp-proxy")


def _plan(tmp_path: Path, image: str = MCP_IMAGE) -> Any:
    root = tmp_path / "p"
    (root / "images" / "main").mkdir(parents=True)
    (root / "images" / "main" / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\nCOPY . .\n")
    (root / "images" / "main" / "main.py").write_text("from autonomy import Node\nNode.start()\n")
    args = json.dumps(["--sse-port", "8001", "--pass-environment", "--", "npx", "-y", "@scope/server"])
    (root / "autonomy.yaml").write_text(
        "name: z\npods:\n  - name: p\n    containers:\n      - {name: main, image: main}\n"
        f"      - {{name: brave, image: '{image}', args: {args}}}\n"
    )
    return plan(load(root), CLUSTER, root, tmp_path / "state", host_cpus=1)


class _NoPullApi:
    timeout = 60

    def inspect_image(self, ref: str) -> dict[str, Any]:
        raise AssertionError(f"inspected {ref}")

    def pull(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"pulled {args}")


def test_check_images_does_not_pull_the_mcp_proxy(tmp_path: Path) -> None:
    p = _plan(tmp_path)
    client = types.SimpleNamespace(api=_NoPullApi())
    assert check_images(client, p) == []  # type: ignore[arg-type]
    assert mcp_refs(p) == [MCP_IMAGE]
    assert mcp_refs(_plan(tmp_path / "b", f"{MCP_IMAGE}:v1")) == [f"{MCP_IMAGE}:v1"]
    # the proxy is a service: a registry image, never waited for
    brave = next(n for n in p.nodes() if n.container == "brave")
    assert not brave.is_node
    assert brave.args == ("--sse-port", "8001", "--pass-environment", "--", "npx", "-y", "@scope/server")


# --- the root filesystem and the build context ---------------------------------------------


def test_the_rootfs_is_debian_with_node_and_npm(monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = offline_recipe("mcp")
    assert recipe["suite"] == "trixie"
    assert {"nodejs", "npm", "python3", "python3-venv", "ca-certificates"} <= set(recipe["packages"])
    assert "python3-openai" not in recipe["packages"]  # not the SDK's rootfs
    tag = rootfs_tag("offline", "mcp")
    assert tag.startswith("autonomy-local/rootfs:trixie-mcp-")
    assert tag not in {rootfs_tag("offline"), rootfs_tag("offline", "dev")}
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    include = next(a for a in mmdebstrap_command("/tmp/x.tar", "mcp") if a.startswith("--include=python3"))
    assert "nodejs" in include and "npm" in include


def _index(tmp_path: Path) -> IndexSettings:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(CA)
    env = {
        "PIP_INDEX_URL": f"https://me:{SECRET}@idx.example/simple",
        "PIP_EXTRA_INDEX_URL": "https://extra.example/simple",
        "PIP_TRUSTED_HOST": "idx.example",
        "PIP_CERT": str(ca),
    }
    return host_index_settings(environ=env, files=[])


def test_the_build_context_carries_the_index_settings_without_credentials(tmp_path: Path) -> None:
    index = _index(tmp_path)
    npmrc_file = tmp_path / ".npmrc"
    npmrc_file.write_text(
        f"registry=https://bot:{SECRET}@npm.example/repo/\n//npm.example/repo/:_authToken={TOKEN}\n_auth={TOKEN}\n"
    )
    registry, stripped = npm_registry(environ={}, files=[npmrc_file])
    assert (registry, stripped) == ("https://npm.example/repo/", True)
    labels = {L.MANAGED: "true", L.BASE_HASH: "h" * 64}
    files = mcp_build_files(mcp_templates(), index, registry, labels)
    for name, data in files.items():
        assert SECRET.encode() not in data and TOKEN.encode() not in data, name
    dockerfile = files["Dockerfile"].decode()
    assert f'LABEL {L.MANAGED}="true" {L.BASE_HASH}="{"h" * 64}"' in dockerfile
    assert "# @MCP_LABELS@" not in dockerfile
    assert 'ENTRYPOINT ["/usr/local/bin/mcp-proxy"]' in dockerfile and "FROM ${ROOTFS} AS mcp" in dockerfile
    assert files["index/ca.crt"] == CA
    assert "mcp-proxy" in files["index/requirements.txt"].decode() and "uv" in files["index/requirements.txt"].decode()
    uv = files["index/uv.toml"].decode()
    assert 'index-url = "https://idx.example/simple"' in uv and "native-tls = true" in uv
    assert 'extra-index-url = ["https://extra.example/simple"]' in uv and 'allow-insecure-host = ["idx.example"]' in uv
    assert 'python-downloads = "never"' in uv
    npm = files["index/npmrc"].decode()
    assert "registry=https://npm.example/repo/" in npm and "cafile=/etc/ssl/certs/ca-certificates.crt" in npm
    assert "_auth" not in npm
    assert files["mcp-proxy"].startswith(b"#!/opt/mcp-proxy/bin/python3\n")


def test_npm_registry_environment_wins_and_default_is_npms(tmp_path: Path) -> None:
    rc = tmp_path / "npmrc"
    rc.write_text("registry = https://file.example/\n")
    assert npm_registry(environ={"NPM_CONFIG_REGISTRY": "https://env.example/"}, files=[rc]) == (
        "https://env.example/",
        False,
    )
    assert npm_registry(environ={}, files=[]) == ("", False)
    assert "registry=" not in npmrc("", ca=False) and "cafile" not in npmrc("", ca=False)
    assert "native-tls" not in uv_toml(IndexSettings())


def test_the_hash_follows_what_goes_in(tmp_path: Path) -> None:
    templates = mcp_templates()
    index = _index(tmp_path)
    first = mcp_hash(templates, index, "")
    assert len(first) == 64 and first == mcp_hash(templates, index, "")
    assert mcp_hash(templates, index, "https://npm.example/") != first
    assert mcp_hash(templates, IndexSettings(), "") != first
    changed = dict(templates, **{"requirements.txt": templates["requirements.txt"] + b"extra\n"})
    assert mcp_hash(changed, index, "") != first


# --- ensure_mcp_image -----------------------------------------------------------------------


class _Image:
    def __init__(self, image_id: str, labels: dict[str, str]) -> None:
        self.id = image_id
        self.labels = labels
        self.tags = [f"{MCP_IMAGE}:latest"]


class _Images:
    def __init__(self, found: dict[str, _Image]) -> None:
        self.found = found

    def get(self, ref: str) -> _Image:
        import docker.errors

        image = self.found.get(ref.removesuffix(":latest"))
        if image is None:
            raise docker.errors.ImageNotFound(ref)
        return image


class _Api:
    def __init__(self) -> None:
        self.tagged: list[tuple[str, str, str]] = []

    def tag(self, image: str, repository: str, tag: str) -> None:
        self.tagged.append((image, repository, tag))


def _client(found: dict[str, _Image]) -> Any:
    return types.SimpleNamespace(images=_Images(found), api=_Api())


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> IndexSettings:
    index = _index(tmp_path)
    monkeypatch.setattr(mcpimage, "host_index_settings", lambda: index)
    monkeypatch.setattr(mcpimage, "npm_registry", lambda: ("https://npm.example/", False))
    # the machine-wide build lock belongs to real builds (an e2e run may hold it for minutes)
    monkeypatch.setattr(mcpimage, "build_lock", contextlib.nullcontext)
    return index


def test_a_missing_image_is_built_on_the_mcp_rootfs(host: IndexSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client({})
    built: list[dict[str, Any]] = []

    def build(c: Any, files: dict[str, bytes], **kw: Any) -> str:
        built.append({"files": files, **kw})
        client.images.found[MCP_IMAGE] = _Image("sha256:new", {})
        return "sha256:new"

    monkeypatch.setattr(mcpimage, "offline_rootfs", lambda c, on_step, flavour: (f"rootfs-{flavour}", True))
    monkeypatch.setattr(mcpimage, "build_in_memory", build)
    steps: list[str] = []
    result = ensure_mcp_image(client, on_step=steps.append, tags=[f"{MCP_IMAGE}:v1", MCP_IMAGE])
    assert result.way == "built" and result.mcp_hash == mcp_hash(mcp_templates(), host, "https://npm.example/")
    (b,) = built
    assert b["tag"] == f"{MCP_IMAGE}:latest" and b["target"] == "mcp"
    assert b["buildargs"] == {"ROOTFS": "rootfs-mcp"} and b["labels"] == {}
    assert f'{L.BASE_HASH}="{result.mcp_hash}"' in b["files"]["Dockerfile"].decode()
    assert client.api.tagged == [("sha256:new", MCP_IMAGE, "v1")]
    assert any("building the MCP proxy image" in s for s in steps) and any(" built in " in s for s in steps)


def test_an_up_to_date_image_is_kept_and_a_foreign_one_used(
    host: IndexSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_build(*a: Any, **kw: Any) -> str:
        raise AssertionError("built")

    monkeypatch.setattr(mcpimage, "build_in_memory", no_build)
    want = mcp_hash(mcp_templates(), host, "https://npm.example/")
    ours = _client({MCP_IMAGE: _Image("sha256:ours", {L.MANAGED: "true", L.BASE_HASH: want})})
    assert ensure_mcp_image(ours).way == "cached"
    pulled = _client({MCP_IMAGE: _Image("sha256:pulled", {"org.opencontainers.image.source": "x"})})
    assert ensure_mcp_image(pulled).way == "present"


# --- the launcher's one line ----------------------------------------------------------------


def _launcher() -> Any:
    path = Path(mcpimage.__file__).parent.parent / "templates" / "mcp-image" / "mcp-proxy"
    loader = importlib.machinery.SourceFileLoader("mcp_launcher", str(path))
    spec = importlib.util.spec_from_loader("mcp_launcher", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


NPM_OFFLINE = """\
[I 2025-06-01 10:00:00,000.000 mcp_proxy.__main__] Configured default server: npx -y @scope/server
npm error code ENOTFOUND
npm error syscall getaddrinfo
npm error errno ENOTFOUND
npm error network request to https://registry.npmjs.org/@scope%2fserver failed, reason: getaddrinfo ENOTFOUND \
registry.npmjs.org
npm error network This is a problem related to network connectivity.
npm error network In most cases you are behind a proxy or have bad network settings.
npm error A complete log of this run can be found in: /root/.npm/_logs/x.log
Traceback (most recent call last):
  File "/opt/mcp-proxy/bin/mcp-proxy", line 8, in <module>
    sys.exit(main())
mcp.shared.exceptions.McpError: Connection closed
"""

UV_OFFLINE = """\
  × Failed to resolve `mcp-server-time`
error: Failed to fetch: `https://pypi.org/simple/mcp-server-time/`
  Caused by: Request failed after 3 retries
  Caused by: dns error: failed to lookup address information
Traceback (most recent call last):
mcp.shared.exceptions.McpError: Connection closed
"""


def test_the_launcher_passes_the_sse_flags_under_their_new_names() -> None:
    launcher = _launcher()
    argv = ["--sse-port", "8001", "--sse-host=0.0.0.0", "--pass-environment", "--", "x", "--sse-port", "1"]
    assert launcher.proxy_args(argv) == [
        "--port",
        "8001",
        "--host=0.0.0.0",
        "--pass-environment",
        "--",
        "x",
        "--sse-port",
        "1",
    ]
    assert launcher.proxy_args(["--port", "9", "--sse-port", "8", "--", "x"]) == [
        "--port",
        "9",
        "--sse-port",
        "8",
        "--",
        "x",
    ]
    assert launcher.proxy_args(["http://h/sse"]) == ["http://h/sse"]


def test_the_launcher_says_in_one_line_what_failed() -> None:
    launcher = _launcher()
    argv = ["--sse-port", "8001", "--pass-environment", "--", "npx", "-y", "@scope/server"]
    line = launcher.summary(argv, NPM_OFFLINE.splitlines(keepends=True), 1)
    assert "\n" not in line
    assert line == (
        "mcp-proxy: the MCP server `npx -y @scope/server` did not start or stopped: request to "
        "https://registry.npmjs.org/@scope%2fserver failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org "
        "(exit code 1)"
    )
    uv = launcher.reason(UV_OFFLINE.splitlines())
    assert uv == (
        "Failed to fetch: `https://pypi.org/simple/mcp-server-time/` "
        "(Caused by: dns error: failed to lookup address information)"
    )
    # nothing from npm or uv: the exception that ended mcp-proxy
    # npm 9 (Debian's) words it "npm ERR!"
    assert launcher.reason(["npm ERR! code E404", "npm ERR! 404 Not Found - GET https://r.example/x"]) == (
        "404 Not Found - GET https://r.example/x"
    )
    traceback = ["Traceback (most recent call last):", '  File "x", line 1', "OSError: boom"]
    assert launcher.reason(traceback) == "OSError: boom"
    assert launcher.summary([], [], 2) == "mcp-proxy: mcp-proxy stopped: no output (exit code 2)"
