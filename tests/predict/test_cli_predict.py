"""groundv predict: items in, the predictions contract out, readable by groundv eval."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from groundv.benchmarks.dataset import read_dataset
from groundv.cli import app
from groundv.eval import write_jsonl

runner = CliRunner()


def test_predict_writes_predictions_that_eval_scores(toy_dataset, tmp_path):
    items = tmp_path / "items.jsonl"
    write_jsonl(read_dataset([toy_dataset], split="all"), items)
    preds = tmp_path / "preds.jsonl"
    result = runner.invoke(app, ["predict", "--model", "largest", "--items", str(items), "--dataset", str(toy_dataset),
                                 "--out", str(preds)])
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in preds.read_bytes().splitlines()]
    assert len(lines) == len(items.read_bytes().splitlines())
    assert set(lines[0]) == {"id", "mask", "no_target"} and lines[0]["no_target"] is False
    scored = runner.invoke(app, ["eval", "--items", str(items), "--predictions", str(preds), "--protocol", "gres",
                                 "--json"])
    assert scored.exit_code == 0, scored.output
    assert orjson.loads(scored.stdout)["n_acc"] == 0.0  # largest never rejects


def test_predict_needs_exactly_one_image_source(toy_dataset, tmp_path):
    items = tmp_path / "items.jsonl"
    write_jsonl(read_dataset([toy_dataset], split="all"), items)
    result = runner.invoke(app, ["predict", "--model", "empty", "--items", str(items), "--out", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "--dataset DIR or --images DIR" in result.output


def test_predict_unknown_model_is_a_usage_error(toy_dataset, tmp_path):
    items = tmp_path / "items.jsonl"
    write_jsonl(read_dataset([toy_dataset], split="all"), items)
    result = runner.invoke(app, ["predict", "--model", "nope", "--items", str(items), "--dataset", str(toy_dataset),
                                 "--out", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "unknown model 'nope'" in result.output
