"""gRefCOCO export: ``grefs(unc).json`` + ``instances.json``, read by ``G_REFER`` (FORMATS.md §8, §16).

One ref per sample::

    {"ref_id": 0, "image_id": 1, "file_name": "000000000001.jpg", "split": "train",
     "ann_id": [1015, 1018], "category_id": [1, 1], "no_target": false, "sent_ids": [0],
     "sentences": [{"raw": "...", "sent": "...", "sent_id": 0, "tokens": [...]}]}

A no-target sample has ``ann_id: [-1]``, ``category_id: [-1]`` and ``no_target: true``; ``G_REFER``'s
``getMaskByRef`` then gives an all-zero mask. ``instances.json`` is a COCO instances file holding the
images of the refs, every target region used and their categories, so ``getMaskByRef`` (the OR of the
ref's annotation masks) gives back each sample's mask exactly.

Segmentations are polygons, as in COCO's own files, because polygons are the one form every reader
of these files takes: LISA's and GSVA's referring loaders test ``type(ann["segmentation"][0]) ==
list`` (a compressed-RLE dict fails there with a KeyError), G_REFER's ``getMask`` and detectron2
(ReLA) take polygons or an RLE dict. They are traced with :func:`groundv.masks.to_coco_polygons`, so
pycocotools paints every mask back exactly, holes included.

``ref_id`` and ``sent_id`` are the sample's position in the export (shard order), so the same dataset
and ``split`` give the same ids. ``split`` is the sample's ``split`` field, ``"train"`` when it has none.

This module also holds what the PSALM export shares with it: :func:`sentence` (a RefCOCO sentence
record), :func:`annotation` and :func:`image_info`; the targets come from
:func:`groundv.export.base.resolve_targets`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from groundv import masks
from groundv.export.base import ExportReport, inside, prepare_out, record_export, resolve_targets
from groundv.sample import Sample
from groundv.scene import Region

__all__ = ["GREFS", "INSTANCES", "annotation", "image_info",
           "sentence", "write_grefcoco"]

GREFS = "grefs(unc).json"
INSTANCES = "instances.json"

_TOKEN = re.compile(r"[\w']+|[^\w\s]")


def sentence(text: str, sent_id: int) -> dict[str, Any]:
    """A RefCOCO/gRefCOCO sentence record: ``raw`` and ``sent`` are the text as written, ``tokens``
    its lower-cased words and punctuation.

    Example:
        >>> sentence("Segment the red mug.", 3)["tokens"]
        ['segment', 'the', 'red', 'mug', '.']
    """
    return {"raw": text, "sent": text, "sent_id": int(sent_id), "tokens": _TOKEN.findall(text.lower())}


def annotation(region: Region, ann_id: int, image_id: int | str, *, polygons: bool = False) -> dict[str, Any]:
    """The full COCO annotation dict of a region (exact pixel area).

    The segmentation is compressed RLE, or with ``polygons`` the polygons pycocotools paints back
    into the same mask (:func:`groundv.masks.to_coco_polygons`).
    """
    segmentation: Any = (masks.to_coco_polygons(region.rle) if polygons
                         else {"size": list(region.rle["size"]), "counts": region.rle["counts"]})
    return {"id": ann_id, "image_id": image_id, "category_id": region.category_id,
            "segmentation": segmentation,
            "area": masks.area(region.rle), "bbox": [float(v) for v in region.bbox],
            "iscrowd": int(region.iscrowd)}


def image_info(sample: Sample) -> dict[str, Any]:
    """The COCO ``images[]`` dict of a sample's image."""
    image = sample.image
    return {"id": image["id"], "file_name": image["file_name"], "width": image["width"], "height": image["height"]}


def write_grefcoco(dataset: str | Path, out: str | Path, *, split: str | None = None,
                   force: bool = False) -> ExportReport:
    """Write ``OUT/grefs(unc).json`` and ``OUT/instances.json`` for ``G_REFER`` (ReLA, LISA, GSVA).

    Args:
        dataset: a folder written by ``groundv generate``.
        out: the output folder (empty, or anything with ``force``).
        split: only the samples whose ``split`` field is this.
        force: write into a non-empty ``out``.

    Raises:
        ConfigError: ``out`` is not empty and ``force`` is not set; the manifest names no source.
        InputError: the dataset holds no samples.

    Example:
        >>> report = write_grefcoco("ds", "grefcoco")  # doctest: +SKIP
        >>> # G_REFER("grefcoco", "grefcoco", splitBy="unc") with the source's images under its image root
    """
    report = ExportReport("grefcoco", Path(out))
    targets = resolve_targets(dataset, report, split=split)
    out = prepare_out(out, force=force, dataset=dataset)
    report.out = out
    refs, images, annotations, categories = [], {}, {}, {}
    for index, t in enumerate(targets):
        image_id = t.scene.image_id
        images.setdefault(image_id, image_info(t.sample))
        for region, ann_id in zip(t.regions, t.ann_ids, strict=True):
            if ann_id not in annotations:
                annotations[ann_id] = annotation(region, ann_id, image_id, polygons=True)
            name = region.category
            categories.setdefault(region.category_id, {
                "id": region.category_id, "name": name,
                "supercategory": name.split(":", 1)[0] if region.kind == "part" else name})
        split_name = t.record.get("split")
        refs.append({
            "ref_id": index, "image_id": image_id, "file_name": t.sample.image["file_name"],
            "split": split_name if isinstance(split_name, str) and split_name else "train",
            "ann_id": list(t.ann_ids) or [-1],
            "category_id": [r.category_id for r in t.regions] or [-1],
            "no_target": not t.regions, "sent_ids": [index], "sentences": [sentence(t.sample.instruction, index)],
        })
    instances = {"info": {"description": f"groundv export of {Path(dataset).name}"},
                 "images": list(images.values()), "annotations": list(annotations.values()),
                 "categories": sorted(categories.values(), key=lambda c: c["id"])}
    inside(out, GREFS).write_bytes(orjson.dumps(refs))
    inside(out, INSTANCES).write_bytes(orjson.dumps(instances))
    report.written = len(refs)
    report.files = [GREFS, INSTANCES]
    record_export(report)
    return report
