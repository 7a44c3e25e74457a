"""Clusters and zones: the nodes of a zone together, and the small programs the CLI runs in a zone."""

__all__: list[str] = []
