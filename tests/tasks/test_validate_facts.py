"""``facts_unsaid``: an instruction must mention the facts of the plan it words (LLM answers that do not)."""

from __future__ import annotations

import numpy as np
import pytest

from groundv.scene import Scene
from groundv.sources.toyworld import read_toyworld, write_toyworld
from groundv.tasks.plan import Plan
from groundv.tasks.registry import CATEGORIES, get_planner
from groundv.tasks.validate import REASONS, validate
from groundv.teachers.base import TeacherOutput
from groundv.teachers.rules import RulesTeacher
from tests.conftest import make_region, make_scene

TEACHER = {"name": "openai", "model": "smollm2", "prompt_version": "v1"}


def _scene() -> Scene:
    """Two red mugs (1 left, 2 right, handles 10 and 11), a chair 3 right of them, two wine glasses 4 and 5
    above them; a zebra, an orange, a knife, a teddy bear, a person and a cat are verified absent."""
    return make_scene(
        make_region(1, (2, 10, 10, 20), attributes={"color": "red"}),
        make_region(2, (30, 10, 40, 20), attributes={"color": "red"}),
        make_region(3, (45, 5, 58, 30), category="chair", attributes={"color": "brown"}),
        make_region(4, (2, 0, 6, 4), category="wine glass"),
        make_region(5, (30, 0, 34, 4), category="wine glass"),
        make_region(10, (0, 12, 2, 16), category="mug:handle", kind="part", parent_id=1),
        make_region(11, (28, 12, 30, 16), category="mug:handle", kind="part", parent_id=2),
        absent=frozenset({"zebra", "orange", "knife", "teddy bear", "person", "cat"}))


ABSENT = Plan("negative", "object", (), {"absent": "zebra"})
ABSENT_KNIFE = Plan("negative", "object", (), {"absent": "knife"})
ABSENT_BEAR = Plan("negative", "object", (), {"absent": "teddy bear"})
ABSENT_PERSON = Plan("negative", "object", (), {"absent": "person"})
PURPLE = Plan("negative", "attribute", (), {"category": "mug", "attribute": "color", "value": "purple",
                                            "present_values": ["red"]})
GRAY = Plan("negative", "attribute", (), {"category": "chair", "attribute": "color", "value": "gray",
                                          "present_values": ["brown"]})
RELATION = Plan("negative", "relation", (), {"subject": "mug", "relation": "right of", "object": "chair"})
MUGS = Plan("multi_object", "category", (1, 2), {"category": "mug", "count": 2})
GLASSES = Plan("multi_object", "category", (4, 5), {"category": "wine glass", "count": 2})
MIXED = Plan("multi_object", "categories", (1, 2, 3), {"categories": ["mug", "chair"], "count": 3})
RED_MUGS = Plan("multi_object", "attribute", (1, 2), {"category": "mug", "attribute": "color", "value": "red",
                                                      "count": 2})
INSTANCE = Plan("multi_granularity", "instance", (1,), {"category": "mug", "expression": "the leftmost mug",
                                                        "level": "instance"}, "instance")
CATEGORY = Plan("multi_granularity", "category", (1, 2), {"category": "mug", "count": 2, "level": "category"},
                "category")
SUPER = Plan("multi_granularity", "supercategory", (1, 2), {"hypernym": "kitchenware", "categories": ["mug"],
                                                            "count": 2, "level": "supercategory"}, "supercategory")
PART_ONE = Plan("part", "one", (10,), {"part": "handle", "object": "mug", "object_expression": "the leftmost mug"})
PART_ALL = Plan("part", "all", (10, 11), {"part": "handle", "object": "mug", "count": 2})
PART_ANY = Plan("part", "all", (10, 11), {"part": "handle", "object": None, "count": 2})
SIT = Plan("reasoning", "affordance", (3,), {"affordance": "to sit on", "categories": ["chair"],
                                             "explanation": "a chair is something to sit on"})

# LLM-like wordings that say every fact: paraphrased, plural, synonym, irregular plural, head noun.
ACCEPTED = [
    (ABSENT, "Could you point out the zebra grazing here?"),
    (ABSENT, "Mask every zebras you can find."),
    (ABSENT, "Where's the zebra hiding?"),
    (ABSENT_KNIFE, "Highlight the knives on the table."),
    (ABSENT_PERSON, "Segment all the people."),
    (PURPLE, "I want the mug that's purple."),
    (PURPLE, "Outline the purple mugs, please."),
    (GRAY, "Show me the grey chair."),
    (RELATION, "Find the mug sitting on the right side of the chair."),
    (RELATION, "Which mugs are to the right of the chair?"),
    (MUGS, "Select each of the mugs."),
    (MUGS, "Highlight every coffee mug."),
    (GLASSES, "Mark all the wine glasses."),
    (GLASSES, "Mark all the glasses."),
    (MIXED, "Pick out the mugs as well as the chair."),
    (MIXED, "Segment every mug and every chair."),
    (RED_MUGS, "Mark both red mugs."),
    (INSTANCE, "Just the mug on the far left, please."),
    (CATEGORY, "Every mug, whatever its colour."),
    (SUPER, "Highlight all kitchen items."),
    (SUPER, "Everything that counts as kitchenware."),
    (PART_ONE, "Outline the grip of the leftmost mug."),
    (PART_ONE, "Show the leftmost mug's handle."),
    (PART_ALL, "Segment the handles on the mugs."),
    (PART_ANY, "Find every handle in the picture."),
    (SIT, "Is there anywhere I could rest my legs?"),
]

# Wordings missing a fact, and the words the detail must name.
REJECTED = [
    (Plan("negative", "object", (), {"absent": "orange"}), "Please choose the car that has ball.", "'orange'"),
    (ABSENT, "Segment it.", "'zebra'"),
    (ABSENT, "Find the horse.", "'zebra'"),
    (ABSENT_BEAR, "Where is the bear?", "'teddy bear'"),
    (Plan("negative", "object", (), {"absent": "cat"}), "Segment the category shown.", "'cat'"),
    (PURPLE, "Find the mug.", "color 'purple'"),
    (PURPLE, "Find the purple thing.", "category 'mug'"),
    (RELATION, "Find the mug near the chair.", "relation 'right of'"),
    (RELATION, "Find the mug on the right.", "object 'chair'"),
    (RELATION, "Find whatever is right of the chair.", "subject 'mug'"),
    (MUGS, "Segment all of them.", "category 'mug'"),
    (MUGS, "Segment every cup.", "category 'mug'"),  # a hypernym is no synonym
    (Plan("multi_object", "category", (4, 5), {"category": "teddy bear", "count": 2}), "All the bears.",
     "'teddy bear'"),
    (MIXED, "Segment every mug.", "category 'chair'"),
    (RED_MUGS, "Mark the mugs.", "color 'red'"),
    (INSTANCE, "The leftmost one.", "category 'mug'"),
    (CATEGORY, "Everything here.", "category 'mug'"),
    (SUPER, "Highlight all the mugs.", "hypernym 'kitchenware'"),
    (PART_ONE, "Outline the leftmost mug.", "part 'handle'"),
    (PART_ONE, "Outline the leftmost handle.", "object 'mug'"),
    (PART_ALL, "Segment the handles.", "object 'mug'"),
    (PART_ANY, "Segment the mugs.", "part 'handle'"),
]


def _check(plan: Plan, instruction: str):
    # a negative's response must refuse (``not_refused``): the rules teacher's does
    response = (RulesTeacher().respond(_scene(), plan, np.random.default_rng(0)).response
                if plan.category == "negative" else "Done.")
    output = TeacherOutput(instruction=instruction, response=response, target_ids=plan.target_ids)
    return validate(_scene(), plan, output, teacher=TEACHER)


def test_the_code_sits_before_duplicate() -> None:
    assert REASONS.index("facts_unsaid") == REASONS.index("not_refused") - 1
    assert REASONS.index("denies_targets") == REASONS.index("duplicate") - 1


@pytest.mark.parametrize(("plan", "instruction"), ACCEPTED, ids=[f"{p.category}/{p.subtype}" for p, _ in ACCEPTED])
def test_wordings_that_say_the_facts_are_accepted(plan: Plan, instruction: str) -> None:
    verdict = _check(plan, instruction)
    assert verdict.ok, verdict.detail


@pytest.mark.parametrize(("plan", "instruction", "named"), REJECTED,
                         ids=[f"{p.category}/{p.subtype}" for p, _, _ in REJECTED])
def test_wordings_missing_a_fact_are_rejected(plan: Plan, instruction: str, named: str) -> None:
    verdict = _check(plan, instruction)
    assert (verdict.ok, verdict.reason, verdict.sample) == (False, "facts_unsaid", None)
    assert named in verdict.detail and verdict.detail.startswith("the instruction does not mention")


def test_the_smollm2_sample_names_what_is_missing() -> None:
    verdict = _check(Plan("negative", "object", (), {"absent": "orange"}), "Please choose the car that has ball.")
    assert verdict.detail == ("the instruction does not mention the absent category 'orange' "
                              "(orange / oranges)")


def test_every_missing_fact_is_listed() -> None:
    verdict = _check(RELATION, "Segment something.")
    assert verdict.reason == "facts_unsaid"
    assert all(f in verdict.detail for f in ("subject 'mug'", "relation 'right of'", "object 'chair'"))


def test_earlier_checks_still_come_first() -> None:
    # the plan's claim is false (the zebra is not verified absent): that is reported, not the wording
    plan = Plan("negative", "object", (), {"absent": "giraffe"})
    assert _check(plan, "Segment it.").reason == "not_absent"


def test_the_rules_teacher_always_says_the_facts(tmp_path) -> None:
    """Every planner's plans on a small toy world, worded by the rules teacher with many seeds."""
    write_toyworld(tmp_path, 12, seed=5)
    teacher, seen = RulesTeacher(), 0
    for scene in read_toyworld(tmp_path):
        for category in CATEGORIES:
            for plan in get_planner(category).plan(scene, np.random.default_rng(scene.image_id), limit=6):
                for seed in range(12):
                    output = teacher.respond(scene, plan, np.random.default_rng(seed))
                    verdict = validate(scene, plan, output, teacher={**TEACHER, "name": "rules"})
                    assert verdict.reason != "facts_unsaid", (output.instruction, verdict.detail)
                    seen += 1
    assert seen > 1000
