"""The offline second teacher (groundv.verify): generated samples agree, tampered ones do not."""

from __future__ import annotations

import shutil
from collections import Counter

import orjson
import pytest
from typer.testing import CliRunner

from groundv import knowledge
from groundv.cli import app
from groundv.errors import ConfigError, GroundvWarning
from groundv.export.base import open_dataset_source, scenes_for
from groundv.generate import generate
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.store import iter_samples
from groundv.verify import VERDICTS_FILE, RulesVerifier, verify

runner = CliRunner()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify")
    world = write_toyworld(root / "world", 10, 0)
    generate(ToyWorldSource(world), root / "ds")
    return root / "ds"


@pytest.fixture
def dataset(generated, tmp_path):
    """A fresh copy of the generated dataset (the source path is recorded absolute)."""
    return shutil.copytree(generated, tmp_path / "ds")


def verdicts(directory):
    return {r["id"]: r for r in map(orjson.loads, (directory / VERDICTS_FILE).read_bytes().splitlines())}


def rewrite(directory, edit):
    """Apply ``edit(sample) -> sample | None`` to every sample (None: unchanged); return edited ids."""
    path = directory / "samples-00000.jsonl"
    edited, lines = [], []
    for sample in map(orjson.loads, path.read_bytes().splitlines()):
        new = edit(sample)
        if new is not None:
            edited.append(new["id"])
            sample = new
        lines.append(orjson.dumps(sample))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return edited


def test_every_generated_sample_agrees(dataset):
    samples = list(iter_samples(dataset))
    summary = verify(dataset)
    assert summary.new == Counter({"agree": len(samples)}) and summary.total == summary.new
    assert summary.corrupt == [] and summary.skipped_existing == 0
    # every category and subtype of the generator is covered by a rule, not left unsure
    assert {(s["category"], s["subtype"]) for s in samples} >= {
        ("negative", "object"), ("multi_object", "category"), ("reasoning", "affordance"),
        ("multi_granularity", "instance"), ("part", "one")}
    found = verdicts(dataset)
    assert set(found) == {s["id"] for s in samples}
    for s in samples:
        record = found[s["id"]]
        assert record["verdict"] == "agree", record
        assert record["verifier"] == {"name": "rules"}
        assert record["expected_ids"] == sorted(s["target_ids"])
        assert isinstance(record["detail"], str) and record["detail"]
    assert sum(sum(c.values()) for c in summary.by_category.values()) == len(samples)


def test_dropped_and_added_targets_disagree(dataset):
    state = {"dropped": None, "added": None}

    def tamper(sample):
        ids = sample["target_ids"]
        if state["dropped"] is None and sample["category"] == "multi_object" and len(ids) >= 2:
            state["dropped"] = (sample["id"], sorted(ids))
            return {**sample, "target_ids": ids[1:]}
        if state["added"] is None and sample["category"] == "reasoning":
            state["added"] = (sample["id"], sorted(ids))
            return {**sample, "target_ids": [*ids, 999_999]}
        return None

    assert len(rewrite(dataset, tamper)) == 2
    verify(dataset)
    found = verdicts(dataset)
    for sample_id, original in state.values():
        assert found[sample_id]["verdict"] == "disagree"
        assert found[sample_id]["expected_ids"] == original  # the verifier's own answer is kept
    assert Counter(r["verdict"] for r in found.values()) == Counter({"agree": len(found) - 2, "disagree": 2})


def test_negative_naming_a_present_category_disagrees(dataset):
    state = {}

    def tamper(sample):
        if state or sample["subtype"] != "object" or sample["category"] != "negative":
            return None
        state["id"] = sample["id"]
        return sample

    rewrite(dataset, tamper)
    # name a category that is present in that sample's image
    target = next(s for s in iter_samples(dataset) if s["id"] == state["id"])
    scene = scenes_for(open_dataset_source(dataset), [target["image"]["id"]])[target["image"]["id"]]
    obj = scene.objects[0]
    present = knowledge.display_name(obj.category)

    def make_present(sample):
        if sample["id"] != state["id"]:
            return None
        sample["plan"]["facts"] = {"absent": present}
        return sample

    rewrite(dataset, make_present)
    verify(dataset)
    record = verdicts(dataset)[state["id"]]
    assert record["verdict"] == "disagree", record
    assert obj.id in record["expected_ids"]


def test_unknown_subtype_or_missing_scene_is_unsure():
    verifier = RulesVerifier()
    assert verifier.check({"plan": {"category": "negative", "subtype": "poem", "facts": {}}}, None).verdict == "unsure"
    sample = {"plan": {"category": "multi_object", "subtype": "category", "facts": {"category": "mug"}}}
    result = verifier.check(sample, None)
    assert result.verdict == "unsure" and result.expected_ids is None and "source" in result.detail


def test_resumable_and_corrupt_verdict_lines(dataset):
    first = verify(dataset)
    again = verify(dataset)
    assert sum(again.new.values()) == 0 and again.skipped_existing == sum(first.new.values())
    assert again.total == first.total
    # a corrupt line is reported and skipped; the sample it held is verdicted again
    path = dataset / VERDICTS_FILE
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join([b"{not json", *lines[1:]]) + b"\n")
    third = verify(dataset)
    assert len(third.corrupt) == 1 and "line 1" in third.corrupt[0][0]
    assert third.new == Counter({"agree": 1}) and third.total == first.total


def test_drop_disagreeing_keeps_only_agreeing(dataset, tmp_path):
    dropped = rewrite(dataset, lambda s: {**s, "target_ids": s["target_ids"][:-1]}
                      if s["category"] == "part" else None)
    assert dropped
    summary = verify(dataset, drop_disagreeing=tmp_path / "kept")
    kept = [orjson.loads(line) for line in (tmp_path / "kept" / "samples-00000.jsonl").read_bytes().splitlines()]
    total = len(list(iter_samples(dataset)))
    assert summary.kept == len(kept) == total - len(dropped)
    assert not {s["id"] for s in kept} & set(dropped)
    with pytest.raises(ConfigError, match="not empty"):
        verify(dataset, drop_disagreeing=tmp_path / "kept")
    assert verify(dataset, drop_disagreeing=tmp_path / "kept", force=True).kept == len(kept)
    # The kept folder is a dataset like any other: its manifest counts what is in it, and it exports.
    from groundv.export import get_exporter
    from groundv.store import read_manifest

    manifest = read_manifest(tmp_path / "kept")
    assert manifest.samples == len(kept) and manifest.data["verified"]["dropped"] == len(dropped)
    assert sum(entry["samples"] for entry in manifest.by_category.values()) == len(kept)
    assert get_exporter("psalm")(tmp_path / "kept", tmp_path / "psalm").written == len(kept)


def test_unknown_teacher_is_a_config_error(dataset):
    with pytest.raises(ConfigError, match="unknown verifier"):
        verify(dataset, teacher="llm")
    assert not (dataset / VERDICTS_FILE).exists()


def test_cli_verify(dataset, tmp_path):
    n = len(list(iter_samples(dataset)))
    result = runner.invoke(app, ["verify", str(dataset), "--drop-disagreeing", str(tmp_path / "kept")])
    assert result.exit_code == 0, result.output
    assert "agree" in result.output and f"verdicted {n} samples" in result.output
    assert f"kept {n} agreeing samples" in result.output
    result = runner.invoke(app, ["verify", str(dataset)])
    assert result.exit_code == 0 and "verdicted 0 samples" in result.output
    result = runner.invoke(app, ["verify", str(dataset), "--drop-disagreeing", str(tmp_path / "kept")])
    assert result.exit_code == 2 and "not empty" in result.output
    result = runner.invoke(app, ["verify", str(dataset), "--teacher", "gpt"])
    assert result.exit_code == 2 and "unknown verifier" in result.output


def test_malformed_sample_lines_are_reported_and_skipped(dataset):
    path = dataset / "samples-00000.jsonl"
    lines = path.read_bytes().splitlines()
    first, second, third = (orjson.loads(line) for line in lines[:3])
    no_image = {k: v for k, v in first.items() if k != "image"}
    string_targets = {**second, "target_ids": "1,2"}
    path.write_bytes(b"\n".join([orjson.dumps(no_image), orjson.dumps(string_targets), b"[1, 2]", *lines[2:]])
                     + b"\n")
    summary = verify(dataset)
    assert sum(summary.new.values()) == len(lines) - 2 and third["id"] in verdicts(dataset)
    reasons = " | ".join(why for _, why in summary.corrupt)
    assert len(summary.corrupt) == 3 and "missing field 'image'" in reasons and "target_ids" in reasons
    assert not {first["id"], second["id"]} & set(verdicts(dataset))


def test_a_torn_last_verdict_line_does_not_swallow_the_next_verdict(dataset):
    verify(dataset)
    path = dataset / VERDICTS_FILE
    lines = path.read_bytes().splitlines()
    lost = orjson.loads(lines[-1])["id"]
    path.write_bytes(b"\n".join(lines[:-1]) + b"\n" + lines[-1][:20])  # killed while writing the last verdict
    again = verify(dataset)
    assert again.new == Counter({"agree": 1}) and len(again.corrupt) == 1
    assert lost in verdicts_lenient(dataset)
    assert len(verify(dataset).corrupt) == 1 and sum(verify(dataset).new.values()) == 0


def verdicts_lenient(directory):
    out = {}
    for line in (directory / VERDICTS_FILE).read_bytes().splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        out[record["id"]] = record
    return out


def test_drop_disagreeing_never_overwrites_the_dataset_itself(dataset):
    # some samples disagree: writing the agreeing ones over the dataset would delete them for good
    assert rewrite(dataset, lambda s: {**s, "target_ids": s["target_ids"][:-1]}
                   if s["category"] == "part" and len(s["target_ids"]) > 1 else None)
    before = (dataset / "samples-00000.jsonl").read_bytes()
    for target in (dataset, dataset / ".." / dataset.name):
        with pytest.raises(ConfigError, match="dataset being verified"):
            verify(dataset, drop_disagreeing=target, force=True)
    assert (dataset / "samples-00000.jsonl").read_bytes() == before


def test_drop_disagreeing_into_another_dataset_replaces_it_whole(dataset, tmp_path):
    other = shutil.copytree(dataset, tmp_path / "other")
    verify(other)
    (other / "reviews.jsonl").write_text('{"action": "accept"}\n')
    shards = [other / f"samples-0000{k}.jsonl" for k in (0, 1)]
    shards[1].write_bytes(shards[0].read_bytes())  # a shard the filtered folder does not write
    with pytest.warns(GroundvWarning, match="replaced-"):
        summary = verify(dataset, drop_disagreeing=other, force=True)
    assert not (other / VERDICTS_FILE).exists() and not (other / "reviews.jsonl").exists()
    assert sorted(p.name for p in other.glob("samples-*")) == ["samples-00000.jsonl"]
    assert len(list(iter_samples(other))) == summary.kept
    (replaced,) = other.glob("replaced-*")
    assert (replaced / VERDICTS_FILE).is_file() and (replaced / "reviews.jsonl").is_file()
