"""Test-side converters: the toy world written in every other format groundv reads.

Each writer takes rendered :class:`~groundv.sources.toyworld.ToyScene` objects (see :func:`render_world`)
and writes the same world the way the real format lays it out (FORMATS.md §1, 3, 4, 5, 6), images
included, so that a source can be read back and compared with what the toy world holds:

* :func:`write_coco`: COCO instances (+ an optional PACO-style parts file), no ``neg_category_ids``
  unless asked for: the file for the ``coco`` and ``custom`` formats;
* :func:`write_lvis`: one LVIS v1 JSON: images found through ``coco_url`` only, federated
  ``neg_category_ids``, no ``iscrowd``, LVIS category records and names (``car_(automobile)``);
* :func:`write_paco`: one PACO-LVIS JSON with objects and parts, ``obj_ann_id``, joint ``object:part``
  categories, ``part_categories``, ``attributes`` and per-annotation colour ``attribute_ids``;
* :func:`write_panoptic`: COCO panoptic JSON + RGB PNGs (segment id ``R + 256·G + 256²·B``), the
  visible objects as things and two stuff segments (sky above, ground below) with a void band;
* :func:`write_pascal_part`: one ``.mat`` per image in Pascal-Part's MATLAB layout, toy categories
  mapped to VOC classes, with the jpg next to it.

Masks are turned into bitmaps and back only through :mod:`groundv.masks`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import scipy.io
from PIL import Image

from groundv import masks
from groundv.sources.toyworld import (
    TOYWORLD_CATEGORIES,
    TOYWORLD_COLORS,
    TOYWORLD_PARTS,
    TOYWORLD_VOCABULARY,
    ToyObject,
    ToyScene,
    render_scene,
)

__all__ = [
    "LVIS_NAMES",
    "OBJECT_IDS",
    "PACO_ATTRIBUTE_IDS",
    "PACO_JOINT_IDS",
    "PANOPTIC_GROUND",
    "PANOPTIC_SKY",
    "PANOPTIC_STUFF",
    "PANOPTIC_VOID_ROWS",
    "PART_IDS",
    "VOC_INDEX",
    "VOC_NAMES",
    "VOC_PARTLESS",
    "imname",
    "numbered_part_names",
    "paco_negatives",
    "panoptic_segment_id",
    "pascal_objects",
    "pascal_region_id",
    "render_world",
    "write_coco",
    "write_images",
    "write_lvis",
    "write_paco",
    "write_panoptic",
    "write_pascal_part",
]

_JPEG = {"quality": 95, "subsampling": 0}  # what write_toyworld uses

#: Object category ids, 1.. in TOYWORLD_CATEGORIES order.
OBJECT_IDS: dict[str, int] = {name: i + 1 for i, name in enumerate(TOYWORLD_CATEGORIES)}
#: ``object:part`` category ids for a COCO parts file: from 101, apart from the object ids.
PART_IDS: dict[str, int] = {f"{o}:{p}": 101 + i for i, (o, p) in
                            enumerate((o, p) for o in TOYWORLD_CATEGORIES for p in TOYWORLD_PARTS[o])}
_PLAIN_PARTS: dict[str, int] = {p: i + 1 for i, p in enumerate(dict.fromkeys(
    p for o in TOYWORLD_CATEGORIES for p in TOYWORLD_PARTS[o]))}

#: LVIS (and PACO) spell some toy categories with a disambiguation suffix; the rest keep their name.
LVIS_NAMES: dict[str, str] = {c: {"car": "car_(automobile)", "orange": "orange_(fruit)"}.get(c, c)
                              for c in TOYWORLD_CATEGORIES}

#: PACO's single category list: the 16 objects (ids 1..16), then every joint ``object:part``.
PACO_JOINT_IDS: dict[str, int] = {f"{LVIS_NAMES[o]}:{p}": len(TOYWORLD_CATEGORIES) + 1 + i for i, (o, p) in
                                  enumerate((o, p) for o in TOYWORLD_CATEGORIES for p in TOYWORLD_PARTS[o])}
#: PACO colour attributes: ids 0.. (``attr_type_to_attr_idxs["color"]`` starts at 0).
PACO_ATTRIBUTE_IDS: dict[str, int] = {name: i for i, name in enumerate(TOYWORLD_COLORS)}

#: Toy categories with a natural VOC class; the others are not Pascal-Part objects.
VOC_NAMES: dict[str, str] = {"person": "person", "dog": "dog", "car": "car", "chair": "chair",
                             "bottle": "bottle", "bicycle": "bicycle", "table": "diningtable"}
#: VOC class index, 1-based alphabetical (``class_ind``).
VOC_INDEX: dict[str, int] = {name: i + 1 for i, name in enumerate((
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
    "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"))}
#: Pascal-Part gives these classes silhouettes only: their ``parts`` is the empty 0×0 struct array.
VOC_PARTLESS: frozenset[str] = frozenset({"boat", "chair", "diningtable", "sofa"})

#: Panoptic stuff categories and the segment ids used for them in every image.
PANOPTIC_SKY, PANOPTIC_GROUND = 0xFFFFFF, 0x80FF00  # (R, G, B) = (255, 255, 255) and (0, 255, 128)
PANOPTIC_STUFF: dict[str, int] = {"sky": 201, "ground": 202}
#: The bottom rows are left void (id 0) where no object covers them.
PANOPTIC_VOID_ROWS = 3

_PART_DTYPE = [("part_name", "O"), ("mask", "O")]
_OBJECT_DTYPE = [("class", "O"), ("class_ind", "O"), ("mask", "O"), ("parts", "O")]


# -- shared ------------------------------------------------------------------------------------------


def render_world(scenes: int, seed: int = 0) -> list[ToyScene]:
    """Scenes ``0 .. scenes-1`` of the world ``seed`` (image ids 1..scenes)."""
    return [render_scene(i, seed) for i in range(scenes)]


def write_images(scenes: Iterable[ToyScene], folder: Path, name: Callable[[ToyScene], str] | None = None) -> None:
    """Save each scene's picture under ``folder`` as ``name(scene)`` (default its toy file name)."""
    folder.mkdir(parents=True, exist_ok=True)
    for scene in scenes:
        scene.image.save(folder / (name(scene) if name else scene.file_name), **_JPEG)


def _write_json(path: Path, data: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(data))
    return path


def _size(scene: ToyScene) -> tuple[int, int]:
    width, height = scene.image.size
    return width, height


def _bbox(rle: masks.RLE) -> list[float]:
    return list(masks.bbox(rle))


# -- COCO / custom -----------------------------------------------------------------------------------


def write_coco(
    scenes: Sequence[ToyScene],
    out_dir: Path,
    *,
    parts: bool = True,
    negatives: Callable[[ToyScene], Sequence[str]] | None = None,
) -> tuple[Path, Path | None]:
    """COCO instances (objects) and, with ``parts``, a PACO-style parts file; images in ``out_dir/images``.

    Args:
        negatives: categories to list in each image's ``neg_category_ids``; None writes no such key
            (a plain COCO file, or a custom dataset that states no absence).

    Returns:
        ``(instances.json, parts.json or None)``.
    """
    write_images(scenes, out_dir / "images")
    images, objects, part_anns = [], [], []
    for scene in scenes:
        width, height = _size(scene)
        record: dict[str, Any] = {"id": scene.image_id, "file_name": scene.file_name, "width": width,
                                  "height": height, "license": 1, "date_captured": "2024-01-01 00:00:00"}
        if negatives is not None:
            record["neg_category_ids"] = [OBJECT_IDS[c] for c in negatives(scene)]
        images.append(record)
        for obj in scene.objects:
            objects.append({"id": obj.id, "image_id": scene.image_id, "category_id": OBJECT_IDS[obj.category],
                            "segmentation": dict(obj.rle), "area": float(masks.area(obj.rle)),
                            "bbox": _bbox(obj.rle), "iscrowd": 0,
                            "attributes": {"color": obj.color, "size": obj.size}})
            for part in obj.parts:
                part_anns.append({"id": part.id, "image_id": scene.image_id, "obj_ann_id": obj.id,
                                  "category_id": PART_IDS[f"{obj.category}:{part.name}"],
                                  "segmentation": dict(part.rle), "area": float(masks.area(part.rle)),
                                  "bbox": _bbox(part.rle), "iscrowd": 0, "attributes": {"color": part.color}})
    info = {"description": "groundv toy world as COCO", "version": "1.0"}
    licenses = [{"id": 1, "name": "test", "url": "http://licenses.example/test"}]
    instances = _write_json(out_dir / "instances.json", {
        "info": info, "licenses": licenses, "images": images, "annotations": objects,
        "categories": [{"id": OBJECT_IDS[c.name], "name": c.name, "supercategory": c.supercategory}
                       for c in TOYWORLD_VOCABULARY.values()]})
    if not parts:
        return instances, None
    parts_file = _write_json(out_dir / "parts.json", {
        "info": info, "licenses": licenses, "annotations": part_anns,
        "images": [{k: img[k] for k in ("id", "file_name", "width", "height")} for img in images],
        "categories": [{"id": cid, "name": name, "supercategory": name.split(":")[0]}
                       for name, cid in PART_IDS.items()],
        "part_categories": [{"id": pid, "name": name} for name, pid in _PLAIN_PARTS.items()]})
    return instances, parts_file


# -- LVIS v1 -----------------------------------------------------------------------------------------


def write_lvis(
    scenes: Sequence[ToyScene],
    out_dir: Path,
    *,
    negatives: Callable[[ToyScene], Sequence[str]] | None = None,
    not_exhaustive: Callable[[ToyScene], Sequence[str]] | None = None,
    split: str = "toy",
) -> Path:
    """One LVIS v1 JSON (objects only); images in ``out_dir/images/<split>/``, found through ``coco_url``.

    Args:
        negatives: toy categories listed in ``neg_category_ids`` (default: every absent one).
        not_exhaustive: toy categories listed in ``not_exhaustive_category_ids`` (default: none).

    Returns:
        the JSON; pass ``out_dir / "images"`` as the images folder.
    """
    write_images(scenes, out_dir / "images" / split)
    negatives = negatives or (lambda s: s.absent_categories)
    images, annotations = [], []
    for scene in scenes:
        width, height = _size(scene)
        images.append({"id": scene.image_id, "width": width, "height": height, "license": 1,
                       "coco_url": f"http://images.example/{split}/{scene.file_name}",
                       "flickr_url": f"http://farm.example/{scene.image_id}_z.jpg",
                       "date_captured": "2024-01-01 00:00:00",
                       "neg_category_ids": [OBJECT_IDS[c] for c in negatives(scene)],
                       "not_exhaustive_category_ids": [OBJECT_IDS[c] for c in
                                                       (not_exhaustive(scene) if not_exhaustive else ())]})
        annotations.extend({"id": obj.id, "image_id": scene.image_id, "category_id": OBJECT_IDS[obj.category],
                            "segmentation": dict(obj.rle), "bbox": _bbox(obj.rle),
                            "area": float(masks.area(obj.rle))} for obj in scene.objects)
    counts = _instance_counts(scenes)
    return _write_json(out_dir / "lvis_v1_toy.json", {
        "info": {"description": "groundv toy world as LVIS v1", "version": "1.0"},
        "licenses": [{"id": 1, "name": "test", "url": "http://licenses.example/test"}],
        "images": images, "annotations": annotations,
        "categories": [{"id": OBJECT_IDS[c], "name": LVIS_NAMES[c], "synset": f"{c}.n.01",
                        "synonyms": [LVIS_NAMES[c]], "def": f"a toy {c}", "frequency": "fcr"[OBJECT_IDS[c] % 3],
                        "image_count": counts[c][0], "instance_count": counts[c][1]}
                       for c in TOYWORLD_CATEGORIES]})


def _instance_counts(scenes: Sequence[ToyScene]) -> dict[str, tuple[int, int]]:
    images = Counter(c for s in scenes for c in {o.category for o in s.objects})
    instances = Counter(o.category for s in scenes for o in s.objects)
    return {c: (images[c], instances[c]) for c in TOYWORLD_CATEGORIES}


# -- PACO --------------------------------------------------------------------------------------------


def paco_negatives(scene: ToyScene) -> list[str]:
    """PACO names: every absent object category and every ``object:part`` of it."""
    return [name for c in scene.absent_categories
            for name in (LVIS_NAMES[c], *(f"{LVIS_NAMES[c]}:{p}" for p in TOYWORLD_PARTS[c]))]


def write_paco(scenes: Sequence[ToyScene], out_dir: Path, *, split: str = "train2017") -> Path:
    """One PACO-LVIS JSON with objects and parts; images in ``out_dir/images/<split>/``.

    ``file_name`` carries the split folder (``train2017/000000000001.jpg``); ``neg_category_ids`` lists
    the absent objects and their ``object:part`` categories (see :func:`paco_negatives`).

    Returns:
        the JSON; pass ``out_dir / "images"`` as the images folder.
    """
    write_images(scenes, out_dir / "images" / split)
    ids = {**{LVIS_NAMES[c]: OBJECT_IDS[c] for c in TOYWORLD_CATEGORIES}, **PACO_JOINT_IDS}
    images, annotations = [], []
    for scene in scenes:
        width, height = _size(scene)
        images.append({"id": scene.image_id, "file_name": f"{split}/{scene.file_name}", "width": width,
                       "height": height, "license": 1,
                       "neg_category_ids": [ids[n] for n in paco_negatives(scene)],
                       "not_exhaustive_category_ids": [], "neg_category_ids_attrs": [],
                       "not_exhaustive_category_ids_attrs": []})
        for obj in scene.objects:
            annotations.append(_paco_annotation(obj.id, obj.id, ids[LVIS_NAMES[obj.category]], obj.rle,
                                                obj.color, scene.image_id))
            annotations.extend(
                _paco_annotation(part.id, obj.id, ids[f"{LVIS_NAMES[obj.category]}:{part.name}"], part.rle,
                                 part.color, scene.image_id) for part in obj.parts)
    counts = _instance_counts(scenes)
    categories = [{"supercategory": "OBJECT", "id": OBJECT_IDS[c], "name": LVIS_NAMES[c],
                   "image_count": counts[c][0], "instance_count": counts[c][1], "synset": f"{c}.n.01",
                   "frequency": "f"} for c in TOYWORLD_CATEGORIES]
    categories += [{"supercategory": "OBJECT", "id": cid, "name": name, "image_count": 0, "instance_count": 0,
                    "synset": f"{name.split(':')[0].split('_(')[0]}.n.01", "frequency": "f"}
                   for name, cid in PACO_JOINT_IDS.items()]
    return _write_json(out_dir / "paco_lvis_v1_toy.json", {
        "info": {"description": "groundv toy world as PACO-LVIS", "version": "1.0"},
        "licenses": [{"id": 1, "name": "test", "url": "http://licenses.example/test"}],
        "images": images, "annotations": annotations, "categories": categories,
        "part_categories": [{"supercategory": "PART", "id": pid, "name": name}
                            for name, pid in _PLAIN_PARTS.items()],
        "attributes": [{"supercategory": "ATTR", "id": aid, "name": name}
                       for name, aid in PACO_ATTRIBUTE_IDS.items()],
        "attr_type_to_attr_idxs": {"color": list(PACO_ATTRIBUTE_IDS.values())}})


def _paco_annotation(ann_id: int, obj_ann_id: int, category_id: int, rle: masks.RLE, color: str,
                     image_id: int) -> dict[str, Any]:
    return {"id": ann_id, "bbox": _bbox(rle), "area": float(masks.area(rle)), "category_id": category_id,
            "image_id": image_id, "segmentation": dict(rle), "attribute_ids": [PACO_ATTRIBUTE_IDS[color]],
            "dom_color_ids": [PACO_ATTRIBUTE_IDS[color]], "obj_ann_id": obj_ann_id, "unknown_color": 0,
            "unknown_pattern_marking": 1, "unknown_material": 1, "unknown_transparency": 1}


# -- COCO panoptic -----------------------------------------------------------------------------------


def panoptic_segment_id(obj_id: int) -> int:
    """The panoptic segment id of a toy object: large enough to use the G and B channels."""
    seg_id = obj_id * 1000 + 17
    if not 0 < seg_id < 2**24 or seg_id in (PANOPTIC_SKY, PANOPTIC_GROUND):
        raise ValueError(f"toy object {obj_id} gives segment id {seg_id}, out of the 24-bit range or taken by stuff")
    return seg_id


def _panoptic_ids(scene: ToyScene) -> np.ndarray:
    """The H×W segment-id map: visible objects, sky above the middle row, ground below, void at the bottom."""
    width, height = _size(scene)
    ids = np.zeros((height, width), dtype=np.uint32)
    for obj in scene.objects:
        inside = masks.decode(obj.rle).astype(bool)
        clash = np.unique(ids[inside & (ids != 0)])
        if clash.size:
            raise ValueError(f"toy image {scene.image_id}: object {obj.id} overlaps segment(s) "
                             f"{clash.tolist()}; a panoptic map cannot hold overlapping masks")
        ids[inside] = panoptic_segment_id(obj.id)
    free = ids == 0
    rows = np.arange(height)[:, None]
    ids[free & (rows < height // 2)] = PANOPTIC_SKY
    ids[free & (rows >= height // 2) & (rows < height - PANOPTIC_VOID_ROWS)] = PANOPTIC_GROUND
    return ids


def write_panoptic(scenes: Sequence[ToyScene], out_dir: Path) -> Path:
    """``panoptic_toy.json`` + ``panoptic_toy/<id>.png``; images in ``out_dir/images``.

    Raises:
        ValueError: two objects of a scene share a pixel (a segment map is a partition).

    Returns:
        the JSON (its PNG folder is the default one, named after it).
    """
    write_images(scenes, out_dir / "images")
    png_dir = out_dir / "panoptic_toy"
    png_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    stuff = {PANOPTIC_SKY: PANOPTIC_STUFF["sky"], PANOPTIC_GROUND: PANOPTIC_STUFF["ground"]}
    for scene in scenes:
        width, height = _size(scene)
        ids = _panoptic_ids(scene)
        png = f"{scene.image_id:012d}.png"
        rgb = np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)
        Image.fromarray(rgb, "RGB").save(png_dir / png)
        segments = [(panoptic_segment_id(o.id), OBJECT_IDS[o.category]) for o in scene.objects]
        segments += [(seg_id, cat) for seg_id, cat in stuff.items() if (ids == seg_id).any()]
        info = []
        for seg_id, cat in segments:
            rle = masks.encode(ids == seg_id)
            info.append({"id": seg_id, "category_id": cat, "iscrowd": 0, "area": masks.area(rle),
                         "bbox": [int(v) for v in masks.bbox(rle)]})
        images.append({"id": scene.image_id, "file_name": scene.file_name, "width": width, "height": height,
                       "license": 1, "coco_url": f"http://images.example/toy/{scene.file_name}"})
        annotations.append({"image_id": scene.image_id, "file_name": png, "segments_info": info})
    palette = {name: [(37 * i) % 256, (91 * i) % 256, (53 * i) % 256] for i, name in enumerate(TOYWORLD_CATEGORIES)}
    categories = [{"id": OBJECT_IDS[c.name], "name": c.name, "supercategory": c.supercategory, "isthing": 1,
                   "color": palette[c.name]} for c in TOYWORLD_VOCABULARY.values()]
    categories += [{"id": cid, "name": name, "supercategory": "outdoor", "isthing": 0, "color": [0, 0, 0]}
                   for name, cid in PANOPTIC_STUFF.items()]
    return _write_json(out_dir / "panoptic_toy.json", {
        "info": {"description": "groundv toy world as COCO panoptic"}, "licenses": [],
        "images": images, "annotations": annotations, "categories": categories})


# -- Pascal-Part -------------------------------------------------------------------------------------


def imname(scene: ToyScene) -> str:
    """The VOC-style image name of a toy scene: ``2001_<image id:06d>``."""
    return f"2001_{scene.image_id:06d}"


def pascal_region_id(name: str, obj: int, part: int = 0) -> int:
    """Pascal-Part region id ``YYYYNNNNNN · 100 000 + object · 1 000 + part`` (objects and parts from 1)."""
    year, number = name.split("_")
    return (int(year) * 1_000_000 + int(number)) * 100_000 + obj * 1_000 + part


def numbered_part_names(obj: ToyObject) -> list[str]:
    """Part names as Pascal-Part writes repeated parts: ``wheel_1``, ``wheel_2``; single ones stay plain."""
    totals = Counter(p.name for p in obj.parts)
    seen: Counter[str] = Counter()
    names = []
    for part in obj.parts:
        seen[part.name] += 1
        names.append(f"{part.name}_{seen[part.name]}" if totals[part.name] > 1 else part.name)
    return names


def pascal_objects(scene: ToyScene) -> list[tuple[ToyObject, str]]:
    """The scene's objects that Pascal-Part would annotate, with their VOC class, in file order."""
    return [(o, VOC_NAMES[o.category]) for o in scene.objects if o.category in VOC_NAMES]


def write_pascal_part(scenes: Sequence[ToyScene], out_dir: Path) -> Path:
    """One ``<imname>.mat`` per scene that has a VOC object, with ``<imname>.jpg`` beside it.

    Objects of other toy categories are left out (Pascal-Part annotates VOC classes only); a scene
    with none is not written. Classes in :data:`VOC_PARTLESS` get the empty 0×0 ``parts`` array
    MATLAB writes; the others keep their visible parts, named by :func:`numbered_part_names`.

    Returns:
        ``out_dir``, the folder of ``.mat`` files and jpgs.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for scene in scenes:
        kept = pascal_objects(scene)
        if not kept:
            continue
        name = imname(scene)
        scene.image.save(out_dir / f"{name}.jpg", **_JPEG)
        objs = np.empty((1, len(kept)), dtype=_OBJECT_DTYPE)
        for k, (obj, voc) in enumerate(kept):
            if voc in VOC_PARTLESS or not obj.parts:
                parts = np.zeros((0, 0), dtype=_PART_DTYPE)
            else:
                parts = np.empty((1, len(obj.parts)), dtype=_PART_DTYPE)
                for j, (part, part_name) in enumerate(zip(obj.parts, numbered_part_names(obj), strict=True)):
                    parts[0, j] = (part_name, masks.decode(part.rle))
            objs[0, k] = (voc, np.array([[VOC_INDEX[voc]]], dtype=np.uint8), masks.decode(obj.rle), parts)
        anno = np.empty((1, 1), dtype=[("imname", "O"), ("objects", "O")])
        anno[0, 0] = (name, objs)
        scipy.io.savemat(out_dir / f"{name}.mat", {"anno": anno}, do_compression=True)
    return out_dir
