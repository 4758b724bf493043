"""predict_items and ImageLookup, on items of a generated toy-world dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from groundv import masks
from groundv.benchmarks.dataset import read_dataset
from groundv.errors import ConfigError, InputError
from groundv.eval import write_jsonl
from groundv.eval.run import evaluate
from groundv.predict import Answer, ImageLookup, Predictor, load_predictor, predict_items, write_predictions
from groundv.scene import Scene


def items(dataset: Path):
    return list(read_dataset([dataset], split="all"))


def test_oracle_predictions_follow_the_contract_and_score_as_expected(toy_dataset, tmp_path):
    questions = items(toy_dataset)
    seen: list[int] = []
    records = list(predict_items(load_predictor("oracle-category"), questions, ImageLookup.from_dataset(toy_dataset),
                                 batch_size=7, progress=seen.append))
    assert [r["id"] for r in records] == [q.id for q in questions]
    assert seen[-1] == len(questions) and seen == sorted(seen)
    assert all(masks.size(r["mask"]) == q.size for r, q in zip(records, questions, strict=True))
    write_jsonl(questions, tmp_path / "items.jsonl")
    write_jsonl(records, tmp_path / "preds.jsonl")
    metrics = evaluate(tmp_path / "items.jsonl", tmp_path / "preds.jsonl", "gres").metrics
    # multi_object "all the X" items name their category: the oracle is right on most of them
    assert metrics["by_category"]["multi_object"]["giou"] > 50
    # a negative about a missing category is rejected; the empty baseline rejects everything
    assert metrics["by_category"]["negative"]["n_acc"] > 0


def test_a_wrong_sized_answer_is_refused_naming_the_item_and_model(toy_dataset):
    class Tiny(Predictor):
        name = "tiny"

        def predict(self, image: Image.Image, instruction: str, *, scene: Scene | None = None) -> Answer:
            return Answer(masks.empty(2, 2), False)

    first = items(toy_dataset)[:1]
    with pytest.raises(InputError, match="model 'tiny' answered a 2×2 mask") as info:
        list(predict_items(Tiny(), first, ImageLookup.from_dataset(toy_dataset)))
    assert first[0].id in str(info.value)


def test_images_only_lookup_serves_real_models_but_not_annotation_readers(toy_dataset):
    world_images = toy_dataset.parent / "world" / "images"
    first = items(toy_dataset)[:2]
    out = list(predict_items(load_predictor("empty"), first, ImageLookup(world_images)))
    assert [r["no_target"] for r in out] == [True, True]
    with pytest.raises(ConfigError, match="only a groundv dataset gives"):
        list(predict_items(load_predictor("largest"), first, ImageLookup(world_images)))


class Looker(Predictor):
    """A model that reads the pixels (as real models do): always "no target", after looking."""

    name = "looker"

    def predict(self, image: Image.Image, instruction: str, *, scene: Scene | None = None) -> Answer:
        assert image.getbbox() is not None  # a real picture, not a blank stand-in
        return Answer(masks.empty(image.height, image.width), True)


def test_a_missing_image_is_named(toy_dataset, tmp_path):
    with pytest.raises(InputError, match="not found"):
        list(predict_items(Looker(), items(toy_dataset)[:1], ImageLookup(tmp_path)))


def test_baselines_never_read_image_files(toy_dataset, tmp_path):
    first = items(toy_dataset)[:3]
    out = list(predict_items(load_predictor("empty"), first, ImageLookup(tmp_path / "no-images-here")))
    assert [r["no_target"] for r in out] == [True] * 3
    assert [masks.size(r["mask"]) for r in out] == [i.size for i in first]
    lookup = ImageLookup.from_dataset(toy_dataset)
    lookup.images = tmp_path / "no-images-here"  # the regions are read, the pictures are not
    assert len(list(predict_items(load_predictor("largest"), first, lookup))) == 3
    assert all(not load_predictor(name).needs_image for name in ("empty", "largest", "oracle-category"))
    assert Looker.needs_image


def test_write_predictions_is_all_or_nothing(toy_dataset, tmp_path):
    path = tmp_path / "preds.jsonl"
    path.write_bytes(b"earlier\n")
    good = list(predict_items(load_predictor("empty"), items(toy_dataset)[:2], ImageLookup(None)))

    def failing():
        yield from good
        raise InputError("the model broke")

    with pytest.raises(InputError, match="the model broke"):
        write_predictions(failing(), path)
    assert path.read_bytes() == b"earlier\n" and sorted(p.name for p in tmp_path.iterdir()) == ["preds.jsonl"]
    with pytest.raises(InputError):
        write_predictions(failing(), tmp_path / "new.jsonl")
    assert not (tmp_path / "new.jsonl").exists()
    assert write_predictions(iter(good), path) == 2 and len(path.read_bytes().splitlines()) == 2
