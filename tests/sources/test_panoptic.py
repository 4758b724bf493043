"""COCO panoptic: JSON + PNG segment maps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from groundv import masks
from groundv.errors import InputError
from groundv.sources import open_source
from groundv.sources.panoptic import PanopticSource, segment_ids

CATEGORIES = [
    {"id": 1, "name": "person", "isthing": 1},
    {"id": 2, "name": "dog", "isthing": 1},
    {"id": 3, "name": "cat", "isthing": 1},
    {"id": 100, "name": "sky", "isthing": 0},
]
# Ids whose G and B channels are not 0: computed in uint8, 256·G and 256²·B would wrap to 0.
PERSON, DOG, SKY = 1 + 256 * 2 + 65536 * 3, 7 + 256 * 200, 255 + 256 * 255 + 65536 * 255


def id_map(h: int = 6, w: int = 8) -> np.ndarray:
    ids = np.zeros((h, w), dtype=np.uint32)
    ids[:2, :] = SKY
    ids[3:5, 1:4] = PERSON
    ids[3:6, 5:7] = DOG
    return ids  # the rest (row 2, ...) is void


def write_png(path: Path, ids: np.ndarray) -> None:
    rgb = np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb, "RGB").save(path)


def segments(ids: np.ndarray) -> list[dict]:
    out = []
    for seg_id, cat, crowd in ((PERSON, 1, 0), (DOG, 2, 1), (SKY, 100, 0)):
        area = int((ids == seg_id).sum())
        out.append({"id": seg_id, "category_id": cat, "iscrowd": crowd, "area": area,
                    "bbox": list(masks.bbox(masks.encode(ids == seg_id)))})
    return out


def write_dataset(tmp_path: Path, *, ids: np.ndarray | None = None, segs: list[dict] | None = None,
                  size: tuple[int, int] | None = None) -> Path:
    """panoptic_tiny.json + panoptic_tiny/000000000007.png in tmp_path; returns the JSON."""
    ids = id_map() if ids is None else ids
    h, w = size or ids.shape
    data = {
        "images": [{"id": 7, "file_name": "000000000007.jpg", "width": w, "height": h}],
        "annotations": [{"image_id": 7, "file_name": "000000000007.png",
                         "segments_info": segments(ids) if segs is None else segs}],
        "categories": CATEGORIES,
    }
    path = tmp_path / "panoptic_tiny.json"
    path.write_text(json.dumps(data))
    write_png(tmp_path / "panoptic_tiny" / "000000000007.png", ids)
    return path


# -- real data -----------------------------------------------------------------------------------


def real_source(shared_data: Path, **options) -> PanopticSource:
    root = shared_data / "coco_panoptic"
    return PanopticSource(root / "panoptic_examples.json", masks=root / "panoptic_val2017",
                          images=root / "val2017", **options)


def test_real_sample_segments_match_the_json_exactly(shared_data):
    src = real_source(shared_data)
    raw = json.loads((shared_data / "coco_panoptic/panoptic_examples.json").read_text())
    info = {(a["image_id"], s["id"]): s for a in raw["annotations"] for s in a["segments_info"]}
    cats = {c["id"]: c for c in raw["categories"]}
    scenes = {s.image_id: s for s in src}
    assert len(src) == 2 and not src.problems.items
    assert {k: len(s.regions) for k, s in scenes.items()} == {142238: 18, 439180: 32}
    for scene in scenes.values():
        assert scene.path is not None and scene.path.is_file()
        for r in scene.regions:
            seg = info[scene.image_id, r.id]
            assert r.area == seg["area"]  # the PNG's pixel count, exactly
            assert r.bbox == tuple(float(v) for v in seg["bbox"]) == masks.bbox(r.rle)
            assert r.kind == ("object" if cats[seg["category_id"]]["isthing"] else "stuff")
            assert r.category == cats[seg["category_id"]]["name"] and r.iscrowd == bool(seg["iscrowd"])
        # A partition: no pixel belongs to two segments.
        assert masks.area(scene.union_mask(r.id for r in scene.regions)) == sum(r.area for r in scene.regions)
    assert [len(s.stuff) for s in scenes.values()] == [3, 4]
    assert sum(r.iscrowd for s in scenes.values() for r in s.regions) == 3


def test_real_sample_absence_is_every_thing_class_not_present(shared_data):
    src = real_source(shared_data)
    raw = json.loads((shared_data / "coco_panoptic/panoptic_examples.json").read_text())
    things = {c["name"] for c in raw["categories"] if c["isthing"]}
    for scene in src:
        present_things = {r.category for r in scene.objects}
        assert scene.absent == things - present_things
        assert not scene.absent & {r.category for r in scene.stuff}


def test_segment_ids_are_unique_only_within_an_image(shared_data):
    scenes = list(real_source(shared_data))
    shared_ids = {r.id for r in scenes[0].regions} & {r.id for r in scenes[1].regions}
    assert 3937500 in shared_ids  # a person in both images


def test_missing_default_png_folder_hints_at_masks(shared_data):
    with pytest.raises(InputError) as exc:
        PanopticSource(shared_data / "coco_panoptic/panoptic_examples.json")
    assert "panoptic_examples" in str(exc.value) and "--masks" in exc.value.hint


def test_registry_opens_panoptic(shared_data):
    root = shared_data / "coco_panoptic"
    src = open_source("panoptic", root / "panoptic_examples.json", masks=root / "panoptic_val2017",
                      images=None, skip_bad=False)
    assert isinstance(src, PanopticSource) and len(list(src)) == 2


def test_exclusion_is_counted(shared_data):
    src = real_source(shared_data, exclude=[142238])
    assert [s.image_id for s in src] == [439180] and src.excluded == 1


# -- synthetic -----------------------------------------------------------------------------------


def test_segment_ids_do_not_wrap_in_uint8():
    rgb = np.array([[[255, 255, 255], [1, 2, 3]]], dtype=np.uint8)
    assert segment_ids(rgb).tolist() == [[256**3 - 1, 1 + 2 * 256 + 3 * 256**2]]


def test_tiny_dataset_with_default_png_folder(tmp_path):
    src = PanopticSource(write_dataset(tmp_path))
    (scene,) = list(src)
    ids = id_map()
    assert {r.id: r.area for r in scene.regions} == {PERSON: 6, DOG: 6, SKY: 16}
    assert [r.kind for r in scene.regions] == ["object", "object", "stuff"]
    assert scene.region(DOG).iscrowd and not scene.region(PERSON).iscrowd
    assert np.array_equal(masks.decode(scene.region(PERSON).rle), ids == PERSON)
    assert scene.absent == {"cat"}  # a thing with no segment; stuff is never listed
    assert scene.path is None and scene.file_name == "000000000007.jpg"


def test_missing_bbox_is_taken_from_the_mask(tmp_path):
    segs = segments(id_map())
    del segs[0]["bbox"]
    (scene,) = list(PanopticSource(write_dataset(tmp_path, segs=segs)))
    assert scene.region(PERSON).bbox == (1.0, 3.0, 3.0, 2.0)


def _no_png(tmp_path: Path) -> Path:
    path = write_dataset(tmp_path)
    (tmp_path / "panoptic_tiny" / "000000000007.png").unlink()
    return path


def _corrupt_png(tmp_path: Path) -> Path:
    path = write_dataset(tmp_path)
    (tmp_path / "panoptic_tiny" / "000000000007.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    return path


def _unknown_category(tmp_path: Path) -> Path:
    segs = segments(id_map())
    segs[1]["category_id"] = 999
    return write_dataset(tmp_path, segs=segs)


def _segment_without_pixels(tmp_path: Path) -> Path:
    extra = {"id": 4242, "category_id": 3, "iscrowd": 0, "area": 5, "bbox": [0, 0, 1, 1]}
    segs = [*segments(id_map()), extra]
    return write_dataset(tmp_path, segs=segs)


def _pixels_not_in_segments_info(tmp_path: Path) -> Path:
    return write_dataset(tmp_path, segs=segments(id_map())[:2])  # sky left out of segments_info


BAD = {
    # name: (builder, file named in the error, where, words of the message, skips with skip_bad)
    "missing png": (_no_png, "panoptic_tiny.json", "image 7", "not found", 1),
    "corrupt png": (_corrupt_png, "000000000007.png", "image 7", "cannot be read", 1),
    "png size": (lambda p: write_dataset(p, size=(5, 8)), "000000000007.png", "image 7", "8×6", 1),
    "unknown category": (_unknown_category, "panoptic_tiny.json", f"image 7 segment {DOG}",
                         "unknown category id 999", 1),
    "segment without pixels": (_segment_without_pixels, "panoptic_tiny.json", "image 7 segment 4242",
                               "no pixels", 1),
    "pixels not in segments_info": (_pixels_not_in_segments_info, "000000000007.png", "image 7",
                                    str(SKY), 1),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_names_file_and_record(tmp_path, case):
    build, file, where, words, skips = BAD[case]
    path = build(tmp_path)
    with pytest.raises(InputError) as exc:
        list(PanopticSource(path))
    assert exc.value.file is not None and exc.value.file.endswith(file)
    assert exc.value.where == where and words in exc.value.reason

    src = PanopticSource(path, skip_bad=True)
    scenes = list(src)
    assert src.problems.skipped == skips
    assert src.problems.items[0].where == where
    # An image with a skipped record keeps its other regions but claims nothing absent.
    assert all(not s.absent for s in scenes)


def test_segment_without_pixels_keeps_the_rest_with_skip_bad(tmp_path):
    src = PanopticSource(_segment_without_pixels(tmp_path), skip_bad=True)
    (scene,) = list(src)
    assert {r.id for r in scene.regions} == {PERSON, DOG, SKY}


def test_corrupt_json(tmp_path):
    path = tmp_path / "panoptic_bad.json"
    path.write_text('{"images": [], "annotations": [')
    (tmp_path / "panoptic_bad").mkdir()
    with pytest.raises(InputError) as exc:
        PanopticSource(path)
    assert exc.value.file == str(path) and "not valid JSON" in exc.value.reason


def test_not_panoptic_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[]")
    with pytest.raises(InputError, match="not a COCO panoptic file"):
        PanopticSource(path)


def test_annotation_for_unknown_image(tmp_path):
    path = write_dataset(tmp_path)
    data = json.loads(path.read_text())
    data["annotations"][0]["image_id"] = 8
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="names image 8"):
        PanopticSource(path)
    src = PanopticSource(path, skip_bad=True)
    assert list(src) == [] and src.problems.skipped == 2  # the stray record, then the bare image


def test_two_channel_pngs_get_a_conversion_hint(shared_data):
    root = shared_data / "coco_panoptic"
    src = PanopticSource(root / "panoptic_examples.json", masks=root / "panoptic_val2017_2ch")
    with pytest.raises(InputError) as exc:
        list(src)
    assert exc.value.where == "image 142238" and "2channels2panoptic" in exc.value.hint


def test_grey_png_is_refused(tmp_path):
    path = write_dataset(tmp_path)
    Image.fromarray(np.zeros((6, 8), np.uint8), "L").save(tmp_path / "panoptic_tiny" / "000000000007.png")
    with pytest.raises(InputError, match="expected an RGB panoptic PNG, got mode 'L'"):
        list(PanopticSource(path))
