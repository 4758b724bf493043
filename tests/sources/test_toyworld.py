"""The toy world: rendering, the written folder, and reading it back."""

from __future__ import annotations

from contextlib import nullcontext as does_not_raise
from pathlib import Path

import numpy as np
import orjson
import pytest
from PIL import Image

from groundv import masks
from groundv.errors import ConfigError, InputError
from groundv.scene import Scene
from groundv.sources import open_source
from groundv.sources.coco import CocoSource
from groundv.sources.toyworld import (
    TOYWORLD_CATEGORIES,
    TOYWORLD_COLORS,
    TOYWORLD_PARTS,
    TOYWORLD_SIZES,
    TOYWORLD_VOCABULARY,
    ToyWorldSource,
    read_toyworld,
    render_scene,
    write_toyworld,
)

SCENES = 40
SEED = 3


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One written world shared by the read-back tests (writing is the slow part)."""
    return write_toyworld(tmp_path_factory.mktemp("toy") / "world", SCENES, SEED)


@pytest.fixture(scope="module")
def scenes(world: Path) -> list[Scene]:
    source = ToyWorldSource(world)
    read = list(source)
    assert not source.problems.items
    return read


def _json(path: Path) -> dict:
    return orjson.loads(path.read_bytes())


def _nearest_colour(rgb: np.ndarray) -> str:
    return min(TOYWORLD_COLORS, key=lambda name: float(np.sum((np.array(TOYWORLD_COLORS[name]) - rgb) ** 2)))


# -- vocabulary ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("category", "parts"), [
    ("mug", {"body", "handle"}),
    ("chair", {"seat", "back", "leg"}),
    ("car", {"body", "wheel", "window"}),
    ("person", {"head", "torso", "arm", "leg"}),
    ("lamp", {"base", "pole", "shade"}),
    ("bottle", {"body", "cap"}),
    ("table", {"top", "leg"}),
    ("tree", {"trunk", "crown"}),
    ("house", {"wall", "roof", "door", "window"}),
    ("bicycle", {"frame", "wheel", "seat"}),
    ("dog", {"head", "body", "leg", "tail"}),
    ("umbrella", {"canopy", "handle"}),
    ("apple", set()), ("orange", set()), ("banana", set()), ("ball", set()),
])
def test_vocabulary_has_the_categories_and_parts(category, parts):
    assert category in TOYWORLD_CATEGORIES
    assert set(TOYWORLD_PARTS[category]) == parts
    spec = TOYWORLD_VOCABULARY[category]
    assert spec.colors and set(spec.colors) <= set(TOYWORLD_COLORS)
    assert (spec.main in spec.parts) if parts else spec.main is None


# -- rendering -----------------------------------------------------------------------------------


def test_same_seed_and_index_give_identical_scenes():
    a, b = render_scene(5, seed=11), render_scene(5, seed=11)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.objects == b.objects


def test_other_seed_or_index_gives_another_scene():
    base = render_scene(5, seed=11).image.tobytes()
    assert render_scene(5, seed=12).image.tobytes() != base
    assert render_scene(6, seed=11).image.tobytes() != base


def test_written_scene_equals_scene_rendered_alone(world):
    # Scene i depends only on (seed, i): rendering it alone gives what the writer wrote.
    alone = render_scene(7, SEED)
    objects = [a for a in _json(world / "instances.json")["annotations"] if a["image_id"] == alone.image_id]
    assert [a["id"] for a in objects] == [o.id for o in alone.objects]
    assert [a["segmentation"]["counts"] for a in objects] == [o.rle["counts"] for o in alone.objects]


def test_image_size_is_configurable():
    scene = render_scene(0, size=(200, 150))
    assert scene.image.size == (200, 150)
    assert all(masks.size(o.rle) == (150, 200) for o in scene.objects)


def test_occlusion_hides_part_of_some_object():
    rendered = [render_scene(i, SEED) for i in range(SCENES)]
    occluded = [o for s in rendered for o in s.objects if masks.area(o.rle) < o.shape_area]
    assert occluded
    assert all(masks.area(o.rle) <= o.shape_area for s in rendered for o in s.objects)


@pytest.mark.parametrize(("kwargs", "expectation"), [
    ({"index": 0}, does_not_raise()),
    ({"index": -1}, pytest.raises(ConfigError, match="≥ 0")),
    ({"index": 0, "seed": -5}, pytest.raises(ConfigError, match="seed")),
    ({"index": 0, "size": (20, 240)}, pytest.raises(ConfigError, match="at least 32")),
])
def test_render_arguments_are_checked(kwargs, expectation):
    with expectation:
        render_scene(**kwargs)


# -- the written folder --------------------------------------------------------------------------


def test_writing_twice_gives_identical_bytes(tmp_path):
    calls: list[int] = []
    first = write_toyworld(tmp_path / "a", 3, seed=1, progress=calls.append)
    second = write_toyworld(tmp_path / "b", 3, seed=1)
    assert calls == [1, 2, 3]
    for name in ("instances.json", "parts.json", "images/000000000002.jpg"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    other = write_toyworld(tmp_path / "c", 3, seed=2)
    assert (other / "instances.json").read_bytes() != (first / "instances.json").read_bytes()


def test_files_follow_coco_and_paco_layout(world):
    instances, parts = _json(world / "instances.json"), _json(world / "parts.json")
    assert instances["info"]["seed"] == SEED and instances["info"]["scenes"] == SCENES
    assert len(instances["images"]) == SCENES
    image = instances["images"][0]
    assert image["file_name"] == "000000000001.jpg" and (image["width"], image["height"]) == (320, 240)
    with Image.open(world / "images" / image["file_name"]) as img:
        assert img.format == "JPEG" and img.size == (320, 240)
    assert [img["id"] for img in parts["images"]] == [img["id"] for img in instances["images"]]
    object_cats = {c["id"]: c["name"] for c in instances["categories"]}
    assert list(object_cats.values()) == TOYWORLD_CATEGORIES
    part_cats = {c["id"]: c["name"] for c in parts["categories"]}
    assert all(":" in name for name in part_cats.values())
    assert {c["name"] for c in parts["part_categories"]} == {p for ps in TOYWORLD_PARTS.values() for p in ps}
    for ann in instances["annotations"] + parts["annotations"]:
        rle = ann["segmentation"]
        assert isinstance(rle["counts"], str)
        assert ann["area"] == masks.area(rle) > 0
        assert tuple(ann["bbox"]) == masks.bbox(rle)
        assert ann["iscrowd"] == 0
    for ann in instances["annotations"]:
        assert ann["category_id"] in object_cats
        assert ann["attributes"]["size"] in TOYWORLD_SIZES
        assert ann["attributes"]["color"] in TOYWORLD_VOCABULARY[object_cats[ann["category_id"]]].colors
    objects = {a["id"]: a for a in instances["annotations"]}
    for ann in parts["annotations"]:
        parent = objects[ann["obj_ann_id"]]
        assert parent["image_id"] == ann["image_id"]
        assert part_cats[ann["category_id"]].split(":")[0] == object_cats[parent["category_id"]]


def test_annotation_ids_are_unique_across_both_files(world):
    ids = [a["id"] for name in ("instances.json", "parts.json") for a in _json(world / name)["annotations"]]
    assert len(ids) == len(set(ids))


def test_absence_lists_every_category_not_in_the_image(world):
    instances = _json(world / "instances.json")
    present: dict[int, set[int]] = {img["id"]: set() for img in instances["images"]}
    for ann in instances["annotations"]:
        present[ann["image_id"]].add(ann["category_id"])
    every = {c["id"] for c in instances["categories"]}
    for img in instances["images"]:
        assert set(img["neg_category_ids"]) == every - present[img["id"]]


# -- reading it back -----------------------------------------------------------------------------


def test_reads_back_through_toyworld_source(world, scenes):
    source = ToyWorldSource(world)
    assert source.name == "toyworld" and len(source) == SCENES
    assert len(scenes) == SCENES
    assert all(s.source == "toyworld" and s.path is not None and s.path.is_file() for s in scenes)
    for scene in scenes:
        assert scene.absent == frozenset(TOYWORLD_CATEGORIES) - {r.category for r in scene.objects}
        for part in scene.parts:
            parent = scene.parent(part)
            assert parent is not None and part.category == f"{parent.category}:{part.part_name}"


def test_reads_back_through_plain_coco_source(world, scenes):
    plain = list(CocoSource(world / "instances.json", parts=[world / "parts.json"], images=world / "images"))
    assert [(s.image_id, s.absent) for s in plain] == [(s.image_id, s.absent) for s in scenes]
    assert [[(r.id, r.category, r.parent_id, r.rle) for r in s.regions] for s in plain] == \
           [[(r.id, r.category, r.parent_id, r.rle) for r in s.regions] for s in scenes]


def test_open_source_and_read_toyworld_find_the_folder(world):
    assert len(open_source("toyworld", world)) == SCENES
    assert next(read_toyworld(world, exclude=[1])).image_id == 2


def test_many_categories_with_parts_appear(scenes):
    with_parts = {r.category for s in scenes for r in s.objects if s.children(r.id)}
    assert len(with_parts) >= 12
    assert any(len([r for r in s.objects if r.category == o.category]) > 1 for s in scenes for o in s.objects)


def test_no_region_is_empty(scenes):
    assert all(not masks.is_empty(r.rle) for s in scenes for r in s.regions)


def test_parts_lie_inside_their_object_and_make_it_up(scenes):
    for scene in scenes:
        for obj in scene.objects:
            children = scene.children(obj.id)
            for part in children:
                inter, _ = masks.intersection_union(part.rle, obj.rle)
                assert inter == part.area
            if TOYWORLD_PARTS[obj.category]:
                assert children
                assert masks.iou(scene.union_mask(r.id for r in children), obj.rle) == 1.0


def test_objects_show_only_their_visible_pixels(scenes):
    # Every pixel belongs to at most one object: what a nearer object covers is cut from the farther one.
    for scene in scenes:
        objects = scene.objects
        assert sum(r.area for r in objects) == masks.area(scene.union_mask(r.id for r in objects))


def test_colour_attributes_match_the_pixels(scenes):
    checked = 0
    for scene in scenes[:15]:
        assert scene.path is not None
        pixels = np.asarray(Image.open(scene.path).convert("RGB"), dtype=np.float64)
        for region in scene.regions:
            if region.kind == "object" and scene.children(region.id):
                main = TOYWORLD_VOCABULARY[region.category].main
                colours = {p.attributes["color"] for p in scene.children(region.id) if p.part_name == main}
                assert colours <= {region.attributes["color"]}
                continue
            if region.area < 40:  # a few pixels are mostly edge, blurred by JPEG
                continue
            mean = pixels[masks.decode(region.rle).astype(bool)].mean(axis=0)
            assert _nearest_colour(mean) == region.attributes["color"], (scene.image_id, region.id)
            checked += 1
    assert checked > 50


def test_missing_folder_is_an_input_error_with_a_hint(tmp_path):
    with pytest.raises(InputError) as caught:
        ToyWorldSource(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(caught.value)
    assert caught.value.hint is not None and "groundv toyworld" in caught.value.hint


def test_rewriting_a_world_with_fewer_scenes_leaves_no_stale_picture(tmp_path):
    from groundv.sources.toyworld import world_info, write_toyworld

    write_toyworld(tmp_path, 4, seed=1)
    (tmp_path / "images" / "mine.txt").write_text("a user's file")  # not the world's: kept
    write_toyworld(tmp_path, 2, seed=3)
    info = world_info(tmp_path)
    assert (info["scenes"], info["seed"]) == (2, 3)
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == sorted([*info["file_names"], "mine.txt"])
    assert world_info(tmp_path / "images") is None


def test_a_lost_picture_is_an_error_whose_hint_renders_it_again(tmp_path):
    from groundv.errors import InputError
    from groundv.sources.toyworld import ToyWorldSource, write_toyworld

    world = write_toyworld(tmp_path / "w", 2, seed=4)
    lost = sorted((world / "images").iterdir())[0]
    lost.unlink()
    with pytest.raises(InputError, match="not found") as error:
        list(ToyWorldSource(world))
    assert f"groundv toyworld --scenes 2 --seed 4 --out {world}" in error.value.hint
    write_toyworld(world, 2, seed=4)  # what the hint says
    assert lost.is_file() and len(list(ToyWorldSource(world))) == 2
