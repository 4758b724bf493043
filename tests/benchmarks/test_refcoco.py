"""RefCOCO / RefCOCO+ / RefCOCOg → items: real excerpts, REFER splits, masks and bad input."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from groundv import masks
from groundv.benchmarks import read_benchmark
from groundv.benchmarks.refcoco import read_refcoco, refer_split
from groundv.errors import ConfigError, GroundvWarning, InputError
from tests.benchmarks.builders import ann, make_ref, rect, write_instances, write_refs

REAL_REFS = ["refs(unc)_DERIVED_img98304.p", "refs_unc_DERIVED_img98304.json"]
SENTENCES = {
    41412: [(117732, "front black chair"), (117733, "right couch closest 2 us"), (117734, "right seat")],
    41413: [(117735, "center chair facing away"), (117736, "middle chair"), (117737, "tan chair center")],
}
ANN_OF_REF = {41412: 116865, 41413: 108703}


def coco_files(shared_data: Path, refs_name: str) -> list[Path]:
    return [shared_data / "refcoco" / refs_name, shared_data / "coco" / "annotations" /
            "instances_train2017_subset.json"]


def reference_mask(instances: Path, ann_id: int) -> np.ndarray:
    """The annotation's mask as REFER's getMask builds it, binarised: frPyObjects + decode, then OR."""
    data = json.loads(instances.read_text())
    a = next(x for x in data["annotations"] if x["id"] == ann_id)
    img = next(x for x in data["images"] if x["id"] == a["image_id"])
    rles = coco_mask.frPyObjects(a["segmentation"], img["height"], img["width"])
    return (coco_mask.decode(rles).sum(axis=2) > 0).astype(np.uint8)


# -- the real excerpts ---------------------------------------------------------------------------


@pytest.mark.parametrize("refs_name", REAL_REFS)
def test_real_refs_give_one_item_per_sentence(shared_data, refs_name):
    paths = coco_files(shared_data, refs_name)
    items = list(read_benchmark("refcoco", paths, split="train"))

    assert [(i.id, i.expression) for i in items] == [
        (f"{ref}:{sent}", text) for ref, sents in SENTENCES.items() for sent, text in sents]
    for item in items:
        ref_id = int(item.id.split(":")[0])
        assert item.no_target is False and item.ignore is None
        assert item.category == "refcoco"
        # Found through image_id in instances images[], not the ref's COCO_train2014_... file_name.
        assert item.image == {"id": 98304, "file_name": "000000098304.jpg", "width": 640, "height": 424,
                              "source": "refcoco"}
        assert item.size == (424, 640)
        assert np.array_equal(masks.decode(item.mask), reference_mask(paths[1], ANN_OF_REF[ref_id]))


@pytest.mark.parametrize("refs_name", REAL_REFS)
def test_real_refs_grouped_per_ref_concatenate_like_psalm(shared_data, refs_name):
    paths = coco_files(shared_data, refs_name)
    items = list(read_benchmark("refcoco", paths, split="train", group="ref"))

    assert [(i.id, i.expression) for i in items] == [
        ("41412", " front black chair. right couch closest 2 us. right seat."),
        ("41413", " center chair facing away. middle chair. tan chair center."),
    ]
    for item in items:
        assert np.array_equal(masks.decode(item.mask), reference_mask(paths[1], ANN_OF_REF[int(item.id)]))


def test_real_masks_equal_the_coco_source_regions(shared_data):
    from groundv.sources.coco import CocoSource

    paths = coco_files(shared_data, REAL_REFS[1])
    scene = next(s for s in CocoSource(paths[1]) if s.image_id == 98304)
    regions = {r.id: r.rle for r in scene.regions}
    for item in read_benchmark("refcoco", paths, split="train", group="ref"):
        assert item.mask == regions[ANN_OF_REF[int(item.id)]]


def test_image_comes_from_image_id_whatever_the_ref_file_name_says(shared_data, tmp_path):
    paths = coco_files(shared_data, REAL_REFS[1])
    refs = json.loads(paths[0].read_text())
    for ref in refs:
        ref["file_name"] = "COCO_train2014_000000098304_3.jpg"  # the real files' suffixed style
    items = list(read_refcoco(write_refs(tmp_path, refs), paths[1], split="train", name="refcoco+"))
    assert {i.image["file_name"] for i in items} == {"000000098304.jpg"}
    assert {(i.category, i.image["source"]) for i in items} == {("refcoco+", "refcoco+")}


def test_real_refs_have_no_val_split(shared_data):
    with pytest.raises(ConfigError, match=r"unknown refcocog split 'validation'.*has: train"):
        read_benchmark("refcocog", coco_files(shared_data, REAL_REFS[0]), split="validation")
    with pytest.raises(ConfigError, match="split 'val' selects no ref"):
        read_benchmark("refcoco", coco_files(shared_data, REAL_REFS[0]), split="val")


# -- expressions -----------------------------------------------------------------------------------


def test_raw_is_fed_per_sentence_and_sent_is_concatenated_per_ref(tmp_path):
    sentences = [{"sent_id": 1, "raw": "THE Lady, in blue", "sent": "the lady in blue"},
                 {"sent_id": 2, "sent": "woman"},  # no 'raw': falls back to 'sent'
                 {"sent_id": 3, "raw": "Left one"}]  # no 'sent': falls back to 'raw'
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    refs = write_refs(tmp_path, [make_ref(7, 5, sentences=sentences)])

    per_sentence = list(read_refcoco(refs, inst, split="val"))
    assert [(i.id, i.expression) for i in per_sentence] == [
        ("7:1", "THE Lady, in blue"), ("7:2", "woman"), ("7:3", "Left one")]
    (per_ref,) = read_refcoco(refs, inst, split="val", group="ref")
    assert (per_ref.id, per_ref.expression) == ("7", " the lady in blue. woman. Left one.")


# -- splits ----------------------------------------------------------------------------------------

SPLITS = ["train", "val", "testA", "testB", "testAB", "testC", "minival"]


@pytest.mark.parametrize(("split", "selected"), [
    ("train", ["train"]),
    ("val", ["val"]),
    ("testA", ["testA", "testAB"]),  # REFER: split[-1] in ref['split']
    ("testB", ["testB", "testAB"]),
    ("testC", ["testC"]),
    ("testAB", ["testAB"]),  # combined names match exactly
    ("test", ["testA", "testB", "testAB", "testC"]),  # anything containing "test"
    ("minival", ["minival"]),  # not a REFER name, but one the file uses: exact
])
def test_refer_split_rule(tmp_path, split, selected):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    refs = write_refs(tmp_path, [make_ref(i, 5, split=s) for i, s in enumerate(SPLITS)])
    items = list(read_refcoco(refs, inst, split=split))
    assert [SPLITS[int(i.id.split(":")[0])] for i in items] == selected


def test_refer_split_refuses_unknown_names():
    assert refer_split("trainval", ["train", "val"]) is None
    assert refer_split("Val", ["val"]) is None  # case matters, as in REFER


def test_unknown_split_lists_the_file_splits(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    refs = write_refs(tmp_path, [make_ref(1, 5, split="testB"), make_ref(2, 5, split="val")])
    with pytest.raises(ConfigError) as err:
        read_refcoco(refs, inst, split="tset")
    assert "unknown refcoco split 'tset'" in str(err.value) and "testB, val" in str(err.value)
    assert err.value.hint == "choose one of: testB, val"


# -- masks -----------------------------------------------------------------------------------------


def test_overlapping_polygons_of_one_annotation_are_ored_not_summed(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 10, 10), rect(5, 5, 15, 15))])
    (item,) = read_refcoco(write_refs(tmp_path, [make_ref(1, 5)]), inst, split="val")
    bitmap = masks.decode(item.mask)
    assert bitmap.max() == 1 and bitmap.sum() == 100 + 100 - 25


def test_degenerate_polygons_are_dropped_with_a_warning(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4), [1, 1, 2, 2], [1, 2, 3, 4, 5, 6, 7])])
    with pytest.warns(GroundvWarning, match=r"annotation 5 \(ref 1\): dropped polygon #[12]") as record:
        items = list(read_refcoco(write_refs(tmp_path, [make_ref(1, 5, sentences=3)]), inst, split="val"))
    assert len(record) == 2  # polygons #1 and #2, reported once although three sentences share the mask
    assert [masks.area(i.mask) for i in items] == [16, 16, 16]


def test_rle_segmentation_is_read(tmp_path):
    bitmap = np.zeros((40, 60), dtype=np.uint8)
    bitmap[3:9, 10:20] = 1
    inst = write_instances(tmp_path, [ann(5, 1, segmentation=masks.encode(bitmap))])
    (item,) = read_refcoco(write_refs(tmp_path, [make_ref(1, 5)]), inst, split="val")
    assert np.array_equal(masks.decode(item.mask), bitmap)


def test_a_crowd_target_is_dropped_as_relas_loader_does(tmp_path):
    crowd = {"size": [40, 60], "counts": [0, 2400]}
    inst = write_instances(tmp_path, [ann(5, 1, iscrowd=1, segmentation=crowd)])
    (item,) = read_refcoco(write_refs(tmp_path, [make_ref(1, 5)]), inst, split="val")
    assert masks.is_empty(item.mask) and item.no_target is False


def test_pickled_refs_are_read(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    path = tmp_path / "refs(unc).p"
    path.write_bytes(pickle.dumps([make_ref(1, 5)], protocol=2))
    assert [i.id for i in read_refcoco(path, inst, split="val")] == ["1:10"]


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ref", "message"), [
    (make_ref(7, 5, image_id=99), r"ref 7: names image 99, which is not in .*instances\.json"),
    (make_ref(7, 6), r"ref 7: names annotation 6, which is not in .*instances\.json"),
    (make_ref(7, 8), "ref 7: names annotation 8, which belongs to image 2, not to image 1"),
    (make_ref(7, [5]), r"ref 7: 'ann_id' is a list \[5\]: this looks like a gRefCOCO file"),
    (make_ref(7, None), "ref 7: 'ann_id' must be an integer, got None"),
    (make_ref(7, 5, sentences=[{"raw": "x"}]), "ref 7: sentence #0 has no integer 'sent_id'"),
    (make_ref(7, 5, sentences=[{"sent_id": 1}]), "ref 7: sentence 1 has neither 'raw' nor 'sent' text"),
    (make_ref(7, 5, sentences=["a string"]), "ref 7: sentence #0 is not a dict"),
    ({**make_ref(7, 5), "sentences": None}, "ref 7: 'sentences' must be a list, got NoneType"),
    ({**make_ref(7, 5), "image_id": "1"}, "ref 7: 'image_id' must be an integer, got '1'"),
    ({**make_ref(7, 5), "split": None}, "ref 7: 'split' must be a string, got None"),
    ({**make_ref(7, 5), "ref_id": None}, "record #0: has no integer or string 'ref_id'"),
])
def test_bad_refs_name_the_file_and_the_ref(tmp_path, ref, message):
    images = [{"id": 1, "width": 60, "height": 40, "file_name": "a.jpg"},
              {"id": 2, "width": 60, "height": 40, "file_name": "b.jpg"}]
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4)), ann(8, 2, rect(0, 0, 4, 4))], images=images)
    refs = write_refs(tmp_path, [ref])
    with pytest.raises(InputError, match=message) as err:
        list(read_refcoco(refs, inst, split="val"))
    assert err.value.file == str(refs)


@pytest.mark.parametrize(("content", "message"), [
    (b"\x80\x02}q\x00.", "expected a list of refs, got dict"),  # a pickled dict
    (b"\x80\x02]q\x00(K\x01", "not a readable pickle"),  # truncated
    (b"cos\nsystem\n(S'echo hi'\ntR.", "refused to load os.system"),  # code in a pickle
    (b'[{"ref_id": 1,', "not valid JSON"),
    (b"[1, 2]", "record #0: expected a ref dict, got int"),
])
def test_malformed_refs_files_are_input_errors(tmp_path, content, message):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    path = tmp_path / "refs(unc).p"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        read_refcoco(path, inst, split="val")
    assert err.value.file == str(path)


@pytest.mark.parametrize(("content", "message"), [
    ('{"images": [{"id": 1, "width": 60', "not valid JSON"),
    ('{"images": [{"id": "x", "width": 60, "height": 40}]}', r"images\[0\]\.id: unexpected content: Expected `int`"),
])
def test_malformed_instances_are_input_errors(tmp_path, content, message):
    inst = tmp_path / "instances.json"
    inst.write_text(content)
    with pytest.raises(InputError, match=message) as err:
        read_refcoco(write_refs(tmp_path, [make_ref(1, 5)]), inst, split="val")
    assert err.value.file == str(inst)


def test_missing_files_are_input_errors(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    with pytest.raises(InputError, match="file not found"):
        read_refcoco(tmp_path / "nope.p", inst, split="val")
    with pytest.raises(InputError, match="file not found"):
        read_refcoco(write_refs(tmp_path, [make_ref(1, 5)]), tmp_path / "nope.json", split="val")


def test_annotation_without_segmentation_is_an_input_error(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1)])
    with pytest.raises(InputError, match=r"annotation 5 \(ref 1\): annotation has no segmentation") as err:
        list(read_refcoco(write_refs(tmp_path, [make_ref(1, 5)]), inst, split="val"))
    assert err.value.file == str(inst)


def test_rle_of_another_size_is_an_input_error(tmp_path):
    rle = masks.encode(np.ones((10, 10), dtype=np.uint8))
    inst = write_instances(tmp_path, [ann(5, 1, segmentation=rle)])
    with pytest.raises(InputError, match=r"annotation 5 \(ref 1\): RLE size is 10×10 but the image is 40×60"):
        list(read_refcoco(write_refs(tmp_path, [make_ref(1, 5)]), inst, split="val"))


def test_duplicate_sentence_ids_are_input_errors(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    refs = write_refs(tmp_path, [make_ref(1, 5), make_ref(1, 5)])
    with pytest.raises(InputError, match="item id '1:10' is used twice"):
        list(read_refcoco(refs, inst, split="val"))


def test_a_ref_without_sentences(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    refs = write_refs(tmp_path, [make_ref(1, 5, sentences=0)])
    assert list(read_refcoco(refs, inst, split="val")) == []  # ReLA makes no record for it
    with pytest.raises(InputError, match="ref 1: has no sentences to concatenate"):
        list(read_refcoco(refs, inst, split="val", group="ref"))


def test_no_warning_for_clean_data(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(read_refcoco(write_refs(tmp_path, [make_ref(1, 5, sentences=2)]), inst, split="val"))) == 2


def test_image_without_file_name_is_an_input_error(tmp_path):
    inst = write_instances(tmp_path, [ann(5, 1, rect(0, 0, 4, 4))], images=[{"id": 1, "width": 60, "height": 40}])
    with pytest.raises(InputError, match="image 1 has no 'file_name'") as err:
        read_refcoco(write_refs(tmp_path, [make_ref(1, 5)]), inst, split="val")
    assert err.value.file == str(inst)
