"""The zone's model gateway: ``python -m autonomy.clusters.gateway --listen HOST:PORT``.

SDK apps reach models through an OpenAI client pointed at the gateway; the gateway sends
each request to whatever backend this machine has (Anthropic, OpenAI, an
OpenAI-compatible server, or the bundled offline model):

* :mod:`.routing`: which backend serves which model name, and the deploy message's lines
  (standard library only: the CLI imports it);
* :mod:`.config`: the configuration, read once from the environment, and TLS trust;
* :mod:`.server`: the FastAPI app; ``_upstream``: its httpx side towards the backends.
"""

__all__: list[str] = []
