"""The validator: every reason code from a hand-built case, and the accepted sample's mask."""

from __future__ import annotations

import numpy as np
import pytest

from groundv import masks
from groundv.scene import Scene
from groundv.tasks.plan import Plan
from groundv.tasks.validate import REASONS, normalise, validate
from groundv.teachers.base import TeacherOutput
from groundv.teachers.rules import RulesTeacher
from tests.conftest import make_region, make_scene

TEACHER = {"name": "rules", "model": None, "prompt_version": "test-1"}


def _scene() -> Scene:
    """Two mugs (1 left, 2 right, with handles 10, 11), a chair 3 right of them, a crowd of dogs 20,
    a car 21 with an empty mask; a zebra and a cup are verified absent (the cup wrongly: mugs are cups)."""
    return make_scene(
        make_region(1, (2, 10, 10, 20), attributes={"color": "red"}),
        make_region(2, (30, 10, 40, 20), attributes={"color": "blue"}),
        make_region(3, (45, 5, 58, 30), category="chair"),
        make_region(10, (0, 12, 2, 16), category="mug:handle", kind="part", parent_id=1),
        make_region(11, (28, 12, 30, 16), category="mug:handle", kind="part", parent_id=2),
        make_region(20, (12, 25, 25, 38), category="dog", iscrowd=True),
        make_region(21, (5, 5, 5, 5), category="car"),
        absent=frozenset({"zebra", "cup"}))


def _out(ids=(), instruction="Segment it.", response="Sure.") -> TeacherOutput:
    return TeacherOutput(instruction=instruction, response=response, target_ids=tuple(ids))


def _worded(plan: Plan) -> str:
    """The rules teacher's instruction for ``plan``: one that says the plan's facts (``facts_unsaid``)."""
    return RulesTeacher().respond(_scene(), plan, np.random.default_rng(0)).instruction


def _refused(plan: Plan) -> TeacherOutput:
    """The rules teacher's whole answer to a negative ``plan``: its response refuses (``not_refused``)."""
    return RulesTeacher().respond(_scene(), plan, np.random.default_rng(0))


MULTI = Plan("multi_object", "category", (1, 2), {"category": "mug", "count": 2})

CASES = [
    ("empty_text", MULTI, _out((1, 2), instruction="   ")),
    ("empty_text", MULTI, _out((1, 2), response="")),
    ("no_target_mismatch", Plan("negative", "object", (), {"absent": "zebra"}), _out((1,))),
    ("no_target_mismatch", MULTI, _out(())),
    ("unknown_target", Plan("multi_object", "category", (1, 99), {"category": "mug"}), _out((1, 99))),
    ("crowd_target", Plan("multi_object", "categories", (1, 20), {"categories": ["mug", "dog"]}), _out((1, 20))),
    ("wrong_kind", Plan("part", "one", (1,), {"part": "handle", "object": "mug"}), _out((1,))),
    ("wrong_kind", Plan("multi_object", "category", (10, 11), {"category": "mug handle"}), _out((10, 11))),
    ("targets_disagree", MULTI, _out((1,))),
    ("targets_disagree", MULTI, _out((1, 3))),
    ("too_few_targets", Plan("multi_object", "category", (1,), {"category": "mug"}), _out((1,))),
    ("too_few_targets", Plan("part", "all", (10,), {"part": "handle", "object": "mug"}), _out((10,))),
    ("count_mismatch", Plan("multi_object", "category", (1, 2), {"category": "mug", "count": 3}), _out((1, 2))),
    ("not_absent", Plan("negative", "object", (), {"absent": "mug"}), _out()),
    ("not_absent", Plan("negative", "object", (), {"absent": "cup"}), _out()),
    ("not_absent", Plan("negative", "attribute", (), {"category": "mug", "attribute": "color", "value": "red",
                                                     "present_values": ["red", "blue"]}), _out()),
    ("not_absent", Plan("negative", "relation", (), {"subject": "mug", "relation": "left of",
                                                    "object": "chair"}), _out()),
    ("not_unique", Plan("multi_granularity", "instance", (1,), {"category": "mug",
                                                                "expression": "the rightmost mug",
                                                                "level": "instance"}, "instance"), _out((1,))),
    ("not_unique", Plan("multi_granularity", "instance", (1,), {"category": "mug", "expression": "the mug",
                                                                "level": "instance"}, "instance"), _out((1,))),
    ("not_unique", Plan("part", "one", (10,), {"part": "handle", "object": "mug", "object_expression": None}),
     _out((10,))),
    ("facts_unsaid", Plan("negative", "object", (), {"absent": "zebra"}), _out()),
    ("not_refused", Plan("negative", "object", (), {"absent": "zebra"}),
     _out(instruction="Segment the zebra.", response="Sure, here it is, segmented in the picture.")),
    ("denies_targets", MULTI, _out((1, 2), instruction="Segment all the mugs.",
                                   response="There are no mugs in this image.")),
    ("empty_mask", Plan("multi_granularity", "category", (21,), {"category": "car", "count": 1,
                                                                 "level": "category"}, "category"), _out((21,))),
]


@pytest.mark.parametrize(("reason", "plan", "output"), CASES, ids=[c[0] for c in CASES])
def test_reason_codes(reason, plan, output) -> None:
    verdict = validate(_scene(), plan, output, teacher=TEACHER, seen=set())
    assert (verdict.ok, verdict.reason, verdict.sample) == (False, reason, None)
    assert verdict.detail


def test_every_reason_is_exercised() -> None:
    assert {c[0] for c in CASES} | {"duplicate"} == set(REASONS)


def test_duplicate_after_normalising() -> None:
    scene, seen = _scene(), set()
    first = validate(scene, MULTI, _out((1, 2), instruction="Segment all the mugs."), teacher=TEACHER, seen=seen)
    assert first.ok and len(seen) == 1
    again = validate(scene, MULTI, _out((2, 1), instruction="  segment ALL the   mugs!"), teacher=TEACHER,
                     seen=seen)
    assert again.reason == "duplicate"
    other_image = Scene(**{**{f: getattr(scene, f) for f in ("file_name", "width", "height", "source",
                                                            "regions", "absent")}, "image_id": 2})
    assert validate(other_image, MULTI, _out((1, 2), instruction="Segment all the mugs."), teacher=TEACHER,
                    seen=seen).ok
    assert validate(scene, MULTI, _out((1, 2), instruction="Segment all the mugs."), teacher=TEACHER).ok


def test_accepted_sample_mask_is_the_union() -> None:
    scene = _scene()
    verdict = validate(scene, MULTI, _out((2, 1), instruction="Segment all the mugs."), teacher=TEACHER,
                       index=4, provenance={"unit": 0})
    assert verdict.ok and verdict.reason is None
    sample = verdict.sample
    assert sample.target_ids == [2, 1] and not sample.no_target
    assert sample.mask == masks.union([scene.region(1).rle, scene.region(2).rle])
    assert masks.area(sample.mask) == scene.region(1).area + scene.region(2).area
    assert sample.teacher == TEACHER and sample.subtype == "category" and sample.plan == MULTI.to_json()
    assert sample.image == scene.image_record() and sample.provenance == {"unit": 0}


@pytest.mark.parametrize("plan", [
    Plan("negative", "object", (), {"absent": "zebra"}),
    Plan("negative", "attribute", (), {"category": "mug", "attribute": "color", "value": "purple",
                                       "present_values": ["red", "blue"]}),
    Plan("negative", "relation", (), {"subject": "mug", "relation": "right of", "object": "chair"}),
])
def test_accepted_negatives_have_empty_masks(plan) -> None:
    verdict = validate(_scene(), plan, _refused(plan), teacher=TEACHER)
    assert verdict.ok, verdict.detail
    assert verdict.sample.no_target and verdict.sample.target_ids == []
    assert masks.is_empty(verdict.sample.mask)


@pytest.mark.parametrize("plan", [
    Plan("multi_granularity", "instance", (1,), {"category": "mug", "expression": "the leftmost mug",
                                                 "level": "instance"}, "instance"),
    Plan("part", "one", (10,), {"part": "handle", "object": "mug", "object_expression": "the leftmost mug"}),
    Plan("part", "all", (10, 11), {"part": "handle", "object": "mug", "count": 2}),
    Plan("multi_granularity", "instance", (3,), {"category": "chair", "expression": "the chair",
                                                 "level": "instance"}, "instance"),
])
def test_accepted_unique_expressions(plan) -> None:
    verdict = validate(_scene(), plan, _out(plan.target_ids, _worded(plan)), teacher=TEACHER)
    assert verdict.ok, verdict.detail


def test_teacher_record_is_required() -> None:
    with pytest.raises(ValueError, match="prompt_version"):
        validate(_scene(), MULTI, _out((1, 2)), teacher={"name": "rules", "model": None})


def test_normalise() -> None:
    assert normalise("  Segment\tthe MUG — now!! ") == "segment the mug now"


def test_negative_attribute_is_checked_with_the_planners_colours() -> None:
    import numpy as np

    from groundv.tasks.facts import SceneFacts

    scene = _scene()
    purple_chair = Plan("negative", "attribute", (), {"category": "chair", "attribute": "color", "value": "purple",
                                                      "present_values": []})
    # The chair has no colour attribute: without the planners' facts the claim cannot be checked.
    verdict = validate(scene, purple_chair, _out(), teacher=TEACHER)
    assert verdict.reason == "not_absent" and "no known color" in verdict.detail
    # Painted purple in the pixels: the planners' SceneFacts name it purple, so the claim is false.
    pixels = np.full((40, 60, 3), 128, dtype=np.uint8)
    pixels[5:30, 45:58] = (128, 0, 160)
    facts = SceneFacts(scene, pixels)
    assert facts.regions[3].color == "purple"
    verdict = validate(scene, purple_chair, _out(), teacher=TEACHER, scene_facts=facts)
    assert verdict.reason == "not_absent" and "has color 'purple'" in verdict.detail
    green_chair = Plan("negative", "attribute", (), {"category": "chair", "attribute": "color", "value": "green",
                                                     "present_values": ["purple"]})
    assert validate(scene, green_chair, _refused(green_chair), teacher=TEACHER, scene_facts=facts).ok


def test_reasoning_may_target_parts() -> None:
    plan = Plan("reasoning", "affordance", (10, 11), {"affordance": "to hold", "categories": ["mug:handle"],
                                                      "explanation": "a handle is something to hold"})
    verdict = validate(_scene(), plan, _out((10, 11), "Segment something to hold.", "The handles."),
                       teacher=TEACHER)
    assert verdict.ok, verdict.detail
