from __future__ import annotations

import re

import pytest

from groundv.knowledge import (
    affordances,
    affords,
    all_affordances,
    canonical,
    categories_for,
    load_affordances,
    load_taxonomy,
)
from tests.knowledge.vocab import COCO80, PACO75, TOY_OBJECTS, TOY_PARTS


@pytest.mark.parametrize(("phrase", "must_include"), [
    ("to sit on", {"chair", "couch", "bench", "stool"}),
    ("something to sit on", {"chair", "couch", "bench"}),
    ("to drink from", {"cup", "mug", "wine glass", "bottle", "glass"}),
    ("to cut with", {"knife", "scissors"}),
    ("that can fly", {"bird", "airplane"}),
    ("to hold", {"handle", "mug:handle", "umbrella:handle"}),
    ("to roll on", {"wheel", "car:wheel", "bicycle:wheel"}),
    ("to sleep on", {"bed"}),
])
def test_categories_for(phrase, must_include):
    found = categories_for(phrase)
    assert must_include <= found
    assert not any(k in found for k in load_taxonomy().nodes if load_taxonomy().nodes[k].section == "concepts")


def test_issue_example_is_exact():
    assert categories_for("something to cut the cake with") == frozenset({"knife"})
    assert categories_for("Something to cut the cake with.") == frozenset({"knife"})


def test_unknown_affordance_has_no_categories():
    assert categories_for("to teleport with") == frozenset()


@pytest.mark.parametrize("category", [*COCO80, *PACO75, *TOY_OBJECTS, *TOY_PARTS])
def test_coverage_and_inverse_consistency(category):
    phrases = affordances(category)
    assert phrases, f"{category} has no affordance"
    key = canonical(category)
    for phrase in phrases:
        assert key in categories_for(phrase), (category, phrase)
        assert affords(category, phrase)


def test_inherited_from_hypernyms():
    mug = affordances("mug")
    assert "to drink from" in mug  # from cup
    assert "to put things in" in mug  # from container
    assert mug.index("to drink coffee from") < mug.index("to put things in")  # most specific first
    assert "to keep as a pet" in affordances("dog")
    assert "to keep as a pet" not in affordances("cow")


def test_part_affordances():
    assert "to hold" in affordances("mug:handle")
    assert "to roll on" in affordances("car_(automobile):wheel")
    assert affordances("chair:leg") == ("that holds it up",)
    assert "to hold" in affordances("zork:handle")  # unknown object, known part
    assert "to hear with" in affordances("person:lear")


@pytest.mark.parametrize(("category", "phrase", "expected"), [
    ("wine glass", "something to drink from", True), ("dog", "to drink from", False),
    ("couch", "To sit on", True), ("Tabasco_sauce", "to eat", False), ("sports ball", "to kick", True),
])
def test_affords(category, phrase, expected):
    assert affords(category, phrase) is expected


def test_unknown_category_has_none():
    assert affordances("Tabasco_sauce") == ()


def test_phrases_complete_something():
    phrases = all_affordances()
    assert len(phrases) > 200
    for phrase in phrases:
        assert phrase.startswith(("to ", "that ")), phrase
        assert phrase == phrase.strip() and phrase[-1].isalnum(), phrase


def test_loader_with_explicit_paths_matches_the_packaged_file():
    from importlib import resources

    path = resources.files("groundv.knowledge").joinpath("data").joinpath("affordances.json")
    loaded = load_affordances(str(path), taxonomy=load_taxonomy())
    assert loaded.affordances("mug") == affordances("mug")


def test_no_affordance_strands_a_preposition_after_a_place() -> None:
    """"something to sit at the table on" reads badly; "something to sit on at the table" does not."""
    stranded = [a for a in all_affordances() if re.search(r"\b(at|in|on) the [a-z]+ (on|in|at)$", a)]
    assert not stranded, stranded
