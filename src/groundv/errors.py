"""Errors a user can act on.

The tree::

    GroundvError                 anything groundv raises on purpose; has ``message`` and ``hint``
    ├── InputError               a user's data is wrong: names the file and the record (line, annotation id)
    │   └── MaskError            a segmentation cannot be turned into a mask (bad RLE, size mismatch, ...)
    ├── ConfigError              a flag, an option or one of groundv's own data files is wrong
    └── MissingDependency        an optional extra is not installed (the hint says what to pip install)

The library never prints or exits; only ``groundv.cli`` turns these into messages and exit codes.
Warnings about data that was repaired (e.g. a dropped degenerate polygon) use :class:`GroundvWarning`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ConfigError",
    "GroundvError",
    "GroundvWarning",
    "InputError",
    "MaskError",
    "MissingDependency",
]


class GroundvWarning(UserWarning):
    """Something in the input was repaired or ignored; the message says what and where."""


class GroundvError(Exception):
    """Base of every error groundv raises on purpose.

    Args:
        message: what went wrong, in one sentence.
        hint: how to fix it (a flag, a file to check), or None.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Subclasses take other arguments than the message, so unpickling must not call __init__:
        # errors from Ray actors and worker processes then arrive whole (message, hint, attributes).
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls: type[GroundvError], args: tuple[object, ...], state: dict[str, object]) -> GroundvError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class InputError(GroundvError):
    """A user's input file is wrong.

    Args:
        message: what is wrong.
        file: the file that holds the mistake.
        where: the record inside it, e.g. ``"annotation 1234"`` or ``"line 17"``.
        hint: how to fix it.

    Example:
        >>> str(InputError("unknown category id 999", file="a.json", where="annotation 7"))
        'a.json: annotation 7: unknown category id 999'
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.where = where
        self.reason = message
        prefix = ": ".join(p for p in (self.file, where) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message, hint=hint)


class MaskError(InputError):
    """A segmentation (polygon, RLE, bitmap) cannot be turned into a valid mask."""


class ConfigError(GroundvError):
    """A command-line flag or option is wrong or missing, or a knowledge data file is malformed."""


class MissingDependency(GroundvError):
    """An optional dependency is needed for this feature."""

    def __init__(self, package: str, feature: str, extra: str | None = None) -> None:
        install = f"pip install 'groundv[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{feature} needs the package {package!r}, which is not installed", hint=install)
