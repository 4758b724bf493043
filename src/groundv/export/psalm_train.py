"""PSALM training export: ``psalm_train.json``, what PSALM's *training* loader ``RefCOCO_dataset`` reads.

``groundv export --format psalm`` (:mod:`groundv.export.psalm`) matches PSALM's evaluation scripts,
which build their ground truth from ``anns`` themselves. PSALM's training path cannot read that file:
``RefCOCO_dataset`` (``psalm/train/train_datasets.py``, a ``COCO_instance_dataset`` with
``mask_format = 'polygon'``) hands ``anns`` to ``COCOInstanceNewBaselineDatasetMapper.preprocess``
(``psalm/model/datasets_mapper/coco_instance_mapper.py``), i.e. detectron2's
``transform_instance_annotations`` + ``annotations_to_instances(mask_format='polygon')``. This export
writes the same records (``id``, ``image``, ``image_info``, ``instruction``, ``new_img_id``) with
``anns`` that path accepts:

- ``segmentation`` is a list of polygons. An RLE dict would be decoded to a bitmap by detectron2 and
  then fail in ``PolygonMasks`` ("Failed to use mask_format=='polygon'").
- One annotation per target region (PSALM matches each to a query, Mask2Former style), so the OR of
  the ``anns`` is the sample's mask.
- A no-target sample cannot be trained this way: with ``anns: []`` the mapper indexes ``annos[0]``
  (IndexError). Such samples are skipped and listed in ``report.skipped`` (:data:`NO_TARGET`).
- The mapper drops ``iscrowd`` annotations, which would silently lose a target: a sample with a crowd
  target is skipped (:data:`CROWD_TARGET`; the generator never picks one, so this guards hand-made data).
- ``category_id`` must be a COCO thing id (1..90, one of the 80) or a contiguous id 0..79, else the
  loader raises ``ValueError``. PSALM's referring training never reads the class: for a
  ``referring`` batch ``class_name_embedding`` is None, so the decoder's ``pred_class_name_logits``
  is None, the Hungarian matcher's class cost is 0 and ``loss_class_name_class`` is None; the
  criterion uses ``labels`` only to count the masks. So the id only has to pass that check, and:
  an object or stuff region keeps its source id when PSALM accepts it; a part (PACO, the toy world:
  ids PSALM rejects) is written with its object's id; any other id PSALM would reject (COCO panoptic
  stuff 92..200, LVIS ids above 90, or a part's object with such an id) is written as
  :data:`PLACEHOLDER_CATEGORY` (0) rather than losing the sample. The id written is therefore not
  the region's class (the source's own class stays in the groundv dataset); nothing in referring
  training depends on it.
- ``bbox`` stays COCO ``[x, y, w, h]``, as in PSALM's own RefCOCO files. PSALM labels it
  ``XYXY_ABS`` but replaces the boxes with the masks' boxes before they are used.

Polygons, and how exact they are: PSALM rasterises each annotation with pycocotools (``frPyObjects``
per polygon, ``decode``, ``any`` over the polygons), which fills the pixels whose centre is inside a
polygon. :func:`groundv.masks.to_polygons` traces through the centres of the boundary pixels (LISA's
``cv2.fillPoly`` convention) and loses about half a pixel on every edge here (mean IoU 0.74 on
toy-world regions); :func:`groundv.masks.to_coco_polygons` runs along pixel edges instead, with holes
spliced in as keyhole cuts (polygons are OR-ed, so a separate hole polygon would be filled; without
holes the worst toy-world region drops to IoU 0.35, a mug's handle). A mask with no pixel gives no
polygon; the sample is skipped (:data:`NO_POLYGON`).

Measured fidelity, per sample, IoU between the sample's mask and the OR of what PSALM's training path
rasterises from ``anns`` at full resolution: **1.0 for every sample** (worst = mean = 1.0): the 701
samples written of 881 generated from a 60-scene toy world (parts and holes included; the other 180
are no-target) and the 74 written of 104 generated from the two COCO 2017 subsets in
``shared/data/coco`` (10 real images); also exact on 300 random noise masks. The tests assert
exactness: the polygons are exact by construction, so any lost pixel is a bug. PSALM trains at its input size (longer
side 1024): the mapper scales the polygons, and an edge-following polygon scales with the image.

Training on it: ``RefCOCO_dataset`` reads a list of such files (``--ref_coco_path``,
``--ref_coco_plus_path``, ``--ref_coco_g_path`` in ``make_unify_datamodule``) and joins
``--refcoco_image_folder`` with ``image_info.file_name`` (the sample's ``file_name``, relative to
the source's image folder). Pass ``OUT/psalm_train.json`` as one of them, with an image folder
under which those names resolve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from groundv import masks
from groundv.export.base import ExportReport, inside, prepare_out, record_export, resolve_targets
from groundv.export.grefcoco import annotation, image_info, sentence
from groundv.scene import Region, Scene

__all__ = [
    "COCO_THING_IDS",
    "CROWD_TARGET",
    "NO_POLYGON",
    "NO_TARGET",
    "PLACEHOLDER_CATEGORY",
    "PSALM_TRAIN_FILE",
    "psalm_category_id",
    "write_psalm_train",
]

PSALM_TRAIN_FILE = "psalm_train.json"

NO_TARGET = "PSALM's training loader cannot read a no-target sample (anns: [])"
CROWD_TARGET = "a crowd target (PSALM's training mapper drops iscrowd annotations)"
NO_POLYGON = "a target's mask traces to no polygon"

#: The 80 COCO thing category ids, in PSALM's order (``COCO_instance_dataset.coco_class_ids``).
COCO_THING_IDS: tuple[int, ...] = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57,
    58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87,
    88, 89, 90)

# What RefCOCO_dataset.__getitem__ accepts: a key of coco_id_to_cont_id or one of its values.
_ACCEPTED = frozenset(COCO_THING_IDS) | frozenset(range(len(COCO_THING_IDS)))

#: The id written for a target whose own (or object's) id PSALM would reject; referring never reads it.
PLACEHOLDER_CATEGORY = 0


def psalm_category_id(region: Region, scene: Scene) -> int:
    """The ``category_id`` PSALM's loaders accept for a target: its object's id (a part's is its
    object's) when PSALM accepts that, else :data:`PLACEHOLDER_CATEGORY` (see the module docstring)."""
    owner = scene.parent(region) if region.kind == "part" else region
    assert owner is not None  # a Scene guarantees every part's parent
    return owner.category_id if owner.category_id in _ACCEPTED else PLACEHOLDER_CATEGORY


def _training_anns(regions: tuple[Region, ...], ann_ids: tuple[int, ...], scene: Scene
                   ) -> tuple[list[dict[str, Any]], str | None, str]:
    """The ``anns`` of a sample, or the reason it cannot be written and the target concerned."""
    anns = []
    for region, ann_id in zip(regions, ann_ids, strict=True):
        if region.iscrowd:
            return [], CROWD_TARGET, f"target {region.id}"
        category_id = psalm_category_id(region, scene)
        polygons = masks.to_coco_polygons(region.rle)
        if not polygons:
            return [], NO_POLYGON, f"target {region.id}"
        anns.append({**annotation(region, ann_id, scene.image_id), "category_id": category_id,
                     "segmentation": polygons})
    return anns, None, ""


def write_psalm_train(dataset: str | Path, out: str | Path, *, split: str | None = None,
                      force: bool = False) -> ExportReport:
    """Write ``OUT/psalm_train.json`` for PSALM's training loader (polygon ``anns``; see the module docstring).

    Args:
        dataset: a folder written by ``groundv generate``.
        out: the output folder (empty, or anything with ``force``).
        split: only the samples whose ``split`` field is this.
        force: write into a non-empty ``out``.

    Raises:
        ConfigError: ``out`` is not empty and ``force`` is not set; the manifest names no source.
        InputError: the dataset holds no samples.
        MissingDependency: ``opencv-python-headless`` is not installed.

    Example:
        >>> report = write_psalm_train("ds", "psalm-train")  # doctest: +SKIP
        >>> report.skipped[0]  # doctest: +SKIP
        ("PSALM's training loader cannot read a no-target sample (anns: [])", 'sample 05e9cbe512c7cfbe')
    """
    report = ExportReport("psalm_train", Path(out))
    targets = resolve_targets(dataset, report, split=split)
    out = prepare_out(out, force=force, dataset=dataset)
    report.out = out
    new_ids: dict[int | str, int] = {}
    records = []
    for t in targets:
        where = f"sample {t.sample.id}"
        if not t.regions:
            report.skipped.append((NO_TARGET, where))
            continue
        anns, reason, detail = _training_anns(t.regions, t.ann_ids, t.scene)
        if reason is not None:
            report.skipped.append((reason, f"{where} ({detail})"))
            continue
        image_id = t.scene.image_id
        records.append({
            "id": t.sample.id,
            "image": t.sample.image["file_name"],
            "image_info": image_info(t.sample),
            "instruction": [sentence(t.sample.instruction, 0)],
            "anns": anns,
            "new_img_id": new_ids.setdefault(image_id, len(new_ids)),
        })
    inside(out, PSALM_TRAIN_FILE).write_bytes(orjson.dumps(records))
    report.written = len(records)
    report.files = [PSALM_TRAIN_FILE]
    record_export(report)
    return report
