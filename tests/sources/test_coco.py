"""COCO-family sources: COCO instances, a custom COCO dataset, LVIS and PACO."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundv import masks
from groundv.errors import ConfigError, InputError
from groundv.sources import FORMATS, open_source
from groundv.sources.coco import CocoSource, CustomCocoSource
from groundv.sources.lvis import LvisSource
from groundv.sources.paco import PacoSource
from tests.conftest import box_mask

# -- real data -----------------------------------------------------------------------------------


def test_coco_train_subset(shared_data):
    ann = shared_data / "coco/annotations/instances_train2017_subset.json"
    src = CocoSource(ann, images=shared_data / "coco/train2017")
    scenes = list(src)
    assert len(src) == 5 and len(scenes) == 5
    assert sum(len(s.regions) for s in scenes) == 45
    assert not src.problems.items
    by_id = {s.image_id: s for s in scenes}
    img = by_id[98304]
    assert img.path is not None and img.path.is_file()
    assert {116865, 108703} <= {r.id for r in img.regions}  # the RefCOCO refs' annotations
    assert img.region(116865).category == "couch"
    # COCO's 80 classes are exhaustive: whatever is not annotated is absent.
    assert img.absent == frozenset(src.categories) - img.present_categories
    assert "dog" not in img.absent and "zebra" in img.absent
    crowd = [r for s in scenes for r in s.regions if r.iscrowd]
    assert len(crowd) == 1 and masks.area(crowd[0].rle) > 0


def test_coco_val_subset_decodes_every_mask_close_to_its_area(shared_data):
    raw = json.loads((shared_data / "coco/annotations/instances_val2017_subset.json").read_text())
    areas = {a["id"]: a["area"] for a in raw["annotations"]}
    scenes = list(CocoSource(shared_data / "coco/annotations/instances_val2017_subset.json"))
    regions = [r for s in scenes for r in s.regions]
    assert len(regions) == 46
    for r in regions:
        assert 0.8 * areas[r.id] <= r.area <= 1.25 * areas[r.id] + 1


def test_custom_coco_assumes_nothing_absent(shared_data):
    src = CustomCocoSource(shared_data / "coco/annotations/instances_train2017_subset.json")
    assert all(not s.absent for s in src)


def test_lvis_v05_sample(shared_data):
    src = LvisSource(shared_data / "lvis/lvis_val_100.json")
    scenes = list(src)
    assert len(scenes) == 100
    assert sum(len(s.regions) for s in scenes) == 977
    assert all(not (s.absent & s.present_categories) for s in scenes)
    assert sum(bool(s.not_exhaustive) for s in scenes) == 12
    assert all(s.not_exhaustive <= s.present_categories for s in scenes)
    mean_neg = sum(len(s.absent) for s in scenes) / len(scenes)
    assert mean_neg == pytest.approx(9.42, abs=0.01)
    assert all(r.kind == "object" and not r.iscrowd for s in scenes for r in s.regions)


def test_lvis_finds_v05_images_in_a_coco_2017_folder(shared_data):
    src = LvisSource(shared_data / "lvis/lvis_val_100.json", images=shared_data / "coco/val2017", skip_bad=True)
    scenes = list(src)
    assert sorted(s.image_id for s in scenes) == [223747, 346638, 359937]
    assert all(s.path is not None and s.path.name == f"{s.image_id:012d}.jpg" for s in scenes)
    assert src.problems.skipped == 97  # every other image is missing: counted, not dropped silently


def test_exclusion_is_counted(shared_data):
    src = CocoSource(shared_data / "coco/annotations/instances_train2017_subset.json", exclude=[98304, 131074])
    ids = [s.image_id for s in src]
    assert 98304 not in ids and 131074 not in ids and len(ids) == 3
    assert src.excluded == 2


# -- synthetic files -----------------------------------------------------------------------------

H, W = 20, 30


def rle(x0, y0, x1, y1):
    return box_mask(H, W, x0, y0, x1, y1)


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def paco_like() -> dict:
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": W, "height": H, "neg_category_ids": [3],
                    "not_exhaustive_category_ids": []}],
        "categories": [{"id": 1, "name": "mug"}, {"id": 2, "name": "mug:handle"}, {"id": 3, "name": "car"}],
        "part_categories": [{"id": 50, "name": "body"}],
        "attributes": [{"id": 0, "name": "red"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "segmentation": rle(2, 2, 20, 18), "bbox": [2, 2, 18, 16],
             "obj_ann_id": 10, "attribute_ids": [0]},
            {"id": 11, "image_id": 1, "category_id": 2, "segmentation": rle(20, 5, 25, 12), "obj_ann_id": 10},
            {"id": 12, "image_id": 1, "category_id": 50, "segmentation": rle(2, 2, 20, 18), "obj_ann_id": 10},
        ],
    }


def test_paco_parts_link_to_their_object(tmp_path):
    scene = next(iter(PacoSource(write(tmp_path / "paco.json", paco_like()))))
    mug, handle, body = scene.region(10), scene.region(11), scene.region(12)
    assert mug.kind == "object" and mug.attributes == {"attributes": ["red"]}
    assert handle.kind == "part" and handle.parent_id == 10 and handle.category == "mug:handle"
    assert body.category == "mug:body"  # a part_categories id is written object:part
    assert handle.bbox == masks.bbox(handle.rle)  # no bbox given: derived from the mask
    assert scene.absent == {"car"}


def test_coco_plus_parts_file(tmp_path):
    data = paco_like()
    objects = {**data, "annotations": data["annotations"][:1], "part_categories": []}
    parts = {**data, "annotations": data["annotations"][1:]}
    src = CocoSource(write(tmp_path / "i.json", objects), parts=[write(tmp_path / "p.json", parts)],
                     exhaustive=False)
    scene = next(iter(src))
    assert [r.id for r in scene.parts] == [11, 12]
    assert scene.absent == {"car"}


def ann_file(tmp_path, **change) -> Path:
    data = paco_like()
    data["annotations"] = [dict(data["annotations"][0], **change)]
    return write(tmp_path / "bad.json", data)


@pytest.mark.parametrize(("change", "message"), [
    ({"category_id": 999}, "annotation 10: unknown category id 999"),
    ({"segmentation": [[1, 2, 3, 4, 5, 6, 7]]}, "annotation 10: polygon #0 has an odd number of coordinates"),
    ({"segmentation": {"size": [H + 1, W], "counts": "0"}}, "annotation 10: RLE size is 21×30 but the image"),
    ({"image_id": 5}, "annotation 10: names image 5, which is not in 'images'"),
])
def test_bad_annotations_name_the_file_and_annotation(tmp_path, change, message):
    path = ann_file(tmp_path, **change)
    with pytest.raises(InputError) as info:
        list(PacoSource(path))
    assert str(info.value).startswith(f"{path}: {message}")
    # With skip_bad the same annotation is skipped and counted, the rest is read.
    src = PacoSource(path, skip_bad=True)
    scenes = list(src)
    assert src.problems.skipped == 1
    assert str(src.problems.items[0]).startswith(f"{path}: {message}")
    assert all(10 not in s for s in scenes)


def test_wrong_field_type_names_the_annotation(tmp_path):
    path = ann_file(tmp_path, bbox="wide")
    with pytest.raises(InputError, match=r"bad.json: annotation 10 field 'bbox': unexpected content"):
        PacoSource(path)


def test_part_with_a_missing_parent(tmp_path):
    data = paco_like()
    data["annotations"][1]["obj_ann_id"] = 77
    path = write(tmp_path / "p.json", data)
    with pytest.raises(InputError, match="annotation 11: part names parent object 77, which does not exist"):
        list(PacoSource(path))
    src = PacoSource(path, skip_bad=True)
    scene = next(iter(src))
    assert 11 not in scene and 12 in scene and src.problems.skipped == 1


def test_corrupt_json_names_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"images": [\n  {"id": 1,, "width": 3}]}')
    with pytest.raises(InputError, match=r"broken.json: line 2 column \d+: not valid JSON"):
        CocoSource(path)


def test_missing_file_and_missing_image(tmp_path):
    with pytest.raises(InputError, match="nope.json: file not found"):
        CocoSource(tmp_path / "nope.json")
    path = write(tmp_path / "p.json", paco_like())
    (tmp_path / "imgs").mkdir()
    with pytest.raises(InputError, match="image 1: image file .*a.jpg not found") as info:
        list(PacoSource(path, images=tmp_path / "imgs"))
    assert info.value.hint and "--images" in info.value.hint


def test_degenerate_polygon_is_repaired_and_recorded(tmp_path):
    path = ann_file(tmp_path, segmentation=[[1, 1, 2, 2], [2, 2, 10, 2, 10, 10, 2, 10]])
    src = PacoSource(path)
    scene = next(iter(src))
    assert scene.region(10).area == 64
    assert src.problems.repairs == 1 and "dropped polygon #0" in src.problems.items[0].message


def test_annotation_without_segmentation_is_recorded(tmp_path):
    src = PacoSource(ann_file(tmp_path, segmentation=[]))
    assert 10 not in next(iter(src))
    assert "no segmentation" in src.problems.items[0].message


def test_registry_opens_every_coco_family_format(shared_data):
    path = shared_data / "lvis/lvis_val_100.json"
    assert isinstance(open_source("lvis", path), LvisSource)
    assert {"coco", "custom", "lvis", "paco", "panoptic", "pascal-part", "toyworld"} <= set(FORMATS)
    with pytest.raises(ConfigError, match="unknown source format 'nope'"):
        open_source("nope", path)
    with pytest.raises(ConfigError, match="does not take --masks"):
        open_source("lvis", path, masks=Path("x"))


def test_a_skipped_annotation_never_becomes_an_absence_fact(tmp_path):
    data = paco_like()
    data["annotations"][0]["segmentation"] = [[1, 2, 3, 4, 5, 6, 7]]  # the mug is bad
    path = write(tmp_path / "p.json", {**data, "annotations": data["annotations"][:1]})
    scene = next(iter(CocoSource(path, skip_bad=True)))
    assert "mug" not in scene.absent and "car" in scene.absent
    data["annotations"][0]["category_id"] = 999  # unknown class: it could be anything
    path = write(tmp_path / "q.json", {**data, "annotations": data["annotations"][:1]})
    scene = next(iter(CocoSource(path, skip_bad=True)))
    assert scene.absent == {"car"}  # only the explicit neg_category_ids remain


def test_problems_are_counted_once_per_pass(tmp_path):
    src = PacoSource(ann_file(tmp_path, category_id=999), skip_bad=True)
    list(src)
    list(src)
    assert src.problems.skipped == 1


def test_each_file_reads_its_own_negatives_with_its_own_category_ids(tmp_path):
    data = paco_like()
    objects = {**data, "annotations": data["annotations"][:1], "part_categories": [],
               "categories": [{"id": 1, "name": "mug"}, {"id": 3, "name": "car"}]}
    # The parts file reuses id 3 for another category and lists its own negatives.
    image = dict(data["images"][0], neg_category_ids=[4])
    parts = {"images": [image], "annotations": data["annotations"][1:2],
             "categories": [{"id": 2, "name": "mug:handle"}, {"id": 3, "name": "mug:lid"},
                            {"id": 4, "name": "mug:spout"}]}
    src = CocoSource(write(tmp_path / "i.json", objects), parts=[write(tmp_path / "p.json", parts)],
                     exhaustive=False)
    scene = next(iter(src))
    assert scene.absent == {"car", "mug:spout"}


def test_a_part_category_id_that_is_also_an_object_id(tmp_path):
    data = paco_like()
    # part_categories and categories number independently: id 1 is "mug" there and "handle" here.
    data["part_categories"] = [{"id": 1, "name": "handle"}, {"id": 50, "name": "body"}]
    data["annotations"][1]["category_id"] = 1
    scene = next(iter(PacoSource(write(tmp_path / "p.json", data))))
    assert scene.region(11).category == "mug:handle"
    assert scene.region(10).category == "mug"  # the object keeps its own category


# -- QA findings: wrong formats, parts without an object, unknown ids, sizes, hints ------------------


def test_a_file_of_another_format_is_refused_with_the_right_format_named(shared_data):
    coco = shared_data / "coco/annotations/instances_val2017_subset.json"
    with pytest.raises(InputError, match="does not look like LVIS") as info:
        LvisSource(coco)
    assert "format 'coco'" in info.value.hint and "--source coco" in info.value.hint
    with pytest.raises(InputError, match="looks like an LVIS file") as info:
        CocoSource(shared_data / "lvis/lvis_val_100.json")
    assert "--source lvis" in info.value.hint
    with pytest.raises(InputError, match="is a COCO panoptic file") as info:
        CocoSource(shared_data / "coco_panoptic/panoptic_examples.json")
    assert "--source panoptic" in info.value.hint
    detection = shared_data / "coco_panoptic/panoptic_coco_detection_format.json"
    for cls in (CocoSource, CustomCocoSource):
        with pytest.raises(InputError, match="stuff, but no category says 'isthing'") as info:
            cls(detection)
        assert "--source panoptic" in info.value.hint
    # Legitimate files of each format still open.
    assert len(CocoSource(coco)) == 5 and len(LvisSource(shared_data / "lvis/lvis_val_100.json")) == 100
    assert len(PacoSource(shared_data / "lvis/lvis_val_100.json")) == 100
    assert len(CustomCocoSource(shared_data / "lvis/lvis_val_100.json")) == 100  # custom assumes no absence


def test_paco_accepts_a_file_with_parts_but_no_lvis_fields(tmp_path):
    data = paco_like()
    data["images"] = [{k: v for k, v in data["images"][0].items() if "category_ids" not in k}]
    assert 11 in next(iter(PacoSource(write(tmp_path / "p.json", data))))
    del data["part_categories"]
    for ann in data["annotations"]:
        del ann["obj_ann_id"]
    with pytest.raises(InputError, match="does not look like PACO"):
        PacoSource(write(tmp_path / "q.json", data))


def test_a_file_without_images_is_an_error(tmp_path):
    for content in ({}, {"images": [], "annotations": []}):
        with pytest.raises(InputError, match=r"empty.json: no images in this file") as info:
            CocoSource(write(tmp_path / "empty.json", content))
        assert info.value.hint


def test_a_part_file_annotation_must_name_its_object(tmp_path):
    data = paco_like()
    objects = {**data, "annotations": data["annotations"][:1], "part_categories": []}
    parts = {**data, "annotations": [{k: v for k, v in data["annotations"][1].items() if k != "obj_ann_id"}]}
    files = write(tmp_path / "i.json", objects), write(tmp_path / "p.json", parts)
    with pytest.raises(InputError, match=r"p.json: annotation 11: annotation in a parts file names no object") as info:
        CocoSource(files[0], parts=[files[1]], exhaustive=False)
    assert "obj_ann_id" in info.value.hint
    src = CocoSource(files[0], parts=[files[1]], exhaustive=False, skip_bad=True)
    assert [r.id for r in next(iter(src)).regions] == [10] and src.problems.skipped == 1


def test_unknown_absence_ids_are_reported_naming_image_and_id(tmp_path):
    data = paco_like()
    data["images"][0]["neg_category_ids"] = [3, 999]
    data["images"][0]["not_exhaustive_category_ids"] = [998]
    src = CustomCocoSource(write(tmp_path / "c.json", data))
    scene = next(iter(src))
    assert scene.absent == {"car"}
    assert [str(p) for p in src.problems.items] == [
        f"{tmp_path / 'c.json'}: image 1: neg_category_ids lists unknown category id 999; ignored",
        f"{tmp_path / 'c.json'}: image 1: not_exhaustive_category_ids lists unknown category id 998; ignored"]
    assert src.problems.skipped == 0


def test_an_image_of_another_size_than_its_record(tmp_path):
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (W + 5, H)).save(tmp_path / "imgs" / "a.jpg")
    path = write(tmp_path / "p.json", paco_like())
    with pytest.raises(InputError, match=r"image 1: image file .*a.jpg is 35×20 but the record says 30×20") as info:
        list(PacoSource(path, images=tmp_path / "imgs"))
    assert "width and height" in info.value.hint
    src = PacoSource(path, images=tmp_path / "imgs", skip_bad=True)
    assert list(src) == [] and src.problems.skipped == 1
    Image.new("RGB", (W, H)).save(tmp_path / "imgs" / "a.jpg")
    assert len(list(PacoSource(path, images=tmp_path / "imgs"))) == 1


@pytest.mark.parametrize("change", [
    {"image_id": 5},
    {"segmentation": "2 2 20 2 20 18"},
    {"segmentation": [["2", "2", "20", "2", "20", "18"]]},
    {"segmentation": {"size": [H, W], "counts": [3, 4]}},
    {"iscrowd": "no"},
])
def test_bad_annotations_come_with_a_hint(tmp_path, change):
    with pytest.raises(InputError, match="annotation 10") as info:
        list(PacoSource(ann_file(tmp_path, **change)))
    assert info.value.hint


def test_a_category_both_annotated_and_negative_has_a_hint(tmp_path):
    data = paco_like()
    data["images"][0]["neg_category_ids"] = [1]
    with pytest.raises(InputError, match=r"image 1: categories both annotated and listed as absent: \['mug'\]") as info:
        list(PacoSource(write(tmp_path / "p.json", data)))
    assert "neg_category_ids" in info.value.hint


def test_a_huge_polygon_is_clipped_and_reported(tmp_path):
    src = PacoSource(ann_file(tmp_path, segmentation=[[2, 2, 1e6, 2, 1e6, 10, 2, 10]]))
    assert next(iter(src)).region(10).area == (W - 2) * 8
    assert [str(p) for p in src.problems.items] == [
        f"{tmp_path / 'bad.json'}: annotation 10: polygon #0 reaches (1e+06, 2), outside the 30×20 image; "
        "only its part inside the image is kept"]
