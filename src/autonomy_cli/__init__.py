"""The ``autonomy`` command: run Autonomy zones locally on Docker Compose."""
