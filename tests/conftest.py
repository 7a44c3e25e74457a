"""Shared by every test folder: tests/clirun.py (the one CLI launcher) is importable by name."""
