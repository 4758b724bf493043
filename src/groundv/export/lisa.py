"""Export a dataset as a ReasonSeg-style folder that LISA's ``ReasonSegDataset`` reads (FORMATS.md §9, §10).

Layout of ``OUT``:

- ``<sample id>.jpg``: the sample's image, a symbolic link to the source image (``copy_images``: a
  copy). LISA finds an annotation by replacing ``.jpg`` with ``.json``, so each sample gets its own
  name even when several samples share an image. A sample whose image cannot be found is skipped and
  reported.
- ``<sample id>.json``: ``{"text": [instruction], "is_sentence": bool, "shapes": [...]}``, one
  ``"target"`` polygon shape per traced component of the sample's union mask
  (:func:`groundv.masks.to_polygons`, holes spliced in as keyhole cuts because LISA paints every
  non-ignore shape with 1). A no-target sample has ``"shapes": []``, which LISA reads as an all-zero
  mask (FORMATS.md §16). Components with fewer than 3 boundary points (one pixel, one-pixel-wide
  lines) cannot be a polygon and are lost; a sample whose mask loses everything is skipped and
  reported rather than turned into a false no-target.
- ``groundv_lisa.txt``: the sample ids written, one a line.

``is_sentence`` (which prompt template LISA uses: the long ``"{sent} Please output segmentation
mask."`` form or the short ``"What is {class_name} in this image?"`` one) is True for the
``reasoning`` category and for any instruction of more than :data:`SHORT_WORDS` words or ending in a
question mark; otherwise False (short referring phrases).

Adding the folder to LISA's training mix (``dvlab-research/LISA``): LISA globs
``<dataset_dir>/reason_seg/<name>/<split>/*.jpg`` with ``--reason_seg_data ReasonSeg|train``, so
place (or link) ``OUT`` as ``<dataset_dir>/reason_seg/GroundV/train`` and pass
``--reason_seg_data GroundV|train`` (a second ReasonSeg-style dataset: train a run on it alone, or
add a ``"reason_seg"`` entry per folder to ``--dataset`` / ``--sample_rates``; LISA's
``ReasonSegDataset`` takes one ``name|split`` each). No explanatory JSON is written, so leave
``--explanatory`` at ``-1`` for this folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson

from groundv import masks
from groundv.errors import InputError
from groundv.export.base import ExportReport, inside, prepare_out, read_samples
from groundv.store import read_manifest, sample_scene

__all__ = ["SHORT_WORDS", "is_sentence", "lisa_record", "write_lisa"]

#: instructions of more words than this count as sentences
SHORT_WORDS = 8


def is_sentence(sample: dict[str, Any]) -> bool:
    """LISA's ``is_sentence`` for a sample (see the module docstring for the rule)."""
    text = sample["instruction"].strip()
    return sample.get("category") == "reasoning" or len(text.split()) > SHORT_WORDS or text.endswith("?")


def lisa_record(sample: dict[str, Any], image_name: str) -> dict[str, Any]:
    """The ReasonSeg JSON of a sample (shapes traced from its mask)."""
    shapes = [
        {"label": "target", "labels": ["target"], "shape_type": "polygon", "image_name": image_name,
         "points": [[poly[k], poly[k + 1]] for k in range(0, len(poly), 2)],
         "group_id": None, "group_ids": [], "flags": {}}
        for poly in masks.to_polygons(sample["mask"])
    ]
    return {"text": [sample["instruction"]], "is_sentence": is_sentence(sample), "shapes": shapes}


def write_lisa(
    dataset: str | Path,
    out: str | Path,
    *,
    split: str | None = None,
    force: bool = False,
    copy_images: bool = False,
) -> ExportReport:
    """Write ``dataset`` as a ReasonSeg-style folder in ``out`` (see the module docstring).

    Raises:
        ConfigError: ``out`` is not empty and ``force`` is not set.
        MissingDependency: ``opencv-python-headless`` is not installed.
    """
    dataset = Path(dataset)
    manifest = read_manifest(dataset)
    out = prepare_out(out, force=force)
    report = ExportReport("lisa", out)
    listed: list[str] = []
    for sample in read_samples(dataset, report, split=split):
        sid = str(sample["id"])
        where = f"sample {sid}"
        try:
            record = lisa_record(sample, f"{sid}.jpg")
        except (KeyError, TypeError, ValueError) as exc:
            report.skipped.append((f"unreadable mask ({exc})", where))
            continue
        if not record["shapes"] and not sample.get("no_target", not sample.get("target_ids")):
            report.skipped.append(("mask too thin to trace as a polygon", where))
            continue
        source_image = sample_scene(sample, manifest, dataset).path
        if source_image is None:
            report.skipped.append(("image file not found", where))
            continue
        try:
            image_path, json_path = inside(out, f"{sid}.jpg"), inside(out, f"{sid}.json")
        except InputError as exc:
            report.skipped.append((str(exc), where))
            continue
        if image_path.is_symlink() or image_path.exists():
            image_path.unlink()
        if copy_images:
            shutil.copyfile(source_image, image_path)
        else:
            image_path.symlink_to(source_image.resolve())
        json_path.write_bytes(orjson.dumps(record))
        report.files += [image_path.name, json_path.name]
        listed.append(sid)
        report.written += 1
    inside(out, "groundv_lisa.txt").write_text("".join(f"{sid}\n" for sid in listed), encoding="utf-8")
    report.files.append("groundv_lisa.txt")
    return report
