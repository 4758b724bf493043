"""The picture layers: every region numbered, targets exact, cached by what they show; 100+ regions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from groundv import masks
from groundv.review.pictures import CACHE_DIR, PictureCache, palette, zoom_for
from tests.conftest import make_region, make_scene

SIZE = (240, 320)


def _crowded_scene(n: int = 120):
    """``n`` objects in a 12-column grid, each with a part in its corner (2n regions)."""
    regions = []
    for i in range(n):
        x, y = (i % 12) * 26 + 2, (i // 12) * 22 + 2
        regions.append(make_region(1000 + i, (x, y, x + 22, y + 18), size=SIZE, category="mug"))
        regions.append(make_region(5000 + i, (x, y, x + 6, y + 6), size=SIZE, category="mug:handle", kind="part",
                                   parent_id=1000 + i))
    return make_scene(*regions, size=SIZE)


def test_every_region_is_outlined_in_its_colour(tmp_path: Path) -> None:
    scene = _crowded_scene()
    picture = np.asarray(PictureCache(tmp_path).draw_regions(scene))
    zoom = zoom_for(SIZE[1])
    assert picture.shape == (SIZE[0] * zoom, SIZE[1] * zoom, 3)
    colours = palette(len(scene.regions))
    # Each object's left edge, away from its part and its label, is drawn in the object's own colour.
    for k in (0, 57, 119):
        i = 2 * k
        x0, y0 = (k % 12) * 26 + 2, (k // 12) * 22 + 2
        assert tuple(picture[(y0 + 12) * zoom, x0 * zoom]) == colours[i], k


def test_targets_layer_is_the_mask_exactly(tmp_path: Path) -> None:
    scene = _crowded_scene(30)
    mask = masks.union([scene.region(1003).rle, scene.region(5010).rle])
    layer = np.asarray(PictureCache(tmp_path).draw_targets(mask))
    zoom = zoom_for(SIZE[1])
    assert np.array_equal(layer[::zoom, ::zoom, 3] > 0, masks.decode(mask) > 0)
    assert not np.asarray(PictureCache(tmp_path).draw_targets(masks.empty(*SIZE)))[..., 3].any()


def test_layers_are_cached_by_what_they_show(tmp_path: Path) -> None:
    cache, scene = PictureCache(tmp_path), _crowded_scene(20)
    first = cache.regions_png(scene)
    with Image.open(first) as png:
        assert first.parent == tmp_path / CACHE_DIR and png.format == "PNG"
    stamp = first.stat().st_mtime_ns
    assert cache.regions_png(scene) == first and first.stat().st_mtime_ns == stamp  # not redrawn
    one, two = masks.union([scene.region(1000).rle]), masks.union([scene.region(1001).rle])
    assert cache.targets_png("s", one) != cache.targets_png("s", two)
    assert cache.targets_png("s", one) == cache.targets_png("s", one)
    assert not list((tmp_path / CACHE_DIR).glob("*.tmp"))


def test_a_click_hits_the_part_on_top_of_its_object(tmp_path: Path) -> None:
    cache, scene = PictureCache(tmp_path), _crowded_scene()
    assert cache.region_at(scene, 3.5, 3.5) == 5000  # the part, not the object under it
    assert cache.region_at(scene, 20, 15) == 1000
    assert cache.region_at(scene, 25, 10) is None  # the gap between two objects
    assert cache.region_at(scene, 400, 10) is None
