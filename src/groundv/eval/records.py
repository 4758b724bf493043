"""Evaluation items and predictions: the JSON-lines contract of DESIGN.md §3.2.

An **item** is one thing a model is asked: ``{"id", "image": {...}, "expression", "mask": RLE,
"no_target": bool, "category": str | null, "ignore": RLE | null}``, plus an optional ``extra`` object
of benchmark-specific facts a model's prompt may need (ReasonSeg's ``is_sentence``). ``mask`` is the ground truth (the
OR of the targets; all zero for a no-target item), ``no_target`` the flag protocols read (gRefCOCO's
``ann_id == [-1]``), ``ignore`` the pixels no protocol counts (ReasonSeg's 255 regions).

A **prediction** is what a model answered: ``{"id", "mask": RLE, "no_target": bool}``;
``no_target`` is optional and, where absent, derived from an empty mask (METRICS.md §13.2).

Both are read line by line; a malformed line is an :class:`~groundv.errors.InputError` naming the
file, the line and the id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from groundv import masks
from groundv.errors import InputError, MaskError
from groundv.masks import RLE

__all__ = ["Item", "Prediction", "read_items", "read_jsonl", "record_id", "scan_jsonl", "write_jsonl"]


@dataclass(frozen=True, slots=True)
class Item:
    """One evaluation item (one expression, or one ref's concatenated expressions).

    Attributes:
        id: unique within its items file.
        image: the image record (``id``, ``file_name``, ``width``, ``height``, ``source``).
        expression: the text the model is given.
        mask: ground-truth RLE at the image's size.
        no_target: the ground truth says "nothing is referred to".
        category: Ground-V category or benchmark subset, for per-category results.
        ignore: pixels excluded from every count (ReasonSeg ``ignore`` shapes), or None.
        extra: benchmark-specific facts for building a model's prompt (e.g. ``{"is_sentence": true}``
            for ReasonSeg, which picks LISA's long or short template), or None.
    """

    id: str
    image: dict[str, Any]
    expression: str
    mask: RLE
    no_target: bool
    category: str | None = None
    ignore: RLE | None = None
    extra: dict[str, Any] | None = None

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` of the ground truth."""
        return masks.size(self.mask)

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "image": self.image, "expression": self.expression, "mask": self.mask,
               "no_target": self.no_target, "category": self.category, "ignore": self.ignore}
        if self.extra is not None:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_json(cls, obj: Any, *, file: str | Path | None = None, where: str | None = None,
                  check_runs: bool = True) -> Item:
        """Validate one decoded JSON object.

        ``check_runs=False`` leaves the run check of compressed masks to the caller, who can check a
        whole batch at once with :func:`groundv.masks.check_runs` (as the evaluator does).

        Raises:
            InputError: a field is missing or of the wrong type, or a mask is malformed.
        """
        item_id = record_id(obj, file=file, where=where, what="item")
        where = f"{where}: item {item_id}" if where else f"item {item_id}"
        image = obj.get("image")
        if not isinstance(image, dict):
            raise InputError("'image' must be an object", file=file, where=where)
        expression = obj.get("expression")
        if not isinstance(expression, str):
            raise InputError("'expression' must be a string", file=file, where=where)
        no_target = obj.get("no_target")
        if not isinstance(no_target, bool):
            raise InputError("'no_target' must be true or false", file=file, where=where)
        category = obj.get("category")
        if category is not None and not isinstance(category, str):
            raise InputError("'category' must be a string or null", file=file, where=where)
        mask = _rle(obj.get("mask"), "mask", file, where, check_runs)
        ignore = obj.get("ignore")
        if ignore is not None:
            ignore = _rle(ignore, "ignore", file, where, check_runs)
            if masks.size(ignore) != masks.size(mask):
                raise InputError(f"'ignore' is {_hw(ignore)} but 'mask' is {_hw(mask)}", file=file, where=where)
        extra = obj.get("extra")
        if extra is not None and not isinstance(extra, dict):
            raise InputError("'extra' must be an object or absent", file=file, where=where)
        return cls(item_id, image, expression, mask, no_target, category, ignore, extra)


@dataclass(frozen=True, slots=True)
class Prediction:
    """A model's answer to one item.

    Attributes:
        id: the item's id.
        mask: predicted RLE at the item's size.
        no_target: the model said "nothing is referred to"; None when the model gave no flag.
    """

    id: str
    mask: RLE
    no_target: bool | None = None

    @property
    def rejects(self) -> bool:
        """The model's no-target decision: its flag, or an empty mask where it gave none."""
        return self.no_target if self.no_target is not None else masks.is_empty(self.mask)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "mask": self.mask}
        if self.no_target is not None:
            out["no_target"] = self.no_target
        return out

    @classmethod
    def from_json(cls, obj: Any, *, file: str | Path | None = None, where: str | None = None,
                  check_runs: bool = True) -> Prediction:
        """Validate one decoded JSON object (``check_runs`` as in :meth:`Item.from_json`).

        Raises:
            InputError: a field is missing or of the wrong type, or the mask is malformed.
        """
        pred_id = record_id(obj, file=file, where=where, what="prediction")
        where = f"{where}: prediction {pred_id}" if where else f"prediction {pred_id}"
        no_target = obj.get("no_target")
        if no_target is not None and not isinstance(no_target, bool):
            raise InputError("'no_target' must be true, false or absent", file=file, where=where)
        return cls(pred_id, _rle(obj.get("mask"), "mask", file, where, check_runs), no_target)


def _hw(rle: RLE) -> str:
    h, w = masks.size(rle)
    return f"{h}×{w}"


def _rle(value: Any, field: str, file: str | Path | None, where: str, check_runs: bool = True) -> RLE:
    if not isinstance(value, dict):
        raise InputError(f"'{field}' must be an RLE object {{\"size\": [h, w], \"counts\": ...}}",
                         file=file, where=where)
    size = value.get("size")
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        raise InputError(f"'{field}' size must be [height, width]", file=file, where=where)
    if not check_runs and isinstance(value.get("counts"), str):
        return {"size": size, "counts": value["counts"]}
    try:
        return masks.from_segmentation(value, size[0], size[1])
    except MaskError as err:
        raise InputError(f"'{field}': {err.reason}", file=file, where=where) from None


def scan_jsonl(path: str | Path, what: str = "records") -> Iterator[tuple[int, int, Any]]:
    """Yield ``(line number, byte offset, decoded object)`` for each non-blank line of a JSON-lines file.

    The offsets let a reader index a large file and come back to one line later.

    Raises:
        InputError: the file is missing or a line is not JSON (names the line).
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except IsADirectoryError:
        raise InputError(f"expected a JSON-lines file of {what}, got a directory", file=path) from None
    offset = 0
    with handle:
        for number, line in enumerate(handle, 1):
            start, offset = offset, offset + len(line)
            if not line.strip():
                continue
            try:
                yield number, start, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"not valid JSON: {exc.msg}", file=path, where=f"line {number}") from None


def read_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, decoded object)`` for each non-blank line of a JSON-lines file.

    Raises:
        InputError: the file is missing or a line is not JSON (names the line).
    """
    for number, _, obj in scan_jsonl(path):
        yield number, obj


def record_id(obj: Any, *, file: str | Path | None, where: str | None, what: str = "record") -> str:
    """The ``id`` of a decoded item or prediction, as a string.

    Raises:
        InputError: not an object, or an id that is neither a string nor an integer.
    """
    if not isinstance(obj, dict):
        raise InputError(f"a {what} must be a JSON object", file=file, where=where)
    value = obj.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError("'id' must be a string or an integer", file=file, where=where)
    return str(value)


def read_items(path: str | Path) -> Iterator[Item]:
    """Stream the items of a JSON-lines file.

    Raises:
        InputError: a malformed line, or an id used twice (both lines named).
    """
    seen: dict[str, int] = {}
    for number, obj in read_jsonl(path):
        item = Item.from_json(obj, file=path, where=f"line {number}")
        if item.id in seen:
            raise InputError(f"duplicate item id {item.id!r} (first on line {seen[item.id]})", file=path,
                             where=f"line {number}")
        seen[item.id] = number
        yield item


def write_jsonl(records: Iterable[Item | Prediction | dict[str, Any]], path: str | Path) -> int:
    """Write records as JSON lines; returns how many were written."""
    count = 0
    with Path(path).open("wb") as handle:
        for record in records:
            obj = record if isinstance(record, dict) else record.to_json()
            handle.write(orjson.dumps(obj) + b"\n")
            count += 1
    return count
