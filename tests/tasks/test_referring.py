"""Plain referring expressions: one phrase, exactly one object, correct by construction."""

from __future__ import annotations

import numpy as np

from groundv import masks
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.tasks.facts import SceneFacts
from groundv.tasks.referring import REFERRING, referring_expressions, referring_items
from tests.conftest import make_region, make_scene


def test_a_lone_instance_is_named_by_its_category_and_a_unique_colour_by_its_colour():
    scene = make_scene(make_region(1, (0, 0, 10, 10), category="mug", attributes={"color": "red"}),
                       make_region(2, (30, 0, 40, 10), category="mug", attributes={"color": "blue"}),
                       make_region(3, (0, 20, 20, 40), category="car", attributes={"color": "red"}))
    facts = SceneFacts(scene)
    assert referring_expressions(facts, 3) == ["the car", "the red car"]
    assert referring_expressions(facts, 1) == ["the red mug", "the leftmost mug"]


def test_nothing_is_said_when_nothing_singles_the_object_out():
    scene = make_scene(make_region(1, (0, 0, 10, 10), category="mug", attributes={"color": "red"}),
                       make_region(2, (0, 0, 10, 10), category="mug", attributes={"color": "red"}),
                       make_region(3, (20, 0, 30, 10), category="dog", iscrowd=True))
    facts = SceneFacts(scene)
    assert referring_expressions(facts, 1) == []  # same colour, same place
    assert referring_expressions(facts, 3) == []  # a crowd region is never a target
    assert referring_items(scene, np.random.default_rng(0)) == []


def test_an_unknown_colour_is_never_used():
    scene = make_scene(make_region(1, (0, 0, 10, 10), category="mug", attributes={"color": "red"}),
                       make_region(2, (0, 0, 10, 10), category="mug"))
    assert referring_expressions(SceneFacts(scene), 1) == []


def test_toy_world_items_name_one_object_each_and_are_reproducible(tmp_path):
    world = write_toyworld(tmp_path / "w", scenes=8, seed=2)
    total = 0
    for scene in ToyWorldSource(world):
        items = referring_items(scene, np.random.default_rng(7), limit=3)
        again = referring_items(scene, np.random.default_rng(7), limit=3)
        assert items == again
        assert len(items) <= 3 and len({i.id for i in items}) == len(items)
        objects = {r.id: r for r in scene.objects}
        for item in items:
            assert item.category == REFERRING and item.no_target is False
            assert item.image == scene.image_record()
            # the mask is exactly one object's, and the phrase names that object's category
            target = [r for r in objects.values() if r.rle == item.mask]
            assert len(target) == 1 and not masks.is_empty(item.mask)
            assert target[0].category in item.expression
        total += len(items)
    assert total >= 8
