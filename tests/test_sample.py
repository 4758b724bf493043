"""Sample: JSON round trip, contract checks on reading, stable ids."""

from __future__ import annotations

import pytest

from groundv import masks
from groundv.errors import InputError
from groundv.sample import Sample, sample_id
from tests.conftest import box_mask


def _sample(**over) -> Sample:
    fields = dict(
        id=sample_id("test", 1, "multi_object", 0, "Segment all the mugs."),
        image={"id": 1, "file_name": "img.jpg", "width": 60, "height": 40, "source": "test"},
        category="multi_object", instruction="Segment all the mugs.", response="Sure — here are the two mugs.",
        target_ids=[1, 2], no_target=False, mask=box_mask(40, 60, 2, 10, 40, 20),
        teacher={"name": "rules", "model": None, "prompt_version": "v1"}, subtype="category", level=None,
        plan={"category": "multi_object", "subtype": "category", "target_ids": [1, 2],
              "facts": {"category": "mug", "count": 2}, "level": None},
        provenance={"unit": 3, "seed": 7})
    fields.update(over)
    return Sample(**fields)


def test_round_trip() -> None:
    sample = _sample()
    record = sample.to_json()
    assert set(record) >= {"id", "image", "category", "instruction", "response", "target_ids", "no_target", "mask",
                           "teacher", "subtype", "level", "plan", "provenance"}
    assert Sample.from_json(record) == sample


def test_round_trip_no_target() -> None:
    sample = _sample(category="negative", target_ids=[], no_target=True, mask=masks.empty(40, 60), plan=None,
                     provenance={})
    assert Sample.from_json(sample.to_json()) == sample


def test_sample_id_is_stable_and_sensitive() -> None:
    a = sample_id("coco", 139, "part", 0, "Segment the handle of the mug.")
    assert a == sample_id("coco", 139, "part", 0, "Segment the handle of the mug.")
    assert len(a) == 16 and int(a, 16) >= 0
    assert a != sample_id("coco", 139, "part", 1, "Segment the handle of the mug.")
    assert a != sample_id("coco", 140, "part", 0, "Segment the handle of the mug.")
    assert a != sample_id("lvis", 139, "part", 0, "Segment the handle of the mug.")
    assert a != sample_id("coco", 139, "part", 0, "Segment the mug handle.")
    assert sample_id("coco", 139, "part", 0, "x") == sample_id("coco", "139", "part", 0, "x")


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r.pop("mask"), "missing field 'mask'"),
    (lambda r: r.update(target_ids="1"), "'target_ids' must be list"),
    (lambda r: r.update(category="hallucination"), "unknown category"),
    (lambda r: r.update(no_target=True), "no_target is True"),
    (lambda r: r.update(target_ids=[1, "2"]), "list of integers"),
    (lambda r: r["image"].pop("width"), "image lacks width"),
    (lambda r: r["teacher"].pop("prompt_version"), "teacher lacks prompt_version"),
    (lambda r: r.update(mask=masks.empty(10, 10)), "mask is 10×10"),
    (lambda r: r.update(mask=masks.empty(40, 60)), "empty exactly when"),
    (lambda r: r.update(mask={"size": [40, 60], "counts": "0"}), "corrupt"),
    (lambda r: r.update(plan=[1]), "'plan' must be an object"),
])
def test_bad_records_name_file_line_and_id(change, message) -> None:
    record = _sample().to_json()
    change(record)
    with pytest.raises(InputError) as err:
        Sample.from_json(record, file="samples-0.jsonl", where="line 3")
    text = str(err.value)
    assert message in text
    assert text.startswith("samples-0.jsonl: line 3, sample ")


def test_not_an_object() -> None:
    with pytest.raises(InputError, match="JSON object"):
        Sample.from_json([1], file="a.jsonl", where="line 1")
