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


def test_predict_says_where_images_and_regions_come_from(toy_dataset, tmp_path):
    items = tmp_path / "items.jsonl"
    write_jsonl(read_dataset([toy_dataset], split="all"), items)
    base = ["predict", "--items", str(items), "--out", str(tmp_path / "p")]
    result = runner.invoke(app, [*base, "--model", "largest"])
    assert result.exit_code == 2 and "pass --dataset DIR" in result.output
    result = runner.invoke(app, [*base, "--model", "empty", "--dataset", str(toy_dataset), "--images", str(tmp_path)])
    assert result.exit_code == 2 and "pass one of them" in result.output


def test_predict_empty_needs_no_images(toy_dataset, tmp_path):
    items = tmp_path / "items.jsonl"
    count = write_jsonl(read_dataset([toy_dataset], split="all"), items)
    preds = tmp_path / "preds.jsonl"
    result = runner.invoke(app, ["predict", "--model", "empty", "--items", str(items), "--out", str(preds)])
    assert result.exit_code == 0, result.output
    assert len(preds.read_bytes().splitlines()) == count


def test_a_failed_predict_leaves_no_predictions_file(toy_dataset, tmp_path):
    lines = [orjson.loads(line) for line in _items(toy_dataset, tmp_path).read_bytes().splitlines()]
    lines[-1]["image"]["id"] = 987654  # not in the dataset: the run fails at the last batch
    items = tmp_path / "broken.jsonl"
    items.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    preds = tmp_path / "out" / "preds.jsonl"
    result = runner.invoke(app, ["predict", "--model", "largest", "--items", str(items), "--dataset", str(toy_dataset),
                                 "--out", str(preds), "--batch-size", "4"])
    assert result.exit_code == 2 and "987654" in result.output
    assert not preds.exists() and not any(preds.parent.iterdir())  # no empty or partial file, no temp file


def _items(dataset, tmp_path):
    items = tmp_path / "items.jsonl"
    write_jsonl(read_dataset([dataset], split="all"), items)
    return items


def test_predict_unknown_model_is_a_usage_error(toy_dataset, tmp_path):
    items = tmp_path / "items.jsonl"
    write_jsonl(read_dataset([toy_dataset], split="all"), items)
    result = runner.invoke(app, ["predict", "--model", "nope", "--items", str(items), "--dataset", str(toy_dataset),
                                 "--out", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "unknown model 'nope'" in result.output
