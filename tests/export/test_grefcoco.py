"""gRefCOCO export, read back with G_REFER's semantics (FORMATS.md §8.2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as cocomask

from groundv.errors import ConfigError
from groundv.export import get_exporter
from groundv.export.grefcoco import write_grefcoco
from groundv.store import iter_samples


class GRefer:
    """The parts of G_REFER's index and getMaskByRef that decide what a model trains on."""

    def __init__(self, refs, instances):
        self.refs = {r["ref_id"]: r for r in refs}
        self.anns = {a["id"]: a for a in instances["annotations"]}
        self.anns[-1] = None
        self.imgs = {i["id"]: i for i in instances["images"]}
        self.splits = {r["split"] for r in refs}

    def get_ref_ids(self, split):
        if split not in self.splits:
            raise ValueError("Invalid split name")
        return [rid for rid, r in self.refs.items() if r["split"] == split]

    def get_mask(self, ann):
        if ann is None:
            return None
        if ann["iscrowd"]:
            raise ValueError("Crowd object")
        image = self.imgs[ann["image_id"]]
        seg = ann["segmentation"]
        rle = cocomask.frPyObjects(seg, image["height"], image["width"]) if isinstance(seg, list) else \
            {"size": seg["size"], "counts": seg["counts"].encode()}
        m = cocomask.decode(rle)
        return np.sum(m, axis=2).astype(np.uint8) if m.ndim == 3 else m

    def get_mask_by_ref(self, ref):
        ann_ids = ref["ann_id"] if isinstance(ref["ann_id"], list) else [ref["ann_id"]]
        if ann_ids == [-1]:
            image = self.imgs[ref["image_id"]]
            return {"mask": np.zeros((image["height"], image["width"]), np.uint8), "empty": True}
        total = sum(self.get_mask(self.anns[a]).astype(np.int32) for a in ann_ids)
        return {"mask": np.clip(total, 0, 1).astype(np.uint8), "empty": False}


def sample_mask(sample):
    return cocomask.decode({"size": sample["mask"]["size"], "counts": sample["mask"]["counts"].encode()})


def test_round_trip_through_g_refer(dataset, tmp_path):
    report = write_grefcoco(dataset, tmp_path / "g")
    samples = list(iter_samples(dataset))
    assert report.written == len(samples) and report.skipped == []
    assert report.files == ["grefs(unc).json", "instances.json"]
    refs = json.loads((tmp_path / "g" / "grefs(unc).json").read_text())
    instances = json.loads((tmp_path / "g" / "instances.json").read_text())
    g = GRefer(refs, instances)
    assert sorted(g.get_ref_ids("train")) == [r["ref_id"] for r in refs] == list(range(len(samples)))
    with pytest.raises(ValueError, match="Invalid split"):
        g.get_ref_ids("val")
    category_ids = {c["id"] for c in instances["categories"]}
    assert len({a["id"] for a in instances["annotations"]}) == len(instances["annotations"])
    for ref, sample in zip(refs, samples, strict=True):
        assert ref["sentences"][0]["raw"] == sample["instruction"]
        assert ref["sent_ids"] == [ref["sentences"][0]["sent_id"]]
        image = g.imgs[ref["image_id"]]  # images resolve through image_id
        assert image["file_name"] == sample["image"]["file_name"]
        assert ref["no_target"] == (ref["ann_id"] == [-1]) == sample["no_target"]
        if sample["no_target"]:
            assert ref["category_id"] == [-1]
        else:
            assert len(ref["ann_id"]) == len(sample["target_ids"]) == len(ref["category_id"])
            assert set(ref["category_id"]) <= category_ids
        got = g.get_mask_by_ref(ref)
        assert got["empty"] == sample["no_target"]
        assert got["mask"].max(initial=0) <= 1  # binary, never 2
        np.testing.assert_array_equal(got["mask"], sample_mask(sample))
        np.testing.assert_array_equal(lisa_mask(ref, g.anns, image), sample_mask(sample))


def lisa_mask(ref, anns, image):
    """The mask as LISA's (and GSVA's) grefcoco training loader builds it from ``instances.json``."""
    height, width = image["height"], image["width"]
    final = np.zeros((height, width), np.uint8)
    if ref["ann_id"] == [-1]:
        return final
    for ann_id in ref["ann_id"]:
        segmentation = anns[ann_id]["segmentation"]
        if len(segmentation) == 0:
            continue
        if type(segmentation[0]) is list:  # LISA's polygon test; an RLE dict fails here with KeyError 0
            rle = cocomask.frPyObjects(segmentation, height, width)
        else:
            rle = [{**r, "counts": r["counts"].encode()} for r in segmentation]
        final |= np.sum(cocomask.decode(rle), axis=2).astype(np.uint8)
    return final


def test_registered_and_split_filter(dataset, tmp_path):
    assert get_exporter("grefcoco") is write_grefcoco
    # a split no sample is in is an error (as in `groundv items`), not an empty export
    with pytest.raises(ConfigError, match="no sample is in split 'val'") as error:
        write_grefcoco(dataset, tmp_path / "g", split="val")
    assert "splits found: (none)" in (error.value.hint or "")
    assert not (tmp_path / "g").exists()


def test_non_empty_out_refused_without_force(dataset, tmp_path):
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "keep.txt").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        write_grefcoco(dataset, tmp_path / "g")
    assert write_grefcoco(dataset, tmp_path / "g", force=True).written > 0
