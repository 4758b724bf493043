"""masks.to_polygons: traced polygons re-rasterised the way LISA paints them (cv2.fillPoly, int32)."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from groundv import masks
from groundv.errors import MissingDependency

cv2 = pytest.importorskip("cv2")


def lisa_paint(polygons: list[list[float]], height: int, width: int) -> np.ndarray:
    out = np.zeros((height, width), dtype=np.uint8)
    for poly in polygons:
        cv2.fillPoly(out, [np.array(poly).reshape(-1, 2).astype(np.int32)], 1)
    return out


def back_iou(bitmap: np.ndarray) -> float:
    rle = masks.encode(bitmap)
    return masks.iou(rle, masks.encode(lisa_paint(masks.to_polygons(rle), *bitmap.shape)))


def blob(rng: np.random.Generator, h: int = 120, w: int = 160) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    out = np.zeros((h, w), dtype=np.uint8)
    for _ in range(rng.integers(1, 4)):
        cy, cx = rng.uniform(20, h - 20), rng.uniform(20, w - 20)
        ry, rx = rng.uniform(5, 25, size=2)
        angle = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        out |= ((u / rx) ** 2 + (v / ry) ** 2 <= 1).astype(np.uint8)
    return out


def test_empty_and_format() -> None:
    assert masks.to_polygons(masks.empty(5, 7)) == []
    m = np.zeros((6, 8), dtype=np.uint8)
    m[1:4, 2:6] = 1
    (poly,) = masks.to_polygons(masks.encode(m))
    assert all(isinstance(v, float) for v in poly) and len(poly) % 2 == 0 and len(poly) >= 6


@pytest.mark.parametrize("seed", range(20))
def test_rectangles_exact(seed: int) -> None:
    # cv2.fillPoly paints the boundary, and the contour runs through the boundary pixels' centres:
    # an axis-aligned rectangle comes back pixel for pixel.
    rng = np.random.default_rng(seed)
    m = np.zeros((50, 70), dtype=np.uint8)
    y0, x0 = rng.integers(0, 40), rng.integers(0, 60)
    m[y0:y0 + rng.integers(2, 10), x0:x0 + rng.integers(2, 10)] = 1
    rle = masks.encode(m)
    assert np.array_equal(lisa_paint(masks.to_polygons(rle), 50, 70), m)


@pytest.mark.parametrize("seed", range(30))
def test_random_blobs(seed: int) -> None:
    m = blob(np.random.default_rng(seed))
    assert m.sum() > 100
    assert back_iou(m) >= 0.9


def test_components_and_holes() -> None:
    m = np.zeros((60, 80), dtype=np.uint8)
    m[10:50, 10:40] = 1
    m[20:30, 18:30] = 0  # a hole
    m[5:25, 50:75] = 1  # a second component
    m[40:55, 55:70] = 1  # a third, with an island in a hole
    m[44:51, 59:66] = 0
    m[46:49, 61:64] = 1
    rle = masks.encode(m)
    polygons = masks.to_polygons(rle)
    assert len(polygons) == 4  # three components and the island; holes spliced into their parents
    assert np.array_equal(lisa_paint(polygons, 60, 80), m)
    # Without the keyhole cuts the holes come back filled.
    filled = lisa_paint(masks.to_polygons(rle, holes=False), 60, 80)
    assert filled.sum() > m.sum() and (filled >= m).all()


def test_degenerate_dropped() -> None:
    m = np.zeros((20, 20), dtype=np.uint8)
    m[2, 2] = 1  # one pixel
    m[10, 3:12] = 1  # a one-pixel-wide line: two contour points
    m[14:18, 14:18] = 1
    polygons = masks.to_polygons(masks.encode(m))
    assert len(polygons) == 1 and all(len(p) >= 6 for p in polygons)
    assert masks.to_polygons(masks.encode(m), min_area=100) == []


def test_missing_cv2(monkeypatch: pytest.MonkeyPatch) -> None:
    real = builtins.__import__

    def no_cv2(name, *args, **kwargs):
        if name == "cv2":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cv2)
    with pytest.raises(MissingDependency, match="opencv-python-headless"):
        masks.to_polygons(masks.empty(3, 3))
