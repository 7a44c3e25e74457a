"""``python -m autonomy_cli``: the same app as the ``autonomy`` command."""

from .main import main

main()
