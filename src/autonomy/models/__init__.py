"""Models: :class:`~.model.Model`, a chat and embeddings API reached the SDK's way
(:mod:`._client`: the zone's gateway, or an OpenAI-compatible API named by
``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``)."""

__all__: list[str] = []
