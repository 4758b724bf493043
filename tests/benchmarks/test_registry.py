"""The benchmark registry and read_benchmark's dispatch and option checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundv.benchmarks import BENCHMARKS, read_benchmark
from groundv.errors import ConfigError
from groundv.eval.records import Item, read_items, write_jsonl
from tests.benchmarks.builders import ann, make_ref, rect, write_instances, write_refs


def test_the_benchmarks():
    assert list(BENCHMARKS) == ["refcoco", "refcoco+", "refcocog", "grefcoco", "reasonseg", "groundv"]
    assert all(isinstance(v, str) and v and "\n" not in v for v in BENCHMARKS.values())


@pytest.mark.parametrize(("name", "paths", "options", "message"), [
    ("refclef", 2, {}, "unknown benchmark 'refclef'"),
    ("refcoco", 2, {"group": "image"}, "group must be 'sentence' or 'ref', got 'image'"),
    ("refcoco", 1, {}, "refcoco needs 2 paths, the refs file and instances.json, got 1"),
    ("grefcoco", 3, {}, "grefcoco needs 2 paths"),
    ("refcocog", 2, {"image_size": (4, 4)}, "image_size is for reasonseg only"),
])
def test_config_errors(tmp_path, name, paths, options, message):
    with pytest.raises(ConfigError, match=message):
        read_benchmark(name, [tmp_path / f"f{i}" for i in range(paths)], split="val", **options)


@pytest.mark.parametrize("name", ["refcoco", "RefCOCO+", "refcocog", "grefcoco"])
def test_dispatch_names_the_category(tmp_path, name):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    refs = write_refs(tmp_path, [make_ref(1, 5, sentences=2)])
    items = list(read_benchmark(name, [refs, inst], split="val"))
    assert [(i.id, i.category, i.image["source"]) for i in items] == [
        ("1:10", name.lower(), name.lower()), ("1:11", name.lower(), name.lower())]


def test_items_round_trip_through_jsonl(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    items = list(read_benchmark("refcoco", [write_refs(tmp_path, [make_ref(1, 5, sentences=2)]), inst],
                                split="val", group="ref"))
    out = tmp_path / "items.jsonl"
    assert write_jsonl(items, out) == 1
    assert list(read_items(out)) == items and isinstance(items[0], Item)


def test_errors_happen_at_call_time(tmp_path):
    # A wrong split fails when read_benchmark is called, before any item is asked for.
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    with pytest.raises(ConfigError):
        read_benchmark("refcoco", [write_refs(tmp_path, [make_ref(1, 5)]), Path(inst)], split="testZ")
