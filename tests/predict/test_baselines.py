"""The training-free baselines: empty, largest, oracle-category."""

from __future__ import annotations

import pytest
from PIL import Image

from groundv import masks
from groundv.errors import ConfigError
from groundv.predict import PREDICTORS, load_predictor
from groundv.predict.baselines import EmptyPredictor, LargestPredictor, OracleCategoryPredictor
from tests.conftest import make_region, make_scene

IMAGE = Image.new("RGB", (60, 40))


def scene():
    return make_scene(
        make_region(1, (0, 0, 10, 10), category="mug"),
        make_region(2, (20, 0, 30, 10), category="mug"),
        make_region(3, (0, 20, 40, 40), category="car"),
        make_region(4, (40, 20, 50, 30), category="person"),
        make_region(5, (45, 0, 60, 40), category="person", iscrowd=True),
    )


def test_empty_always_rejects_with_an_empty_mask_of_the_image_size():
    answer = EmptyPredictor().predict(IMAGE, "the red mug")
    assert answer.no_target is True
    assert masks.size(answer.mask) == (40, 60)
    assert masks.is_empty(answer.mask)


def test_largest_answers_the_largest_non_crowd_object_whatever_is_asked():
    answer = LargestPredictor().predict(IMAGE, "the mug", scene=scene())
    assert answer.no_target is False
    assert answer.mask == scene().region(3).rle  # the car (800 px); the crowd person (600 px) is skipped


def test_largest_without_objects_answers_an_empty_mask_that_does_not_reject():
    answer = LargestPredictor().predict(IMAGE, "the mug", scene=make_scene())
    assert answer.no_target is False and masks.is_empty(answer.mask)


@pytest.mark.parametrize(("instruction", "expected"), [
    ("Segment all the mugs.", {1, 2}),
    ("the mug next to the car", {1, 2, 3}),
    ("Where are the people?", {4}),  # the plural of person; the crowd region is never a target
    ("the red automobile", {3}),  # a synonym
])
def test_oracle_category_unites_every_object_whose_category_is_named(instruction, expected):
    s = scene()
    answer = OracleCategoryPredictor().predict(IMAGE, instruction, scene=s)
    assert answer.no_target is False
    assert answer.mask == s.union_mask(sorted(expected))


@pytest.mark.parametrize("instruction", ["Segment the zebra.", "the cart", "Segment the smugglers."])
def test_oracle_category_rejects_when_no_category_word_occurs_as_a_whole_word(instruction):
    answer = OracleCategoryPredictor().predict(IMAGE, instruction, scene=scene())
    assert answer.no_target is True and masks.is_empty(answer.mask)


@pytest.mark.parametrize("cls", [LargestPredictor, OracleCategoryPredictor])
def test_annotation_readers_refuse_to_guess_without_the_scene(cls):
    assert cls.needs_scene is True
    with pytest.raises(ConfigError, match="annotations"):
        cls().predict(IMAGE, "the mug")


def test_load_predictor_knows_the_builtin_names_and_refuses_others(tmp_path):
    assert {name: type(load_predictor(name)).name for name in PREDICTORS} == {n: n for n in PREDICTORS}
    with pytest.raises(ConfigError, match="unknown model 'lisa'") as info:
        load_predictor("lisa")
    assert "groundv train" in (info.value.hint or "")
