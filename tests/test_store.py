"""The dataset directory: round trip, resume after a partial unit, refusals."""

from __future__ import annotations

import orjson
import pytest

from groundv import masks
from groundv.errors import ConfigError, GroundvWarning, InputError
from groundv.review.reviews import REVIEWS_FILE
from groundv.split import TEST_FILE
from groundv.store import (
    COMPLETED,
    DERIVED_FILES,
    MANIFEST,
    Dataset,
    UnitResult,
    append_line,
    clear_dataset,
    iter_samples,
    read_manifest,
)
from groundv.verify import VERDICTS_FILE

SETTINGS = {"source": {"format": "test", "path": "/data/x.json"}, "categories": ["negative", "part"], "seed": 0,
            "teacher": {"name": "rules", "model": None, "prompt_versions": {"negative": "v1", "part": "v1"}},
            "plans_per_unit": 3}


def sample(image_id: int, category: str, k: int) -> dict:
    return {"id": f"{image_id}-{category}-{k}", "image": {"id": image_id, "file_name": f"{image_id}.jpg",
                                                          "width": 4, "height": 3, "source": "test"},
            "category": category, "instruction": f"find thing {k}", "response": "none", "target_ids": [],
            "no_target": True, "mask": masks.empty(3, 4), "teacher": {"name": "rules", "model": None,
                                                                     "prompt_version": "v1"},
            "subtype": "object"}


def unit(image_id: int, category: str, n: int = 2, rejected: int = 1, unsupported: str | None = None) -> UnitResult:
    u = UnitResult(image_id, category, unsupported=unsupported)
    if unsupported is None:
        u.samples = [sample(image_id, category, k) for k in range(n)]
        u.subtypes["object"] = n
        u.rejections = [{"reason": "duplicate", "detail": "d", "image": sample(image_id, category, 0)["image"],
                         "category": category, "raw": {"x": (1, 2)}} for _ in range(rejected)]
    return u


def write_all(directory, units, **kw) -> Dataset:
    ds = Dataset(directory, SETTINGS, **kw)
    for index, u in units:
        if not ds.done(u.image_id, u.category):
            ds.write(index, u)
    return ds


UNITS = [(0, unit(1, "negative")), (0, unit(1, "part", unsupported="no part regions")),
         (1, unit(2, "negative", n=1, rejected=0)), (1, unit(2, "part", n=3, rejected=2))]


def files(directory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_round_trip_and_manifest(tmp_path):
    manifest = write_all(tmp_path, UNITS).finish()
    got = list(iter_samples(tmp_path))
    assert [s["id"] for s in got] == [s["id"] for _, u in UNITS for s in u.samples]
    assert got[0] == orjson.loads(orjson.dumps(UNITS[0][1].samples[0]))
    assert len(list(iter_samples(tmp_path, "rejections"))) == 3
    again = read_manifest(tmp_path)
    assert again.data == manifest.data
    assert again.complete and again.samples == 6 and again.rejected == 3
    assert again.unsupported == {"part": {"no part regions": 1}}
    assert again.rejections == {"duplicate": 3}
    neg = again.by_category["negative"]
    assert (neg["samples"], neg["rejected"], neg["acceptance_rate"]) == (3, 1, 0.75)
    assert again.by_category["part"]["subtypes"] == {"object": 3}
    assert again.data["groundv_version"] and again.settings == SETTINGS
    assert len((tmp_path / COMPLETED).read_bytes().splitlines()) == 4


def test_resume_removes_a_partial_unit(tmp_path):
    whole = tmp_path / "whole"
    write_all(whole, UNITS).finish()
    cut = tmp_path / "cut"
    ds = write_all(cut, UNITS[:2])
    # a unit half written: its samples and a torn line are on disk, its completion marker is not
    shard = cut / "samples-00000.jsonl"
    with shard.open("ab") as f:
        f.write(orjson.dumps(sample(2, "negative", 0)) + b"\n" + b'{"id": "torn')
    with (cut / COMPLETED).open("ab") as f:
        f.write(b'{"image_id": 2, "categ')  # a torn marker is no marker
    ds.close()
    resumed = write_all(cut, UNITS)
    assert resumed.resumed
    resumed.finish()
    assert files(cut) == files(whole)


def test_completed_units_are_skipped(tmp_path):
    write_all(tmp_path, UNITS[:3]).close()
    ds = Dataset(tmp_path, SETTINGS)
    assert ds.done(1, "negative") and ds.done(2, "negative") and not ds.done(2, "part")
    assert ds.instructions(2) == ["find thing 0"]
    ds.close()


def test_refuses_a_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a groundv dataset") as e:
        Dataset(tmp_path, SETTINGS)
    assert "empty" in (e.value.hint or "")
    with pytest.raises(ConfigError):
        Dataset(tmp_path, SETTINGS, force=True)  # --force never deletes a user's own files
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_refuses_other_settings_and_force_starts_over(tmp_path):
    write_all(tmp_path, UNITS).finish()
    other = {**SETTINGS, "seed": 1}
    with pytest.raises(ConfigError, match=r"seed: 0 → 1") as e:
        Dataset(tmp_path, other)
    assert "--force" in (e.value.hint or "")
    with pytest.raises(ConfigError, match="categories"):
        Dataset(tmp_path, {**SETTINGS, "categories": ["negative"]})
    with pytest.raises(ConfigError, match="teacher"):
        Dataset(tmp_path, {**SETTINGS, "teacher": {**SETTINGS["teacher"], "name": "openai"}})
    ds = Dataset(tmp_path, other, force=True)
    assert not ds.completed and not list(tmp_path.glob("samples-*"))
    ds.finish()
    assert read_manifest(tmp_path).settings["seed"] == 1


def test_a_file_in_place_of_the_folder(tmp_path):
    (tmp_path / "x").write_text("")
    with pytest.raises(ConfigError, match="is a file"):
        Dataset(tmp_path / "x", SETTINGS)


def test_read_manifest_errors(tmp_path):
    with pytest.raises(InputError, match="manifest.json is missing"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST).write_text("{")
    with pytest.raises(InputError, match="not valid JSON"):
        read_manifest(tmp_path)


def test_shards_by_scene_index(tmp_path, monkeypatch):
    monkeypatch.setattr("groundv.store.SHARD_SCENES", 1)
    manifest = write_all(tmp_path, UNITS).finish()
    assert sorted(p.name for p in tmp_path.glob("samples-*")) == ["samples-00000.jsonl", "samples-00001.jsonl"]
    assert manifest.data["files"]["samples"] == ["samples-00000.jsonl", "samples-00001.jsonl"]
    assert len(list(iter_samples(tmp_path))) == 6


def test_force_moves_what_other_stages_derived(tmp_path):
    write_all(tmp_path, UNITS).finish()
    old_samples = (tmp_path / "samples-00000.jsonl").read_bytes()
    derived = {"reviews.jsonl": b'{"r": 1}\n', "test.jsonl": b'{"t": 1}\n', "verdicts.jsonl": b'{"v": 1}\n'}
    for name, data in derived.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / ".review-cache").mkdir()
    (tmp_path / ".review-cache" / "x.png").write_bytes(b"png")
    (tmp_path / "show").mkdir()
    (tmp_path / "show" / "0123456789abcdef.png").write_bytes(b"png")  # `groundv show` of an old sample
    (tmp_path / "show" / "mine.png").write_bytes(b"png")  # not groundv's: stays
    (tmp_path / "ledger.jsonl").write_bytes(b"spend\n")  # spend is counted across runs: stays
    with pytest.warns(GroundvWarning, match="replaced-"):
        ds = Dataset(tmp_path, {**SETTINGS, "seed": 1}, force=True)
    ds.finish()
    for name in DERIVED_FILES:
        assert not (tmp_path / name).exists()
    assert not (tmp_path / ".review-cache").exists() and (tmp_path / "ledger.jsonl").read_bytes() == b"spend\n"
    assert [p.name for p in (tmp_path / "show").iterdir()] == ["mine.png"]
    (replaced,) = tmp_path.glob("replaced-*")
    assert {name: (replaced / name).read_bytes() for name in derived} == derived
    assert (replaced / "samples-00000.jsonl").read_bytes() == old_samples
    assert read_manifest(replaced).settings["seed"] == 0 and read_manifest(tmp_path).settings["seed"] == 1
    assert DERIVED_FILES == (REVIEWS_FILE, TEST_FILE, VERDICTS_FILE)


def test_force_without_derived_files_deletes_the_old_dataset(tmp_path):
    write_all(tmp_path, UNITS).finish()
    assert clear_dataset(tmp_path) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_folder_where_nothing_was_written_is_started_over(tmp_path):
    # a run that failed on bad input before any unit: the corrected command is not refused
    Dataset(tmp_path, {**SETTINGS, "source": {"format": "pascal-part", "path": "/x"}}).close()
    assert read_manifest(tmp_path).data["status"] == "running"
    ds = write_all(tmp_path, UNITS)
    assert not ds.resumed
    ds.finish()
    assert read_manifest(tmp_path).settings == SETTINGS and read_manifest(tmp_path).samples == 6
    # once a unit is written, other settings are refused as before
    with pytest.raises(ConfigError, match="other settings"):
        Dataset(tmp_path, {**SETTINGS, "seed": 5})


def test_abandon_leaves_no_half_made_folder(tmp_path):
    Dataset(tmp_path / "new", SETTINGS).abandon()
    assert not (tmp_path / "new").exists()
    kept = Dataset(tmp_path / "kept", SETTINGS)
    (kept.dir / "teacher-cache.sqlite").write_bytes(b"")  # an LLM run's cache: the folder stays as it is
    kept.abandon()
    kept = kept.dir
    assert (kept / MANIFEST).is_file()
    done = write_all(tmp_path / "done", UNITS[:1])
    done.abandon()  # a unit is on disk: nothing is removed
    assert list(iter_samples(tmp_path / "done"))


def test_interrupt_records_what_is_on_disk(tmp_path):
    ds = write_all(tmp_path, UNITS[:3])
    manifest = ds.interrupt()
    again = read_manifest(tmp_path)
    assert again.data == manifest.data
    assert again.data["status"] == "interrupted" and again.data["units"] == 3 and again.samples == 3
    resumed = write_all(tmp_path, UNITS)
    assert resumed.resumed
    assert resumed.finish().complete


def test_append_line_closes_a_torn_line(tmp_path):
    path = tmp_path / "log.jsonl"
    append_line(path, b'{"id": "a"}')
    with path.open("ab") as f:
        f.write(b'{"id": "to')  # a killed writer
    append_line(path, b'{"id": "b"}\n', sync=False)
    assert path.read_bytes().splitlines() == [b'{"id": "a"}', b'{"id": "to', b'{"id": "b"}']
