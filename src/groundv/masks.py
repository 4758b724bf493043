"""The one module that touches mask encodings.

Every other module passes masks around as :data:`RLE` and calls the functions here. Masks stay
compressed RLE end to end; :func:`decode` is called only where a bitmap is really needed (drawing,
colour statistics).

Mask forms (following ``pycocotools.mask``):

=============  ==============================================================================
form           shape
=============  ==============================================================================
RLE            ``{"size": [h, w], "counts": str}`` — COCO compressed RLE, column-major,
               counts start with a run of zeros; ``counts`` is ``str`` so it is JSON-ready
uncompressed   ``{"size": [h, w], "counts": [int, ...]}`` — COCO crowd annotations
polygons       ``[[x1, y1, x2, y2, ...], ...]`` — one list per component, ≥ 3 points each,
               0-indexed pixel coordinates, rasterised by pycocotools (not cv2)
bitmap         ``numpy`` array H×W, any integer or bool dtype; non-zero = inside
=============  ==============================================================================

Rules kept here so no caller has to remember them:

* unions OR masks together, never sum them (overlapping parts stay 1);
* :func:`iou` computes I and U exactly and never uses ``pycocotools.mask.iou`` (its crowd rule and
  ``iou(empty, empty) == 0`` are wrong for referring segmentation, see METRICS.md);
* ``pycocotools.mask.area`` overflows on lists of more than 255 RLEs under numpy 2, so
  :func:`areas` works in chunks.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypedDict

import numpy as np
from pycocotools import mask as _coco

from groundv.errors import GroundvWarning, MaskError, MissingDependency

__all__ = [
    "RLE",
    "area",
    "areas",
    "bbox",
    "check_runs",
    "decode",
    "empty",
    "encode",
    "from_polygons",
    "from_segmentation",
    "from_uncompressed",
    "intersection_union",
    "iou",
    "is_empty",
    "overlap",
    "size",
    "to_coco_polygons",
    "to_polygons",
    "to_uncompressed",
    "union",
]

# pycocotools.mask.area allocates ``np.array((n,), dtype=np.uint8)``: n > 255 overflows under numpy 2.
_AREA_CHUNK = 255


class RLE(TypedDict):
    """COCO compressed run-length encoding with ``str`` counts."""

    size: list[int]
    counts: str


def _to_coco(rle: RLE) -> dict[str, Any]:
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def _from_coco(obj: dict[str, Any]) -> RLE:
    counts = obj["counts"]
    return {"size": [int(obj["size"][0]), int(obj["size"][1])], "counts": counts.decode("ascii")
            if isinstance(counts, bytes) else counts}


def size(rle: RLE) -> tuple[int, int]:
    """Return ``(height, width)`` of an RLE."""
    return int(rle["size"][0]), int(rle["size"][1])


def encode(bitmap: np.ndarray) -> RLE:
    """Encode an H×W bitmap (non-zero = inside) as compressed RLE.

    Example:
        >>> m = np.zeros((4, 5), dtype=bool); m[1:3, 2:4] = True
        >>> area(encode(m))
        4
    """
    if bitmap.ndim != 2:
        raise MaskError(f"expected an H×W bitmap, got shape {bitmap.shape}")
    return _from_coco(_coco.encode(np.asfortranarray(bitmap != 0, dtype=np.uint8)))


def decode(rle: RLE) -> np.ndarray:
    """Decode an RLE to an H×W ``uint8`` bitmap of 0 and 1."""
    return _coco.decode(_to_coco(rle))


def empty(height: int, width: int) -> RLE:
    """The all-zero mask of the given size."""
    # One run of zeros covering everything; no need to allocate a bitmap.
    return _from_coco(_coco.frPyObjects({"size": [height, width], "counts": [height * width]}, height, width))


def is_empty(rle: RLE) -> bool:
    """True when the mask has no pixel set."""
    return area(rle) == 0


def area(rle: RLE) -> int:
    """Number of pixels set in the mask (exact, not COCO's ``area`` field)."""
    return int(_coco.area(_to_coco(rle)))


def areas(rles: Sequence[RLE]) -> np.ndarray:
    """Pixel counts of many masks as an ``int64`` array (safe for any number of masks)."""
    out = np.zeros(len(rles), dtype=np.int64)
    for start in range(0, len(rles), _AREA_CHUNK):
        chunk = [_to_coco(r) for r in rles[start : start + _AREA_CHUNK]]
        out[start : start + len(chunk)] = _coco.area(chunk)
    return out


def bbox(rle: RLE) -> tuple[float, float, float, float]:
    """Tight ``(x, y, w, h)`` box of the mask; ``(0, 0, 0, 0)`` when empty."""
    x, y, w, h = (float(v) for v in _coco.toBbox(_to_coco(rle)))
    return x, y, w, h


def _check_same_size(rles: Sequence[RLE], what: str) -> tuple[int, int]:
    sizes = {size(r) for r in rles}
    if len(sizes) > 1:
        raise MaskError(f"cannot {what} masks of different sizes: {sorted(sizes)}")
    return sizes.pop()


def union(rles: Iterable[RLE], size_hw: tuple[int, int] | None = None) -> RLE:
    """OR of many masks. ``size_hw`` is required when ``rles`` may be empty.

    Raises:
        MaskError: the masks differ in size, or there are none and no size was given.
    """
    rles = list(rles)
    if not rles:
        if size_hw is None:
            raise MaskError("union of no masks needs the image size")
        return empty(*size_hw)
    hw = _check_same_size(rles, "unite")
    if size_hw is not None and hw != tuple(size_hw):
        raise MaskError(f"masks are {hw[0]}×{hw[1]} but the image is {size_hw[0]}×{size_hw[1]}")
    if len(rles) == 1:
        return {"size": list(hw), "counts": rles[0]["counts"]}
    return _from_coco(_coco.merge([_to_coco(r) for r in rles], intersect=0))


def overlap(a: RLE, b: RLE) -> tuple[int, int, int, int]:
    """Exact ``(|a ∧ b|, |a ∨ b|, |a|, |b|)`` of two masks of the same size, from one merge and one
    area call (the hot path of evaluation)."""
    if a["size"] != b["size"]:
        _check_same_size([a, b], "compare")
    ca, cb = _to_coco(a), _to_coco(b)
    inter, area_a, area_b = (int(v) for v in _coco.area([_coco.merge([ca, cb], intersect=1), ca, cb]))
    return inter, area_a + area_b - inter, area_a, area_b


def intersection_union(a: RLE, b: RLE) -> tuple[int, int]:
    """Exact intersection and union pixel counts of two masks of the same size."""
    inter, uni, _, _ = overlap(a, b)
    return inter, uni


def iou(a: RLE, b: RLE, *, empty_is_one: bool = False) -> float:
    """Intersection over union of two masks.

    Args:
        a, b: masks of the same size.
        empty_is_one: return 1.0 when both masks are empty (a correct "no target" answer);
            otherwise 0.0, as pycocotools does.
    """
    inter, uni = intersection_union(a, b)
    if uni == 0:
        return 1.0 if empty_is_one else 0.0
    return inter / uni


def from_uncompressed(rle: dict[str, Any], *, where: str = "") -> RLE:
    """Compress an uncompressed RLE (``counts`` a list of ints)."""
    h, w = _size_of(rle, where)
    counts = rle.get("counts")
    if not isinstance(counts, list) or not all(isinstance(c, int) and c >= 0 for c in counts):
        raise MaskError("uncompressed RLE counts must be a list of non-negative integers", where=where or None,
                        hint=_RLE_HINT)
    if sum(counts) != h * w:
        raise MaskError(f"uncompressed RLE counts sum to {sum(counts)}, but size {h}×{w} "
                        f"needs {h * w}", where=where or None,
                        hint="the runs must cover every pixel: the RLE was cut short or written for another "
                             "image size")
    return _from_coco(_coco.frPyObjects({"size": [h, w], "counts": counts}, h, w))


def to_uncompressed(rle: RLE) -> dict[str, Any]:
    """The uncompressed form of ``rle`` (``counts`` a list of ints), read straight from its string.

    Loaders that pass an RLE dict to ``pycocotools.mask.frPyObjects`` (PixelLM's) accept only this form.

    Example:
        >>> to_uncompressed(encode(np.array([[0, 1], [1, 1]])))
        {'size': [2, 2], 'counts': [1, 3]}
    """
    text = rle["counts"].encode("ascii") if isinstance(rle["counts"], str) else rle["counts"]
    counts: list[int] = []
    at = 0
    # COCO's string form: each count in 5-bit groups (+48), 0x20 = more groups follow, 0x10 in the
    # last group = negative; from the third count on, each is stored as a difference to the one two back.
    while at < len(text):
        value, shift, more = 0, 0, True
        while more:
            group = text[at] - 48
            value |= (group & 0x1F) << shift
            more = bool(group & 0x20)
            at, shift = at + 1, shift + 5
            if not more and group & 0x10:
                value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return {"size": list(rle["size"]), "counts": counts}


def from_polygons(
    polygons: Sequence[Sequence[float]],
    height: int,
    width: int,
    *,
    where: str = "",
    on_drop: Callable[[str], None] | None = None,
) -> RLE:
    """Rasterise polygons (pycocotools' rasteriser) and OR the components into one RLE.

    Polygons with fewer than 6 numbers or an odd count cannot be rasterised: they are dropped and
    reported through ``on_drop`` (default: a :class:`GroundvWarning`). If nothing is left the mask
    is empty.

    pycocotools' rasteriser allocates memory in proportion to an edge's length (a coordinate of 1e9
    needs tens of gigabytes), so a polygon reaching further outside the image than the image's own
    size is clipped to that frame first. Its pixels then come from slightly different edges: a few
    along the clipped edges can differ from an unclipped rasterisation. A vertex more than two
    pixels outside the image is reported through ``on_drop`` (COCO polygons often overshoot the
    border by a fraction of a pixel; more than that means wrong coordinates or a wrong image size).

    Raises:
        MaskError: a polygon is not a flat list of numbers, or holds NaN or infinity.

    Example:
        >>> area(from_polygons([[0, 0, 4, 0, 4, 3, 0, 3]], 10, 10))
        12
    """
    report = on_drop or (lambda msg: warnings.warn(msg, GroundvWarning, stacklevel=3))
    kept = []
    for i, poly in enumerate(polygons):
        if not isinstance(poly, list | tuple):
            raise MaskError(f"polygon #{i} is not a flat list of numbers", where=where or None, hint=_POLYGON_HINT)
        if len(poly) < 6 or len(poly) % 2:
            report(f"{_at(where)}dropped polygon #{i} with {len(poly)} numbers "
                   f"(a polygon needs an even count of at least 6)")
            continue
        points = _polygon_points(poly, i, where)
        if not _inside(points, height, width, _OUTSIDE_SLACK):
            far = points[np.maximum(-points, points - [width, height]).max(axis=1).argmax()]
            report(f"{_at(where)}polygon #{i} reaches ({far[0]:g}, {far[1]:g}), outside the "
                   f"{width}×{height} image; only its part inside the image is kept")
            frame = max(height, width)
            if not _inside(points, height, width, frame):
                points = _clip(points, -frame, -frame, width + frame, height + frame)
                if len(points) < 3:
                    continue
                poly = points.ravel().tolist()
        kept.append(poly)
    if not kept:
        return empty(height, width)
    parts = _coco.frPyObjects(kept, height, width)
    return _from_coco(parts[0] if len(parts) == 1 else _coco.merge(parts, intersect=0))


_POLYGON_HINT = "polygons are lists of numbers [[x1, y1, x2, y2, ...], ...] in pixels"
# Vertices up to this far outside the image (pixels) are not reported.
_OUTSIDE_SLACK = 2.0


def _polygon_points(poly: Sequence[Any], index: int, where: str) -> np.ndarray:
    """A flat polygon as an N×2 float64 array; anything but finite numbers is a :class:`MaskError`."""
    try:
        values = np.asarray(poly)
    except ValueError:  # nested lists of different lengths
        raise MaskError(f"polygon #{index} is not a flat list of numbers", where=where or None,
                        hint=_POLYGON_HINT) from None
    if values.dtype.kind == "O" and all(isinstance(v, int | float) and not isinstance(v, bool) for v in poly):
        values = np.asarray(poly, dtype=np.float64)  # ints beyond int64
    if values.ndim != 1 or values.dtype.kind not in "iuf":
        raise MaskError(f"polygon #{index} is not a flat list of numbers", where=where or None, hint=_POLYGON_HINT)
    points = values.astype(np.float64).reshape(-1, 2)
    if not np.isfinite(points).all():
        raise MaskError(f"polygon #{index} has a coordinate that is not a finite number (NaN or infinity)",
                        where=where or None, hint="fix or remove that polygon; coordinates are pixels")
    return points


def _inside(points: np.ndarray, height: int, width: int, slack: float) -> bool:
    lo, hi = points.min(axis=0), points.max(axis=0)
    return bool(lo[0] >= -slack and lo[1] >= -slack and hi[0] <= width + slack and hi[1] <= height + slack)


def _clip(points: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Sutherland-Hodgman: the part of a polygon inside the box, as a polygon (possibly < 3 points)."""
    out = points
    for axis, bound, keep_above in ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)):
        if len(out) == 0:
            break
        inside = out[:, axis] >= bound if keep_above else out[:, axis] <= bound
        result: list[np.ndarray] = []
        for k in range(len(out)):
            cur, prev = out[k], out[k - 1]
            if inside[k] != inside[k - 1]:
                t = (bound - prev[axis]) / (cur[axis] - prev[axis])
                crossing = prev + t * (cur - prev)
                crossing[axis] = bound
                result.append(crossing)
            if inside[k]:
                result.append(cur)
        out = np.array(result).reshape(-1, 2)
    return out


def from_segmentation(
    segmentation: Any,
    height: int,
    width: int,
    *,
    where: str = "",
    on_drop: Callable[[str], None] | None = None,
) -> RLE:
    """Turn any COCO ``segmentation`` (polygons, uncompressed or compressed RLE) into an RLE.

    Raises:
        MaskError: unknown form, or an RLE whose size is not ``height``×``width``.
    """
    if isinstance(segmentation, list):
        return from_polygons(segmentation, height, width, where=where, on_drop=on_drop)
    if isinstance(segmentation, dict):
        h, w = _size_of(segmentation, where)
        if (h, w) != (height, width):
            raise MaskError(f"RLE size is {h}×{w} but the image is {height}×{width}", where=where or None,
                            hint="the annotation belongs to another image or the image record is wrong")
        counts = segmentation.get("counts")
        if isinstance(counts, list):
            return from_uncompressed(segmentation, where=where)
        if isinstance(counts, str | bytes):
            problem = check_runs([{"size": [h, w], "counts": counts}])[0]
            if problem:
                raise MaskError(f"compressed RLE counts are corrupt: {problem}", where=where or None,
                                hint="the mask was cut short or written for another image size")
            return _from_coco({"size": [h, w], "counts": counts})
        raise MaskError("RLE counts must be a string or a list of integers", where=where or None, hint=_RLE_HINT)
    raise MaskError(f"segmentation must be a polygon list or an RLE dict, "
                    f"got {type(segmentation).__name__}", where=where or None,
                    hint=f"write polygons as [[x1, y1, x2, y2, ...], ...] or a mask as {_RLE_FORM}")


_RLE_FORM = '{"size": [height, width], "counts": "<COCO string>" or [run, run, ...]}'
_RLE_HINT = f"an RLE is {_RLE_FORM}, runs column by column starting with background"


_RUN_PROBLEMS = ("", "no runs", "characters outside the RLE alphabet", "the last run is cut short",
                 "a run is too long to be real", "a negative run length")


# Characters '0'..'O' end a number, 'P'..'o' carry the continuation bit 0x20. _TOP_VALUE maps a
# number's last character to its five data bits sign-extended from bit 0x10, as an int8 byte, so
# bytes.translate with the continuation characters deleted yields one such byte per number.
_CONT_CHARS = bytes(range(80, 112))
_TOP_VALUE = bytes((((c - 48) ^ 0x10) - 0x10) & 0xFF if 48 <= c < 80 else 0 for c in range(256))


def check_runs(rles: Sequence[RLE]) -> list[str | None]:
    """Why each compressed RLE is corrupt, or None where it is valid; many masks in one vectorised pass.

    pycocotools trusts its input: runs that do not add up to h·w make ``merge`` loop forever and
    ``decode`` write past its buffer, so every RLE read from a file is checked first. The decoding
    mirrors ``rleFrString`` in pycocotools' maskApi.c (5 data bits a character, offset 48, a
    continuation bit, sign extension, counts from the fourth on stored as a delta to counts[i-2]);
    checking a batch at once costs about as much as checking one.

    Example:
        >>> check_runs([empty(2, 3), {"size": [2, 3], "counts": "0"}])
        [None, 'runs cover 0 pixels, the size needs 6']
    """
    n = len(rles)
    if n == 0:
        return []
    raw = [r["counts"].encode("ascii", "replace") if isinstance(r["counts"], str) else r["counts"] for r in rles]
    lens = np.fromiter(map(len, raw), dtype=np.int64, count=n)
    pixels = np.fromiter((int(r["size"][0]) * int(r["size"][1]) for r in rles), dtype=np.int64, count=n)
    joined = b"".join(raw)  # empty strings add nothing, so only the non-empty ones' lengths matter
    del raw
    problem = np.where(lens == 0, 1, 0)
    total = np.zeros(n, dtype=np.int64)
    live = np.flatnonzero(lens)
    if live.size:
        problem[live], total[live] = _check_joined_runs(joined, lens[live])
    out: list[str | None] = [None] * n
    for i in np.flatnonzero(problem | (total != pixels)).tolist():
        out[i] = (_RUN_PROBLEMS[problem[i]] if problem[i]
                  else f"runs cover {total[i]} pixels, the size needs {pixels[i]}")
    return out


def _check_joined_runs(joined: bytes, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Problem codes (indices into _RUN_PROBLEMS, 0 = none) and run totals of the non-empty counts
    strings laid end to end in ``joined``, ``lens`` bytes each.

    The work is per number, not per character (most numbers are one character), and big arrays are
    freed as soon as they are used: in a long-lived process fresh memory costs page faults.
    """
    chars = np.frombuffer(joined, dtype=np.uint8)
    s_end = np.cumsum(lens)
    s_start = s_end - lens
    bad = np.zeros(lens.size, dtype=np.int64)
    if chars.min() < 48 or chars.max() > 111:  # rare, so the per-string pass runs only then
        bad[np.maximum.reduceat(chars - np.uint8(48), s_start) > 63] = 2
    cut = np.subtract(chars[s_end - 1], 80, dtype=np.uint8) < 32  # the last number never ends
    if cut.any():
        bad[(bad == 0) & cut] = 3
        # End those strings' last number on their last character, so that no number runs into the
        # next string (its value does not matter: the string is corrupt anyway).
        patched = bytearray(joined)
        for p in (s_end - 1)[cut].tolist():
            patched[p] = 48
        joined = bytes(patched)
        chars = np.frombuffer(joined, dtype=np.uint8)

    # One signed byte per number from its last character; `first` indexes each string's first
    # number (the characters before it that are not continuations).
    top = np.frombuffer(joined.translate(_TOP_VALUE, _CONT_CHARS), dtype=np.int8)
    is_cont = np.subtract(chars, 80, dtype=np.uint8) < 32
    cont = np.flatnonzero(is_cont)
    first = s_start - np.searchsorted(cont, s_start)

    # Numbers of two or more characters are a run of continuations plus their last character.
    # `heads` indexes the runs' first characters in `cont`; `nth` is a run's number's index among
    # all numbers (the characters before it that are not continuations); `length` is one more
    # than the run's.
    heads = np.flatnonzero(~is_cont[cont - 1])  # cont - 1 may be -1: the last character, an end
    del is_cont
    head = cont[heads]
    length = np.diff(np.append(heads, cont.size)) + 1
    del cont
    nth = np.subtract(head, heads, out=heads)
    too_long = length > 12  # 12 characters hold 60 bits; longer numbers only come from corruption
    if too_long.any():
        owner = np.searchsorted(s_start, head[too_long], side="right") - 1
        bad[owner[bad[owner] == 0]] = 4
        np.minimum(length, 12, out=length)
    # Their values, the lower characters put under the last one: a loop over ≤ 11 positions.
    value = top[nth].astype(np.int64) << (5 * (length - 1))
    for k in range(int(length.max(initial=1)) - 1):
        sel = np.flatnonzero(length > k + 1) if k else slice(None)
        digit = (chars[head[sel] + k] - np.uint8(48)) & np.uint8(0x1F)
        value[sel] += digit.astype(np.int64) << (5 * k)
    del head, length

    # counts[m] += counts[m-2] makes two chains per string, counts[1], counts[3], ... and counts[2],
    # counts[4], ...; every other number of the whole batch is in the same chain of its string. So
    # row 0 takes the numbers with an even global index and row 1 those with an odd one (each row
    # followed by at least one spare zero): there each chain is one contiguous block.
    num = top.size
    half = (num + 1) // 2
    width = half + 1
    rows = np.zeros(2 * width, dtype=np.int64)
    rows[:half] = top[0::2]
    rows[width:width + num // 2] = top[1::2]
    del top
    at = nth & 1
    at *= width
    at += nth >> 1
    rows[at] = value
    del heads, nth, at, value

    # Segments [idx[i], idx[i+1]): each string's block in row 0, row 0's spare tail, each string's
    # block in row 1, row 1's spare tail. A 1-number string's block in its other row is empty.
    bounds = np.append(first, num)
    idx = np.concatenate(((bounds + 1) >> 1, width + (bounds >> 1)))
    filled = np.append(idx[1:] > idx[:-1], True)
    own = (first & 1) * width + (first >> 1)  # counts[0], first in its block but not in the chain
    x0 = rows[own]
    rows[own] = 0
    # Segmented cumsum: take each segment's predecessor's sum off its first element, so that one
    # cumsum over both rows restarts at every segment. (Sums past int64, only from corrupt
    # strings, wrap to the same values in any order of addition.)
    sums = np.add.reduceat(rows, idx)[filled]
    rows[idx[filled][1:]] -= sums[:-1]
    np.cumsum(rows, out=rows)
    rows[own] = x0
    blocks = filled.reshape(2, -1)[:, :-1]  # [row, string], the spare tails left out
    negative = blocks & (np.minimum.reduceat(rows, idx).reshape(2, -1)[:, :-1] < 0)
    bad[(bad == 0) & (negative[0] | negative[1])] = 5
    total = np.where(blocks, np.add.reduceat(rows, idx).reshape(2, -1)[:, :-1], 0)
    return bad, total[0] + total[1]


def _size_of(rle: dict[str, Any], where: str) -> tuple[int, int]:
    hw = rle.get("size")
    if (not isinstance(hw, list | tuple) or len(hw) != 2
            or not all(isinstance(v, int) and v > 0 for v in hw)):
        raise MaskError(f"RLE 'size' must be [height, width], got {hw!r}", where=where or None, hint=_RLE_HINT)
    return int(hw[0]), int(hw[1])


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def to_polygons(rle: RLE, *, min_area: float = 0.0, holes: bool = True) -> list[list[float]]:
    """Trace a mask into polygons ``[[x1, y1, x2, y2, ...], ...]`` (float pixel coordinates).

    ``cv2.findContours`` (``RETR_CCOMP``, ``CHAIN_APPROX_SIMPLE``) traces each connected component's
    outer boundary through the centres of its boundary pixels, so painting a polygon with a
    boundary-inclusive filler (``cv2.fillPoly``, as LISA's ``get_mask_from_json`` does) gives the
    component back: exactly for axis-aligned rectangles and most blobs, within a few boundary pixels
    along diagonal edges.

    Holes: readers that paint every polygon with 1 (LISA's ReasonSeg loader, pycocotools' OR of
    components) cannot carve a hole out with a second polygon. With ``holes`` (the default) each hole
    is therefore spliced into its component's polygon through a zero-width "keyhole" cut between
    their nearest points. ``cv2.fillPoly`` (even-odd) then leaves the hole empty; the cut line, which
    it paints, runs between the nearest boundary pixels and so through the component's own pixels
    (one polygon per component still, and holes come back exactly in the tests). pycocotools'
    rasteriser (:func:`from_polygons`) is not boundary-inclusive and loses more along every edge.
    With ``holes=False`` holes are left out and come back filled. Islands inside holes are
    components of their own.

    Contours with fewer than 3 points (one pixel, a one-pixel-wide line) are dropped, as are
    components whose polygon area (``cv2.contourArea``, which counts from boundary pixel centres, so
    below the pixel count) is under ``min_area``. An empty mask gives ``[]``.

    Raises:
        MissingDependency: ``opencv-python-headless`` is not installed.

    Example:
        >>> m = np.zeros((6, 8), dtype=np.uint8); m[1:4, 2:6] = 1
        >>> to_polygons(encode(m))
        [[2.0, 1.0, 2.0, 3.0, 5.0, 3.0, 5.0, 1.0]]
    """
    return [points.astype(np.float64).ravel().tolist() for points in _trace(decode(rle), min_area, holes)]


def _trace(bitmap: np.ndarray, min_area: float, holes: bool) -> list[np.ndarray]:
    """Each component's boundary through its boundary pixel centres (``N×2`` points), holes spliced in."""
    try:
        import cv2
    except ImportError:  # pragma: no cover - depends on the environment
        raise MissingDependency("opencv-python-headless", "polygon tracing", extra="reasonseg") from None
    bitmap = np.ascontiguousarray(bitmap, dtype=np.uint8)
    if not bitmap.any():
        return []
    contours, hierarchy = cv2.findContours(bitmap, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    links = hierarchy[0]
    out: list[np.ndarray] = []
    for i, contour in enumerate(contours):
        if links[i][3] != -1:  # a hole: spliced into its parent below
            continue
        points = contour.reshape(-1, 2)
        if len(points) < 3 or cv2.contourArea(contour) < min_area:
            continue
        child = links[i][2]
        while holes and child != -1:
            hole = contours[child].reshape(-1, 2)
            if len(hole) >= 3:
                points = _splice(points, hole)
            child = links[child][0]
        out.append(points)
    return out


def to_coco_polygons(rle: RLE) -> list[list[float]]:
    """Polygons along pixel edges that pycocotools paints back into exactly this mask, holes included.

    For readers that rasterise with ``pycocotools.mask.frPyObjects`` and OR (or sum) the polygons of
    an annotation: G_REFER's ``getMask``, LISA's and GSVA's referring loaders, detectron2's
    ``polygons_to_bitmask`` (ReLA, PSALM training). pycocotools fills the pixels whose centre is
    inside a polygon; :func:`to_polygons` runs through boundary pixel *centres* (``cv2.fillPoly``'s
    convention) and so loses about half a pixel along every edge here. Each component is therefore
    traced on the mask drawn at twice the size, where a boundary pixel's centre lies in the outer
    half of an original pixel, and every coordinate ``c`` becomes ``ceil(c / 2)``: the polygon then
    runs along the original pixels' outer edges (integer coordinates, which also scale with the
    image). Holes are spliced in through zero-width keyhole cuts, whose two coincident edges
    pycocotools does not fill. One polygon per component; an empty mask gives ``[]``.

    Raises:
        MissingDependency: ``opencv-python-headless`` is not installed.

    Example:
        >>> m = np.zeros((6, 8), dtype=np.uint8); m[1:4, 2:6] = 1
        >>> to_coco_polygons(encode(m))
        [[2.0, 1.0, 2.0, 4.0, 6.0, 4.0, 6.0, 1.0]]
    """
    doubled = decode(rle).repeat(2, axis=0).repeat(2, axis=1)
    return [_without_straight_runs(np.ceil(points / 2)).ravel().tolist()
            for points in _trace(doubled, min_area=0.0, holes=True)]


def _without_straight_runs(points: np.ndarray) -> np.ndarray:
    """``points`` without repeats and without points in the middle of a straight run (a keyhole cut's
    turning points, where the path doubles back, are kept)."""
    points = points[np.any(points != np.roll(points, 1, axis=0), axis=1)]
    before, after = points - np.roll(points, 1, axis=0), np.roll(points, -1, axis=0) - points
    cross = before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]
    straight = (cross == 0) & ((before * after).sum(axis=1) > 0)
    return points[~straight]


def _splice(outer: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``outer`` with ``hole`` spliced in through a cut between their nearest points (a keyhole)."""
    # Squared distances of every pair, in blocks so that big contours stay in bounded memory.
    best, at = None, (0, 0)
    step = max(1, 2_000_000 // max(len(hole), 1))
    for start in range(0, len(outer), step):
        block = outer[start:start + step].astype(np.int64)
        d = ((block[:, None, :] - hole[None, :, :].astype(np.int64)) ** 2).sum(-1)
        k = int(d.argmin())
        if best is None or d.flat[k] < best:
            best, at = int(d.flat[k]), (start + k // len(hole), k % len(hole))
    i, j = at
    return np.concatenate([outer[:i + 1], hole[j:], hole[:j + 1], outer[i:]])
