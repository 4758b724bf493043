"""``not_refused`` and ``denies_targets``: a response must agree with the plan about whether anything is there."""

from __future__ import annotations

import numpy as np
import pytest

from groundv.scene import Scene
from groundv.sources.toyworld import read_toyworld, write_toyworld
from groundv.tasks.plan import Plan
from groundv.tasks.registry import CATEGORIES, get_planner
from groundv.tasks.validate import validate
from groundv.teachers import rules
from groundv.teachers.base import TeacherOutput
from tests.conftest import make_region, make_scene

TEACHER = {"name": "paraphrase", "model": "fake", "prompt_version": "v1"}


def _scene() -> Scene:
    """Two mugs (1 red, 2 blue) left of a chair 3, handles 10 and 11; a zebra is verified absent."""
    return make_scene(
        make_region(1, (2, 10, 10, 20), attributes={"color": "red"}),
        make_region(2, (30, 10, 40, 20), attributes={"color": "blue"}),
        make_region(3, (45, 5, 58, 30), category="chair"),
        make_region(10, (0, 12, 2, 16), category="mug:handle", kind="part", parent_id=1),
        make_region(11, (28, 12, 30, 16), category="mug:handle", kind="part", parent_id=2),
        absent=frozenset({"zebra"}))


ZEBRA = Plan("negative", "object", (), {"absent": "zebra"})
GREEN = Plan("negative", "attribute", (), {"category": "mug", "attribute": "color", "value": "green",
                                           "present_values": ["red", "blue"]})
RIGHT = Plan("negative", "relation", (), {"subject": "mug", "relation": "right of", "object": "chair"})
MUGS = Plan("multi_object", "category", (1, 2), {"category": "mug", "count": 2})
HANDLE = Plan("part", "one", (10,), {"part": "handle", "object": "mug", "object_expression": "the leftmost mug"})


def _check(plan: Plan, response: str):
    instruction = rules.RulesTeacher().respond(_scene(), plan, np.random.default_rng(0)).instruction
    output = TeacherOutput(instruction=instruction, response=response, target_ids=plan.target_ids)
    return validate(_scene(), plan, output, teacher=TEACHER)


REFUSALS = [
    (ZEBRA, "There is no zebra in this image."),
    (ZEBRA, "I couldn’t spot any zebras in the picture."),
    (ZEBRA, "Sorry, zebras are absent from this photo."),
    (ZEBRA, "The zebra you mention isn't in this picture."),
    (ZEBRA, "I see a mug and a chair, but no zebra."),
    (ZEBRA, "Nope — not a single zebra here."),
    (GREEN, "None of the mugs is green: one is red, the other blue."),
    (GREEN, "There's no green mug; the mugs here are red and blue."),
    (GREEN, "Nothing to segment: the mugs are red and blue, not green."),
    (RIGHT, "No mug is to the right of the chair; both are on its left."),
    (RIGHT, "I can't find a mug right of the chair."),
]

NOT_REFUSALS = [
    (ZEBRA, "Sure, here it is, segmented in the picture.", "absent 'zebra'"),
    (ZEBRA, "Here is the zebra, nothing else.", "absent 'zebra'"),
    (ZEBRA, "I found the zebra next to the mug.", "absent 'zebra'"),
    (ZEBRA, "There isn't one here.", "absent 'zebra'"),  # refuses, but does not say what is missing
    (GREEN, "Here is the green mug.", "value 'green'"),
    (GREEN, "It is not green.", "category 'mug'"),  # denies the colour, never names the mug
    (RIGHT, "Sure, the mug is highlighted.", "subject 'mug'"),
    (RIGHT, "No mug is over there.", "object 'chair'"),
]


@pytest.mark.parametrize(("plan", "response"), REFUSALS, ids=[r for _, r in REFUSALS])
def test_refusals_that_name_the_missing_thing_pass(plan: Plan, response: str) -> None:
    verdict = _check(plan, response)
    assert verdict.ok, verdict.detail


@pytest.mark.parametrize(("plan", "response", "named"), NOT_REFUSALS, ids=[r for _, r, _ in NOT_REFUSALS])
def test_a_negative_that_does_not_refuse_is_rejected(plan: Plan, response: str, named: str) -> None:
    verdict = _check(plan, response)
    assert (verdict.ok, verdict.reason) == (False, "not_refused")
    assert named in verdict.detail


@pytest.mark.parametrize(("plan", "response"), [
    (MUGS, "There are no mugs in this image."),
    (MUGS, "Sorry, I can't find any mugs."),
    (MUGS, "There's nothing to segment here."),
    (HANDLE, "The handle is not visible in this photo."),
])
def test_a_response_denying_its_targets_is_rejected(plan: Plan, response: str) -> None:
    verdict = _check(plan, response)
    assert (verdict.ok, verdict.reason) == (False, "denies_targets")


@pytest.mark.parametrize(("plan", "response"), [
    (MUGS, "Sure — here are the two mugs, not the chair."),
    (HANDLE, "Here is the handle of the leftmost mug; only that part is segmented, not the whole mug."),
    (MUGS, "Both mugs are segmented; neither is hidden."),
])
def test_plain_negation_in_a_positive_response_passes(plan: Plan, response: str) -> None:
    verdict = _check(plan, response)
    assert verdict.ok, verdict.detail


def _every_response(scene: Scene, plan: Plan) -> list[str]:
    """Every response template of the rules teacher's subtype, filled for ``plan``."""
    key = f"{plan.category}/{plan.subtype}"
    fields, _ = rules._FIELDS[key](scene, plan, np.random.default_rng(0))
    out = []
    for template in (*rules.TEMPLATES[key]["response"], *rules.TEMPLATES[key].get("response_bare", ())):
        try:
            out.append(template.format(**fields))
        except KeyError:  # a bare template's fields are missing from a full plan and back
            continue
    return out


def test_every_rules_response_passes_on_toy_worlds(tmp_path) -> None:
    """Every response template of every subtype, for every plan of two toy worlds: none is rejected for what
    it says about presence (and most negative plans go through each of their templates)."""
    seen = 0
    for seed in (3, 8):
        folder = tmp_path / str(seed)
        write_toyworld(folder, 10, seed=seed)
        for scene in read_toyworld(folder):
            for category in CATEGORIES:
                for plan in get_planner(category).plan(scene, np.random.default_rng(seed), limit=8):
                    instruction = rules.RulesTeacher().respond(scene, plan, np.random.default_rng(0)).instruction
                    for response in _every_response(scene, plan):
                        output = TeacherOutput(instruction=instruction, response=response,
                                               target_ids=plan.target_ids)
                        verdict = validate(scene, plan, output, teacher=TEACHER)
                        assert verdict.ok, (response, verdict.reason, verdict.detail)
                        seen += 1
    assert seen > 500
