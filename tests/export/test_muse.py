"""MUSE / PixelLM export: {seg} counts, exact masks, no-target skipped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from groundv import masks
from groundv.errors import ConfigError
from groundv.export import EXPORTERS, get_exporter
from groundv.export.base import EXPORT_RECORD
from groundv.export.muse import NO_TARGET, SEG, text_answer, write_muse
from groundv.generate import generate
from groundv.sources.coco import CocoSource
from groundv.sources.toyworld import write_toyworld


def samples(dataset: Path) -> list[dict]:
    files = sorted(dataset.glob("samples-*.jsonl"))
    return [json.loads(line) for p in files for line in p.read_text().splitlines() if line.strip()]


def pixellm_mask(segmentation, height: int, width: int) -> np.ndarray:
    """The mask as PixelLM's MUSE loaders read it: ``frPyObjects`` on the dict, then decode."""
    return coco_mask.decode(coco_mask.frPyObjects(segmentation, height, width)).astype(np.uint8)


def test_registered() -> None:
    assert EXPORTERS["muse"] == "groundv.export.muse:write_muse"
    assert get_exporter("muse") is write_muse


def test_text_answer() -> None:
    assert text_answer(["mug"]) == "Sure, the mug {seg}."
    assert text_answer(["mug", "chair"]) == "Sure, the mug {seg} and the chair {seg}."
    assert text_answer(["a", "b", "c"]).count(SEG) == 3


def test_round_trip(dataset: Path, tmp_path: Path) -> None:
    report = write_muse(dataset, tmp_path / "out")
    records = json.loads((tmp_path / "out" / "muse.json").read_text())
    by_id = {s["id"]: s for s in samples(dataset)}
    negatives = {sid for sid, s in by_id.items() if s["no_target"]}
    assert negatives and {where.split()[-1] for reason, where in report.skipped if reason == NO_TARGET} == negatives
    assert report.written == len(by_id) - len(negatives) and len(report.skipped) == len(negatives)
    seen, multi = 0, 0
    for record in records:
        n = len(record["questions"])
        assert len(record["answers"]) == len(record["text_answers"]) == n
        assert {"id", "image_id", "file_name", "height", "width"} <= set(record)
        # PixelLM resamples a record with an empty ann_list and reads each entry's category_id.
        assert record["ann_list"] and all({"category_id", "category_name", "bbox"} <= set(a)
                                          for a in record["ann_list"])
        for question, answers, text, sid in zip(record["questions"], record["answers"], record["text_answers"],
                                               record["sample_ids"], strict=True):
            sample = by_id[sid]
            assert question == sample["instruction"] and sample["image"]["id"] == record["image_id"]
            assert text.count(SEG) == len(answers) == len(sample["target_ids"]) >= 1
            multi += len(answers) > 1
            got = np.zeros(sample["mask"]["size"], dtype=np.uint8)
            for ann in answers:
                assert ann["category_name"] and ann["rephrased_name"] and len(ann["bbox"]) == 4
                got |= pixellm_mask(ann["segmentation"], record["height"], record["width"])
            assert np.array_equal(got, masks.decode(sample["mask"]))
            seen += 1
    assert seen == report.written and multi


def test_refuses_non_empty_out(dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(ConfigError):
        write_muse(dataset, tmp_path)
    write_muse(dataset, tmp_path, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [EXPORT_RECORD, "keep.txt", "muse.json"]


def test_coco_2017_images_get_a_coco_url(tmp_path: Path) -> None:
    # PixelLM looks a file_name up in train2014 and a coco_url up in the URL's 2017 folder.
    world = write_toyworld(tmp_path / "world", 2, seed=1)
    (world / "images").rename(world / "val2017")
    source = CocoSource(world / "instances.json", images=world / "val2017", parts=[world / "parts.json"])
    generate(source, tmp_path / "data", teacher="rules")
    write_muse(tmp_path / "data", tmp_path / "out")
    records = json.loads((tmp_path / "out" / "muse.json").read_text())
    assert records and all("file_name" not in r for r in records)
    assert all(r["coco_url"].startswith("http://images.cocodataset.org/val2017/") for r in records)
