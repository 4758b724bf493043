"""Synonyms word "all the X" instructions: they must mean exactly X (no gendered, age, narrower or broader
words), and names must read as English (LVIS v0.5 pairs, plural-only and uncountable nouns)."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from groundv.knowledge import canonical, display_name, is_mass, plural, synonyms

NODES = json.loads(resources.files("groundv.knowledge").joinpath("data/taxonomy.json").read_text(encoding="utf-8"))

#: words that pick out people or animals by sex or age: never a synonym of anything
GENDER_AGE = {"man", "men", "woman", "women", "boy", "girl", "lady", "ladies", "gentleman", "male", "female",
              "guy", "gal", "mare", "stallion", "bull", "calf", "ewe", "ram", "lamb", "puppy", "pup", "kitten",
              "kitty", "foal", "colt", "filly", "hen", "rooster", "cub", "baby", "child", "kid"}

#: the QA findings' narrower (or broader, or other) words, each with the category it must not stand for
NOT_SYNONYMS = [("person", "woman"), ("person", "man"), ("dog", "puppy"), ("cow", "calf"), ("cow", "bull"),
                ("horse", "mare"), ("horse", "stallion"), ("bird", "songbird"), ("bird", "pigeon"),
                ("cat", "kitten"), ("car", "sedan"), ("bus", "school bus"), ("bus", "coach"), ("lamp", "table lamp"),
                ("table", "coffee table"), ("apple", "red apple"), ("chair", "armchair"), ("car", "vehicle"),
                ("mug", "cup"), ("tree", "bush"), ("sky", "clouds"), ("bear", "polar bear")]


def _all_synonyms(sections: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(key, s) for section in sections for key, node in NODES[section].items()
            for s in node.get("synonyms", [])]


@pytest.mark.parametrize(("key", "synonym"), _all_synonyms(("concepts", "objects", "stuff", "parts")))
def test_no_synonym_is_a_gendered_or_age_word(key: str, synonym: str) -> None:
    words = set(re.findall(r"[a-z]+", synonym.lower()))
    assert not words & GENDER_AGE, f"{key}: {synonym!r}"


@pytest.mark.parametrize(("category", "word"), NOT_SYNONYMS)
def test_narrower_and_gendered_words_are_not_synonyms(category: str, word: str) -> None:
    assert word not in {s.lower() for s in synonyms(category)}


@pytest.mark.parametrize(("key", "synonym"), _all_synonyms(("concepts", "objects", "stuff")))
def test_no_synonym_names_another_category(key: str, synonym: str) -> None:
    # "coach" for bus is the train's carriage, "table" for a dining table every table: another node's
    # name is never the same thing
    assert canonical(synonym) in (None, key), f"{key}: {synonym!r} is {canonical(synonym)!r}"


@pytest.mark.parametrize(("category", "word"), [("couch", "sofa"), ("bicycle", "bike"), ("tv", "television"),
                                                 ("refrigerator", "fridge"), ("donut", "doughnut")])
def test_true_synonyms_stay(category: str, word: str) -> None:
    assert word in synonyms(category)


def test_lvis_v05_two_name_categories_read_as_their_plain_name() -> None:
    raw = "monitor_(computer_equipment) computer_monitor"
    assert (display_name(raw), plural(raw)) == ("computer monitor", "computer monitors")


def test_jeans_are_a_pair() -> None:
    assert (display_name("jean"), plural("jean")) == ("pair of jeans", "pairs of jeans")
    assert "jeans" in synonyms("jean")


@pytest.mark.parametrize("category", ["grass-merged", "sky-other-merged", "sand", "snow", "water-other", "dirt-merged"])
def test_panoptic_stuff_like_grass_is_uncountable(category: str) -> None:
    assert is_mass(category)
    assert plural(category) == display_name(category)


@pytest.mark.parametrize("category", ["dog", "person", "wall-other-merged", "skis", "mug:handle"])
def test_countable_things_are_not_mass(category: str) -> None:
    assert not is_mass(category)


#: nursery words: a dataset's instructions should not read as baby talk ("Segment all the doggies")
BABY_TALK = {"doggy", "doggie", "doggies", "kitty", "kitties", "bunny", "horsey", "piggy", "birdie", "ducky",
             "moo", "choo"}


@pytest.mark.parametrize(("key", "synonym"), _all_synonyms(("concepts", "objects", "stuff", "parts")))
def test_no_synonym_is_baby_talk(key: str, synonym: str) -> None:
    assert not set(re.findall(r"[a-z]+", synonym.lower())) & BABY_TALK, f"{key}: {synonym!r}"
