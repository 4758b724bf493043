from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from groundv.errors import InputError
from groundv.render import draw_regions, load_image, save_render
from tests.conftest import make_region, make_scene


def test_regions_are_outlined_and_filled_at_the_zoomed_size(tmp_path):
    scene = make_scene(make_region(1, (10, 10, 30, 30)), make_region(2, (30, 15, 35, 25), kind="part",
                                                                       category="mug:handle", parent_id=1))
    black = Image.new("RGB", (60, 40), (0, 0, 0))
    out = np.asarray(draw_regions(scene, black, min_width=120))
    assert out.shape == (80, 120, 3)  # enlarged 2× so small labels stay readable
    assert out[0:5, 0:5].max() == 0  # background untouched
    assert out[20, 20].max() > 0  # region 1's outline (its top-left corner at 2×)
    assert out[2 * 12, 2 * 25].max() > 0  # inside the region: a translucent fill
    path = save_render(scene, tmp_path / "x" / "scene.png")
    with Image.open(path) as im:
        assert im.size == (240, 160)  # enlarged at most 4×


def test_load_image_checks_the_size(tmp_path):
    path = tmp_path / "img.png"
    Image.new("RGB", (10, 10)).save(path)
    scene = replace(make_scene(make_region(1, (0, 0, 5, 5))), path=path)
    with pytest.raises(InputError, match="image is 10×10 but its annotations say 60×40"):
        load_image(scene)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="cannot open image"):
        load_image(replace(scene, path=tmp_path / "bad.png"))
    assert load_image(make_scene()).size == (60, 40)  # no file: a grey canvas
