"""``python -m groundv``: the ``groundv`` command."""

from groundv.cli import main

main()
