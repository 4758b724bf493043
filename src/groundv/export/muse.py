"""Export a dataset as MUSE / PixelLM multi-target records (FORMATS.md §13, §16).

``OUT/muse.json`` is a list with one record per image, LVIS-style image fields plus the three
parallel lists PixelLM's ``multi_reason_seg_dataset`` reads::

    {"id": 139, "image_id": 139, "file_name": "000000000139.jpg", "height": 426, "width": 640,
     "questions": [instruction, ...],
     "answers": [[{"id", "image_id", "segmentation": RLE, "category_name", "bbox", "area"}, ...], ...],
     "text_answers": ["Sure, the mug {seg} and the chair {seg}.", ...]}

``questions[i]`` pairs with ``answers[i]`` (one annotation per target region, the source's own mask,
so their OR is the sample's mask) and ``text_answers[i]``, which holds exactly one ``{seg}`` per
annotation, each after the region's display name (:func:`groundv.knowledge.display_name`), in the
order of ``answers[i]``; PixelLM silently resamples a record whose counts differ, so the exporter
checks it. MUSE cannot represent a no-target sample: those are skipped and listed in
``report.skipped``, as is a sample whose targets are missing from the source or whose targets'
masks do not OR to the sample's mask.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from groundv import masks
from groundv.export.base import ExportReport, inside, prepare_out, resolve_targets
from groundv.knowledge import display_name
from groundv.scene import Region

__all__ = ["NO_TARGET", "SEG", "text_answer", "write_muse"]

SEG = "{seg}"
NO_TARGET = "MUSE cannot represent no-target"


def text_answer(names: list[str]) -> str:
    """``"Sure, the mug {seg}, the cup {seg} and the chair {seg}."``: one ``{seg}`` per name."""
    parts = [f"the {name} {SEG}" for name in names]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Sure, {joined}."


def _annotation(region: Region, image_id: int | str) -> dict[str, Any]:
    return {"id": region.id, "image_id": image_id, "segmentation": dict(region.rle),
            "category_name": region.category, "bbox": list(masks.bbox(region.rle)),
            "area": masks.area(region.rle)}


def write_muse(dataset: str | Path, out: str | Path, *, split: str | None = None, force: bool = False) -> ExportReport:
    """Write ``dataset`` as ``out/muse.json`` (see the module docstring).

    Raises:
        ConfigError: ``out`` is not empty and ``force`` is not set, or the dataset's source cannot be
            opened again.
    """
    report = ExportReport("muse", Path(out))
    targets = resolve_targets(dataset, report, split=split)
    out = prepare_out(out, force=force)
    report.out = out

    records: dict[Any, dict[str, Any]] = {}
    for target in targets:
        sample, image = target.record, target.sample.image
        if not target.regions:
            report.skipped.append((NO_TARGET, f"sample {target.sample.id}"))
            continue
        answers = [_annotation(r, image["id"]) for r in target.regions]
        text = text_answer([display_name(r.category) for r in target.regions])
        if text.count(SEG) != len(answers):  # PixelLM drops such a sample silently: never write one
            raise RuntimeError(f"sample {target.sample.id}: {text!r} does not have one {SEG} per mask")
        record = records.get(image["id"])
        if record is None:
            record = records[image["id"]] = {
                "id": image["id"], "image_id": image["id"], "file_name": image["file_name"],
                "height": image["height"], "width": image["width"],
                "questions": [], "answers": [], "text_answers": [], "sample_ids": []}
        record["questions"].append(sample["instruction"])
        record["answers"].append(answers)
        record["text_answers"].append(text)
        record["sample_ids"].append(sample["id"])
        report.written += 1
    inside(out, "muse.json").write_bytes(orjson.dumps(list(records.values())))
    report.files.append("muse.json")
    return report

