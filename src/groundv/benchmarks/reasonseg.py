"""ReasonSeg (LISA): a split folder of ``<name>.json`` (+ ``<name>.jpg``) → evaluation items.

Files (FORMATS.md §9): ``ReasonSeg/{train,val,test}/<name>.json`` beside ``<name>.jpg``. Each JSON has
``text`` (a list of queries), ``is_sentence`` and LabelMe-like ``shapes`` whose ``label`` is
``target``, ``ignore`` or ``flag``. A file that is not valid UTF-8 is read as cp1252, as LISA does.

The ground truth is painted exactly as LISA's ``utils/data_processing.py::get_mask_from_json``
does, with cv2 (never pycocotools, whose rasteriser differs, FORMATS.md §2.3):

1. shapes labelled ``flag`` (any case) are skipped;
2. each other shape's area is counted by drawing ``cv2.polylines`` (closed, thickness 1) and
   ``cv2.fillPoly`` with its points cast to ``int32`` (truncated) on an empty canvas;
3. shapes are painted largest first (``np.argsort(areas)[::-1]``), so smaller shapes overwrite
   larger ones, with 255 when ``'ignore' in label.lower()`` and 1 otherwise.

The item's ``mask`` is ``canvas == 1`` and its ``ignore`` is ``canvas == 255`` (None when no pixel is
ignored): LISA's validation excludes 255 from I and U (METRICS.md §10). ``no_target`` is False (a
file with no shapes has an all-zero mask, which LISA scores as any other).

One item per JSON, id ``<name>`` (the file's stem), ``expression`` = ``text[0].strip()``: LISA's
``ValDataset`` uses only the first query and strips it. ``is_sentence`` (it picks LISA's long or
short prompt template) is carried in the item's ``extra``. ``category`` and
``image.source`` are ``"reasonseg"``; ``image.file_name`` is ``<name>.jpg``.

The canvas is the image's size as ``cv2.imread`` decodes it: the jpg's header is read with PIL
(no pixels decoded) and width and height are swapped for EXIF orientations 5-8, which
``cv2.imread`` applies. Where the jpg is missing (the excerpts in ``shared/data`` have none), pass
``image_size=(height, width)`` (``--image-size HxW``); it is used only for JSONs without a jpg. A shape
reaching more than two pixels outside the canvas is painted clipped, as LISA does, and reported as a
:class:`~groundv.errors.GroundvWarning` naming the file and the shape.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groundv import masks
from groundv.errors import ConfigError, GroundvWarning, InputError, MissingDependency
from groundv.eval.records import Item
from groundv.sources.base import read_bytes

__all__ = ["lisa_canvas", "read_reasonseg"]

_EXIF_ORIENTATION = 0x0112
_INT32 = (-(2**31), 2**31 - 1)
# Points up to this many pixels outside the canvas (a click on the border) are not reported.
_OUTSIDE_SLACK = 2


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:
        raise MissingDependency("opencv-python-headless", "ReasonSeg ground truth", extra="reasonseg") from None
    return cv2


def lisa_canvas(shapes: Sequence[tuple[str, np.ndarray]], height: int, width: int) -> np.ndarray:
    """Paint shapes as LISA's ``get_mask_from_json``: 0 background, 1 target, 255 ignore.

    Args:
        shapes: ``(label, points)`` per shape, ``flag`` shapes already removed; ``points`` is the
            ``int32`` array ``np.array([points], dtype=np.int32)`` of shape ``(1, N, 2)``.
        height, width: the canvas size.

    Returns:
        ``uint8`` array of ``height`` × ``width``.

    Raises:
        MissingDependency: opencv-python-headless is not installed.

    Example:
        >>> square = np.array([[[0, 0], [3, 0], [3, 3], [0, 3]]], dtype=np.int32)
        >>> int((lisa_canvas([("target", square)], 6, 6) == 1).sum())  # boundary-inclusive: 4×4
        16
    """
    cv2 = _cv2()
    areas = []
    for _, points in shapes:
        scratch = np.zeros((height, width), dtype=np.uint8)
        cv2.polylines(scratch, points, True, 1, 1)
        cv2.fillPoly(scratch, points, 1)
        areas.append(scratch.sum())
    canvas = np.zeros((height, width), dtype=np.uint8)
    # The same call as LISA, so that ties between equal areas fall in the same order.
    for index in list(np.argsort(areas)[::-1].astype(np.int32)):
        label, points = shapes[index]
        value = 255 if "ignore" in label.lower() else 1
        cv2.polylines(canvas, points, True, value, 1)
        cv2.fillPoly(canvas, points, value)
    return canvas


def read_reasonseg(
    paths: Sequence[str | Path],
    *,
    split: str,
    image_size: tuple[int, int] | None = None,
) -> Iterator[Item]:
    """Evaluation items of ReasonSeg.

    The files are listed (and cv2 checked) when this is called; each JSON is read and painted as
    the items are consumed.

    Args:
        paths: folders and/or ``.json`` files. A folder is either the ReasonSeg root holding
            ``<split>/`` or the split folder itself (its name must then be ``split``); its JSONs
            are read in name order. A ``.json`` path is read whatever ``split`` says.
        split: ``train``, ``val`` or ``test``: the folder to read.
        image_size: ``(height, width)`` of the canvas for JSONs that have no jpg beside them.

    Raises:
        MissingDependency: opencv-python-headless is not installed.
        ConfigError: a folder has no ``split`` folder, or ``image_size`` is malformed.
        InputError: a path is missing, a JSON or jpg is unreadable or malformed, a jpg is missing
            and no ``image_size`` was given, or two files share a name (messages name the file and
            the shape).

    Example:
        >>> items = read_reasonseg(["ReasonSeg"], split="val")  # doctest: +SKIP
        >>> item = next(items); item.id, item.ignore is not None  # doctest: +SKIP
        ('206674234_4cb520b13d_o', True)
    """
    _cv2()
    if image_size is not None:
        ok = (isinstance(image_size, tuple | list) and len(image_size) == 2
              and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in image_size))
        if not ok:
            raise ConfigError(f"image_size must be (height, width) in positive integers, got {image_size!r}")
        image_size = (int(image_size[0]), int(image_size[1]))
    files = _json_files([Path(p) for p in paths], split)
    return _items(files, image_size)


def _json_files(paths: list[Path], split: str) -> list[Path]:
    if not paths:
        raise ConfigError("ReasonSeg needs a folder or .json files", hint="pass e.g. ReasonSeg/ with --split val")
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            folder = path / split if (path / split).is_dir() else path if path.name == split else None
            if folder is None:
                found = sorted(d.name for d in path.iterdir() if d.is_dir() and any(d.glob("*.json")))
                raise ConfigError(f"{path} has no {split!r} folder and is not itself named {split!r}",
                                  hint=f"its split folders: {', '.join(found)}" if found else
                                  "pass the ReasonSeg folder holding train/, val/ and test/, or one of those")
            listed = sorted(folder.glob("*.json"))
            if not listed:
                raise InputError("holds no ReasonSeg .json files", file=folder)
            files.extend(listed)
        elif path.is_file():
            if path.suffix.lower() != ".json":
                raise InputError("expected a ReasonSeg .json file or a folder of them", file=path)
            files.append(path)
        else:
            raise InputError("file not found", file=path)
    return files


def _items(files: list[Path], image_size: tuple[int, int] | None) -> Iterator[Item]:
    seen: dict[str, Path] = {}
    for path in files:
        name = path.stem
        if name in seen:
            raise InputError(f"item id {name!r} is also the name of {seen[name]}", file=path,
                             hint="pass the files of one split only")
        seen[name] = path
        anno = _read_json(path)
        expression = _expression(anno, path)
        shapes = _shapes(anno, path)
        height, width = _canvas_size(path, image_size)
        for where, (_, points) in shapes.items():
            _warn_outside(points, height, width, path, where, guessed=not path.with_suffix(".jpg").is_file())
        canvas = lisa_canvas(list(shapes.values()), height, width)
        ignore = canvas == 255
        yield Item(
            id=name,
            image={"id": name, "file_name": f"{name}.jpg", "width": width, "height": height, "source": "reasonseg"},
            expression=expression,
            mask=masks.encode(canvas == 1),
            no_target=False,
            category="reasonseg",
            ignore=masks.encode(ignore) if ignore.any() else None,
            extra={"is_sentence": bool(anno.get("is_sentence", False))},
        )


def _read_json(path: Path) -> Any:
    data = read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:  # LISA: ``except: open(json_path, "r", encoding="cp1252")``
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise InputError(f"is neither UTF-8 nor cp1252 text (byte {exc.start})", file=path) from None
    try:
        anno = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=path, where=f"line {exc.lineno} column {exc.colno}",
                         hint="the file may be truncated") from None
    if not isinstance(anno, dict):
        raise InputError(f"expected a JSON object, got {type(anno).__name__}", file=path)
    return anno


def _expression(anno: dict[str, Any], path: Path) -> str:
    text = anno.get("text")
    if not isinstance(text, list) or not text or not isinstance(text[0], str):
        raise InputError(f"'text' must be a non-empty list of strings, got {text!r}", file=path)
    return text[0].strip()


def _shapes(anno: dict[str, Any], path: Path) -> dict[str, tuple[str, np.ndarray]]:
    """``(label, points)`` of the shapes LISA paints, by where they are (``shape #3 (target)``)."""
    shapes = anno.get("shapes")
    if not isinstance(shapes, list):
        raise InputError(f"'shapes' must be a list, got {type(shapes).__name__}", file=path)
    kept = {}
    for k, shape in enumerate(shapes):
        where = f"shape #{k}"
        if not isinstance(shape, dict) or not isinstance(shape.get("label"), str):
            raise InputError("a shape must be an object with a string 'label'", file=path, where=where)
        label = shape["label"]
        if label.lower() == "flag":  # "meaningless deprecated annotations"
            continue
        where = f"{where} ({label})"
        kept[where] = (label, _points(shape.get("points"), path, where))
    return kept


def _warn_outside(points: np.ndarray, height: int, width: int, path: Path, where: str, *, guessed: bool) -> None:
    xy = points.reshape(-1, 2).astype(np.int64)
    beyond = np.maximum(-xy, xy - [width, height]).max(axis=1)
    if beyond.max() > _OUTSIDE_SLACK:
        x, y = xy[beyond.argmax()]
        fix = ("give --image-size the size of its image" if guessed
               else "the shape or the jpg beside it is wrong")
        warnings.warn(f"{path}: {where}: reaches ({x}, {y}), outside the {width}×{height} image; "
                      f"painted clipped to the image, as LISA does ({fix})", GroundvWarning, stacklevel=3)


def _points(points: Any, path: Path, where: str) -> np.ndarray:
    def is_coord(v: Any) -> bool:
        return (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                and _INT32[0] <= v <= _INT32[1])

    if (not isinstance(points, list) or not points
            or not all(isinstance(p, list) and len(p) == 2 and all(map(is_coord, p)) for p in points)):
        raise InputError("'points' must be a non-empty list of [x, y] numbers within int32 range", file=path,
                         where=where, hint="cv2.fillPoly, which LISA paints with, cannot draw it")
    return np.array([points], dtype=np.int32)


def _canvas_size(path: Path, image_size: tuple[int, int] | None) -> tuple[int, int]:
    jpg = path.with_suffix(".jpg")
    if not jpg.is_file():
        if image_size is None:
            raise InputError(f"image {jpg.name} is not beside it, so the mask's size is unknown", file=path,
                             hint="put the .jpg next to the .json, or give the size with --image-size HEIGHTxWIDTH")
        return image_size
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(jpg) as img:  # reads the header only
            width, height = img.size
            orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"cannot be read as an image ({exc})", file=jpg) from None
    # cv2.imread turns the picture upright; orientations 5-8 are quarter turns.
    return (width, height) if orientation in (5, 6, 7, 8) else (height, width)
