"""Every loader on the toy world: the same scenes written in each format and read back.

The converters live in :mod:`tests.sources.toyformats`. What a reader gives back is compared with what the
rendered :class:`~groundv.sources.toyworld.ToyScene` objects hold (never with another reader's output):
the images, every region's id, kind, category, parent and exact mask, and the absence facts each format
states.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from groundv import masks
from groundv.scene import Scene
from groundv.sources import open_source
from groundv.sources.pascal_part import VOC_CLASSES
from groundv.sources.toyworld import TOYWORLD_CATEGORIES, TOYWORLD_PARTS, ToyObject, ToyScene
from tests.sources import toyformats as tf

SCENES = 8
SEED = 3

Expected = dict[int, tuple[str, str, int | None, masks.RLE]]


@pytest.fixture(scope="module")
def world() -> list[ToyScene]:
    scenes = tf.render_world(SCENES, SEED)
    # The comparisons below are only worth something if the world has objects, parts and absences.
    assert sum(len(s.objects) for s in scenes) >= 30
    assert sum(len(o.parts) for s in scenes for o in s.objects) >= 80
    assert all(s.absent_categories for s in scenes)
    return scenes


def read(format: str, path: Path, **options: Any) -> list[Scene]:
    source = open_source(format, path, **options)
    scenes = list(source)
    assert not source.problems.items, [str(p) for p in source.problems.items]
    assert len(source) == len(scenes)
    return scenes


def coco_expected(toy: ToyScene, names: Mapping[str, str] | None = None, *, parts: bool = True) -> Expected:
    """Regions of a COCO-family read: toy ids, ``object:part`` categories, parts under their object."""
    out: Expected = {}
    for obj in toy.objects:
        name = names[obj.category] if names else obj.category
        out[obj.id] = ("object", name, None, obj.rle)
        if parts:
            out.update({p.id: ("part", f"{name}:{p.name}", obj.id, p.rle) for p in obj.parts})
    return out


def assert_regions(scene: Scene, expected: Expected) -> None:
    got = {r.id: (r.kind, r.category, r.parent_id, r.rle) for r in scene.regions}
    assert sorted(got) == sorted(expected), scene.image_id
    for region_id, want in expected.items():
        assert got[region_id] == want, (scene.image_id, region_id)
    for part in scene.parts:
        parent = scene.parent(part)
        assert parent is not None and parent.kind == "object"
        assert part.category.startswith(f"{parent.category}:")


def region_count(world: list[ToyScene], *, parts: bool = True) -> int:
    return sum(1 + (len(o.parts) if parts else 0) for s in world for o in s.objects)


# -- COCO and custom COCO ------------------------------------------------------------------------


def test_coco_reads_toy_world_with_exhaustive_absence(world, tmp_path):
    instances, parts = tf.write_coco(world, tmp_path)
    scenes = read("coco", instances, images=tmp_path / "images", parts=[parts])
    assert [s.image_id for s in scenes] == list(range(1, SCENES + 1))
    assert sum(len(s.regions) for s in scenes) == region_count(world)
    for scene, toy in zip(scenes, world, strict=True):
        assert (scene.source, scene.file_name, scene.width, scene.height) == ("coco", toy.file_name, 320, 240)
        assert scene.path == tmp_path / "images" / toy.file_name
        assert_regions(scene, coco_expected(toy))
        # COCO's classes are labelled exhaustively: every toy category not in the image is absent.
        assert scene.absent == frozenset(toy.absent_categories)
        assert scene.not_exhaustive == frozenset()
        for obj in toy.objects:
            region = scene.region(obj.id)
            assert dict(region.attributes) == {"color": obj.color, "size": obj.size}
            assert region.bbox == masks.bbox(obj.rle) and not region.iscrowd
            assert region.category_id == tf.OBJECT_IDS[obj.category]
            for part in obj.parts:
                assert dict(scene.region(part.id).attributes) == {"color": part.color}
                assert scene.region(part.id).category_id == tf.PART_IDS[f"{obj.category}:{part.name}"]


def test_custom_coco_without_negatives_states_no_absence(world, tmp_path):
    instances, parts = tf.write_coco(world, tmp_path)
    scenes = read("custom", instances, images=tmp_path / "images", parts=[parts])
    assert len(scenes) == SCENES
    assert sum(len(s.regions) for s in scenes) == region_count(world)
    for scene, toy in zip(scenes, world, strict=True):
        assert scene.source == "custom" and scene.image_id == toy.image_id
        assert_regions(scene, coco_expected(toy))
        assert scene.absent == frozenset() and scene.not_exhaustive == frozenset()


def test_custom_coco_absence_is_exactly_the_listed_negatives(world, tmp_path):
    # Odd images list two of their absent categories, even images list none: nothing else is absent.
    def listed(toy: ToyScene) -> list[str]:
        return toy.absent_categories[:2] if toy.image_id % 2 else []

    instances, _ = tf.write_coco(world, tmp_path, parts=False, negatives=listed)
    scenes = read("custom", instances, images=tmp_path / "images")
    assert sum(len(s.regions) for s in scenes) == region_count(world, parts=False)
    for scene, toy in zip(scenes, world, strict=True):
        assert_regions(scene, coco_expected(toy, parts=False))
        assert scene.absent == frozenset(listed(toy))
        assert len(scene.absent) == (2 if toy.image_id % 2 else 0)


# -- LVIS v1 -------------------------------------------------------------------------------------


def federated(toy: ToyScene) -> list[str]:
    """An LVIS-like choice: only every other absent category was verified absent."""
    return toy.absent_categories[::2]


def test_lvis_v1_reads_toy_world_through_coco_url(world, tmp_path):
    path = tf.write_lvis(world, tmp_path, negatives=federated)
    scenes = read("lvis", path, images=tmp_path / "images")
    assert len(scenes) == SCENES
    assert sum(len(s.regions) for s in scenes) == region_count(world, parts=False)
    unverified = 0
    for scene, toy in zip(scenes, world, strict=True):
        assert scene.source == "lvis" and scene.image_id == toy.image_id
        assert scene.file_name == f"toy/{toy.file_name}"  # the last two segments of coco_url
        assert scene.path == tmp_path / "images" / "toy" / toy.file_name
        assert_regions(scene, coco_expected(toy, tf.LVIS_NAMES, parts=False))
        for obj in toy.objects:
            region = scene.region(obj.id)
            assert not region.iscrowd and dict(region.attributes) == {}
            assert region.category_id == tf.OBJECT_IDS[obj.category]
        # Federated: only neg_category_ids are absent; an unlisted absent category stays unknown.
        assert scene.absent == frozenset(tf.LVIS_NAMES[c] for c in federated(toy))
        assert scene.not_exhaustive == frozenset()
        unverified += len(set(toy.absent_categories) - set(federated(toy)))
    assert unverified > 0
    assert any("car_(automobile)" in s.present_categories for s in scenes)  # names kept as written


def test_lvis_not_exhaustive_categories_are_kept_apart(world, tmp_path):
    def first(toy: ToyScene) -> list[str]:
        return [toy.objects[0].category]

    path = tf.write_lvis(world, tmp_path, not_exhaustive=first)
    scenes = read("lvis", path, images=tmp_path / "images")
    for scene, toy in zip(scenes, world, strict=True):
        assert scene.not_exhaustive == frozenset({tf.LVIS_NAMES[toy.objects[0].category]})
        assert scene.absent == frozenset(tf.LVIS_NAMES[c] for c in toy.absent_categories)


# -- PACO ----------------------------------------------------------------------------------------


def test_paco_reads_objects_and_parts_from_one_file(world, tmp_path):
    path = tf.write_paco(world, tmp_path)
    scenes = read("paco", path, images=tmp_path / "images")
    assert len(scenes) == SCENES
    assert sum(len(s.parts) for s in scenes) == sum(len(o.parts) for t in world for o in t.objects)
    assert sum(len(s.regions) for s in scenes) == region_count(world)
    for scene, toy in zip(scenes, world, strict=True):
        assert scene.source == "paco" and scene.file_name == f"train2017/{toy.file_name}"
        assert scene.path == tmp_path / "images" / "train2017" / toy.file_name
        assert_regions(scene, coco_expected(toy, tf.LVIS_NAMES))
        for obj in toy.objects:
            assert dict(scene.region(obj.id).attributes) == {"attributes": [obj.color]}
            for part in obj.parts:
                region = scene.region(part.id)
                assert dict(region.attributes) == {"attributes": [part.color]}
                assert region.category_id == tf.PACO_JOINT_IDS[f"{tf.LVIS_NAMES[obj.category]}:{part.name}"]
                assert region.part_name == part.name
        # neg_category_ids: each absent object and all of its object:part categories.
        absent = {tf.LVIS_NAMES[c] for c in toy.absent_categories}
        absent |= {f"{tf.LVIS_NAMES[c]}:{p}" for c in toy.absent_categories for p in TOYWORLD_PARTS[c]}
        assert scene.absent == frozenset(absent)
        assert scene.not_exhaustive == frozenset()


# -- COCO panoptic -------------------------------------------------------------------------------


def panoptic_expected(toy: ToyScene) -> Expected:
    height, width = 240, 320
    out: Expected = {tf.panoptic_segment_id(o.id): ("object", o.category, None, o.rle) for o in toy.objects}
    free = ~masks.decode(masks.union([o.rle for o in toy.objects], (height, width))).astype(bool)
    rows = np.arange(height)[:, None]
    sky = free & (rows < height // 2)
    ground = free & (rows >= height // 2) & (rows < height - tf.PANOPTIC_VOID_ROWS)
    for seg_id, name, bitmap in ((tf.PANOPTIC_SKY, "sky", sky), (tf.PANOPTIC_GROUND, "ground", ground)):
        if bitmap.any():
            out[seg_id] = ("stuff", name, None, masks.encode(bitmap))
    return out


def test_panoptic_reads_toy_world_as_things_and_stuff(world, tmp_path):
    path = tf.write_panoptic(world, tmp_path)
    scenes = read("panoptic", path, images=tmp_path / "images")
    assert len(scenes) == SCENES
    assert sum(len(s.objects) for s in scenes) == region_count(world, parts=False)
    assert sum(len(s.stuff) for s in scenes) == 2 * SCENES
    void = 0
    for scene, toy in zip(scenes, world, strict=True):
        assert scene.source == "panoptic" and scene.image_id == toy.image_id
        assert scene.path == tmp_path / "images" / toy.file_name
        expected = panoptic_expected(toy)
        assert_regions(scene, expected)
        assert max(expected) > 2**16  # ids use the B channel: uint8 arithmetic would lose it
        for obj in toy.objects:
            region = scene.region(tf.panoptic_segment_id(obj.id))
            assert region.category_id == tf.OBJECT_IDS[obj.category]
            assert region.bbox == masks.bbox(obj.rle) and not region.iscrowd
        # Things are exhaustive, stuff is never listed absent.
        assert scene.absent == frozenset(toy.absent_categories)
        void += 240 * 320 - sum(r.area for r in scene.regions)
    assert void > 0  # some bottom pixels were left unlabelled (id 0) and stayed out of every region


def test_panoptic_converter_refuses_overlapping_objects(tmp_path):
    toy = tf.render_world(1, SEED)[0]
    first = toy.objects[0]
    clash = ToyObject(first.id + 500, "ball", "red", "small", first.rle, masks.area(first.rle))
    bad = ToyScene(toy.image_id, toy.file_name, toy.image, (*toy.objects, clash))
    with pytest.raises(ValueError, match="overlaps"):
        tf.write_panoptic([bad], tmp_path)


# -- Pascal-Part ---------------------------------------------------------------------------------


def pascal_expected(toy: ToyScene) -> Expected:
    name = tf.imname(toy)
    out: Expected = {}
    for k, (obj, voc) in enumerate(tf.pascal_objects(toy), start=1):
        obj_id = tf.pascal_region_id(name, k)
        out[obj_id] = ("object", voc, None, obj.rle)
        if voc not in tf.VOC_PARTLESS:
            for j, (part, part_name) in enumerate(zip(obj.parts, tf.numbered_part_names(obj), strict=True), 1):
                out[tf.pascal_region_id(name, k, j)] = ("part", f"{voc}:{part_name}", obj_id, part.rle)
    return out


def test_pascal_part_reads_toy_world_mapped_to_voc(world, tmp_path):
    folder = tf.write_pascal_part(world, tmp_path / "Annotations_Part")
    written = [t for t in world if any(o.category in tf.VOC_NAMES for o in t.objects)]
    assert 0 < len(written) < SCENES  # one scene has no VOC object and is not written
    scenes = read("pascal-part", folder)
    assert [s.image_id for s in scenes] == [f"2001_{t.image_id:06d}" for t in written]
    voc_objects = [o for t in written for o in t.objects if o.category in tf.VOC_NAMES]
    assert sum(len(s.objects) for s in scenes) == len(voc_objects)
    assert sum(len(s.parts) for s in scenes) == sum(
        len(o.parts) for o in voc_objects if tf.VOC_NAMES[o.category] not in tf.VOC_PARTLESS)
    assert any(o.category in ("chair", "table") for o in voc_objects)  # some objects have 0×0 parts
    for scene, toy in zip(scenes, written, strict=True):
        assert (scene.source, scene.file_name, scene.width, scene.height) == (
            "pascal-part", f"{scene.image_id}.jpg", 320, 240)
        assert scene.path == folder / f"{scene.image_id}.jpg"
        expected = pascal_expected(toy)
        assert_regions(scene, expected)
        for region in scene.regions:
            assert region.category_id == (tf.VOC_INDEX[region.category] if region.kind == "object" else 0)
            assert region.bbox == masks.bbox(region.rle)
        for part in scene.parts:  # the numbered names still name a part of the toy category
            toy_category = next(c for c, v in tf.VOC_NAMES.items() if v == scene.parent(part).category)
            assert part.part_name.split("_")[0] in TOYWORLD_PARTS[toy_category]
        present = {tf.VOC_NAMES[o.category] for o in toy.objects if o.category in tf.VOC_NAMES}
        assert scene.absent == frozenset(VOC_CLASSES) - present
        assert len(scene.absent) == 20 - len(present)


def test_voc_index_matches_the_voc_class_order():
    assert tuple(tf.VOC_INDEX) == VOC_CLASSES
    assert set(tf.VOC_NAMES) <= set(TOYWORLD_CATEGORIES)
