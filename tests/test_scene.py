from __future__ import annotations

import pytest

from groundv import masks
from groundv.errors import InputError
from groundv.scene import Region, Scene
from tests.conftest import make_region, make_scene


def mug_scene() -> Scene:
    mug = make_region(1, (10, 10, 30, 30))
    handle = make_region(2, (30, 15, 35, 25), kind="part", category="mug:handle", parent_id=1)
    body = make_region(3, (10, 10, 30, 30), kind="part", category="mug:body", parent_id=1)
    sky = make_region(4, (0, 0, 60, 5), kind="stuff", category="sky")
    return make_scene(mug, handle, body, sky, absent=frozenset({"dog"}))


def test_queries():
    scene = mug_scene()
    assert [r.id for r in scene.objects] == [1]
    assert [r.id for r in scene.parts] == [2, 3]
    assert [r.id for r in scene.stuff] == [4]
    assert {r.id for r in scene.children(1)} == {2, 3}
    assert scene.parent(scene.region(2)).id == 1
    assert scene.parent(scene.region(1)) is None
    assert scene.region(2).part_name == "handle"
    assert scene.region(1).part_name is None
    assert scene.present_categories == {"mug", "mug:handle", "mug:body", "sky"}
    assert 2 in scene and 99 not in scene
    assert scene.size == (40, 60)


def test_union_mask_and_select():
    scene = mug_scene()
    assert masks.area(scene.union_mask([1, 2])) == 20 * 20 + 5 * 10
    assert masks.is_empty(scene.union_mask([]))
    sub = scene.select([2])
    assert {r.id for r in sub.regions} == {1, 2}  # the parent comes along
    with pytest.raises(KeyError, match="no region 99"):
        scene.region(99)


def test_image_record_is_the_sample_contract():
    assert mug_scene().image_record() == {"id": 1, "file_name": "img.jpg", "width": 60, "height": 40,
                                          "source": "test"}


@pytest.mark.parametrize(("regions", "extra", "message"), [
    ([make_region(1, (0, 0, 5, 5)), make_region(1, (5, 5, 9, 9))], {}, "duplicate region id 1"),
    ([make_region(2, (0, 0, 5, 5), kind="part", parent_id=7)], {}, "parent 7, which is not in this image"),
    ([make_region(1, (0, 0, 5, 5), kind="stuff", category="sky"),
      make_region(2, (0, 0, 5, 5), kind="part", parent_id=1)], {}, "which is a stuff, not an object"),
    ([make_region(1, (0, 0, 5, 5), size=(10, 10))], {}, "has a 10×10 mask but the image is 40×60"),
    ([make_region(1, (0, 0, 5, 5))], {"absent": frozenset({"mug"})}, "both annotated and listed as absent"),
])
def test_invalid_scenes_name_the_image_and_region(regions, extra, message):
    with pytest.raises(InputError, match=message) as info:
        make_scene(*regions, image_id=77, **extra)
    assert "image 77" in str(info.value)


def test_region_kind_and_parent_rules():
    rle = masks.empty(2, 2)
    with pytest.raises(ValueError, match="kind must be one of"):
        Region(1, "thing", "x", 1, rle, (0, 0, 0, 0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a part needs a parent_id"):
        Region(1, "part", "x", 1, rle, (0, 0, 0, 0))
    with pytest.raises(ValueError, match="only a part may have one"):
        Region(1, "object", "x", 1, rle, (0, 0, 0, 0), parent_id=3)
