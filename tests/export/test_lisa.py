"""LISA ReasonSeg-style export: round trip through a re-implementation of LISA's get_mask_from_json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from groundv import masks
from groundv.errors import ConfigError
from groundv.export import EXPORTERS, get_exporter
from groundv.export.lisa import is_sentence, write_lisa

cv2 = pytest.importorskip("cv2")




@pytest.fixture(scope="module")
def exported(dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("lisa-out") / "out"
    return out, write_lisa(dataset, out)


def samples(dataset: Path) -> list[dict]:
    files = sorted(dataset.glob("samples-*.jsonl"))
    return [json.loads(line) for p in files for line in p.read_text().splitlines() if line.strip()]


def get_mask_from_json(path: Path, height: int, width: int) -> np.ndarray:
    """LISA's utils/data_processing.py get_mask_from_json (FORMATS.md §9)."""
    anno = json.loads(path.read_text(encoding="utf-8"))
    mask = np.zeros((height, width), dtype=np.uint8)
    scored = []
    for shape in anno["shapes"]:
        if shape["label"].lower() == "flag":
            continue
        points = np.array([shape["points"]], dtype=np.int32)
        tmp = np.zeros((height, width), dtype=np.uint8)
        cv2.polylines(tmp, points, True, 1, 1)
        cv2.fillPoly(tmp, points, 1)
        scored.append((tmp.sum(), shape["label"], points))
    for _, label, points in sorted(scored, key=lambda t: t[0], reverse=True):
        cv2.fillPoly(mask, points, 255 if "ignore" in label.lower() else 1)
    return mask


def test_registered() -> None:
    assert EXPORTERS["lisa"] == "groundv.export.lisa:write_lisa"
    assert get_exporter("lisa") is write_lisa


def test_round_trip(dataset: Path, exported) -> None:
    out, report = exported
    all_samples = samples(dataset)
    assert report.written == len(all_samples) and not report.skipped
    listed = (out / "groundv_lisa.txt").read_text().split()
    assert listed == [s["id"] for s in all_samples]
    ious, no_target = [], 0
    for sample in all_samples:
        h, w = sample["mask"]["size"]
        record = json.loads((out / f"{sample['id']}.json").read_text())
        assert record["text"] == [sample["instruction"]] and isinstance(record["is_sentence"], bool)
        assert (out / f"{sample['id']}.jpg").is_symlink() and (out / f"{sample['id']}.jpg").resolve().is_file()
        got = get_mask_from_json(out / f"{sample['id']}.json", h, w)
        assert set(np.unique(got)) <= {0, 1}
        if sample["no_target"]:
            no_target += 1
            assert record["shapes"] == [] and not got.any()
            continue
        for shape in record["shapes"]:
            assert shape["label"] == "target" and shape["shape_type"] == "polygon" and len(shape["points"]) >= 3
            assert shape["image_name"] == f"{sample['id']}.jpg"
        if masks.area(sample["mask"]) > 100:
            ious.append(masks.iou(sample["mask"], masks.encode(got)))
    assert no_target and ious
    assert min(ious) >= 0.9, min(ious)


def test_copy_images(dataset: Path, tmp_path: Path) -> None:
    report = write_lisa(dataset, tmp_path / "out", copy_images=True)
    jpgs = list((tmp_path / "out").glob("*.jpg"))
    assert len(jpgs) == report.written and not any(p.is_symlink() for p in jpgs)


def test_refuses_non_empty_out(dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(ConfigError):
        write_lisa(dataset, tmp_path)
    assert write_lisa(dataset, tmp_path, force=True).written
    assert (tmp_path / "keep.txt").read_text() == "x"


def test_never_writes_outside(dataset: Path, tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "manifest.json").write_bytes((dataset / "manifest.json").read_bytes())
    sample = samples(dataset)[0]
    bad = dict(sample, id="../escaped")
    (ds / "samples-00000.jsonl").write_text(json.dumps(bad) + "\nnot json\n" + json.dumps(sample) + "\n")
    report = write_lisa(ds, tmp_path / "out")
    assert report.written == 1 and len(report.skipped) == 2
    assert not (tmp_path / "escaped.json").exists() and not (tmp_path / "escaped.jpg").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "out"]


def test_is_sentence_rule() -> None:
    assert is_sentence({"category": "reasoning", "instruction": "Segment it."})
    assert not is_sentence({"category": "part", "instruction": "the handle of the mug"})
    assert is_sentence({"category": "part", "instruction": "What could I hold the mug by?"})
    long = "segment every mug and every chair that is on the left"
    assert is_sentence({"category": "multi_object", "instruction": long})
