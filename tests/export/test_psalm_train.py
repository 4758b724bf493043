"""PSALM training export, read back the way PSALM's training path reads it (RefCOCO_dataset → COCO instance mapper)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as cocomask
from typer.testing import CliRunner

from groundv import masks
from groundv.cli import app
from groundv.errors import ConfigError
from groundv.export import EXPORTERS, get_exporter
from groundv.export.psalm import write_psalm
from groundv.export.psalm_train import (
    COCO_THING_IDS,
    CROWD_TARGET,
    NO_TARGET,
    PLACEHOLDER_CATEGORY,
    PSALM_TRAIN_FILE,
    write_psalm_train,
)
from groundv.generate import generate
from groundv.sources.coco import CocoSource
from groundv.sources.toyworld import write_toyworld
from groundv.store import iter_samples


def psalm_training_mask(record: dict) -> np.ndarray:
    """The OR of the instance masks PSALM's training path builds from ``anns`` (at full resolution).

    What matters of ``RefCOCO_dataset.__getitem__`` and ``COCOInstanceNewBaselineDatasetMapper.preprocess``
    with ``mask_format='polygon'``: the category-id check (``ValueError``), the ``iscrowd`` filter,
    ``annos[0]`` (``IndexError`` on no annotation), detectron2's ``PolygonMasks`` (a list of polygons
    of an even count ≥ 6 numbers, else ``ValueError``) and ``convert_coco_poly_to_mask``
    (``frPyObjects`` on an instance's polygons, ``decode``, ``any`` over them).
    """
    info = record["image_info"]
    height, width = info["height"], info["width"]
    accepted = set(COCO_THING_IDS) | set(range(80))
    for ann in record["anns"]:
        if ann["category_id"] not in accepted:
            raise ValueError(f"category id {ann['category_id']}")
    annos = [ann for ann in record["anns"] if ann.get("iscrowd", 0) == 0]
    _ = annos[0]  # IndexError when empty: the mapper reads annos[0] unconditionally
    mask = np.zeros((height, width), dtype=bool)
    for ann in annos:
        polygons = ann["segmentation"]
        if not isinstance(polygons, list) or not all(
                isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 for p in polygons):
            raise ValueError("Failed to use mask_format=='polygon' from the given annotations!")
        mask |= cocomask.decode(cocomask.frPyObjects(polygons, height, width)).any(axis=2)
    return mask


def by_id(dataset: Path) -> dict[str, dict]:
    return {s["id"]: s for s in iter_samples(dataset)}


def test_registered() -> None:
    assert EXPORTERS["psalm_train"] == "groundv.export.psalm_train:write_psalm_train"
    assert get_exporter("psalm_train") is write_psalm_train


def test_psalm_json_is_not_trainable(dataset: Path, tmp_path: Path) -> None:
    # Why this format exists: PSALM's training path rejects the evaluation file's RLE anns and anns: [].
    write_psalm(dataset, tmp_path / "p")
    records = json.loads((tmp_path / "p" / "psalm.json").read_text())
    with pytest.raises(ValueError, match="polygon"):
        psalm_training_mask(next(r for r in records if r["anns"]))
    with pytest.raises(IndexError):
        psalm_training_mask(next(r for r in records if not r["anns"]))


def test_round_trip_is_exact(dataset: Path, tmp_path: Path) -> None:
    report = write_psalm_train(dataset, tmp_path / "p")
    samples = by_id(dataset)
    negatives = {sid for sid, s in samples.items() if s["no_target"]}
    assert negatives and report.skipped == [(NO_TARGET, f"sample {sid}") for sid in samples if sid in negatives]
    assert report.written == len(samples) - len(negatives) and report.files == [PSALM_TRAIN_FILE]
    records = json.loads((tmp_path / "p" / PSALM_TRAIN_FILE).read_text())
    assert [r["id"] for r in records] == [sid for sid in samples if sid not in negatives]
    categories = set()
    for record in records:
        sample = samples[record["id"]]
        categories.add(sample["category"])
        assert record["image"] == record["image_info"]["file_name"] == sample["image"]["file_name"]
        (sent,) = record["instruction"]
        assert sent["sent"] == sample["instruction"]
        assert [a["id"] for a in record["anns"]] == sample["target_ids"]  # one instance per target
        assert all(a["iscrowd"] == 0 and a["area"] > 0 and len(a["bbox"]) == 4 for a in record["anns"])
        # The polygons give back the sample's mask exactly (the floor is IoU 1.0: see the module docstring).
        np.testing.assert_array_equal(psalm_training_mask(record), masks.decode(sample["mask"]).astype(bool))
    assert {"part", "multi_object", "reasoning", "multi_granularity"} <= categories


def test_parts_are_written_with_their_objects_category(dataset: Path, tmp_path: Path) -> None:
    write_psalm_train(dataset, tmp_path / "p")
    records = json.loads((tmp_path / "p" / PSALM_TRAIN_FILE).read_text())
    world = json.loads((dataset.parent / "world" / "parts.json").read_text())
    objects = json.loads((dataset.parent / "world" / "instances.json").read_text())["annotations"]
    object_category = {a["id"]: a["category_id"] for a in objects}
    part_object = {a["id"]: a["obj_ann_id"] for a in world["annotations"]}
    parts = [a for r in records for a in r["anns"] if a["id"] in part_object]
    assert parts and all(a["category_id"] == object_category[part_object[a["id"]]] for a in parts)
    assert all(a["category_id"] < 100 for a in parts)  # toy-world part ids (101..) are rejected by PSALM


def test_polygons_follow_pixel_edges_holes_included() -> None:
    ring = np.zeros((9, 9), dtype=np.uint8)
    ring[1:8, 1:8] = 1
    ring[3:6, 3:6] = 0  # a hole, with one pixel inside it
    ring[4, 4] = 1
    dots = np.zeros((6, 7), dtype=np.uint8)
    dots[0, 0] = dots[1, 1] = dots[5, 6] = dots[3, 2] = 1  # single pixels, touching diagonally
    rng = np.random.default_rng(7)
    noise = [(rng.random((23, 31)) < p).astype(np.uint8) for p in (0.1, 0.5, 0.9)]
    for bitmap in [ring, dots, *noise]:
        polygons = masks.to_coco_polygons(masks.encode(bitmap))
        got = cocomask.decode(cocomask.frPyObjects(polygons, *bitmap.shape)).any(axis=2)
        np.testing.assert_array_equal(got, bitmap.astype(bool))
        # On pixel edges (integers), not through pixel centres, where the fill would be a tie-break.
        assert all(v == int(v) for polygon in polygons for v in polygon)
    assert len(masks.to_coco_polygons(masks.encode(ring))) == 2  # the ring (hole spliced in) and the island
    assert masks.to_coco_polygons(masks.empty(4, 4)) == []


def _coco_world(tmp_path: Path) -> tuple[Path, Path]:
    world = write_toyworld(tmp_path / "world", 6, seed=2)
    source = CocoSource(world / "instances.json", images=world / "images", parts=[world / "parts.json"])
    generate(source, tmp_path / "ds", seed=1)
    return world, tmp_path / "ds"


def test_crowd_targets_are_skipped_and_rejected_categories_replaced(tmp_path: Path) -> None:
    world, ds = _coco_world(tmp_path)
    samples = by_id(ds)
    instances = json.loads((world / "instances.json").read_text())
    parts = json.loads((world / "parts.json").read_text())
    owner = {a["id"]: a["category_id"] for a in instances["annotations"]}
    owner |= {a["id"]: owner[a["obj_ann_id"]] for a in parts["annotations"]}
    targeted = [t for s in samples.values() for t in s["target_ids"] if t in owner]
    crowd = next(t for t in targeted if t not in {p["id"] for p in parts["annotations"]})
    rejected = next(owner[t] for t in targeted if owner[t] != owner[crowd])
    # After generation, mark one target a crowd region and move one category to an id PSALM rejects
    # (as COCO panoptic stuff, 92..200): the masks, so the samples, stay the same.
    for ann in instances["annotations"]:
        ann["iscrowd"] = int(ann["id"] == crowd)
        ann["category_id"] = 150 if ann["category_id"] == rejected else ann["category_id"]
    for category in instances["categories"]:
        category["id"] = 150 if category["id"] == rejected else category["id"]
    for image in instances["images"]:
        image["neg_category_ids"] = [150 if c == rejected else c for c in image["neg_category_ids"]]
    (world / "instances.json").write_text(json.dumps(instances))

    report = write_psalm_train(ds, tmp_path / "p")
    expected = {}
    for sid, s in samples.items():
        if crowd in s["target_ids"]:
            expected[sid] = CROWD_TARGET
        elif s["no_target"]:
            expected[sid] = NO_TARGET
    got = {where.split()[1]: reason for reason, where in report.skipped}
    assert got == expected and CROWD_TARGET in got.values()
    records = json.loads((tmp_path / "p" / PSALM_TRAIN_FILE).read_text())
    assert len(records) == report.written == len(samples) - len(expected)
    placeholders = 0
    for record in records:
        psalm_training_mask(record)  # none of them makes PSALM's loader fail
        sample = samples[record["id"]]
        for ann, target in zip(record["anns"], sample["target_ids"], strict=True):
            expected_id = PLACEHOLDER_CATEGORY if owner[target] == rejected else owner[target]
            assert ann["category_id"] == expected_id
            placeholders += owner[target] == rejected
    assert placeholders  # the rejected category's samples are kept, with the placeholder id


def test_coco_samples_are_exact(shared_data: Path, tmp_path: Path) -> None:
    coco = shared_data / "coco"
    annotations = coco / "annotations" / "instances_val2017_subset.json"
    # PSALM's 80 ids are COCO's own thing categories.
    assert tuple(sorted(c["id"] for c in json.loads(annotations.read_text())["categories"])) == COCO_THING_IDS
    generate(CocoSource(annotations, images=coco / "val2017"), tmp_path / "ds", seed=1)
    report = write_psalm_train(tmp_path / "ds", tmp_path / "p")
    samples = by_id(tmp_path / "ds")
    assert {reason for reason, _ in report.skipped} == {NO_TARGET}
    records = json.loads((tmp_path / "p" / PSALM_TRAIN_FILE).read_text())
    assert records and report.written == len(records)
    for record in records:
        np.testing.assert_array_equal(psalm_training_mask(record),
                                      masks.decode(samples[record["id"]]["mask"]).astype(bool))


def test_cli_and_non_empty_out(dataset: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", str(dataset), "--format", "psalm_train", "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / PSALM_TRAIN_FILE).is_file() and "skipped" in result.output
    with pytest.raises(ConfigError):
        write_psalm_train(dataset, tmp_path / "p")


def test_corrupt_line_is_skipped(dataset: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    with (copy / "samples-00000.jsonl").open("a") as handle:
        handle.write('{"id": "torn", "image": {"id"\n')
    report = write_psalm_train(copy, tmp_path / "p")
    assert sum(reason != NO_TARGET for reason, _ in report.skipped) == 1
