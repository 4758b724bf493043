"""The leakage guard: benchmark image ids from RefCOCO-family refs files."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from groundv.errors import ConfigError, InputError
from groundv.sources.refs import LeakageGuard, benchmark_image_ids, is_eval_split, read_refs

# -- real data -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["refs(unc)_DERIVED_img98304.p", "refs_unc_DERIVED_img98304.json"])
def test_derived_refs_for_98304_are_train(shared_data, name):
    path = shared_data / "refcoco" / name
    refs = read_refs(path)
    assert [(r["ref_id"], r["image_id"], r["split"]) for r in refs] == [(41412, 98304, "train"),
                                                                        (41413, 98304, "train")]
    assert benchmark_image_ids([path]) == frozenset()  # train images are never excluded


def test_grefcoco_val_no_target_image_is_excluded(shared_data):
    path = shared_data / "grefcoco" / "grefs_unc_excerpt_notarget.json"
    assert benchmark_image_ids([path]) == {909}


def test_verbatim_ref0_is_train(shared_data):
    assert benchmark_image_ids([shared_data / "refcoco" / "refs_unc_excerpt_ref0.json"]) == frozenset()


def test_guard_summary_over_all_real_files(shared_data):
    paths = [shared_data / "refcoco" / "refs(unc)_DERIVED_img98304.p",
             shared_data / "refcoco" / "refs_unc_excerpt_ref0.json",
             shared_data / "refcoco" / "refcoco_unc_mattnet_data_excerpt.json",  # a dict with "refs"
             shared_data / "grefcoco" / "grefs_unc_excerpt_notarget.json"]
    guard = LeakageGuard.from_files(paths)
    assert [(f.refs, f.eval_refs) for f in guard.files] == [(2, 0), (1, 0), (5, 0), (1, 1)]
    assert guard.image_ids == {909} and 909 in guard and 98304 not in guard
    assert guard.summary() == "excluded 1 image from 4 files (1 evaluation ref)"


# -- splits --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("split", "excluded"), [
    ("train", False), ("val", True), ("test", True), ("testA", True), ("testB", True), ("testC", True),
    ("testAB", True), ("trainval", False),
])
def test_eval_splits(split, excluded):
    assert is_eval_split(split) is excluded


def write_json(tmp_path: Path, refs: object, name: str = "refs.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(refs))
    return path


SPLITS = [{"ref_id": i, "image_id": 100 + i, "split": s}
          for i, s in enumerate(["train", "val", "testA", "testB", "testAB", "test"])]


@pytest.mark.parametrize(("splits", "ids"), [
    (None, {101, 102, 103, 104, 105}),
    (("testA",), {102, 104}),  # REFER: testA also selects the combined testAB
    (("test",), {102, 103, 104, 105}),
    (("val",), {101}),
])
def test_named_splits_follow_refer(tmp_path, splits, ids):
    assert benchmark_image_ids([write_json(tmp_path, SPLITS)], splits=splits) == ids


@pytest.mark.parametrize("splits", [(), "val"])
def test_bad_splits_argument(tmp_path, splits):
    with pytest.raises(ConfigError):
        benchmark_image_ids([write_json(tmp_path, SPLITS)], splits=splits)


# -- pickles -------------------------------------------------------------------------------------


def test_python3_pickle(tmp_path):
    path = tmp_path / "refs(umd).p"
    refs = [{"ref_id": 1, "image_id": 5, "split": "test", "ann_id": {1, 2}}]
    path.write_bytes(pickle.dumps(refs, protocol=2))
    assert benchmark_image_ids([path]) == {5}


def test_python2_pickle_with_latin1_text(tmp_path):
    # Hand-written protocol-2 pickle as Python 2 writes it: byte strings (SHORT_BINSTRING), one of
    # them not UTF-8, and a set named through __builtin__.
    data = (b"\x80\x02]q\x00}q\x01(U\x08image_idq\x02K\x05U\x05splitq\x03U\x05testBq\x04"
            b"U\x03rawq\x05U\x04caf\xe9q\x06U\x06ann_idq\x07c__builtin__\nset\nq\x08]q\tK\x01a\x85q\nRq\x0bua.")
    path = tmp_path / "refs(unc).p"
    path.write_bytes(data)
    (ref,) = read_refs(path)
    assert ref == {"image_id": 5, "split": "testB", "raw": "café", "ann_id": {1}}
    assert benchmark_image_ids([path]) == {5}


def test_pickle_that_would_run_code_is_refused(tmp_path):
    target = tmp_path / "pwned"
    payload = f"cos\nmkdir\n(V{target}\ntR.".encode()  # os.mkdir(target) on a plain pickle.load
    path = tmp_path / "refs(evil).p"
    path.write_bytes(payload)
    with pytest.raises(InputError) as exc:
        benchmark_image_ids([path])
    assert exc.value.file == str(path) and "os.mkdir" in exc.value.reason
    assert not target.exists()


# -- bad input -----------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as exc:
        benchmark_image_ids([tmp_path / "refs(unc).p"])
    assert exc.value.file == str(tmp_path / "refs(unc).p") and "not found" in exc.value.reason


def test_corrupt_pickle(tmp_path):
    path = tmp_path / "refs(unc).p"
    path.write_bytes(pickle.dumps(SPLITS, protocol=2)[:40])
    with pytest.raises(InputError, match="not a readable pickle") as exc:
        benchmark_image_ids([path])
    assert exc.value.file == str(path)


def test_corrupt_json(tmp_path):
    path = tmp_path / "grefs(unc).json"
    path.write_text('[{"ref_id": 1, "image_id": 3,')
    with pytest.raises(InputError, match="not valid JSON") as exc:
        benchmark_image_ids([path])
    assert exc.value.file == str(path)


def test_not_a_list(tmp_path):
    with pytest.raises(InputError, match="expected a list of refs"):
        benchmark_image_ids([write_json(tmp_path, {"images": []})])


@pytest.mark.parametrize(("record", "where", "words"), [
    ({"ref_id": 7, "split": "val"}, "ref 7", "no 'image_id'"),
    ({"ref_id": 7, "image_id": "909", "split": "val"}, "ref 7", "must be an integer"),
    ({"image_id": 909}, "record #1", "no 'split'"),
    ({"ref_id": 8, "image_id": 909, "split": None}, "ref 8", "no 'split'"),
    ("not a dict", "record #1", "expected a ref dict"),
])
def test_bad_record_names_file_and_ref(tmp_path, record, where, words):
    path = write_json(tmp_path, [SPLITS[0], record])
    with pytest.raises(InputError) as exc:
        benchmark_image_ids([path])
    assert exc.value.file == str(path) and exc.value.where == where and words in exc.value.reason
