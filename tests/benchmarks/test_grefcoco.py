"""gRefCOCO → items: the real no-target record, multi-target OR, crowd, ann_id authority, splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from groundv import masks
from groundv.benchmarks import read_benchmark
from groundv.benchmarks.grefcoco import read_grefcoco
from groundv.errors import ConfigError, InputError
from tests.benchmarks.builders import ann, make_ref, rect, write_instances, write_refs

NO_TARGET_TEXT = "the b;ack keyboard in front of the computer on the table"


def image_909(tmp_path: Path) -> Path:
    """The real record's image (COCO 909) is not in the COCO sample: a stand-in instances.json."""
    return write_instances(tmp_path, [], images=[
        {"id": 909, "width": 640, "height": 480, "file_name": "COCO_train2014_000000000909.jpg"}])


# -- the real no-target record ---------------------------------------------------------------------


@pytest.mark.parametrize(("group", "item_id", "expression"), [
    ("sentence", "135:400", NO_TARGET_TEXT),
    ("ref", "135", f" {NO_TARGET_TEXT}."),
])
def test_real_no_target_record(shared_data, tmp_path, group, item_id, expression):
    refs = shared_data / "grefcoco" / "grefs_unc_excerpt_notarget.json"
    (item,) = read_benchmark("grefcoco", [refs, image_909(tmp_path)], split="val", group=group)

    assert (item.id, item.expression) == (item_id, expression)
    assert item.no_target is True and item.category == "grefcoco" and item.ignore is None
    assert item.image == {"id": 909, "file_name": "COCO_train2014_000000000909.jpg", "width": 640, "height": 480,
                          "source": "grefcoco"}
    assert item.size == (480, 640) and masks.is_empty(item.mask)


def test_real_record_with_ann_id_as_the_authority(shared_data, tmp_path):
    record = json.loads((shared_data / "grefcoco" / "grefs_unc_excerpt_notarget.json").read_text())
    del record[0]["no_target"]  # the field no official loader reads: ann_id == [-1] decides
    (item,) = read_grefcoco(write_refs(tmp_path, record), image_909(tmp_path), split="val")
    assert item.no_target is True

    record[0]["no_target"] = False
    with pytest.raises(InputError, match=r"ref 135: 'no_target' is False but 'ann_id' is \[-1\]") as err:
        read_grefcoco(write_refs(tmp_path, record), image_909(tmp_path), split="val")
    assert err.value.hint and "ann_id == [-1]" in err.value.hint


def test_real_record_split_is_exact(shared_data, tmp_path):
    refs = shared_data / "grefcoco" / "grefs_unc_excerpt_notarget.json"
    with pytest.raises(ConfigError, match="unknown grefcoco split 'test'.*has: val"):
        read_benchmark("grefcoco", [refs, image_909(tmp_path)], split="test")


def test_real_record_image_must_be_in_instances(shared_data, tmp_path):
    refs = shared_data / "grefcoco" / "grefs_unc_excerpt_notarget.json"
    with pytest.raises(InputError, match="ref 135: names image 909, which is not in") as err:
        read_benchmark("grefcoco", [refs, write_instances(tmp_path, [])], split="val")
    assert err.value.file == str(refs)


# -- targets ---------------------------------------------------------------------------------------


def test_multi_target_masks_are_ored_not_summed(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 10, 10)), ann(6, 1, rect(5, 5, 15, 15))])
    (item,) = read_grefcoco(write_refs(tmp_path, [make_ref(1, [5, 6], no_target=False)]), inst, split="val")

    expected = np.zeros((40, 60), dtype=np.uint8)
    expected[0:10, 0:10] = 1
    expected[5:15, 5:15] = 1
    assert item.no_target is False
    assert np.array_equal(masks.decode(item.mask), expected)  # overlap counted once: 175 pixels


def test_scalar_ann_id_is_wrapped(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    (item,) = read_grefcoco(write_refs(tmp_path, [make_ref(1, 5)]), inst, split="val")
    assert masks.area(item.mask) == 16 and item.no_target is False


def test_scalar_minus_one_is_no_target_as_in_rela(tmp_path):
    # ReLA wraps the scalar first, and G_REFER.loadAnns(-1) gives [None]: a no-target record.
    (item,) = read_grefcoco(write_refs(tmp_path, [make_ref(1, -1)]), write_instances(tmp_path, []), split="val")
    assert item.no_target is True and masks.is_empty(item.mask)


def test_crowd_targets_are_dropped(tmp_path):
    crowd = {"size": [40, 60], "counts": [0, 2400]}  # the whole image
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4)), ann(6, 1, iscrowd=1, segmentation=crowd)])
    refs = write_refs(tmp_path, [make_ref(1, [5, 6]), make_ref(2, [6])])
    partly, only_crowd = read_grefcoco(refs, inst, split="val")

    assert masks.area(partly.mask) == 16
    # Every target is crowd: the mask is empty but the ref is still targeted (METRICS.md §13.4).
    assert masks.is_empty(only_crowd.mask) and only_crowd.size == (40, 60) and only_crowd.no_target is False


def test_no_target_items_keep_every_sentence(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    refs = write_refs(tmp_path, [make_ref(1, [-1], sentences=2, no_target=True), make_ref(2, [5])])
    items = list(read_grefcoco(refs, inst, split="val"))
    assert [(i.id, i.no_target, masks.area(i.mask)) for i in items] == [
        ("1:10", True, 0), ("1:11", True, 0), ("2:20", False, 16)]


@pytest.mark.parametrize(("ann_id", "extra", "message"), [
    ([-1, 5], {}, r"'ann_id' \[-1, 5\] mixes -1 \(no target\) with targets"),
    ([], {}, r"'ann_id' must be an integer or a non-empty list of integers, got \[\]"),
    (["5"], {}, "'ann_id' must be an integer or a non-empty list"),
    ([5], {"no_target": True}, r"'no_target' is True but 'ann_id' is \[5\]"),
    ([7], {}, r"names annotation 7, which is not in .*instances\.json"),
])
def test_bad_ann_ids_name_the_ref(tmp_path, ann_id, extra, message):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    refs = write_refs(tmp_path, [make_ref(3, ann_id, **extra)])
    with pytest.raises(InputError, match=message) as err:
        read_grefcoco(refs, inst, split="val")
    assert err.value.where == "ref 3" and err.value.file == str(refs)


# -- splits ----------------------------------------------------------------------------------------


def test_splits_match_exactly(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    refs = write_refs(tmp_path, [make_ref(i, [5], split=s) for i, s in enumerate(["train", "testA", "testB"])])
    assert [i.id for i in read_grefcoco(refs, inst, split="testA")] == ["1:10"]
    with pytest.raises(ConfigError) as err:  # G_REFER: ValueError('Invalid split name')
        read_grefcoco(refs, inst, split="test")
    assert err.value.hint == "choose one of: testA, testB, train"


def test_pickled_grefs_are_read(tmp_path):
    import pickle

    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    path = tmp_path / "grefs(unc).p"
    path.write_bytes(pickle.dumps([make_ref(1, [-1], no_target=True)], protocol=2))
    assert [i.no_target for i in read_grefcoco(path, inst, split="val")] == [True]
