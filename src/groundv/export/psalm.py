"""PSALM export for evaluation: ``psalm.json``, the records PSALM's evaluation scripts read (FORMATS.md §12, §16).

It matches PSALM's evaluation path (``psalm/eval/eval_grefcoco.py``, ``gRefcoco_Dataset`` with the
``'panoptic'`` processor), which builds the ground truth from ``anns`` itself: polygons via
``cv2.fillPoly``, compressed or uncompressed RLE via pycocotools, and ``anns: []`` as an all-zero mask.
So the masks read back exactly. PSALM's *training* loader (``RefCOCO_dataset`` through the
``'instance'`` mapper, ``mask_format='polygon'``) cannot read this file (RLE segmentations, empty
``anns``): train on ``groundv export --format psalm_train`` (:mod:`groundv.export.psalm_train`).
``gRefcoco_Dataset.__getitem__`` applies the training loader's category-id check too (a COCO thing
id or 0..79, else ``ValueError``), so ``category_id`` is written as
:func:`groundv.export.psalm_train.psalm_category_id` gives it: the source's id when PSALM accepts it,
a part's object's id, else 0. Evaluation never reads the class.

One record per sample::

    {"id": "05e9cbe512c7cfbe", "image": "000000000001.jpg",
     "image_info": {"id": 1, "file_name": "000000000001.jpg", "width": 320, "height": 240},
     "instruction": [{"sent": "...", "raw": "...", "sent_id": 0, "tokens": [...]}],
     "anns": [{"id", "image_id", "category_id", "segmentation": {RLE}, "bbox", "area", "iscrowd": 0}, ...],
     "new_img_id": 0}

PSALM takes the image from ``image_info.file_name`` and ORs the masks of ``anns``; a no-target
sample has ``anns: []``, which PSALM's evaluation reads as an all-zero mask. ``new_img_id`` numbers
the images 0, 1, ... in order of first appearance.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from groundv.export.base import ExportReport, inside, prepare_out, record_export, resolve_targets
from groundv.export.grefcoco import annotation, image_info, sentence
from groundv.export.psalm_train import psalm_category_id

__all__ = ["PSALM_FILE", "write_psalm"]

PSALM_FILE = "psalm.json"


def write_psalm(dataset: str | Path, out: str | Path, *, split: str | None = None,
                force: bool = False) -> ExportReport:
    """Write ``OUT/psalm.json`` for PSALM's evaluation (referring records with full COCO ``anns``).

    Args:
        dataset: a folder written by ``groundv generate``.
        out: the output folder (empty, or anything with ``force``).
        split: only the samples whose ``split`` field is this.
        force: write into a non-empty ``out``.

    Raises:
        ConfigError: ``out`` is not empty and ``force`` is not set; the manifest names no source.
        InputError: the dataset holds no samples.

    Example:
        >>> write_psalm("ds", "psalm").written  # doctest: +SKIP
        119
    """
    report = ExportReport("psalm", Path(out))
    targets = resolve_targets(dataset, report, split=split)
    out = prepare_out(out, force=force, dataset=dataset)
    report.out = out
    new_ids: dict[int | str, int] = {}
    records = []
    for t in targets:
        image_id = t.scene.image_id
        records.append({
            "id": t.sample.id,
            "image": t.sample.image["file_name"],
            "image_info": image_info(t.sample),
            "instruction": [sentence(t.sample.instruction, 0)],
            "anns": [{**annotation(r, a, image_id), "category_id": psalm_category_id(r, t.scene)}
                     for r, a in zip(t.regions, t.ann_ids, strict=True)],
            "new_img_id": new_ids.setdefault(image_id, len(new_ids)),
        })
    inside(out, PSALM_FILE).write_bytes(orjson.dumps(records))
    report.written = len(records)
    report.files = [PSALM_FILE]
    record_export(report)
    return report
