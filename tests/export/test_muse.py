"""MUSE / PixelLM export: {seg} counts, exact masks, no-target skipped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from groundv import masks
from groundv.errors import ConfigError
from groundv.export import EXPORTERS, get_exporter
from groundv.export.muse import NO_TARGET, SEG, text_answer, write_muse


def samples(dataset: Path) -> list[dict]:
    files = sorted(dataset.glob("samples-*.jsonl"))
    return [json.loads(line) for p in files for line in p.read_text().splitlines() if line.strip()]


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
        for question, answers, text, sid in zip(record["questions"], record["answers"], record["text_answers"],
                                               record["sample_ids"], strict=True):
            sample = by_id[sid]
            assert question == sample["instruction"] and sample["image"]["id"] == record["image_id"]
            assert text.count(SEG) == len(answers) == len(sample["target_ids"]) >= 1
            multi += len(answers) > 1
            got = np.zeros(sample["mask"]["size"], dtype=np.uint8)
            for ann in answers:
                assert ann["category_name"] and len(ann["bbox"]) == 4
                got |= masks.decode(ann["segmentation"])
            assert np.array_equal(got, masks.decode(sample["mask"]))
            seen += 1
    assert seen == report.written and multi


def test_refuses_non_empty_out(dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(ConfigError):
        write_muse(dataset, tmp_path)
    write_muse(dataset, tmp_path, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "muse.json"]
