"""A model's predictions, read from JSON lines or from a folder of PNG masks, and matched to items by id.

Two forms are read (DESIGN.md §3.2):

* **JSON lines**, one :class:`~groundv.eval.records.Prediction` per line:
  ``{"id", "mask": RLE, "no_target": bool}`` (``no_target`` optional);
* **a folder of PNG masks** named ``<item id>.png``, one per item, at the item's size; a pixel that is
  non-zero in any colour channel is inside (an alpha channel is ignored). A PNG carries no flag, so
  ``no_target`` is None and the decision is derived from an empty mask (METRICS.md §13.2).

:class:`Predictions` indexes either form by id without decoding a mask (for JSON lines it keeps the byte
offset and line number of each prediction, so a million predictions cost a few hundred MB at most), and
loads one prediction when it is asked for. :func:`match` pairs a stream of items with their predictions.

Every mistake is an :class:`~groundv.errors.InputError` that names the file, the line (JSON lines) and
the id: a prediction for an id no item has, an item without a prediction, an id predicted twice, a mask
whose size is not its item's.

Example:
    >>> from groundv.eval import read_items  # doctest: +SKIP
    >>> pairs = match(read_items("items.jsonl"), "preds.jsonl", allow_missing=True)  # doctest: +SKIP
    >>> for item, prediction in pairs: ...  # doctest: +SKIP
    >>> pairs.missing  # ids answered with an empty mask  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson
from PIL import Image

from groundv import masks
from groundv.errors import InputError
from groundv.eval.records import Item, Prediction, read_jsonl, record_id, scan_jsonl

__all__ = ["Locator", "Matching", "PredictionLoader", "Predictions", "match", "read_predictions"]

#: Where one prediction is: ``(byte offset, line number)`` in a JSON-lines file, or a PNG's file name.
Locator = tuple[int, int] | str

_HINT_MISSING = ("pass --allow-missing to count a missing prediction as an empty mask "
                 "that does not reject")


def _hw(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


class Predictions:
    """Predictions indexed by item id: a JSON-lines file, or a folder of ``<id>.png`` masks.

    Building the index reads every line once (only its ``id`` is looked at) or lists the folder; no mask
    is decoded. Duplicate ids are refused here.

    Args:
        path: a ``.jsonl`` file or a folder of PNG masks.

    Raises:
        InputError: the path does not exist, a line is not JSON or has no valid id, or an id appears twice.

    Example:
        >>> preds = Predictions("preds.jsonl")  # doctest: +SKIP
        >>> preds.get("17", item)  # doctest: +SKIP
        Prediction(id='17', mask={...}, no_target=None)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._index: dict[str, Locator]
        if self.path.is_dir():
            self.kind = "png"
            self._index = self._index_pngs()
        elif self.path.exists():
            self.kind = "jsonl"
            self._index = self._index_jsonl()
        else:
            raise InputError("predictions not found (expected a JSON-lines file or a folder of PNG masks)",
                             file=self.path)

    def _index_jsonl(self) -> dict[str, Locator]:
        index: dict[str, Locator] = {}
        for number, start, obj in scan_jsonl(self.path, "predictions"):
            where = f"line {number}"
            pred_id = record_id(obj, file=self.path, where=where, what="prediction")
            first = index.get(pred_id)
            if isinstance(first, tuple):
                raise InputError(f"duplicate prediction id {pred_id!r} (first on line {first[1]})",
                                 file=self.path, where=f"{where}: prediction {pred_id}")
            index[pred_id] = (start, number)
        return index

    def _index_pngs(self) -> dict[str, Locator]:
        # Sorted so that "the first unknown id" is the same on every file system.
        with os.scandir(self.path) as entries:
            names = sorted(e.name for e in entries if e.name.lower().endswith(".png") and e.is_file())
        return {name[:-4]: name for name in names}

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, pred_id: object) -> bool:
        return pred_id in self._index

    def __iter__(self) -> Iterator[str]:
        """The ids, in file order (JSON lines) or file-name order (PNG folder)."""
        return iter(self._index)

    def locate(self, pred_id: str) -> Locator | None:
        """Where the prediction for ``pred_id`` is, or None when there is none."""
        return self._index.get(pred_id)

    def error(self, pred_id: str, message: str, *, hint: str | None = None) -> InputError:
        """An :class:`InputError` about one prediction, naming its file, line and id."""
        return prediction_error(self.path, self._index[pred_id], pred_id, message, hint=hint)

    def loader(self) -> PredictionLoader:
        """A loader for this file; use it as a context manager."""
        return PredictionLoader(self.path, self.kind)

    def get(self, pred_id: str, item: Item | None = None) -> Prediction:
        """Load and validate one prediction; with ``item``, also check the mask's size against it.

        Raises:
            KeyError: no prediction has this id.
            InputError: the record or mask is malformed, or its size is not the item's.
        """
        locator = self._index[pred_id]
        with self.loader() as loader:
            return loader.load(pred_id, locator, item.size if item is not None else None)


def prediction_error(path: Path, locator: Locator, pred_id: str, message: str, *,
           hint: str | None = None) -> InputError:
    if isinstance(locator, str):
        return InputError(message, file=path / locator, where=f"prediction {pred_id}", hint=hint)
    return InputError(message, file=path, where=f"line {locator[1]}: prediction {pred_id}", hint=hint)


class PredictionLoader:
    """Loads predictions by :data:`Locator`, keeping the JSON-lines file open between calls.

    It holds only the path, so it can be rebuilt in a worker process from ``(path, kind)``.

    Args:
        path: the JSON-lines file or PNG folder.
        kind: ``"jsonl"`` or ``"png"``.
    """

    def __init__(self, path: str | Path, kind: str) -> None:
        self.path = Path(path)
        self.kind = kind
        self._handle: BinaryIO | None = None

    def __enter__(self) -> PredictionLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def load(self, pred_id: str, locator: Locator, size: tuple[int, int] | None = None, *,
             check_runs: bool = True) -> Prediction:
        """Read one prediction and, when ``size`` (height, width) is given, check its mask's size.

        ``check_runs=False`` leaves the run check of a compressed mask to the caller (see
        :meth:`Item.from_json`); PNG masks are always valid.

        Raises:
            InputError: naming the file, the line (JSON lines) and the id.
        """
        if isinstance(locator, str):
            prediction = read_png_mask(self.path / locator, pred_id)
        else:
            prediction = self._load_line(locator, check_runs)
        if size is not None and masks.size(prediction.mask) != tuple(size):
            raise prediction_error(self.path, locator, pred_id,
                         f"mask is {_hw(masks.size(prediction.mask))} but item {pred_id!r} is {_hw(size)}",
                         hint="predict at the item's size (the items file's mask size)")
        return prediction

    def _load_line(self, locator: tuple[int, int], check_runs: bool) -> Prediction:
        offset, number = locator
        if self._handle is None:
            self._handle = self.path.open("rb")
        self._handle.seek(offset)
        obj = orjson.loads(self._handle.readline())  # validated as JSON when indexed
        return Prediction.from_json(obj, file=self.path, where=f"line {number}", check_runs=check_runs)


def read_png_mask(path: str | Path, pred_id: str | None = None) -> Prediction:
    """One PNG mask as a :class:`Prediction` (id from the file name unless given; ``no_target`` None).

    Any non-zero colour value is inside; an alpha channel (``LA``, ``RGBA``, ``PA``) is ignored, and a
    palette image is read by its indices (index 0 outside).

    Raises:
        InputError: the file cannot be read as an image.
    """
    path = Path(path)
    pred_id = pred_id if pred_id is not None else path.stem
    try:
        with Image.open(path) as im:
            if im.mode in ("LA", "RGBA", "PA"):
                im = im.convert("RGB") if im.mode == "RGBA" else im.getchannel(0)
            pixels = np.asarray(im)
    except OSError as exc:
        raise InputError(f"cannot read the PNG mask ({exc})", file=path, where=f"prediction {pred_id}") from None
    bitmap = pixels.any(axis=2) if pixels.ndim == 3 else pixels != 0
    return Prediction(pred_id, masks.encode(bitmap), None)


def read_predictions(path: str | Path) -> Iterator[Prediction]:
    """Stream every prediction of a JSON-lines file or a PNG folder (file-name order), validated.

    Ids are not checked for duplicates here; :class:`Predictions` and :func:`match` do that.

    Raises:
        InputError: a malformed line or an unreadable PNG, named.
    """
    path = Path(path)
    if path.is_dir():
        preds = Predictions(path)
        with preds.loader() as loader:
            for pred_id in preds:
                yield loader.load(pred_id, preds._index[pred_id])
        return
    for number, obj in read_jsonl(path):
        yield Prediction.from_json(obj, file=path, where=f"line {number}")


class Matching(Iterator[tuple[Item, Prediction]]):
    """The ``(item, prediction)`` pairs of :func:`match`, in item order.

    Attributes:
        predictions: the indexed predictions.
        missing: ids of the items that had no prediction and were answered with an empty mask
            (complete once the iteration has ended).
    """

    def __init__(self, items: Iterable[Item], predictions: Predictions, allow_missing: bool) -> None:
        self.predictions = predictions
        self.missing: list[str] = []
        self._pairs = self._match(items, allow_missing)

    def __iter__(self) -> Matching:
        return self

    def __next__(self) -> tuple[Item, Prediction]:
        return next(self._pairs)

    def _match(self, items: Iterable[Item], allow_missing: bool) -> Iterator[tuple[Item, Prediction]]:
        preds = self.predictions
        seen: set[str] = set()
        matched = 0
        with preds.loader() as loader:
            for item in items:
                seen.add(item.id)
                locator = preds.locate(item.id)
                if locator is None:
                    if not allow_missing:
                        raise InputError(f"no prediction for item {item.id!r}", file=preds.path, hint=_HINT_MISSING)
                    self.missing.append(item.id)
                    yield item, missing_prediction(item)
                    continue
                matched += 1
                yield item, loader.load(item.id, locator, item.size)
        if matched < len(preds):
            unknown = next(pred_id for pred_id in preds if pred_id not in seen)
            raise preds.error(unknown, f"no item has the id {unknown!r}",
                              hint="predictions must use the ids of the items file")


def missing_prediction(item: Item) -> Prediction:
    """The answer scored for an item without a prediction (``allow_missing``): an empty mask that
    does *not* claim "no target", so under the flag-based protocols (gres, gsva) a missing answer
    never earns a correct rejection."""
    return Prediction(item.id, masks.empty(*item.size), no_target=False)


def match(items: Iterable[Item], predictions: Predictions | str | Path, *, allow_missing: bool = False) -> Matching:
    """Pair each item with its prediction, by id, in item order.

    A missing prediction is an error, unless ``allow_missing``: then it is answered with an empty mask
    and no flag (exactly as if the model had returned an empty mask; under GRES that rejects) and its
    id is added to :attr:`Matching.missing`. A prediction whose id no item has is an error raised when
    the items are exhausted.

    Args:
        items: the items, e.g. :func:`~groundv.eval.records.read_items`.
        predictions: :class:`Predictions`, or the path of a JSON-lines file or a PNG folder.
        allow_missing: count missing predictions as empty instead of failing.

    Returns:
        An iterator of ``(item, prediction)`` that records the missing ids.

    Raises:
        InputError: unknown, missing or duplicate id, or a mask whose size is not its item's; the
            message names the file, the line (JSON lines) and the id.
    """
    preds = predictions if isinstance(predictions, Predictions) else Predictions(predictions)
    return Matching(items, preds, allow_missing)
