"""Training: determinism by seed, checkpoints and resume, refusals; pre-training; the student predictor."""

from __future__ import annotations

import itertools

import orjson
import pytest
import torch
from PIL import Image

from groundv import masks
from groundv.errors import ConfigError, InputError
from groundv.predict import load_predictor
from groundv.sources.toyworld import ToyWorldSource
from groundv.student.predictor import StudentPredictor
from groundv.student.pretrain import PretrainConfig, SceneLabels, labels_from_datasets, pretrain
from groundv.student.train import MODEL, TrainConfig, lr_factor, train

TINY = TrainConfig(steps=6, batch_size=4, width=4, checkpoint_every=3, threads=1)


def weights(folder):
    return torch.load(folder / MODEL, weights_only=True)


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_weights_other_seed_other_weights(training_set, tmp_path):
    train(training_set, tmp_path / "a", TINY)
    train(training_set, tmp_path / "b", TINY)
    train(training_set, tmp_path / "c", TrainConfig(**{**TINY.__dict__, "seed": 1}))
    assert same(weights(tmp_path / "a"), weights(tmp_path / "b"))
    assert not same(weights(tmp_path / "a"), weights(tmp_path / "c"))
    info = orjson.loads((tmp_path / "a" / "config.json").read_bytes())
    assert len(info["loss"]) == 6 and info["records"] == len(training_set)
    assert not (tmp_path / "a" / "checkpoint.pt").exists()


def test_a_stopped_run_resumes_from_its_checkpoint_to_the_same_weights(training_set, tmp_path):
    train(training_set, tmp_path / "whole", TINY)

    def stop(step, steps, loss):
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(training_set, tmp_path / "stopped", TINY, progress=stop)
    assert (tmp_path / "stopped" / "checkpoint.pt").is_file()  # written after step 3
    steps: list[int] = []
    train(training_set, tmp_path / "stopped", TINY, progress=lambda step, total, loss: steps.append(step))
    assert steps == [4, 5, 6]
    assert same(weights(tmp_path / "whole"), weights(tmp_path / "stopped"))


def test_refusals(training_set, tmp_path):
    train(training_set, tmp_path / "m", TINY)
    with pytest.raises(ConfigError, match="already holds a trained model"):
        train(training_set, tmp_path / "m", TINY)
    train(training_set, tmp_path / "m", TINY, resume=False)  # --force starts over
    with pytest.raises(ConfigError, match="steps must be ≥ 1"):
        train(training_set, tmp_path / "x", TrainConfig(steps=0))
    with pytest.raises(ConfigError, match="no record"):
        train(training_set, tmp_path / "y", TINY, indices=[])


def test_a_checkpoint_of_other_settings_is_not_resumed(training_set, tmp_path):
    def stop(step, steps, loss):
        if step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(training_set, tmp_path / "m", TINY, progress=stop)
    with pytest.raises(ConfigError, match="other settings or data"):
        train(training_set, tmp_path / "m", TINY, indices=[0, 1, 2, 3, 4])


def test_learning_rate_warms_up_then_decays_to_five_percent():
    factors = [lr_factor(s, 100) for s in range(100)]
    assert factors[0] == pytest.approx(0.2) and factors[4] == pytest.approx(1.0)
    assert factors[-1] == pytest.approx(0.05, abs=0.01)
    assert all(a >= b for a, b in itertools.pairwise(factors[4:]))


def test_pretraining_labels_pixels_and_its_weights_start_a_training(toy_dataset, training_set, tmp_path):
    scenes = list(ToyWorldSource(toy_dataset.parent / "world"))
    labels = SceneLabels(scenes, [toy_dataset.parent / "world" / "images" / s.file_name for s in scenes],
                         height=24, width=32)
    assert labels.object_maps.shape == (5, 12, 16)
    assert set(labels.objects) == {r.category for s in scenes for r in s.objects}
    assert labels.object_maps.max() > 0 and labels.part_maps.max() > 0
    from_datasets = labels_from_datasets([toy_dataset], {s.image_id for s in scenes}, height=24, width=32)
    assert (from_datasets.object_maps == labels.object_maps).all()

    init = pretrain(labels, tmp_path / "pre", PretrainConfig(steps=3, batch_size=2, width=4, threads=1))
    info = orjson.loads((init / "pretrain.json").read_bytes())
    assert len(info["loss"]) == 3 and info["net"]["object_classes"] == len(labels.objects) + 1
    model = train(training_set, tmp_path / "m", TINY, init=init)
    started = torch.load(init / "pretrained.pt", weights_only=True)
    assert orjson.loads((model / "config.json").read_bytes())["init"] == info["weights"]
    assert started["seg_objects.weight"].shape == weights(model)["seg_objects.weight"].shape
    with pytest.raises(ConfigError, match="pre-trained with width 4"):
        train(training_set, tmp_path / "m2", TrainConfig(**{**TINY.__dict__, "width": 8}), init=init)


def test_student_predictor_answers_at_each_images_size(training_set, tmp_path):
    model = train(training_set, tmp_path / "m", TINY)
    student = load_predictor(model)
    assert isinstance(student, StudentPredictor)
    answer = student.predict(Image.new("RGB", (50, 30), (90, 140, 200)), "the red mug")
    assert masks.size(answer.mask) == (30, 50)
    assert not answer.no_target or masks.is_empty(answer.mask)  # a rejection never carries a mask
    with pytest.raises(InputError, match="not a trained student"):
        StudentPredictor.load(tmp_path)
