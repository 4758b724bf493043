"""groundv export --split test reads the reviewed test split (DIR/test.jsonl), edits included."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from groundv.cli import app
from groundv.errors import ConfigError
from groundv.export.base import ExportReport, read_samples
from groundv.review.reviews import ReviewLog
from groundv.split import make_test_split
from groundv.store import iter_samples

runner = CliRunner()


def test_export_split_test_takes_the_reviewed_split(dataset, tmp_path):
    copy = shutil.copytree(dataset, tmp_path / "ds")
    samples = list(iter_samples(copy))[:3]
    first, second, third = (s["id"] for s in samples)
    log = ReviewLog(copy)
    log.append({"sample": first, "reviewer": "ana", "action": "edit", "instruction": "Reviewed wording.",
                "response": "Reviewed."})
    for sid in (first, second):
        for who in ("ana", "bob"):
            log.append({"sample": sid, "reviewer": who, "action": "accept"})
    log.append({"sample": third, "reviewer": "ana", "action": "accept"})
    log.append({"sample": third, "reviewer": "bob", "action": "reject", "reasons": ["ambiguous"]})
    assert make_test_split(copy).kept == 2

    report = ExportReport("test", tmp_path)
    assert [s["id"] for s in read_samples(copy, report, split="test")] == [first, second]
    # the shards carry no split field: without test.jsonl nothing is in the test split, which is an
    # error (as in `groundv items`) whose hint says how to make the split, not an empty export
    (copy / "test.jsonl").rename(tmp_path / "aside.jsonl")
    with pytest.raises(ConfigError, match="no sample is in split 'test'") as error:
        list(read_samples(copy, report, split="test"))
    assert "groundv split" in (error.value.hint or "") and "--test-from-reviews" in (error.value.hint or "")
    result = runner.invoke(app, ["export", str(copy), "--format", "lisa", "--split", "test",
                                 "--out", str(tmp_path / "none")])
    assert result.exit_code != 0 and "no sample is in split" in result.output
    assert not (tmp_path / "none").exists()
    (tmp_path / "aside.jsonl").rename(copy / "test.jsonl")

    out = tmp_path / "g"
    result = runner.invoke(app, ["export", str(copy), "--format", "grefcoco", "--split", "test", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 samples written, 0 skipped" in result.output
    refs = json.loads((out / "grefs(unc).json").read_text())
    texts = {s["raw"] for r in refs for s in r["sentences"]}
    assert texts == {"Reviewed wording.", samples[1]["instruction"]}
