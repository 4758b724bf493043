"""The five planners on toy-world scenes and the real COCO sample: targets are right by construction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from groundv import knowledge
from groundv.errors import ConfigError
from groundv.scene import Scene
from groundv.sources.coco import CocoSource
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.tasks import registry
from groundv.tasks.facts import SceneFacts
from groundv.tasks.multi_granularity import covered_keys
from groundv.tasks.plan import CATEGORIES, Plan
from groundv.tasks.registry import PLANNERS, get_planner, load_prompt, validate_prompt
from tests.conftest import make_region, make_scene


@pytest.fixture(scope="module")
def toy_scenes(tmp_path_factory: pytest.TempPathFactory) -> list[Scene]:
    return list(ToyWorldSource(write_toyworld(tmp_path_factory.mktemp("toy"), scenes=30, seed=3)))


@pytest.fixture(scope="module")
def toy_plans(toy_scenes: list[Scene]) -> list[tuple[Scene, SceneFacts, Plan]]:
    out = []
    for scene in toy_scenes:
        facts = SceneFacts(scene)
        for name in CATEGORIES:
            for plan in get_planner(name).plan(scene, np.random.default_rng(scene.image_id), facts=facts):
                out.append((scene, facts, plan))
    return out


def _coco(shared_data: Path) -> list[Scene]:
    d = shared_data / "coco"
    return list(CocoSource(d / "annotations" / "instances_train2017_subset.json", images=d / "train2017"))


def _check_targets(scene: Scene, plan: Plan) -> None:
    assert len(set(plan.target_ids)) == len(plan.target_ids)
    for rid in plan.target_ids:
        region = scene.region(rid)
        assert not region.iscrowd
        if plan.category == "reasoning":  # objects or parts, whatever affords it
            assert region.kind in ("object", "part")
        else:
            assert region.kind == ("part" if plan.category == "part" else "object")
    assert (plan.category == "negative") == plan.no_target
    json.dumps(plan.to_json())


def _all_ids(scene: Scene, category_name: str) -> set[int]:
    return {r.id for r in scene.objects if knowledge.display_name(r.category) == category_name}


def test_every_category_and_subtype_yields_plans(toy_plans: list) -> None:
    seen = {(p.category, p.subtype) for _, _, p in toy_plans}
    for name, cls in PLANNERS.items():
        assert cls.category == name and cls.prompt_version == "v1"
        for subtype in cls.subtypes:
            assert (name, subtype) in seen


def test_targets_exist_have_the_right_kind_and_are_never_crowd(toy_plans: list) -> None:
    for scene, _, plan in toy_plans:
        _check_targets(scene, plan)


def test_negative_facts(toy_plans: list) -> None:
    for scene, facts, plan in toy_plans:
        if plan.category != "negative":
            continue
        if plan.subtype == "object":
            absent = [c for c in scene.absent if knowledge.display_name(c) == plan.facts["absent"]]
            assert absent and not facts.confusable(absent[0])
            for present in scene.present_categories:
                assert not knowledge.is_a(present, absent[0]) and not knowledge.is_a(absent[0], present)
        elif plan.subtype == "attribute":
            ids = _all_ids(scene, plan.facts["category"])
            values = {scene.region(i).attributes[plan.facts["attribute"]] for i in ids}
            assert plan.facts["value"] not in values and sorted(values) == plan.facts["present_values"]
        else:
            assert set(plan.facts) == {"subject", "relation", "object"}
            for a in _all_ids(scene, plan.facts["subject"]):
                for b in _all_ids(scene, plan.facts["object"]):
                    assert plan.facts["relation"] not in knowledge.relate(scene.region(a), scene.region(b))


def test_negative_object_never_asks_for_a_synonym_or_hypernym_of_something_present() -> None:
    dog = make_region(1, (5, 5, 30, 30), category="dog")
    scene = make_scene(dog, absent=frozenset({"cat", "pet", "puppy", "animal"}))
    plans = get_planner("negative").plan(scene, np.random.default_rng(0), limit=10)
    assert {p.facts["absent"] for p in plans if p.subtype == "object"} == {"cat"}


def test_multi_object_counts(toy_plans: list) -> None:
    for scene, _, plan in toy_plans:
        if plan.category != "multi_object":
            continue
        assert plan.facts["count"] == len(plan.target_ids) >= 2
        if plan.subtype == "category":
            assert set(plan.target_ids) == _all_ids(scene, plan.facts["category"])
        elif plan.subtype == "categories":
            assert len(plan.facts["categories"]) >= 2
            assert set(plan.target_ids) == set().union(*(_all_ids(scene, c) for c in plan.facts["categories"]))
        else:
            attr, value = plan.facts["attribute"], plan.facts["value"]
            assert set(plan.target_ids) == {i for i in _all_ids(scene, plan.facts["category"])
                                            if scene.region(i).attributes[attr] == value}


def test_reasoning_targets_are_exactly_the_affording_regions(toy_plans: list) -> None:
    for scene, _, plan in (t for t in toy_plans if t[2].category == "reasoning"):
        expected = {r.id for r in scene.regions if knowledge.affords(r.category, plan.facts["affordance"])}
        assert set(plan.target_ids) == expected
        assert plan.facts["explanation"].count(";") == len(plan.facts["categories"]) - 1


def test_multi_granularity_levels(toy_plans: list) -> None:
    for scene, facts, plan in (t for t in toy_plans if t[2].category == "multi_granularity"):
        assert plan.level == plan.subtype == plan.facts["level"]
        if plan.level == "instance":
            (rid,) = plan.target_ids
            expected = knowledge.distinguish(scene, rid) or f"the {plan.facts['category']}"
            assert plan.facts["expression"] == expected
        elif plan.level == "category":
            assert set(plan.target_ids) == _all_ids(scene, plan.facts["category"])
            assert plan.facts["count"] == len(plan.target_ids) >= 1
        else:
            expected = {r.id for r in scene.objects if knowledge.is_a(r.category, plan.facts["hypernym"])}
            assert set(plan.target_ids) == expected
            assert len(covered_keys(facts, plan.facts["hypernym"])) >= 2 or len(expected) >= 2
            assert plan.facts["count"] == len(plan.target_ids)


def test_part_targets_match_their_parent(toy_plans: list) -> None:
    for scene, facts, plan in (t for t in toy_plans if t[2].category == "part"):
        for rid in plan.target_ids:
            part = scene.region(rid)
            assert facts.regions[rid].name == plan.facts["part"]
            if plan.facts["object"] is not None:
                assert knowledge.display_name(scene.parent(part).category) == plan.facts["object"]
        if plan.subtype == "one":
            (rid,) = plan.target_ids
            parent = scene.parent(scene.region(rid))
            if plan.facts["object_expression"] is None:
                assert len(_all_ids(scene, plan.facts["object"])) == 1
            else:
                assert knowledge.distinguish(scene, parent.id) == plan.facts["object_expression"]
        else:
            assert plan.facts["count"] == len(plan.target_ids) >= 2


def test_plans_are_deterministic(toy_scenes: list[Scene]) -> None:
    def run(seed: int) -> list:
        return [p.to_json() for s in toy_scenes[:10] for n in CATEGORIES
                for p in get_planner(n).plan(s, np.random.default_rng([seed, s.image_id]))]
    assert run(1) == run(1)
    assert run(1) != run(2)


def test_limit_caps_and_subtypes_vary(toy_scenes: list[Scene]) -> None:
    varied = 0
    for scene in toy_scenes[:10]:
        for name in CATEGORIES:
            assert len(get_planner(name).plan(scene, np.random.default_rng(0), limit=1)) <= 1
        plans = get_planner("negative").plan(scene, np.random.default_rng(0), limit=3)
        varied += len({p.subtype for p in plans}) == 3
    assert varied >= 5


def test_coco_sample(shared_data: Path) -> None:
    scenes = _coco(shared_data)
    assert any(r.iscrowd for s in scenes for r in s.regions)
    found: set[str] = set()
    for scene in scenes:
        crowd_cats = {knowledge.display_name(r.category) for r in scene.regions if r.iscrowd}
        assert get_planner("part").unsupported(scene) == "no part regions"
        assert get_planner("part").plan(scene, np.random.default_rng(0)) == []
        for name in ("negative", "multi_object", "reasoning", "multi_granularity"):
            for plan in get_planner(name).plan(scene, np.random.default_rng(0), limit=5):
                found.add(name)
                _check_targets(scene, plan)
                named = {plan.facts.get("category"), *plan.facts.get("categories", [])}
                if plan.category != "negative":
                    assert not named & crowd_cats
    assert found == {"negative", "multi_object", "reasoning", "multi_granularity"}


def test_coco_with_pixels_names_colours(shared_data: Path) -> None:
    from PIL import Image

    scene = next(s for s in _coco(shared_data) if s.image_id == 139270)
    pixels = np.asarray(Image.open(scene.path).convert("RGB"))
    facts = SceneFacts(scene, pixels)
    assert any(r.color is not None for r in facts.regions.values())
    for plan in get_planner("negative").plan(scene, np.random.default_rng(0), pixels=pixels, limit=5):
        assert plan.no_target


def test_crowd_category_is_never_all() -> None:
    a = make_region(1, (0, 0, 10, 10), category="person")
    b = make_region(2, (20, 0, 30, 10), category="person")
    crowd = make_region(3, (40, 0, 55, 30), category="person", iscrowd=True)
    scene = make_scene(a, b, crowd, make_region(4, (0, 20, 10, 35), category="dog"))
    facts = SceneFacts(scene)
    assert not facts.safe_for_all("person") and facts.targets("person") == (1, 2)
    for name in ("multi_object", "reasoning", "multi_granularity"):
        for plan in get_planner(name).plan(scene, np.random.default_rng(0), limit=5):
            assert not {1, 2, 3} & set(plan.target_ids)


def test_registry_and_prompts() -> None:
    assert list(PLANNERS) == list(CATEGORIES)
    with pytest.raises(ConfigError):
        get_planner("nope")
    for name in CATEGORIES:
        prompt = load_prompt(name)
        assert prompt["version"] == PLANNERS[name].prompt_version and len(prompt["examples"]) == 3


@pytest.mark.parametrize("edit", [
    lambda d: d.pop("schema"),
    lambda d: d["examples"].pop(),
    lambda d: d["examples"][0]["answer"].pop("target_ids"),
    lambda d: d["examples"][0]["answer"].update(target_ids=[999999]),
    lambda d: d["examples"][0]["answer"].update(subtype="bogus"),
])
def test_bad_prompt_edit_names_the_file(edit) -> None:
    data = json.loads(registry.prompt_path("multi_object").read_text(encoding="utf-8"))
    edit(data)
    with pytest.raises(ConfigError, match=r"multi_object\.v1\.json"):
        validate_prompt(data, "multi_object.v1.json", "multi_object", "v1")
