"""Shared fixtures: the real samples in ../shared/data and small scene builders."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from groundv import masks
from groundv.scene import Region, Scene

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GROUNDV_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """The real sample data; tests using it skip in a fresh clone that has no ../shared."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample data not found at {SHARED_DATA} (set GROUNDV_SHARED_DATA to its folder)")
    return SHARED_DATA


def box_mask(height: int, width: int, x0: int, y0: int, x1: int, y1: int) -> masks.RLE:
    """RLE of the rectangle [x0, x1) × [y0, y1)."""
    bitmap = np.zeros((height, width), dtype=np.uint8)
    bitmap[y0:y1, x0:x1] = 1
    return masks.encode(bitmap)


def make_region(region_id: int, box: tuple[int, int, int, int], *, size: tuple[int, int] = (40, 60),
                category: str = "mug", kind: str = "object", parent_id: int | None = None,
                **extra) -> Region:
    """A region whose mask is the box (x0, y0, x1, y1) on an image of ``size`` (h, w)."""
    x0, y0, x1, y1 = box
    return Region(id=region_id, kind=kind, category=category, category_id=extra.pop("category_id", 1),
                  rle=box_mask(*size, x0, y0, x1, y1), bbox=(x0, y0, x1 - x0, y1 - y0),
                  parent_id=parent_id, **extra)


def make_scene(*regions: Region, size: tuple[int, int] = (40, 60), **extra) -> Scene:
    """A scene of the given regions on an image of ``size`` (h, w)."""
    return Scene(image_id=extra.pop("image_id", 1), file_name="img.jpg", width=size[1], height=size[0],
                 source="test", regions=regions, **extra)
