"""The ``groundv`` command. Thin: it parses options, calls the library and prints.

Only this package turns :class:`~groundv.errors.GroundvError` into a message and an exit code:
2 for bad input or usage, 1 for anything else; ``--debug`` shows the traceback instead.

Each module holds the commands of one concept; ``_app`` holds the Typer app and what they share.
"""

# Importing a command module registers its commands, and `groundv --help` lists them in that order: keep it,
# and let a command module import only _app, _tables and the modules before it here.
from groundv.cli import sources, demo, evaluate, generate, export, verify, review, student  # noqa: F401, I001
from groundv.cli._app import app, show_warning

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the console script and of ``python -m groundv`` / ``python -m groundv.cli``."""
    import warnings

    # Repairs in a user's data read as "warning: <what, where>", not as Python's source-line format.
    # Set here, not per command: tests that record warnings must keep Python's own hook.
    warnings.showwarning = show_warning
    # The name usage lines show, also under ``python -m`` (whose argv[0] is __main__.py).
    app(prog_name="groundv")
