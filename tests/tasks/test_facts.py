"""SceneFacts: colours, groups, safety for "all", relations, and the varied pick."""

from __future__ import annotations

import numpy as np

from groundv.tasks.facts import SceneFacts, pick_varied
from tests.conftest import make_region, make_scene


def test_colour_from_attributes_then_pixels_else_unknown() -> None:
    red = make_region(1, (0, 0, 20, 20), attributes={"color": "red", "size": "small"})
    plain = make_region(2, (30, 0, 50, 20))
    scene = make_scene(red, plain)
    assert SceneFacts(scene).regions[2].color is None
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:, 30:] = (40, 85, 205)
    facts = SceneFacts(scene, pixels)
    assert (facts.regions[1].color, facts.regions[1].size) == ("red", "small")
    assert facts.regions[2].color == "blue" and facts.regions[2].size is None


def test_safety_crowd_and_not_exhaustive() -> None:
    scene = make_scene(make_region(1, (0, 0, 10, 10), category="person"),
                       make_region(2, (20, 0, 30, 10), category="person", iscrowd=True),
                       make_region(3, (0, 20, 10, 30), category="dog"),
                       make_region(4, (20, 20, 30, 30), category="car_(automobile)"),
                       not_exhaustive=frozenset({"dog"}))
    facts = SceneFacts(scene)
    assert facts.groups["person"] == (1, 2) and facts.targets("person") == (1,)
    assert facts.safe_keys() == ["car"] and facts.names["car"] == "car"
    assert facts.values("car", "color") is None  # colour unknown


def test_relations_are_denied_only_with_a_margin() -> None:
    scene = make_scene(make_region(1, (0, 10, 10, 20), category="cup"),
                       make_region(2, (40, 10, 50, 20), category="bowl"))
    facts = SceneFacts(scene)
    assert facts.holds("cup", "left of", "bowl")
    assert facts.clearly_not("cup", "right of", "bowl") and not facts.clearly_not("cup", "left of", "bowl")
    assert facts.clearly_not("cup", "above", "bowl")  # level with each other
    assert not facts.clearly_not("cup", "left of", "cup")  # never a category against itself


def test_pick_varied_cycles_subtypes_and_is_deterministic() -> None:
    cands = {"a": [1, 2, 3], "b": [4], "c": []}
    first = pick_varied(np.random.default_rng(5), cands, 3)
    assert first == pick_varied(np.random.default_rng(5), cands, 3)
    assert {s for s, _ in first[:2]} == {"a", "b"} and len(first) == 3


def test_people_get_no_size() -> None:
    """"the medium people" reads badly, so sizes of people (like their colours) are never facts."""
    scene = make_scene(make_region(1, (0, 0, 10, 20), category="person", attributes={"size": "medium"}),
                       make_region(2, (20, 0, 30, 20), category="person", attributes={"size": "medium"}),
                       make_region(3, (40, 0, 50, 20), category="dog", attributes={"size": "medium"}))
    facts = SceneFacts(scene)
    assert facts.regions[1].size is None and facts.values("person", "size") is None
    assert facts.regions[3].size == "medium"
