from __future__ import annotations

import pytest

from groundv.knowledge.spatial import (
    SUPERLATIVES,
    Distinction,
    Relation,
    Thresholds,
    distinctions,
    distinguish,
    extreme,
    geometry,
    group,
    nearest,
    relate,
    relations,
)
from tests.conftest import make_region, make_scene

# Images are 40 high and 60 wide (make_region's default); boxes are (x0, y0, x1, y1).


@pytest.mark.parametrize(("a", "b", "expected"), [
    ((0, 10, 10, 20), (30, 10, 40, 20), ("left of",)),
    ((30, 10, 40, 20), (0, 10, 10, 20), ("right of",)),
    ((0, 10, 10, 20), (12, 10, 22, 20), ("left of", "next to")),  # 2 px apart
    ((0, 10, 20, 20), (15, 10, 35, 20), ("left of", "next to")),  # overlapping a little
    ((0, 10, 20, 20), (5, 10, 25, 20), ()),  # overlapping mostly: neither beside nor next to
    ((10, 0, 20, 8), (10, 20, 20, 30), ("above",)),
    ((10, 20, 20, 30), (10, 0, 20, 8), ("below",)),
    ((20, 5, 26, 12), (5, 12, 50, 25), ("above", "next to")),  # a cup standing on a table
    ((0, 0, 5, 5), (50, 30, 58, 38), ()),  # far apart on a diagonal: no shared rows or columns
    ((20, 15, 24, 19), (5, 5, 50, 35), ()),  # inside the other box
])
def test_relate(a, b, expected):
    assert relate(make_region(1, a), make_region(2, b)) == expected


def test_relate_with_itself_or_an_empty_mask():
    mug = make_region(1, (0, 10, 10, 20))
    empty = make_region(2, (0, 0, 0, 0))
    assert geometry(empty) is None
    assert relate(mug, mug) == ()
    assert relate(mug, empty) == relate(empty, mug) == ()


def test_geometry_uses_the_mask_not_the_source_bbox():
    region = make_region(1, (10, 5, 20, 15))
    loose = type(region)(id=1, kind="object", category="mug", category_id=1, rle=region.rle, bbox=(0, 0, 60, 40))
    box = geometry(loose)
    assert (box.x0, box.y0, box.x1, box.y1, box.area) == (10, 5, 20, 15, 100)


def test_relations_filter_by_category_in_any_naming_scheme():
    scene = make_scene(
        make_region(1, (0, 10, 10, 20), category="car_(automobile)"),
        make_region(2, (30, 10, 40, 20), category="car"),
        make_region(3, (45, 10, 55, 20), category="dog"),
    )
    found = relations(scene, categories=["car"])
    assert found == (Relation(1, "left of", 2), Relation(2, "right of", 1))
    assert Relation(2, "next to", 3) in relations(scene)


def test_relations_skip_crowds_and_a_part_with_its_own_object():
    scene = make_scene(
        make_region(1, (0, 10, 30, 30), category="car"),
        make_region(2, (2, 25, 10, 30), category="car:wheel", kind="part", parent_id=1),
        make_region(3, (40, 10, 50, 30), category="person", iscrowd=True),
        make_region(4, (35, 10, 39, 30), category="dog"),
    )
    found = relations(scene, kinds=("object", "part"))
    pairs = {(r.subject, r.object) for r in found}
    assert (1, 2) not in pairs and (2, 1) not in pairs
    assert not any(3 in pair for pair in pairs)
    assert (1, 4) in pairs


def three_mugs(*boxes, **scene_extra):
    return make_scene(*(make_region(i + 1, box) for i, box in enumerate(boxes)), **scene_extra)


@pytest.mark.parametrize(("superlative", "winner"), [
    ("leftmost", 1), ("rightmost", 3), ("topmost", 2), ("bottommost", None),
    ("largest", 3), ("smallest", 2), ("closest to the center", 2),
])
def test_extreme(superlative, winner):
    # mug 1: 8×10 at the left; mug 2: small, high, central; mug 3: 14×10 at the right, level with mug 1
    scene = three_mugs((2, 20, 10, 30), (28, 14, 32, 20), (44, 20, 58, 30))
    assert extreme(scene, [1, 2, 3], superlative) == winner


@pytest.mark.parametrize(("boxes", "superlative"), [
    (((10, 10, 20, 20), (12, 22, 22, 32)), "leftmost"),  # centres 2 px apart < 5 % of 60 px
    (((0, 0, 10, 10), (30, 0, 40, 11)), "largest"),  # 100 vs 110 px: within 25 %
    (((10, 15, 20, 25), (40, 15, 50, 25)), "closest to the center"),  # mirror images
])
def test_extreme_tie_is_none(boxes, superlative):
    assert extreme(three_mugs(*boxes), [1, 2], superlative) is None


def test_extreme_margins():
    scene = three_mugs((0, 0, 10, 10), (30, 0, 40, 13))  # 100 vs 130 px: 30 % larger
    assert extreme(scene, [1, 2], "largest") == 2
    assert extreme(scene, [1, 2], "largest", thresholds=Thresholds(size_margin=0.5)) is None
    assert extreme(scene, [1, 2], "leftmost", thresholds=Thresholds(position_margin=0.9)) is None


def test_extreme_needs_two_regions_and_known_names():
    scene = three_mugs((0, 0, 10, 10), (0, 0, 0, 0))
    assert extreme(scene, [1, 2], "leftmost") is None  # the empty mask does not count
    with pytest.raises(ValueError, match="unknown superlative"):
        extreme(scene, [1], "shiniest")
    with pytest.raises(KeyError):
        extreme(scene, [1, 99], "leftmost")


def test_nearest_to_the_image_centre_and_to_a_region():
    scene = make_scene(
        make_region(1, (25, 15, 35, 25)),  # at the centre
        make_region(2, (0, 0, 8, 8)),
        make_region(3, (44, 15, 50, 25), category="laptop"),
        make_region(4, (52, 15, 58, 25), category="laptop:screen", kind="part", parent_id=3),
    )
    assert nearest(scene) == 1
    assert nearest(scene, to=3) == 1  # its own screen is never a candidate
    assert nearest(scene, to=1, categories=["laptop"]) == 3
    symmetric = three_mugs((10, 15, 20, 25), (40, 15, 50, 25))
    assert nearest(symmetric) is None
    assert nearest(make_scene()) is None


def test_group_merges_numbered_parts_of_one_object_only():
    scene = make_scene(
        make_region(1, (0, 0, 30, 20), category="aeroplane"),
        make_region(2, (2, 15, 6, 20), category="aeroplane:wheel_1", kind="part", parent_id=1),
        make_region(3, (20, 15, 24, 20), category="aeroplane:wheel_2", kind="part", parent_id=1),
        make_region(4, (30, 20, 60, 40), category="aeroplane"),
        make_region(5, (32, 35, 36, 40), category="aeroplane:wheel_1", kind="part", parent_id=4),
    )
    assert group(scene, 2) == (2, 3)
    assert group(scene, 1) == (1, 4)
    assert distinguish(scene, 2) == "the leftmost wheel of the airplane"
    assert distinguish(scene, 5) is None  # the only wheel of its plane


def test_distinctions_superlatives_and_landmarks():
    scene = make_scene(
        make_region(1, (2, 10, 12, 22)),  # big mug, left of the laptop
        make_region(2, (45, 12, 52, 20)),  # small mug, right of the laptop
        make_region(3, (20, 8, 38, 22), category="laptop_computer"),
    )
    found = distinctions(scene, 1)
    phrases = [d.phrase for d in found]
    assert phrases[:2] == ["the leftmost mug", "the largest mug"]
    assert Distinction("left of", "the mug to the left of the laptop", 3) in found
    assert "the mug closest to the center" not in phrases  # mug 2 is nearer the centre
    assert [d.phrase for d in distinctions(scene, 2)] == [
        "the rightmost mug", "the smallest mug", "the mug closest to the center",
        "the mug to the right of the laptop"]
    assert distinguish(scene, 1) == "the leftmost mug"
    assert distinctions(scene, 3) == ()  # the only laptop needs no distinction


def test_the_middle_of_three_identical_mugs_has_no_unique_description():
    scene = three_mugs((2, 15, 10, 25), (16, 15, 24, 25), (30, 15, 38, 25))
    assert distinguish(scene, 2) is None
    assert distinguish(scene, 1) == "the leftmost mug"
    assert [d.relation for d in distinctions(scene, 3)] == ["rightmost", "closest to the center"]


def test_no_claims_for_non_exhaustive_or_crowded_groups():
    boxes = ((2, 15, 10, 25), (30, 15, 38, 25))
    assert distinctions(three_mugs(*boxes, not_exhaustive=frozenset({"mug"})), 1) == ()
    crowd = make_scene(make_region(1, boxes[0]), make_region(2, boxes[1]), make_region(3, (45, 0, 60, 40),
                                                                                         iscrowd=True))
    assert distinctions(crowd, 1) == ()


def test_a_crowd_or_repeated_category_is_no_landmark():
    scene = make_scene(
        make_region(1, (2, 10, 10, 20)), make_region(2, (50, 10, 58, 20)),
        make_region(3, (20, 10, 28, 20), category="laptop"), make_region(4, (32, 10, 40, 20), category="laptop"),
    )
    assert all(d.other_id is None for d in distinctions(scene, 1))


def test_superlative_order_is_documented():
    assert SUPERLATIVES[0] == "leftmost" and SUPERLATIVES[-1] == "closest to the center"
