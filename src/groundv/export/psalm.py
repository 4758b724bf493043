"""PSALM export: ``psalm.json``, the list of records PSALM's ``RefCOCO_dataset`` reads (FORMATS.md §12, §16).

One record per sample::

    {"id": "05e9cbe512c7cfbe", "image": "000000000001.jpg",
     "image_info": {"id": 1, "file_name": "000000000001.jpg", "width": 320, "height": 240},
     "instruction": [{"sent": "...", "raw": "...", "sent_id": 0, "tokens": [...]}],
     "anns": [{"id", "image_id", "category_id", "segmentation": {RLE}, "bbox", "area", "iscrowd": 0}, ...],
     "new_img_id": 0}

PSALM's loaders take the image from ``image_info.file_name`` and OR the masks of ``anns``; a
no-target sample has ``anns: []``, which PSALM trains as an all-zero mask. ``new_img_id`` numbers the
images 0, 1, ... in order of first appearance.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from groundv.export.base import ExportReport, inside, prepare_out, resolve_targets
from groundv.export.grefcoco import annotation, image_info, sentence

__all__ = ["PSALM_FILE", "write_psalm"]

PSALM_FILE = "psalm.json"


def write_psalm(dataset: str | Path, out: str | Path, *, split: str | None = None,
                force: bool = False) -> ExportReport:
    """Write ``OUT/psalm.json`` for PSALM (referring segmentation records with full COCO ``anns``).

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
    out = prepare_out(out, force=force)
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
            "anns": [annotation(r, a, image_id) for r, a in zip(t.regions, t.ann_ids, strict=True)],
            "new_img_id": new_ids.setdefault(image_id, len(new_ids)),
        })
    inside(out, PSALM_FILE).write_bytes(orjson.dumps(records))
    report.written = len(records)
    report.files = [PSALM_FILE]
    return report
