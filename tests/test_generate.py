"""generate(): determinism, resume, workers, the real COCO sample re-checked from target_ids alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from pycocotools import mask as cocomask

from groundv import masks
from groundv.errors import ConfigError, GroundvWarning, InputError
from groundv.generate import generate, make_teacher, parse_categories, unit_rng
from groundv.sample import Sample
from groundv.sources import open_source
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.store import COMPLETED, Dataset, iter_samples, read_manifest
from groundv.tasks.plan import CATEGORIES


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_toyworld(tmp_path_factory.mktemp("world"), 12, seed=3)


def files(directory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_toy_world_every_category_and_valid_samples(world, tmp_path):
    manifest = generate(ToyWorldSource(world), tmp_path, seed=1)
    assert manifest.complete
    assert manifest.data["images"] == 12 and manifest.data["units"] == 12 * len(CATEGORIES)
    for category in CATEGORIES:
        assert manifest.by_category[category]["samples"] > 0, category
    samples = list(iter_samples(tmp_path))
    assert len(samples) == manifest.samples
    assert len({s["id"] for s in samples}) == len(samples)
    for n, record in enumerate(samples):
        Sample.from_json(record, where=f"line {n}")  # the §3.1 contract
    rejections = list(iter_samples(tmp_path, "rejections"))
    assert len(rejections) == manifest.rejected
    for r in rejections:
        assert r["reason"] and {"detail", "raw", "plan", "image", "category"} <= set(r)


def test_same_seed_same_bytes_other_seed_other_samples(world, tmp_path):
    generate(ToyWorldSource(world), tmp_path / "a", seed=5)
    generate(ToyWorldSource(world), tmp_path / "b", seed=5)
    generate(ToyWorldSource(world), tmp_path / "c", seed=6)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert files(tmp_path / "a")["samples-00000.jsonl"] != files(tmp_path / "c")["samples-00000.jsonl"]


def test_workers_two_equals_workers_one(world, tmp_path):
    generate(ToyWorldSource(world), tmp_path / "one", workers=1)
    generate(ToyWorldSource(world), tmp_path / "two", workers=2)
    assert files(tmp_path / "one") == files(tmp_path / "two")


def test_limit_then_resume_equals_one_run(world, tmp_path):
    generate(ToyWorldSource(world), tmp_path / "whole")
    seen: list[tuple[int, int]] = []
    first = generate(ToyWorldSource(world), tmp_path / "parts", limit=5, progress=lambda d, t: seen.append((d, t)))
    assert first.data["images"] == 5 and seen[-1] == (5, 5)
    generate(ToyWorldSource(world), tmp_path / "parts")
    assert files(tmp_path / "whole") == files(tmp_path / "parts")


def test_resume_after_losing_the_last_markers(world, tmp_path):
    """A run whose last units lost their markers (killed) redoes exactly those, same bytes."""
    generate(ToyWorldSource(world), tmp_path / "whole")
    generate(ToyWorldSource(world), tmp_path / "cut")
    log = tmp_path / "cut" / COMPLETED
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-7]) + lines[-7][:10])  # scene 11 half done, then a torn line
    generate(ToyWorldSource(world), tmp_path / "cut")
    assert files(tmp_path / "whole") == files(tmp_path / "cut")


def test_categories_subset_and_refusals(world, tmp_path):
    manifest = generate(ToyWorldSource(world), tmp_path, categories=["part", "negative"])
    assert manifest.settings["categories"] == ["negative", "part"]
    assert set(s["category"] for s in iter_samples(tmp_path)) == {"negative", "part"}
    with pytest.raises(ConfigError, match="other settings"):
        generate(ToyWorldSource(world), tmp_path, categories=["negative"])
    generate(ToyWorldSource(world), tmp_path, categories=["negative"], force=True)
    assert read_manifest(tmp_path).settings["categories"] == ["negative"]


def test_argument_checks():
    assert parse_categories("all") == CATEGORIES
    assert parse_categories("part, negative") == ("negative", "part")
    with pytest.raises(ConfigError, match="unknown categories: parts"):
        parse_categories("parts")
    with pytest.raises(ConfigError, match="unknown teacher"):
        make_teacher("gpt")


def test_unit_rng_is_stable_across_processes():
    here = unit_rng(7, 139, "part").integers(0, 2**32, 4).tolist()
    code = "from groundv.generate import unit_rng; print(unit_rng(7, 139, 'part').integers(0, 2**32, 4).tolist())"
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123"}).stdout
    assert str(here) == there.strip()
    assert unit_rng(7, 139, "part").integers(1 << 30) != unit_rng(7, "139", "part").integers(1 << 30)


def _coco_masks(annotations: dict) -> dict[int, np.ndarray]:
    images = {im["id"]: im for im in annotations["images"]}
    out = {}
    for ann in annotations["annotations"]:
        im = images[ann["image_id"]]
        h, w = im["height"], im["width"]
        seg = ann["segmentation"]
        if isinstance(seg, list):
            rle = cocomask.merge(cocomask.frPyObjects(seg, h, w))
        elif isinstance(seg["counts"], list):
            rle = cocomask.frPyObjects(seg, h, w)
        else:
            rle = seg
        out[ann["id"]] = cocomask.decode(rle).astype(bool)
    return out


def test_real_coco_sample(shared_data, tmp_path):
    ann_path = shared_data / "coco/annotations/instances_train2017_subset.json"
    source = open_source("coco", ann_path, images=shared_data / "coco/train2017")
    manifest = generate(source, tmp_path, seed=0)
    for category in CATEGORIES:
        if category == "part":
            assert manifest.by_category["part"]["samples"] == 0
        else:
            assert manifest.by_category[category]["samples"] > 0, category
    assert manifest.unsupported["part"] == {"no part regions": len(source)}

    # independent re-check: each sample's mask is the union of its target_ids' annotations, read here
    annotations = json.loads(ann_path.read_text())
    truth = _coco_masks(annotations)
    samples = list(iter_samples(tmp_path))
    assert samples
    for s in samples:
        got = masks.decode(s["mask"]).astype(bool)
        want = np.zeros((s["image"]["height"], s["image"]["width"]), dtype=bool)
        for target in s["target_ids"]:
            want |= truth[target]
        assert np.array_equal(got, want), s["id"]
        assert s["no_target"] == (not s["target_ids"]) == (not got.any())


def test_a_dataset_made_from_python_can_reopen_its_source(tmp_path):
    from groundv.export.base import open_dataset_source
    from groundv.sources.toyworld import ToyWorldSource, write_toyworld

    write_toyworld(tmp_path / "world", 3, 0)
    generate(ToyWorldSource(tmp_path / "world"), tmp_path / "ds", categories=["negative"])
    reopened = open_dataset_source(tmp_path / "ds")
    assert reopened.name == "toyworld" and len(reopened) == 3


def test_force_leaves_nothing_of_the_old_dataset_and_keeps_the_reviews(world, tmp_path):
    from groundv.benchmarks.dataset import read_dataset

    generate(ToyWorldSource(world), tmp_path, seed=1, limit=4)
    old = next(iter_samples(tmp_path))
    (tmp_path / "test.jsonl").write_text(json.dumps({**old, "split": "test"}) + "\n")
    (tmp_path / "reviews.jsonl").write_text('{"action": "accept"}\n')
    (tmp_path / "verdicts.jsonl").write_text('{"id": "x", "verdict": "agree"}\n')
    with pytest.warns(GroundvWarning, match="replaced-"):
        generate(ToyWorldSource(world), tmp_path, seed=2, limit=4, force=True)
    assert not any((tmp_path / name).exists() for name in ("test.jsonl", "reviews.jsonl", "verdicts.jsonl"))
    with pytest.raises(ConfigError, match="no sample is in split 'test'"):
        list(read_dataset([tmp_path], split="test"))  # what `groundv items --split test` reads
    (replaced,) = tmp_path.glob("replaced-*")
    assert json.loads((replaced / "test.jsonl").read_text())["id"] == old["id"]
    assert (replaced / "reviews.jsonl").is_file() and (replaced / "verdicts.jsonl").is_file()
    assert old["id"] in {s["id"] for s in iter_samples(replaced)}


def test_a_run_that_fails_on_bad_input_leaves_no_folder(world, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(world, broken)
    (broken / "images" / "000000000001.jpg").unlink()
    with pytest.raises(InputError, match="not found"):
        generate(ToyWorldSource(broken), tmp_path / "ds")
    assert not (tmp_path / "ds").exists()
    # a folder a failed run left behind (an older groundv, a kill) does not block the corrected command
    (tmp_path / "ds").mkdir()
    with pytest.raises(InputError):
        generate(ToyWorldSource(broken), tmp_path / "ds", workers=2)
    Dataset(tmp_path / "ds", {"source": {"format": "pascal-part"}}).close()
    assert generate(ToyWorldSource(world), tmp_path / "ds", limit=2).complete


def test_ctrl_c_leaves_the_manifest_saying_interrupted_with_the_counts(world, tmp_path):
    def interrupt(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(ToyWorldSource(world), tmp_path / "cut", seed=1, progress=interrupt)
    manifest = read_manifest(tmp_path / "cut").data
    on_disk = len((tmp_path / "cut" / COMPLETED).read_bytes().splitlines())
    assert manifest["status"] == "interrupted" and manifest["units"] == on_disk == 3 * len(CATEGORIES)
    assert manifest["images"] == 3 and manifest["samples"] == len(list(iter_samples(tmp_path / "cut"))) > 0
    generate(ToyWorldSource(world), tmp_path / "cut", seed=1)  # the same call resumes
    generate(ToyWorldSource(world), tmp_path / "whole", seed=1)
    assert files(tmp_path / "cut") == files(tmp_path / "whole")


def test_a_run_that_fails_after_writing_units_says_so_with_the_counts_and_resumes(world, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(world, broken)
    last = sorted((broken / "images").iterdir())[-1]
    last.unlink()  # the last image is missing: the first ones are written before the run fails
    with pytest.raises(InputError, match="not found"):
        generate(ToyWorldSource(broken), tmp_path / "ds", seed=1)
    manifest = read_manifest(tmp_path / "ds").data
    on_disk = len((tmp_path / "ds" / COMPLETED).read_bytes().splitlines())
    assert manifest["status"] == "failed" and "not found" in manifest["failed"]
    assert manifest["units"] == on_disk > 0
    shutil.copy(world / "images" / last.name, last)  # fixed: the same call resumes
    generate(ToyWorldSource(broken), tmp_path / "ds", seed=1)
    generate(ToyWorldSource(world), tmp_path / "whole", seed=1)
    assert read_manifest(tmp_path / "ds").complete and "failed" not in read_manifest(tmp_path / "ds").data
    resumed, whole = files(tmp_path / "ds"), files(tmp_path / "whole")
    assert resumed.pop("manifest.json") != whole.pop("manifest.json")  # only the source's path differs
    assert resumed == whole
