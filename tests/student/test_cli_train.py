"""groundv train → groundv predict with the trained model → groundv eval."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from groundv.benchmarks.dataset import read_dataset
from groundv.cli import app
from groundv.eval import write_jsonl

runner = CliRunner()


def test_train_then_predict_then_eval(toy_dataset, tmp_path):
    model = tmp_path / "model"
    args = ["train", "--data", str(toy_dataset), "--out", str(model), "--steps", "3", "--batch-size", "4",
            "--width", "4", "--text", "hashed", "--pretrain-steps", "2", "--threads", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (model / "model.pt").is_file() and (model / "pretrained" / "pretrain.json").is_file()
    info = orjson.loads((model / "config.json").read_bytes())
    assert info["net"]["text"] == "hashed" and len(info["loss"]) == 3 and info["init"]

    again = runner.invoke(app, args)  # a finished model is not overwritten silently
    assert again.exit_code == 2 and "already holds a trained model" in again.output

    items = tmp_path / "items.jsonl"
    write_jsonl(read_dataset([toy_dataset], split="all"), items)
    preds = tmp_path / "preds.jsonl"
    result = runner.invoke(app, ["predict", "--model", str(model), "--items", str(items), "--images",
                                 str(toy_dataset.parent / "world" / "images"), "--out", str(preds)])
    assert result.exit_code == 0, result.output
    scored = runner.invoke(app, ["eval", "--items", str(items), "--predictions", str(preds), "--protocol", "gres",
                                 "--json"])
    assert scored.exit_code == 0, scored.output
    assert orjson.loads(scored.stdout)["count"] == len(items.read_bytes().splitlines())


def test_train_refuses_an_unknown_text_encoder(toy_dataset, tmp_path):
    result = runner.invoke(app, ["train", "--data", str(toy_dataset), "--out", str(tmp_path / "m"), "--text", "bert"])
    assert result.exit_code == 2 and "unknown text encoder 'bert'" in result.output


def test_an_interrupted_train_says_so_and_resumes_from_its_checkpoint(toy_dataset, tmp_path, monkeypatch):
    import functools

    import groundv.student.train as train_module

    monkeypatch.setattr(train_module, "TrainConfig", functools.partial(train_module.TrainConfig, checkpoint_every=2))
    lr_factor = train_module.lr_factor

    def interrupted_at_step_3(step: int, steps: int) -> float:
        if step == 3:  # after the checkpoint of step 2 was written
            raise KeyboardInterrupt
        return lr_factor(step, steps)

    model = tmp_path / "model"
    args = ["train", "--data", str(toy_dataset), "--out", str(model), "--steps", "4", "--batch-size", "4",
            "--width", "4", "--text", "hashed", "--threads", "1"]
    monkeypatch.setattr(train_module, "lr_factor", interrupted_at_step_3)
    result = runner.invoke(app, args)
    assert result.exit_code == 130
    assert "interrupted: the last checkpoint in" in result.output and "run the same command" in result.output
    assert (model / "checkpoint.pt").is_file() and not (model / "model.pt").is_file()

    monkeypatch.setattr(train_module, "lr_factor", lr_factor)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "resuming from step 2 of 4" in result.output
    assert len(orjson.loads((model / "config.json").read_bytes())["loss"]) == 4
