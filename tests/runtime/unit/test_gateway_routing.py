"""The gateway's routing table (model names x configurations), its deploy lines, its
configuration from the environment, and the TLS trust it builds from SSL_CERT_FILE."""

from __future__ import annotations

import ast
import ssl
import subprocess
import sys
from pathlib import Path

import certifi
import pytest

from autonomy.clusters.gateway import routing
from autonomy.clusters.gateway.config import from_env, ssl_verify
from autonomy.clusters.gateway.routing import (
    OFFLINE_MODEL,
    SDK_MODELS,
    GatewayConfig,
    NoBackend,
    describe,
    route,
)
from autonomy.errors import ConfigurationError

OFFLINE = "http://offline:8081/v1"
LOCAL = "http://ollama:11434/v1"

NOTHING = GatewayConfig(token="t", offline_url=OFFLINE)
ANTHROPIC = GatewayConfig(token="t", anthropic_api_key="ak", offline_url=OFFLINE)
OPENAI = GatewayConfig(token="t", openai_api_key="ok", offline_url=OFFLINE)
BOTH = GatewayConfig(token="t", anthropic_api_key="ak", openai_api_key="ok", offline_url=OFFLINE)
COMPATIBLE = GatewayConfig(token="t", openai_base_url=LOCAL, offline_url=OFFLINE)
COMPATIBLE_MODEL = GatewayConfig(token="t", openai_base_url=LOCAL, model="qwen3:8b", offline_url=OFFLINE)
ANTHROPIC_COMPATIBLE = GatewayConfig(token="t", anthropic_api_key="ak", openai_base_url=LOCAL, offline_url=OFFLINE)
KEYED_COMPATIBLE = GatewayConfig(token="t", openai_api_key="ok", openai_base_url=LOCAL)
EMPTY = GatewayConfig(token="t")

OLLAMA_LIST = ("llama3.2:latest", "deepseek-r1:7b", "nomic-embed-text:latest", "gpt-4o")

# (config, listed, requested) -> (backend, upstream model)
TABLE = [
    # Anthropic's own names go to Anthropic under its ids; other claude-* as written
    (ANTHROPIC, None, "claude-sonnet-4-v1", "anthropic", "claude-sonnet-4-6"),
    (ANTHROPIC, None, "claude-sonnet-4-5", "anthropic", "claude-sonnet-4-6"),
    (ANTHROPIC, None, "claude-haiku-4-5", "anthropic", "claude-haiku-4-5"),
    (ANTHROPIC, None, "claude-opus-4", "anthropic", "claude-opus-4-8"),
    (ANTHROPIC, None, "claude-opus-4-v1", "anthropic", "claude-opus-4-8"),
    (ANTHROPIC, None, "claude-3-5-haiku-latest", "anthropic", "claude-3-5-haiku-latest"),
    # names Anthropic does not have: the same size there
    (ANTHROPIC, None, "nova-pro-v1", "anthropic", "claude-sonnet-4-6"),
    (ANTHROPIC, None, "nova-micro-v1", "anthropic", "claude-haiku-4-5"),
    (ANTHROPIC, None, "nova-lite-v1", "anthropic", "claude-haiku-4-5"),
    (ANTHROPIC, None, "deepseek-r1", "anthropic", "claude-sonnet-4-6"),
    (ANTHROPIC, None, "gpt-4o", "anthropic", "claude-sonnet-4-6"),
    (ANTHROPIC, None, "gpt-4o-mini", "anthropic", "claude-haiku-4-5"),
    (ANTHROPIC, None, "o3", "anthropic", "claude-sonnet-4-6"),
    # Anthropic has no embeddings: the offline server
    (ANTHROPIC, None, "text-embedding-3-small", "offline", OFFLINE_MODEL),
    # OpenAI: its own names as written; the rest as a model of the same size
    (OPENAI, None, "gpt-4o", "openai", "gpt-4o"),
    (OPENAI, None, "gpt-5-nano", "openai", "gpt-5-nano"),
    (OPENAI, None, "o3", "openai", "o3"),
    (OPENAI, None, "o4-mini", "openai", "o4-mini"),
    (OPENAI, None, "claude-sonnet-4-v1", "openai", "gpt-4.1"),
    (OPENAI, None, "claude-haiku-4-5", "openai", "gpt-4.1-mini"),
    (OPENAI, None, "nova-premier-v1", "openai", "gpt-4.1"),
    (OPENAI, None, "text-embedding-3-large", "openai", "text-embedding-3-large"),
    (OPENAI, None, "embed-english-v3", "openai", "text-embedding-3-small"),
    (OPENAI, None, "titan-embed", "openai", "text-embedding-3-small"),
    # both keys: each provider its own names; others: Anthropic first
    (BOTH, None, "claude-sonnet-4-5", "anthropic", "claude-sonnet-4-6"),
    (BOTH, None, "gpt-4.1-mini", "openai", "gpt-4.1-mini"),
    (BOTH, None, "nova-pro-v1", "anthropic", "claude-sonnet-4-6"),
    (BOTH, None, "deepseek-r1", "anthropic", "claude-sonnet-4-6"),
    (BOTH, None, "embed-english-v3", "openai", "text-embedding-3-small"),
    # a compatible server: what it lists (Ollama's name:tag too), else its first model
    (COMPATIBLE, OLLAMA_LIST, "deepseek-r1", "compatible", "deepseek-r1:7b"),
    (COMPATIBLE, OLLAMA_LIST, "llama3.2", "compatible", "llama3.2:latest"),
    (COMPATIBLE, OLLAMA_LIST, "gpt-4o", "compatible", "gpt-4o"),
    (COMPATIBLE, OLLAMA_LIST, "claude-sonnet-4-v1", "compatible", "llama3.2:latest"),
    (COMPATIBLE, OLLAMA_LIST, "nova-lite-v1", "compatible", "llama3.2:latest"),
    (COMPATIBLE, OLLAMA_LIST, "embed-english-v3", "compatible", "nomic-embed-text:latest"),
    (COMPATIBLE, None, "nova-lite-v1", "compatible", "nova-lite-v1"),
    # ... or AUTONOMY_GATEWAY_MODEL when set
    (COMPATIBLE_MODEL, OLLAMA_LIST, "claude-sonnet-4-v1", "compatible", "qwen3:8b"),
    (COMPATIBLE_MODEL, OLLAMA_LIST, "deepseek-r1", "compatible", "deepseek-r1:7b"),
    (COMPATIBLE_MODEL, None, "gpt-4o", "compatible", "qwen3:8b"),
    # Anthropic and a compatible server: claude-* Anthropic, listed names the server,
    # other names Anthropic, embeddings the server
    (ANTHROPIC_COMPATIBLE, OLLAMA_LIST, "claude-haiku-4-5", "anthropic", "claude-haiku-4-5"),
    (ANTHROPIC_COMPATIBLE, OLLAMA_LIST, "deepseek-r1", "compatible", "deepseek-r1:7b"),
    (ANTHROPIC_COMPATIBLE, OLLAMA_LIST, "nova-pro-v1", "anthropic", "claude-sonnet-4-6"),
    (ANTHROPIC_COMPATIBLE, OLLAMA_LIST, "text-embedding-3-small", "compatible", "nomic-embed-text:latest"),
    # OPENAI_BASE_URL takes OpenAI's place: gpt-* go there, never to api.openai.com
    (KEYED_COMPATIBLE, ("mistral",), "gpt-4o", "compatible", "mistral"),
    (KEYED_COMPATIBLE, ("mistral",), "text-embedding-3-small", "compatible", "mistral"),
    # nothing configured: the offline model, whatever the name
    (NOTHING, None, "claude-sonnet-4-v1", "offline", OFFLINE_MODEL),
    (NOTHING, None, "gpt-4o", "offline", OFFLINE_MODEL),
    (NOTHING, None, "embed-english-v3", "offline", OFFLINE_MODEL),
    (NOTHING, ("/models/smollm2.gguf",), "nova-pro-v1", "offline", "/models/smollm2.gguf"),
]


@pytest.mark.parametrize(("config", "listed", "model", "backend", "upstream"), TABLE)
def test_route(config: GatewayConfig, listed: tuple[str, ...] | None, model: str, backend: str, upstream: str) -> None:
    served = route(config, model, listed)
    assert (served.backend.name, served.upstream) == (backend, upstream)
    assert served.model == model


def test_backend_urls_and_keys() -> None:
    assert route(BOTH, "claude-sonnet-4-5").backend.base_url == "https://api.anthropic.com/v1"
    assert route(BOTH, "claude-sonnet-4-5").backend.key_var == "ANTHROPIC_API_KEY"
    assert route(BOTH, "gpt-4o").backend.base_url == "https://api.openai.com/v1"
    assert route(KEYED_COMPATIBLE, "gpt-4o").backend.base_url == LOCAL
    assert route(KEYED_COMPATIBLE, "gpt-4o").backend.key_var == "OPENAI_API_KEY"
    assert route(COMPATIBLE, "gpt-4o").backend.key_var is None
    assert route(NOTHING, "gpt-4o").backend.key_var is None


def test_every_sdk_name_routes_everywhere_but_embeddings_without_a_server() -> None:
    for config in (NOTHING, ANTHROPIC, OPENAI, BOTH, COMPATIBLE, COMPATIBLE_MODEL, KEYED_COMPATIBLE):
        for name in SDK_MODELS:
            assert route(config, name).model == name
    anthropic_alone = GatewayConfig(token="t", anthropic_api_key="ak")
    with pytest.raises(NoBackend, match="Anthropic has no embeddings"):
        route(anthropic_alone, "text-embedding-3-small")
    with pytest.raises(NoBackend, match="set ANTHROPIC_API_KEY, OPENAI_API_KEY or OPENAI_BASE_URL"):
        route(EMPTY, "gpt-4o")


def test_describe_lines() -> None:
    offline = f"bundled offline model {OFFLINE_MODEL}: answers are for trying things out"
    assert describe(NOTHING) == [f"everything -> {offline}"]
    assert describe(BOTH) == [
        "claude-* -> Anthropic (ANTHROPIC_API_KEY)",
        "gpt-*, o3, o4-mini -> OpenAI (OPENAI_API_KEY)",
        "nova-*, deepseek-r1 -> Anthropic (ANTHROPIC_API_KEY) as claude-sonnet-4-6 (small ones as claude-haiku-4-5)",
        "embeddings -> OpenAI (OPENAI_API_KEY)",
    ]
    assert describe(ANTHROPIC)[0] == "claude-* -> Anthropic (ANTHROPIC_API_KEY)"
    assert describe(ANTHROPIC)[-1] == f"embeddings -> {offline}"
    assert describe(COMPATIBLE_MODEL) == [
        f"everything -> the OpenAI-compatible server at {LOCAL} (OPENAI_BASE_URL): the names it lists,"
        " others as AUTONOMY_GATEWAY_MODEL qwen3:8b"
    ]
    assert describe(GatewayConfig(token="t", anthropic_api_key="ak"))[-1] == (
        "embeddings -> nothing (Anthropic has no embeddings; set OPENAI_API_KEY or OPENAI_BASE_URL)"
    )


def test_describe_never_shows_a_secret() -> None:
    config = GatewayConfig(
        token="zone-token-1",
        anthropic_api_key="sk-ant-2",
        openai_api_key="sk-3",
        openai_base_url="https://user:pass-4@llm.example/v1",
    )
    text = "\n".join(describe(config)) + repr(config)
    for secret in ("zone-token-1", "sk-ant-2", "sk-3", "pass-4"):
        assert secret not in text
    assert "https://llm.example/v1" in text


def test_routing_imports_only_the_standard_library_and_reads_no_environment() -> None:
    for module in (routing, sys.modules["autonomy.clusters.gateway.config"]):
        source = Path(str(module.__file__)).read_text()
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] in sys.stdlib_module_names for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                assert (node.module or "").split(".")[0] in sys.stdlib_module_names or node.module == "__future__"
    names = {n.attr if isinstance(n, ast.Attribute) else getattr(n, "id", "") for n in ast.walk(routing_tree())}
    assert not names & {"environ", "getenv", "os"}
    code = (
        "import sys, autonomy.clusters.gateway.routing, autonomy.clusters.gateway.config\n"
        "print(sorted(m for m in ('fastapi', 'httpx', 'uvicorn', 'asyncio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def routing_tree() -> ast.Module:
    return ast.parse(Path(str(routing.__file__)).read_text())


def test_config_from_env() -> None:
    config = from_env(
        {
            "AUTONOMY_GATEWAY_TOKEN": "tok",
            "OPENAI_API_KEY": "sk-1",
            "ANTHROPIC_API_KEY": " ",
            "OPENAI_BASE_URL": "http://host.docker.internal:11434/v1",
            "AUTONOMY_GATEWAY_MODEL": "llama3.2",
            "AUTONOMY_GATEWAY_OFFLINE_URL": OFFLINE,
        }
    )
    assert config == GatewayConfig(
        token="tok",
        openai_api_key="sk-1",
        anthropic_api_key=None,
        openai_base_url="http://host.docker.internal:11434/v1",
        model="llama3.2",
        offline_url=OFFLINE,
    )
    assert "tok" not in repr(config) and "sk-1" not in repr(config)


@pytest.mark.parametrize(
    ("env", "where"),
    [
        ({}, "AUTONOMY_GATEWAY_TOKEN"),
        ({"AUTONOMY_GATEWAY_TOKEN": "t", "OPENAI_BASE_URL": "localhost:11434"}, "OPENAI_BASE_URL"),
        ({"AUTONOMY_GATEWAY_TOKEN": "t", "AUTONOMY_GATEWAY_OFFLINE_URL": "offline"}, "AUTONOMY_GATEWAY_OFFLINE_URL"),
        ({"AUTONOMY_GATEWAY_TOKEN": "t", "SSL_CERT_FILE": "/nonexistent/ca.pem"}, "SSL_CERT_FILE"),
    ],
)
def test_config_errors_name_the_variable(env: dict[str, str], where: str) -> None:
    with pytest.raises(ConfigurationError) as e:
        from_env(env)
    assert e.value.where == where


def test_ssl_verify_uses_ssl_cert_file_when_set(tmp_path: Path) -> None:
    assert ssl_verify(from_env({"AUTONOMY_GATEWAY_TOKEN": "t"})) is True
    context = ssl_verify(from_env({"AUTONOMY_GATEWAY_TOKEN": "t", "SSL_CERT_FILE": certifi.where()}))
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0
    broken = tmp_path / "ca.pem"
    broken.write_text("not a certificate\n")
    with pytest.raises(ConfigurationError, match="SSL_CERT_FILE: cannot load CA bundle"):
        ssl_verify(from_env({"AUTONOMY_GATEWAY_TOKEN": "t", "SSL_CERT_FILE": str(broken)}))
