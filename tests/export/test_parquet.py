"""Parquet export, read back with pyarrow (what datasets.load_dataset("parquet", ...) uses)."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
from pycocotools import mask as cocomask

from groundv.errors import MissingDependency
from groundv.export.parquet import write_parquet
from groundv.store import iter_samples

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")




def test_rows_are_the_samples(dataset, tmp_path):
    report = write_parquet(dataset, tmp_path / "hf")
    samples = list(iter_samples(dataset))
    assert report.written == len(samples) and report.skipped == [] and report.files == ["samples.parquet"]
    table = pq.read_table(tmp_path / "hf" / "samples.parquet")
    schema = table.schema
    assert schema.field("target_ids").type == pa.list_(pa.int64())
    assert schema.field("image_id").type == pa.int64()
    assert schema.field("no_target").type == pa.bool_()
    assert schema.field("mask_counts").type == pa.string()
    rows = table.to_pylist()
    assert len(rows) == len(samples)
    for row, sample in zip(rows, samples, strict=True):
        assert row["id"] == sample["id"] and row["image_id"] == sample["image"]["id"]
        assert row["file_name"] == sample["image"]["file_name"]
        assert (row["width"], row["height"]) == (sample["image"]["width"], sample["image"]["height"])
        for key in ("category", "subtype", "level", "instruction", "response", "target_ids", "no_target"):
            assert row[key] == sample[key], key
        assert row["teacher"] == sample["teacher"]["name"]
        got = cocomask.decode({"size": row["mask_size"], "counts": row["mask_counts"].encode()})
        want = cocomask.decode({"size": sample["mask"]["size"], "counts": sample["mask"]["counts"].encode()})
        np.testing.assert_array_equal(got, want)
        assert got.any() != row["no_target"]


def test_missing_pyarrow_names_the_extra(dataset, tmp_path, monkeypatch):
    real = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(MissingDependency) as info:
        write_parquet(dataset, tmp_path / "hf")
    assert "groundv[parquet]" in (info.value.hint or "")
    assert not (tmp_path / "hf").exists()
