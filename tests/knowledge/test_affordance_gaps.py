"""A reasoning sample targets every region its phrase fits, so a phrase must be on every category it is
true of: these groups either all have it or none does (QA: "to bite into" was the apple's alone beside a
banana, "to make juice from" the orange's beside an apple)."""

from __future__ import annotations

import pytest

from groundv.knowledge import affordances

#: (phrase, categories it is true of); every one must have it or none
TRUE_OF = [
    ("to bite into", ["apple", "banana", "orange", "sandwich", "pizza", "hot dog", "donut", "cake", "carrot"]),
    ("to make juice from", ["apple", "orange"]),
    ("to ride", ["bicycle", "motorcycle", "horse", "skateboard", "bus", "train", "elephant"]),
    ("to drive", ["car", "bus", "truck"]),
    ("to travel in", ["car", "train", "bus", "airplane", "boat"]),
    ("to drink from", ["bottle", "glass", "cup", "mug", "wine glass", "can"]),
    ("to eat from", ["plate", "bowl"]),
    ("to sit on", ["chair", "bench", "couch", "stool", "toilet", "bed"]),
    ("to put food on", ["table", "dining table", "plate", "counter"]),
    ("to type on", ["keyboard", "laptop"]),
    ("to stroke", ["cat", "dog", "horse"]),
    ("that grazes in a field", ["cow", "sheep", "horse"]),
    ("to pour from", ["bottle", "carton", "kettle"]),
    ("to wipe with", ["napkin", "towel", "tissue paper"]),
    ("to keep warm", ["sweater", "scarf", "blanket"]),
    ("that gives shelter", ["house", "tent"]),
    ("to walk on", ["floor", "pavement"]),
]


@pytest.mark.parametrize(("phrase", "categories"), TRUE_OF, ids=[p for p, _ in TRUE_OF])
def test_a_phrase_is_on_every_category_it_fits_or_on_none(phrase: str, categories: list[str]) -> None:
    having = [c for c in categories if phrase in affordances(c)]
    assert having in ([], categories), f"{phrase!r} is on {having} only, of {categories}"
