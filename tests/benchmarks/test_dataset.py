"""A groundv dataset (the sample contract) read as a benchmark."""

from __future__ import annotations

import orjson
import pytest

from groundv import masks
from groundv.benchmarks import read_benchmark
from groundv.errors import ConfigError, InputError
from tests.conftest import box_mask

IMAGE = {"id": 7, "file_name": "a.jpg", "width": 10, "height": 8, "source": "toyworld"}


def sample(sample_id, category, box=None, split="test", **extra):
    mask = box_mask(8, 10, *box) if box else masks.empty(8, 10)
    out = {"id": sample_id, "image": IMAGE, "category": category, "instruction": f"find {sample_id}",
           "response": "…", "target_ids": [1] if box else [], "no_target": box is None, "mask": mask,
           "teacher": {"name": "rules", "model": None, "prompt_version": "1"}, **extra}
    if split is not None:
        out["split"] = split
    return out


def write(path, samples):
    path.write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in samples))
    return path


def test_samples_become_items_with_their_category(tmp_path):
    write(tmp_path / "samples-000.jsonl", [sample("a", "negative"), sample("b", "part", (0, 0, 2, 2)),
                                           sample("c", "reasoning", (1, 1, 3, 3), split="train")])
    write(tmp_path / "samples-001.jsonl", [sample("d", "multi_object", (0, 0, 5, 5))])
    items = list(read_benchmark("groundv", [tmp_path], split="test"))
    assert [(i.id, i.category, i.no_target) for i in items] == [
        ("a", "negative", True), ("b", "part", False), ("d", "multi_object", False)]
    assert items[0].expression == "find a" and masks.is_empty(items[0].mask)
    assert masks.area(items[2].mask) == 25
    assert len(list(read_benchmark("groundv", [tmp_path / "samples-000.jsonl"], split="all"))) == 3


@pytest.mark.parametrize(("bad", "message"), [
    (dict(sample("x", "part", (0, 0, 2, 2)), no_target=True), "no_target is True but target_ids has 1 ids"),
    (dict(sample("x", "negative"), target_ids=None), "'target_ids' must be list"),
    (dict(sample("x", "negative"), instruction=3), "'instruction' must be str"),
])
def test_samples_that_break_the_contract_are_refused(tmp_path, bad, message):
    path = write(tmp_path / "samples.jsonl", [sample("ok", "negative"), bad])
    with pytest.raises(InputError, match=message) as info:
        list(read_benchmark("groundv", [path], split="test"))
    assert "samples.jsonl: line 2" in str(info.value)


def test_split_and_path_errors(tmp_path):
    path = write(tmp_path / "samples.jsonl", [sample("a", "negative", split=None)])
    with pytest.raises(ConfigError, match="no sample is in split 'test'") as info:
        list(read_benchmark("groundv", [path], split="test"))
    assert "(none)" in info.value.hint
    with pytest.raises(InputError, match="missing.jsonl: file not found"):
        read_benchmark("groundv", [tmp_path / "missing.jsonl"], split="all")  # fails before any item is read
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="no samples\\*.jsonl in this folder"):
        read_benchmark("groundv", [tmp_path / "d"], split="all")
    dup = write(tmp_path / "samples-dup.jsonl", [sample("a", "negative"), sample("a", "negative")])
    with pytest.raises(InputError, match="duplicate sample id 'a'"):
        list(read_benchmark("groundv", [dup], split="test"))
