"""Pascal-Part .mat files: objects with overlapping part masks."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from groundv import masks
from groundv.errors import InputError
from groundv.sources import open_source
from groundv.sources.pascal_part import VOC_CLASSES, PascalPartSource, region_id

# -- builders ------------------------------------------------------------------------------------

PART_DTYPE = [("part_name", "O"), ("mask", "O")]
OBJECT_DTYPE = [("class", "O"), ("class_ind", "O"), ("mask", "O"), ("parts", "O")]


def box(h: int, w: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def write_mat(path: Path, imname: str, objects: list[tuple[str, int, np.ndarray, list]]) -> Path:
    """A Pascal-Part file: objects are (class, class_ind, mask, [(part_name, mask), ...])."""
    objs = np.empty((1, len(objects)), dtype=OBJECT_DTYPE)
    for k, (cls, ind, mask, parts) in enumerate(objects):
        if parts:
            arr = np.empty((1, len(parts)), dtype=PART_DTYPE)
            for j, part in enumerate(parts):
                arr[0, j] = part
        else:
            arr = np.zeros((0, 0), dtype=PART_DTYPE)  # what MATLAB writes for "no parts"
        objs[0, k] = (cls, np.array([[ind]], dtype=np.uint8), mask, arr)
    anno = np.empty((1, 1), dtype=[("imname", "O"), ("objects", "O")])
    anno[0, 0] = (imname, objs)
    scipy.io.savemat(path, {"anno": anno})
    return path


def person_and_boat(folder: Path, imname: str = "2009_000123", size: tuple[int, int] = (20, 30)) -> Path:
    h, w = size
    person = box(h, w, 2, 2, 12, 18)
    parts = [("head", box(h, w, 4, 2, 10, 7)), ("lear", box(h, w, 4, 4, 5, 6)),
             ("torso", box(h, w, 2, 7, 12, 18))]
    return write_mat(folder / f"{imname}.mat", imname,
                     [("person", 15, person, parts), ("boat", 4, box(h, w, 15, 5, 28, 15), [])])


def write_jpg(path: Path, size: tuple[int, int]) -> None:
    Image.new("RGB", (size[1], size[0]), (128, 128, 128)).save(path)


# -- real data -----------------------------------------------------------------------------------


def test_real_sample(shared_data):
    src = PascalPartSource(shared_data / "pascal_part")
    scenes = {s.image_id: s for s in src}
    assert len(src) == 5 and not src.problems.items
    assert sorted(scenes) == ["2008_000652", "2008_001978", "2008_006462", "2010_000145", "2010_002065"]
    assert {k: (s.width, s.height) for k, s in scenes.items()} == {
        "2008_000652": (320, 213), "2008_001978": (500, 375), "2008_006462": (500, 375),
        "2010_000145": (500, 375), "2010_002065": (500, 333)}
    assert {k: [o.category for o in s.objects] for k, s in scenes.items()} == {
        "2008_000652": ["person"], "2008_001978": ["bird"], "2008_006462": ["cat"],
        "2010_000145": ["boat"], "2010_002065": ["aeroplane"]}
    assert {k: len(s.parts) for k, s in scenes.items()} == {
        "2008_000652": 18, "2008_001978": 1, "2008_006462": 9, "2010_000145": 0, "2010_002065": 12}
    for scene in scenes.values():
        assert scene.path is not None and scene.path.name == f"{scene.image_id}.jpg"
        (obj,) = scene.objects
        assert scene.absent == frozenset(VOC_CLASSES) - {obj.category}
        assert obj.bbox == masks.bbox(obj.rle)


def test_real_person_parts_lie_inside_it_and_overlap(shared_data):
    (scene,) = PascalPartSource(shared_data / "pascal_part" / "2008_000652.mat")
    (person,) = scene.objects
    parts = scene.children(person.id)
    assert person.id == region_id("2008_000652", 1) == 200800065201000
    assert [p.id for p in parts] == [person.id + j for j in range(1, 19)]
    assert parts[1].category == "person:lear" and parts[1].part_name == "lear"
    assert all(p.parent_id == person.id and p.category_id == 0 for p in parts)
    union = scene.union_mask(p.id for p in parts)
    assert masks.intersection_union(union, person.rle)[0] == masks.area(union)  # inside the person
    overlaps = sum(masks.intersection_union(a.rle, b.rle)[0] for a, b in itertools.combinations(parts, 2))
    assert overlaps > 1000  # part masks overlap: not a partition, and kept that way
    assert sum(p.area for p in parts) > masks.area(union)


def test_real_boat_has_no_parts(shared_data):
    (scene,) = PascalPartSource(shared_data / "pascal_part" / "2010_000145.mat")
    assert [r.kind for r in scene.regions] == ["object"] and scene.objects[0].category == "boat"


def test_registry_opens_pascal_part(shared_data):
    src = open_source("pascal-part", shared_data / "pascal_part", images=shared_data / "pascal_part",
                      skip_bad=None)
    assert isinstance(src, PascalPartSource) and len(list(src)) == 5


# -- synthetic -----------------------------------------------------------------------------------


def test_tiny_file_without_images(tmp_path):
    src = PascalPartSource(person_and_boat(tmp_path))
    (scene,) = list(src)
    assert scene.image_id == "2009_000123" and (scene.height, scene.width) == (20, 30) and scene.path is None
    assert [(r.id, r.kind, r.category) for r in scene.regions] == [
        (200900012301000, "object", "person"), (200900012301001, "part", "person:head"),
        (200900012301002, "part", "person:lear"), (200900012301003, "part", "person:torso"),
        (200900012302000, "object", "boat")]
    assert scene.region(200900012302000).category_id == 4
    assert scene.region(200900012301001).bbox == (4.0, 2.0, 6.0, 5.0)
    assert "boat" not in scene.absent and "cat" in scene.absent and len(scene.absent) == 18


def test_region_ids_are_unique_across_files(tmp_path):
    person_and_boat(tmp_path, "2009_000123")
    person_and_boat(tmp_path, "2009_000124")
    ids = [r.id for s in PascalPartSource(tmp_path) for r in s.regions]
    assert len(ids) == len(set(ids)) == 10


def test_region_id_scheme_limits():
    assert region_id("2012_999999", 99, 999) < 2**53
    with pytest.raises(ValueError, match="VOC name"):
        region_id("img7", 1)
    with pytest.raises(ValueError, match="out of range"):
        region_id("2008_000001", 100)


def test_exclusion_by_image_name(tmp_path):
    person_and_boat(tmp_path, "2009_000123")
    person_and_boat(tmp_path, "2009_000124")
    src = PascalPartSource(tmp_path, exclude={"2009_000123"})
    assert [s.image_id for s in src] == ["2009_000124"] and src.excluded == 1


def test_empty_part_mask_is_left_out_and_recorded(tmp_path):
    h, w = 10, 10
    path = write_mat(tmp_path / "2009_000001.mat", "2009_000001",
                     [("cat", 8, box(h, w, 1, 1, 8, 8), [("tail", np.zeros((h, w), np.uint8))])])
    src = PascalPartSource(path)
    (scene,) = list(src)
    assert not scene.parts and src.problems.repairs == 1 and src.problems.skipped == 0


def _corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "2009_000123.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file" + b"\x00" * 20)
    return path


def _no_anno(tmp_path: Path) -> Path:
    path = tmp_path / "2009_000123.mat"
    scipy.io.savemat(path, {"other": np.zeros((2, 2))})
    return path


def _part_size(tmp_path: Path) -> Path:
    h, w = 20, 30
    return write_mat(tmp_path / "2009_000123.mat", "2009_000123",
                     [("person", 15, box(h, w, 2, 2, 12, 18), [("head", box(h, w + 1, 4, 2, 10, 7))])])


def _not_voc_name(tmp_path: Path) -> Path:
    return person_and_boat(tmp_path, "my_image")


BAD = {
    # name: (builder, where, words, file skipped (no scene) with skip_bad)
    "corrupt mat": (_corrupt, None, "not a readable .mat file", True),
    "no anno": (_no_anno, None, "'anno'", True),
    "part mask size": (_part_size, "object #1 (person) part #1 (head)", "20×31 but the image is 20×30",
                       False),
    "not a VOC name": (_not_voc_name, "imname", "not a VOC image name", True),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_names_file_and_record(tmp_path, case):
    build, where, words, whole_file = BAD[case]
    path = build(tmp_path)
    with pytest.raises(InputError) as exc:
        list(PascalPartSource(path))
    assert exc.value.file == str(path) and exc.value.where == where and words in exc.value.reason

    src = PascalPartSource(path, skip_bad=True)
    scenes = list(src)
    assert src.problems.skipped == 1 and src.problems.items[0].where == where
    assert len(scenes) == (0 if whole_file else 1)


def test_object_mask_differs_from_the_image(tmp_path):
    path = person_and_boat(tmp_path)
    write_jpg(tmp_path / "2009_000123.jpg", (20, 31))
    with pytest.raises(InputError) as exc:
        list(PascalPartSource(path))
    assert exc.value.file == str(path) and exc.value.where == "object #1 (person)"
    assert "20×30 but the image is 20×31" in exc.value.reason

    src = PascalPartSource(path, skip_bad=True)
    (scene,) = list(src)
    assert src.problems.skipped == 2  # both objects; neither class is then claimed absent
    assert not scene.regions and not {"person", "boat"} & scene.absent


def test_missing_jpg_when_images_given(tmp_path):
    path = person_and_boat(tmp_path)
    images = tmp_path / "JPEGImages"
    images.mkdir()
    with pytest.raises(InputError) as exc:
        list(PascalPartSource(path, images=images))
    assert exc.value.file == str(path) and exc.value.where == "image 2009_000123"
    assert "2009_000123.jpg" in exc.value.reason and "--images" in exc.value.hint

    write_jpg(images / "2009_000123.jpg", (20, 30))
    (scene,) = list(PascalPartSource(path, images=images))
    assert scene.path == images / "2009_000123.jpg"


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        PascalPartSource(tmp_path / "nope")
    with pytest.raises(InputError, match=r"no \.mat files"):
        PascalPartSource(tmp_path)


def test_same_image_in_two_files(tmp_path):
    person_and_boat(tmp_path, "2009_000123")
    (tmp_path / "copy.mat").write_bytes((tmp_path / "2009_000123.mat").read_bytes())
    src = PascalPartSource(tmp_path, skip_bad=True)
    assert len(list(src)) == 1 and src.problems.skipped == 1
    assert "also annotated" in src.problems.items[0].message
