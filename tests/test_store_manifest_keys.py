"""A resumed generation keeps the manifest keys other stages added (split, verify); force drops them."""

from __future__ import annotations

import orjson

from groundv.store import MANIFEST, OWNED_KEYS, Dataset, read_manifest
from tests.test_store import SETTINGS, UNITS, write_all

FOREIGN = {"test_split": {"kept": 3, "discard_rate": 0.25}, "verified": {"verifier": "rules", "kept": 5}}


def add_keys(directory, extra):
    path = directory / MANIFEST
    path.write_bytes(orjson.dumps({**orjson.loads(path.read_bytes()), **extra}))


def test_resume_keeps_keys_it_does_not_own(tmp_path):
    write_all(tmp_path, UNITS[:2]).finish()
    add_keys(tmp_path, FOREIGN)
    ds = write_all(tmp_path, UNITS)
    assert ds.resumed
    assert {k: read_manifest(tmp_path).data[k] for k in FOREIGN} == FOREIGN  # kept while running, too
    manifest = ds.finish()
    assert manifest.data["test_split"] == FOREIGN["test_split"] and manifest.data["verified"] == FOREIGN["verified"]
    # the counts are its own, redone from completed.log: a stale value added by hand does not survive
    assert manifest.samples == 6 and manifest.complete
    assert read_manifest(tmp_path).data == manifest.data


def test_owned_keys_are_rewritten_and_force_starts_without_foreign_keys(tmp_path):
    write_all(tmp_path, UNITS).finish()
    add_keys(tmp_path, {**FOREIGN, "samples": 999, "status": "odd"})
    resumed = write_all(tmp_path, UNITS).finish()
    assert resumed.samples == 6 and resumed.data["status"] == "complete" and "test_split" in resumed.data
    assert {"samples", "status", "settings"} <= OWNED_KEYS and not set(FOREIGN) & OWNED_KEYS
    fresh = Dataset(tmp_path, SETTINGS, force=True).finish()
    assert not set(FOREIGN) & set(fresh.data)
