"""Reading the knowledge data files: JSON in, :class:`~groundv.errors.ConfigError` on any mistake.

Every loader in this package reads its file through :func:`read_json` and reports problems through
:func:`bad`, so a broken edit of a data file always fails the same way: one message that names the
file and the key path inside it (``taxonomy.json: objects.dog.is_a: unknown node 'pett'``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from groundv.errors import ConfigError

__all__ = ["DataFile", "bad", "expect_keys", "read_json", "str_list"]


class DataFile:
    """A parsed data file: its name (for messages) and its top-level object."""

    __slots__ = ("data", "name")

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self.name = name
        self.data = data


def bad(file: DataFile | str, key: str, problem: str) -> ConfigError:
    """The error for a wrong value at ``key`` (a dotted path) in a data file."""
    name = file.name if isinstance(file, DataFile) else file
    where = f"{name}: {key}: " if key else f"{name}: "
    return ConfigError(where + problem,
                       hint=f"fix {name}; its format is described in the docstring of the module that reads it "
                            f"(groundv.knowledge)")


def _no_duplicates(name: str):
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise bad(name, key, "the key appears twice in one JSON object (the second would silently win)")
            out[key] = value
        return out
    return hook


def read_json(path: str | Path | None, default: str) -> DataFile:
    """Parse a data file: ``path``, or the packaged ``data/<default>`` when ``path`` is None.

    Raises:
        ConfigError: the file cannot be read, is not JSON, repeats a key, or is not a JSON object.
    """
    if path is None:
        resource = resources.files("groundv.knowledge").joinpath("data").joinpath(default)
        name, reader = str(resource), resource.read_text
    else:
        name = str(path)
        p = Path(path)
        reader = p.read_text
    try:
        text = reader(encoding="utf-8")
    except OSError as exc:
        raise bad(name, "", f"cannot read the file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise bad(name, "", f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates(name))
    except json.JSONDecodeError as exc:
        raise bad(name, f"line {exc.lineno} column {exc.colno}", f"not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise bad(name, "", f"the top level must be a JSON object, got {type(data).__name__}")
    return DataFile(name, data)


def expect_keys(file: DataFile, obj: dict[str, Any], key: str, required: Iterable[str],
                optional: Iterable[str] = ()) -> None:
    """Check that ``obj`` (found at ``key``) has the required keys and nothing unknown."""
    required, optional = tuple(required), tuple(optional)
    for k in required:
        if k not in obj:
            raise bad(file, key or "(top level)", f"missing required key {k!r}")
    unknown = sorted(set(obj) - set(required) - set(optional))
    if unknown:
        allowed = ", ".join(repr(k) for k in (*required, *optional))
        raise bad(file, key or "(top level)", f"unknown key {unknown[0]!r} (allowed: {allowed})")


def str_list(file: DataFile, value: Any, key: str, *, allow_empty: bool = True) -> list[str]:
    """``value`` as a list of non-empty, stripped strings, or a ConfigError naming ``key``."""
    if not isinstance(value, list):
        raise bad(file, key, f"must be a list of strings, got {type(value).__name__}")
    if not value and not allow_empty:
        raise bad(file, key, "must not be empty")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise bad(file, f"{key}[{i}]", f"must be a non-empty string, got {item!r}")
        if item != item.strip():
            raise bad(file, f"{key}[{i}]", f"has leading or trailing spaces: {item!r}")
    return list(value)
