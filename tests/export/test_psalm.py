"""PSALM export, read back the way PSALM's RefCOCO_dataset does (FORMATS.md §12)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from pycocotools import mask as cocomask

from groundv.errors import ConfigError
from groundv.export.psalm import write_psalm
from groundv.export.psalm_train import COCO_THING_IDS
from groundv.store import iter_samples

ACCEPTED = set(COCO_THING_IDS) | set(range(len(COCO_THING_IDS)))


def psalm_mask(record):
    """OR of the anns' masks; all zero for anns == [] (PSALM#20)."""
    info = record["image_info"]
    mask = np.zeros((info["height"], info["width"]), np.uint8)
    for ann in record["anns"]:
        seg = ann["segmentation"]
        mask |= cocomask.decode({"size": seg["size"], "counts": seg["counts"].encode()})
    return mask


def test_round_trip(dataset, tmp_path):
    report = write_psalm(dataset, tmp_path / "p")
    samples = list(iter_samples(dataset))
    assert report.written == len(samples) and report.skipped == [] and report.files == ["psalm.json"]
    records = json.loads((tmp_path / "p" / "psalm.json").read_text())
    assert [r["id"] for r in records] == [s["id"] for s in samples]
    new_ids = {}
    for record, sample in zip(records, samples, strict=True):
        assert record["image"] == record["image_info"]["file_name"] == sample["image"]["file_name"]
        assert record["image_info"]["id"] == sample["image"]["id"]
        assert new_ids.setdefault(record["image_info"]["id"], record["new_img_id"]) == record["new_img_id"]
        (sent,) = record["instruction"]
        assert sent["sent"] == sent["raw"] == sample["instruction"] and sent["sent_id"] == 0 and sent["tokens"]
        assert (record["anns"] == []) == sample["no_target"]
        assert len(record["anns"]) == len(sample["target_ids"])
        for ann in record["anns"]:
            assert ann["image_id"] == sample["image"]["id"] and ann["iscrowd"] == 0
            assert ann["area"] == int(cocomask.area({"size": ann["segmentation"]["size"],
                                                     "counts": ann["segmentation"]["counts"].encode()}))
            assert {"id", "category_id", "bbox"} <= set(ann)
            assert ann["category_id"] in ACCEPTED  # gRefcoco_Dataset raises ValueError on any other id
        np.testing.assert_array_equal(psalm_mask(record), cocomask.decode(
            {"size": sample["mask"]["size"], "counts": sample["mask"]["counts"].encode()}))
    assert sorted(set(new_ids.values())) == list(range(len(new_ids)))


def test_corrupt_line_is_skipped_and_the_rest_exported(dataset, tmp_path):
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    shard = copy / "samples-00000.jsonl"
    lines = shard.read_text().splitlines()
    lines.insert(2, '{"id": "torn", "image": {"id"')
    shard.write_text("\n".join(lines) + "\n")
    report = write_psalm(copy, tmp_path / "p")
    assert report.written == len(lines) - 1
    assert len(report.skipped) == 1 and "line 3" in report.skipped[0][1]


def test_non_empty_out_refused(dataset, tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "x").write_text("x")
    with pytest.raises(ConfigError):
        write_psalm(dataset, tmp_path / "p")
