"""LISA ReasonSeg-style export: round trip through a re-implementation of LISA's get_mask_from_json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from groundv import masks
from groundv.errors import ConfigError
from groundv.export import EXPORTERS, get_exporter
from groundv.export.base import EXPORT_RECORD
from groundv.export.lisa import lisa_record, write_lisa

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
        # groundv instructions are sentences: LISA must use its long template, never "segment the {phrase}"
        assert record["text"] == [sample["instruction"]] and record["is_sentence"] is True
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


def test_every_instruction_is_a_sentence() -> None:
    # A short instruction is still a sentence: with is_sentence False, LISA would ask
    # "Can you segment the mark everything that is a table. in this image?"
    sample = {"category": "multi_object", "instruction": "Mark everything that is a table.",
              "mask": masks.empty(4, 4)}
    assert lisa_record(sample, "x.jpg")["is_sentence"] is True


def test_invalid_samples_are_skipped(dataset: Path, tmp_path: Path) -> None:
    good = samples(dataset)
    image = good[0]["image"]
    broken = [dict(good[0], id="a", target_ids="1,2"),
              dict(next(s for s in good if not s["no_target"]), id="b",
                   mask=masks.encode(np.ones((5, 5), dtype=np.uint8))),
              dict(next(s for s in good if not s["no_target"]), id="c", no_target=True),
              dict(good[0], id="d", category="bogus"),
              {k: v for k, v in good[1].items() if k != "image"} | {"id": "e"}]
    assert image["height"] != 5
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "manifest.json").write_bytes((dataset / "manifest.json").read_bytes())
    (ds / "samples-00000.jsonl").write_text("".join(json.dumps(s) + "\n" for s in [*broken, good[2]]))
    report = write_lisa(ds, tmp_path / "out")
    assert report.written == 1 and len(report.skipped) == 5
    assert {where for _, where in report.skipped} >= {"sample a", "sample b", "sample c", "sample d"}
    assert sorted(p.stem for p in (tmp_path / "out").glob("[!.]*.json")) == [good[2]["id"]]


def test_force_removes_the_earlier_export(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = write_lisa(dataset, out)
    (out / "mine.txt").write_text("x")  # not written by an export: kept
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "manifest.json").write_bytes((dataset / "manifest.json").read_bytes())
    (ds / "samples-00000.jsonl").write_text(json.dumps(samples(dataset)[0]) + "\n")
    second = write_lisa(ds, out, force=True)
    assert first.written > 1 and second.written == 1
    assert len(list(out.glob("*.jpg"))) == 1 and len(list(out.glob("[!.]*.json"))) == 1
    assert (out / "mine.txt").read_text() == "x"
    assert json.loads((out / EXPORT_RECORD).read_text())["files"] == sorted(second.files)


def test_refuses_to_write_into_the_dataset(dataset: Path, tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    ds.mkdir()
    for name in ("manifest.json", "samples-00000.jsonl"):
        (ds / name).write_bytes((dataset / name).read_bytes())
    with pytest.raises(ConfigError, match="dataset being read"):
        write_lisa(ds, ds, force=True)
    assert sorted(p.name for p in ds.iterdir()) == ["manifest.json", "samples-00000.jsonl"]
    with pytest.raises(ConfigError, match="inside the dataset being read"):
        write_lisa(ds, ds / "lisa")
    assert not (ds / "lisa").exists()
