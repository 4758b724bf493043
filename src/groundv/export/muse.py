"""Export a dataset as MUSE / PixelLM multi-target records (FORMATS.md §13, §16).

``OUT/muse.json`` is a list with one record per image, the fields PixelLM's
``multi_reason_seg_dataset`` and ``multi_reason_seg_val_dataset`` read::

    {"id": 139, "image_id": 139, "coco_url": "http://images.cocodataset.org/val2017/000000000139.jpg",
     "height": 426, "width": 640,
     "ann_list": [{"id", "image_id", "category_id", "category_name", "rephrased_name", "bbox", "area"}, ...],
     "questions": [instruction, ...],
     "answers": [[{"id", "image_id", "category_id", "category_name", "rephrased_name", "bbox", "area",
                   "segmentation": uncompressed RLE}, ...], ...],
     "text_answers": ["Sure, the mug {seg} and the chair {seg}.", ...],
     "sample_ids": [groundv sample id, ...]}

What PixelLM's loaders need, and why each field is as it is:

- ``questions[i]`` pairs with ``answers[i]`` (one annotation per target region, the source's own
  mask, so their OR is the sample's mask) and ``text_answers[i]``, which holds exactly one ``{seg}``
  per annotation, each after the region's display name (:func:`groundv.knowledge.display_name`), in
  the order of ``answers[i]``; PixelLM silently resamples a record whose counts differ, so the
  exporter checks it.
- ``segmentation`` goes through ``pycocotools.mask.frPyObjects``, which takes polygons or an
  *uncompressed* RLE but fails on a compressed one: the masks are written uncompressed (lossless).
- ``ann_list`` must be non-empty (an empty one makes the loader resample) and its entries need
  ``category_id``; the validation loader also lists their names and boxes in its prompt. It holds
  the image's objects and stuff (not parts) from the source.
- ``rephrased_name`` is read unconditionally by the validation loader: the display name.
- The image: a ``file_name`` is looked up in ``mscoco/images/train2014``, a ``coco_url`` in
  ``train2017`` or ``val2017`` by the URL's folder. An image from a folder named ``train2017`` or
  ``val2017`` gets a ``coco_url``, any other a ``file_name``.

MUSE cannot represent a no-target sample: those are skipped and listed in ``report.skipped``, as is
a sample whose targets are missing from the source or whose targets' masks do not OR to the
sample's mask.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from groundv import masks
from groundv.export.base import ExportReport, inside, prepare_out, record_export, resolve_targets
from groundv.knowledge import display_name
from groundv.scene import Region, Scene

__all__ = ["NO_TARGET", "SEG", "text_answer", "write_muse"]

SEG = "{seg}"
NO_TARGET = "MUSE cannot represent no-target"


def text_answer(names: list[str]) -> str:
    """``"Sure, the mug {seg}, the cup {seg} and the chair {seg}."``: one ``{seg}`` per name."""
    parts = [f"the {name} {SEG}" for name in names]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Sure, {joined}."


def _annotation(region: Region, ann_id: int, image_id: int | str) -> dict[str, Any]:
    return {"id": ann_id, "image_id": image_id, "category_id": region.category_id,
            "category_name": region.category, "rephrased_name": display_name(region.category),
            "bbox": list(masks.bbox(region.rle)), "area": masks.area(region.rle)}


_COCO_2017 = ("train2017", "val2017")


def _image_fields(scene: Scene, image: dict[str, Any]) -> dict[str, Any]:
    """Where PixelLM finds the image: ``coco_url`` for COCO 2017 folders, else ``file_name`` (train2014)."""
    folder = scene.path.parent.name if scene.path is not None else PurePosixPath(image["file_name"]).parent.name
    if folder in _COCO_2017:
        name = PurePosixPath(image["file_name"]).name
        return {"coco_url": f"http://images.cocodataset.org/{folder}/{name}"}
    return {"file_name": image["file_name"]}


def write_muse(dataset: str | Path, out: str | Path, *, split: str | None = None, force: bool = False) -> ExportReport:
    """Write ``dataset`` as ``out/muse.json`` (see the module docstring).

    Raises:
        ConfigError: ``out`` is not empty and ``force`` is not set, or the dataset's source cannot be
            opened again.
    """
    report = ExportReport("muse", Path(out))
    targets = resolve_targets(dataset, report, split=split)
    out = prepare_out(out, force=force, dataset=dataset)
    report.out = out

    records: dict[Any, dict[str, Any]] = {}
    for target in targets:
        sample, image = target.record, target.sample.image
        if not target.regions:
            report.skipped.append((NO_TARGET, f"sample {target.sample.id}"))
            continue
        answers = [{**_annotation(r, ann_id, image["id"]), "segmentation": masks.to_uncompressed(r.rle)}
                   for r, ann_id in zip(target.regions, target.ann_ids, strict=True)]
        text = text_answer([a["rephrased_name"] for a in answers])
        if text.count(SEG) != len(answers):  # PixelLM drops such a sample silently: never write one
            raise RuntimeError(f"sample {target.sample.id}: {text!r} does not have one {SEG} per mask")
        record = records.get(image["id"])
        if record is None:
            # The image's annotations keep their source ids here (only targets may need fresh ones).
            listed = [_annotation(r, r.id, image["id"]) for r in target.scene.regions if r.kind != "part"]
            record = records[image["id"]] = {
                "id": image["id"], "image_id": image["id"], **_image_fields(target.scene, image),
                "height": image["height"], "width": image["width"], "ann_list": listed or answers,
                "questions": [], "answers": [], "text_answers": [], "sample_ids": []}
        record["questions"].append(sample["instruction"])
        record["answers"].append(answers)
        record["text_answers"].append(text)
        record["sample_ids"].append(sample["id"])
        report.written += 1
    inside(out, "muse.json").write_bytes(orjson.dumps(list(records.values())))
    report.files.append("muse.json")
    record_export(report)
    return report

