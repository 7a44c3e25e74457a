"""The CLI's unit tests: no Docker needed."""
