"""``python -m groundv.cli``: the ``groundv`` command."""

from groundv.cli import main

main()
