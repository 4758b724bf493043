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

``is_sentence`` picks LISA's prompt template: True gives the long ``"{sent} Please output
segmentation mask."`` form, False puts the text into the short ``"Can you segment the {class_name}
in this image?"`` ones, which only fit a bare class name or referring phrase (FORMATS.md §9, §10).
groundv instructions are always whole sentences ("Segment every mug.", questions, requests), so
every sample is written with ``is_sentence: true``.

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
from groundv.export.base import ExportReport, checked_samples, inside, prepare_out, record_export
from groundv.store import read_manifest, sample_scene

__all__ = ["LIST_FILE", "lisa_record", "write_lisa"]

#: the sample ids written, one a line
LIST_FILE = "groundv_lisa.txt"


def lisa_record(sample: dict[str, Any], image_name: str) -> dict[str, Any]:
    """The ReasonSeg JSON of a sample (shapes traced from its mask)."""
    shapes = [
        {"label": "target", "labels": ["target"], "shape_type": "polygon", "image_name": image_name,
         "points": [[poly[k], poly[k + 1]] for k in range(0, len(poly), 2)],
         "group_id": None, "group_ids": [], "flags": {}}
        for poly in masks.to_polygons(sample["mask"])
    ]
    # groundv instructions are sentences, never bare phrases (module docstring)
    return {"text": [sample["instruction"]], "is_sentence": True, "shapes": shapes}


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
    report = ExportReport("lisa", Path(out))
    samples = checked_samples(dataset, report, split=split)
    out = prepare_out(out, force=force, dataset=dataset)
    report.out = out
    listed: list[str] = []
    try:
        for sample, checked in samples:
            sid = checked.id
            where = f"sample {sid}"
            record = lisa_record(sample, f"{sid}.jpg")
            if not record["shapes"] and not checked.no_target:
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
            report.files += [image_path.name, json_path.name]  # listed before written: a crash leaves none untracked
            if copy_images:
                shutil.copyfile(source_image, image_path)
            else:
                image_path.symlink_to(source_image.resolve())
            json_path.write_bytes(orjson.dumps(record))
            listed.append(sid)
            report.written += 1
        report.files.append(LIST_FILE)
        inside(out, LIST_FILE).write_text("".join(f"{sid}\n" for sid in listed), encoding="utf-8")
    finally:
        record_export(report)
    return report
