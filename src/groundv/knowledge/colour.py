"""Naming a region's colour from its own pixels, with the eleven basic colour terms.

The terms are Berlin and Kay's basic colours: red, orange, yellow, green, blue, purple, pink, brown,
black, white and gray. :func:`name_rgb` names one colour; :func:`colour_name` names a region:

1. decode the region's mask (through :func:`groundv.masks.decode`, the only place that touches mask
   encodings) and erode it by max(``erode``, ``blur``) pixels so that edge pixels mixed with the
   background do not vote;
2. smooth the image with a (2·``blur`` + 1)² box filter, which divides pixel noise by about
   2·``blur`` + 1; thanks to the erosion no background pixel leaks into a voting pixel. A thin
   region that erosion would shrink below ``min_pixels`` is neither eroded nor smoothed;
3. return None when fewer than ``min_pixels`` pixels remain (too small to judge);
4. name every pixel (at most ``max_samples``, taken at an even stride) with the decision list below;
5. the most frequent term wins only if it holds at least ``min_share`` of the pixels **and** at least
   ``min_ratio`` times the pixels of the runner-up; otherwise the colour is mixed or ambiguous and the
   answer is None.

Voting over pixels is what makes this robust: shading moves some pixels of a red mug to "brown" or
"black", and sensor noise scatters a few more, but most pixels keep the object's hue.

**The data file** ``data/colours.json`` (edit it; :func:`load_colours` validates it):

* ``terms``: the colour words.
* ``rules``: an ordered decision list over HSV, **first match wins**. A rule is
  ``{"term": "brown", "h": [10, 55], "s": [0, 0.5], "v": [0, 0.62]}``; each range is half-open
  ``[lo, hi)``; ``h`` is the hue in degrees and wraps when ``lo > hi`` (``[340, 12]`` is red); ``s``
  (saturation), ``v`` (value, the largest channel) and ``c`` (chroma, largest minus smallest
  channel) are in 0..1 (write ``1.01`` to include 1); a missing range matches everything. The list must name
  every colour: a grid of RGB values is checked at load.
* ``region``: ``min_pixels`` (int ≥ 1), ``erode`` (int ≥ 0), ``blur`` (int ≥ 0), ``max_samples``
  (int ≥ ``min_pixels``), ``min_share`` (0..1], ``min_ratio`` (≥ 1).

The shipped rules, in words: very dark is black; unsaturated is white (bright), black (dark) or gray,
and so are mid-dark colours of low chroma (slate); light low-saturation reds and skin tones are pink;
dark or muted oranges and yellows are brown; dark magentas are purple; otherwise the hue decides
(red < 12° ≤ orange < 40° ≤ yellow < 70° ≤ green < 165° ≤ blue < 255° ≤ purple < 295° ≤ pink < 340° ≤ red).
The toy world's paint colours (``groundv.sources.toyworld.TOYWORLD_COLORS`` and its skin and glass
variants) all get the name the renderer gives them.

Example:
    >>> name_rgb((200, 30, 30)), name_rgb((139, 69, 19)), name_rgb((128, 128, 128))
    ('red', 'brown', 'gray')
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from groundv import masks
from groundv.errors import InputError
from groundv.knowledge._loading import DataFile, bad, expect_keys, read_json, str_list

__all__ = ["BASIC_TERMS", "ColourTable", "RegionThresholds", "colour_name", "colour_shares", "load_colours", "name_rgb"]

#: The eleven basic colour terms, in the order the packaged file lists them.
BASIC_TERMS: tuple[str, ...] = (
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray",
)

_CHANNELS = ("h", "s", "v", "c")
_GRID = np.arange(0, 256, 17)  # 16 levels per channel: 4096 colours checked for coverage


@dataclass(frozen=True, slots=True)
class _Rule:
    term: int
    ranges: tuple[tuple[str, float, float], ...]


@dataclass(frozen=True, slots=True)
class RegionThresholds:
    """When a region's colour can be named; see the module docstring."""

    min_pixels: int
    erode: int
    blur: int
    max_samples: int
    min_share: float
    min_ratio: float


def _hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """HSV and chroma of N×3 uint8 RGB: hue in degrees [0, 360); saturation, value, chroma in [0, 1]."""
    f = rgb.astype(np.float64) / 255.0
    r, g, b = f[:, 0], f[:, 1], f[:, 2]
    mx, mn = f.max(axis=1), f.min(axis=1)
    chroma = mx - mn
    s = np.divide(chroma, mx, out=np.zeros_like(mx), where=mx > 0)
    h = np.zeros_like(mx)
    nz = chroma > 0
    safe = np.where(nz, chroma, 1.0)
    is_r = nz & (mx == r)
    is_g = nz & ~is_r & (mx == g)
    is_b = nz & ~is_r & ~is_g
    h = np.where(is_r, ((g - b) / safe) % 6.0, h)
    h = np.where(is_g, (b - r) / safe + 2.0, h)
    h = np.where(is_b, (r - g) / safe + 4.0, h)
    return (h * 60.0) % 360.0, s, mx, chroma


class ColourTable:
    """The validated contents of a ``colours.json``; see the module docstring for the format."""

    def __init__(self, file: DataFile) -> None:
        self.file_name = file.name
        data = file.data
        expect_keys(file, data, "", ["terms", "rules", "region"], ["about"])
        self.terms: tuple[str, ...] = tuple(str_list(file, data["terms"], "terms", allow_empty=False))
        if len(set(self.terms)) != len(self.terms):
            raise bad(file, "terms", "lists a term twice")
        if not isinstance(data["rules"], list) or not data["rules"]:
            raise bad(file, "rules", "must be a non-empty list of rules")
        self.rules = tuple(self._read_rule(file, i, rule) for i, rule in enumerate(data["rules"]))
        self.region = self._read_region(file, data["region"])
        grid = np.stack(np.meshgrid(_GRID, _GRID, _GRID, indexing="ij"), axis=-1).reshape(-1, 3).astype(np.uint8)
        unnamed = np.flatnonzero(self.classify(grid) < 0)
        if unnamed.size:
            example = tuple(int(v) for v in grid[unnamed[0]])
            raise bad(file, "rules", f"leave {unnamed.size} of {len(grid)} test colours unnamed, e.g. rgb{example}; "
                                     f"end the list with rules that cover every hue")

    def _read_rule(self, file: DataFile, i: int, rule: Any) -> _Rule:
        where = f"rules[{i}]"
        if not isinstance(rule, dict):
            raise bad(file, where, "must be an object like {\"term\": \"red\", \"h\": [340, 12]}")
        expect_keys(file, rule, where, ["term"], _CHANNELS)
        if rule["term"] not in self.terms:
            raise bad(file, f"{where}.term", f"{rule['term']!r} is not one of 'terms'")
        ranges = []
        for ch in _CHANNELS:
            if ch not in rule:
                continue
            value = rule[ch]
            if (not isinstance(value, list) or len(value) != 2
                    or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)):
                raise bad(file, f"{where}.{ch}", f"must be [lo, hi], got {value!r}")
            lo, hi = float(value[0]), float(value[1])
            if ch == "h" and not (0 <= lo <= 360 and 0 <= hi <= 360 and lo != hi):
                raise bad(file, f"{where}.h", f"hue bounds must be distinct degrees in 0..360, got {value!r}")
            if ch != "h" and not (0 <= lo < hi <= 1.01):
                raise bad(file, f"{where}.{ch}", f"needs 0 <= lo < hi <= 1.01, got {value!r}")
            ranges.append((ch, lo, hi))
        return _Rule(self.terms.index(rule["term"]), tuple(ranges))

    @staticmethod
    def _read_region(file: DataFile, value: Any) -> RegionThresholds:
        if not isinstance(value, dict):
            raise bad(file, "region", "must be an object of thresholds")
        names = ("min_pixels", "erode", "blur", "max_samples", "min_share", "min_ratio")
        expect_keys(file, value, "region", names)
        for k in ("min_pixels", "erode", "blur", "max_samples"):
            zero_ok = k in ("erode", "blur")
            if not isinstance(value[k], int) or isinstance(value[k], bool) or value[k] < (0 if zero_ok else 1):
                raise bad(file, f"region.{k}", f"must be a {'non-negative' if zero_ok else 'positive'} "
                                               f"integer, got {value[k]!r}")
        if value["max_samples"] < value["min_pixels"]:
            raise bad(file, "region.max_samples", "must be at least min_pixels")
        share, ratio = value["min_share"], value["min_ratio"]
        if not isinstance(share, int | float) or not 0 < share <= 1:
            raise bad(file, "region.min_share", f"must be in (0, 1], got {share!r}")
        if not isinstance(ratio, int | float) or ratio < 1:
            raise bad(file, "region.min_ratio", f"must be at least 1, got {ratio!r}")
        return RegionThresholds(**{k: value[k] for k in names})

    def classify(self, rgb: np.ndarray) -> np.ndarray:
        """Term index of each row of an N×3 ``uint8`` array (-1 where no rule matches)."""
        h, s, v, c = _hsv(rgb)
        channel = {"h": h, "s": s, "v": v, "c": c}
        out = np.full(len(rgb), -1, dtype=np.int64)
        open_ = np.ones(len(rgb), dtype=bool)
        for rule in self.rules:
            hit = open_.copy()
            for ch, lo, hi in rule.ranges:
                x = channel[ch]
                hit &= ((x >= lo) | (x < hi)) if (ch == "h" and lo > hi) else ((x >= lo) & (x < hi))
            out[hit] = rule.term
            open_ &= ~hit
            if not open_.any():
                break
        return out

    def name_rgb(self, rgb: Sequence[int] | np.ndarray) -> str:
        """The term for one RGB colour (three integers 0..255)."""
        arr = np.asarray(rgb)
        if arr.shape != (3,) or not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() > 255:
            raise ValueError(f"expected three integers 0..255, got {rgb!r}")
        return self.terms[int(self.classify(arr.astype(np.uint8)[None, :])[0])]

    def shares(self, image: np.ndarray, rle: masks.RLE) -> dict[str, float]:
        """Share of the region's pixels per term, largest first; empty when the region is too small."""
        _check_image(image)
        mask = masks.decode(rle).astype(bool)
        if mask.shape != image.shape[:2]:
            raise InputError(f"the mask is {mask.shape[0]}×{mask.shape[1]} but the image is "
                             f"{image.shape[0]}×{image.shape[1]}",
                             hint="the image file does not belong to this annotation")
        cfg = self.region
        blur = cfg.blur
        depth = max(cfg.erode, blur)
        if depth:
            eroded = _erode(mask, depth)
            if int(eroded.sum()) >= cfg.min_pixels:
                mask = eroded
            else:  # a thin region: every pixel touches the edge, so neither erode nor blur
                blur = 0
        if int(mask.sum()) < cfg.min_pixels:
            return {}
        # work on the mask's box only (plus the blur margin): big images, small regions
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        y0, y1 = max(rows[0] - blur, 0), rows[-1] + blur + 1
        x0, x1 = max(cols[0] - blur, 0), cols[-1] + blur + 1
        crop = _box_blur(image[y0:y1, x0:x1], blur) if blur else image[y0:y1, x0:x1]
        pixels = crop[mask[y0:y1, x0:x1]]
        if len(pixels) > cfg.max_samples:
            pixels = pixels[:: math.ceil(len(pixels) / cfg.max_samples)]
        counts = np.bincount(self.classify(pixels), minlength=len(self.terms))
        total = counts.sum()
        order = sorted(range(len(self.terms)), key=lambda i: (-counts[i], i))
        return {self.terms[i]: float(counts[i] / total) for i in order if counts[i]}

    def colour_name(self, image: np.ndarray, rle: masks.RLE) -> str | None:
        """The region's colour term, or None when too small or mixed; see the module docstring."""
        shares = list(self.shares(image, rle).items())
        if not shares:
            return None
        term, top = shares[0]
        second = shares[1][1] if len(shares) > 1 else 0.0
        if top < self.region.min_share or top < self.region.min_ratio * second:
            return None
        return term


def _check_image(image: Any) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"expected an H×W×3 uint8 RGB image, got {got}")


def _box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)² window (edges replicated), back to ``uint8``."""
    k = 2 * radius + 1
    p = np.pad(image.astype(np.float64), ((radius, radius), (radius, radius), (0, 0)), mode="edge")
    c = np.cumsum(np.cumsum(p, axis=0), axis=1)
    c = np.pad(c, ((1, 0), (1, 0), (0, 0)))
    total = c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]
    return np.clip(np.rint(total / (k * k)), 0, 255).astype(np.uint8)


def _erode(mask: np.ndarray, steps: int) -> np.ndarray:
    """4-neighbour binary erosion; pixels outside the image count as outside the mask."""
    m = mask
    for _ in range(steps):
        p = np.pad(m, 1, constant_values=False)
        m = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return m


def load_colours(path: str | Path | None = None) -> ColourTable:
    """Read and validate a colours file; ``None`` gives the packaged one (cached).

    Raises:
        ConfigError: the file is unreadable or wrong; the message names the file and the key.
    """
    if path is None:
        return _packaged()
    return ColourTable(read_json(path, "colours.json"))


@functools.cache
def _packaged() -> ColourTable:
    return ColourTable(read_json(None, "colours.json"))


def name_rgb(rgb: Sequence[int] | np.ndarray) -> str:
    """The basic colour term for one RGB colour.

    Raises:
        ValueError: ``rgb`` is not three integers in 0..255.

    Example:
        >>> name_rgb((255, 192, 203)), name_rgb((30, 60, 200))
        ('pink', 'blue')
    """
    return _packaged().name_rgb(rgb)


def colour_shares(image: np.ndarray, rle: masks.RLE) -> dict[str, float]:
    """Share of a region's pixels per colour term, largest first (``{}`` when too small to judge).

    Raises:
        ValueError: ``image`` is not an H×W×3 ``uint8`` array.
        InputError: the mask and the image differ in size.
    """
    return _packaged().shares(image, rle)


def colour_name(image: np.ndarray, rle: masks.RLE) -> str | None:
    """The basic colour term of a region's own pixels, or None when too small, mixed or ambiguous.

    Args:
        image: the whole image, H×W×3 ``uint8`` RGB.
        rle: the region's mask, of the image's size.

    Raises:
        ValueError: ``image`` is not an H×W×3 ``uint8`` array.
        InputError: the mask and the image differ in size.

    Example:
        >>> img = np.zeros((20, 20, 3), np.uint8); img[:, :10] = (200, 30, 30)
        >>> m = np.zeros((20, 20), np.uint8); m[:, :10] = 1
        >>> colour_name(img, masks.encode(m))
        'red'
    """
    return _packaged().colour_name(image, rle)
