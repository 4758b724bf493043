"""The toy world: groundv's built-in dataset, rendered procedurally and deterministically.

A toy-world scene is an outdoor picture (sky, distant hills, textured ground) with a few objects
standing on the ground, drawn back to front so that nearer objects hide parts of farther ones. Small
things (mugs, bottles, fruit, balls) may stand on a table. Every object of :data:`TOYWORLD_VOCABULARY`
has a colour and a size; objects with parts have one region per part instance (each of a chair's four
legs is its own region), and every region carries its colour.

Masks are what is *visible*: a pixel belongs to the last region painted on it, so an object's mask is
exactly the union of its parts' masks, a part's mask lies inside its object's, and a region hidden
entirely is dropped (an object with it, parts and all). The world is exhaustive: every category not
in a scene is verified absent from it.

Scene ``i`` of seed ``s`` is rendered from its own random generator, seeded with ``(s, i)``, so scenes
can be rendered in any order, in parallel, or again later, with identical bytes and annotations for a
given :data:`TOYWORLD_VERSION` (and the same numpy and Pillow releases, whose rasteriser and JPEG
encoder make the bytes).

Written layout (:func:`write_toyworld`)::

    DIR/images/000000000001.jpg   image id = scene index + 1, JPEG quality 95
    DIR/instances.json            COCO instances: objects, with "attributes" {"color", "size"} and
                                  per-image "neg_category_ids" (every category not in the image)
    DIR/parts.json                PACO-style parts: "obj_ann_id" names the object, categories are
                                  "object:part" (ids from 101), "part_categories" the plain part names

Annotation ids are ``image_id * 1000 + k``, unique across both files.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
from PIL import Image, ImageDraw, ImageFilter

from groundv import __version__, masks
from groundv.errors import ConfigError, InputError
from groundv.masks import RLE
from groundv.scene import Scene
from groundv.sources.coco import CocoSource

__all__ = [
    "TOYWORLD_CATEGORIES",
    "TOYWORLD_COLORS",
    "TOYWORLD_PARTS",
    "TOYWORLD_SIZES",
    "TOYWORLD_VERSION",
    "TOYWORLD_VOCABULARY",
    "ToyCategory",
    "ToyObject",
    "ToyPart",
    "ToyScene",
    "ToyWorldSource",
    "read_toyworld",
    "render_scene",
    "world_info",
    "write_toyworld",
]

#: Bumped whenever a change alters the pixels or annotations rendered for a (seed, index).
TOYWORLD_VERSION = 1

_RGB = tuple[int, int, int]

#: The basic colour terms used, each with the RGB the renderer paints (before shading and noise).
#: Prototypes are far enough apart that the nearest one to a region's mean RGB names its colour.
TOYWORLD_COLORS: dict[str, _RGB] = {
    "red": (200, 35, 35),
    "orange": (240, 135, 25),
    "yellow": (240, 215, 45),
    "green": (50, 150, 55),
    "blue": (40, 85, 205),
    "purple": (125, 55, 165),
    "pink": (240, 145, 185),
    "brown": (125, 80, 40),
    "black": (28, 28, 30),
    "white": (238, 238, 235),
    "gray": (128, 128, 128),
}

#: Size attribute → scale of the category's usual size.
TOYWORLD_SIZES: dict[str, float] = {"small": 0.8, "medium": 1.0, "large": 1.22}

# Variants that look more natural than the prototypes but are still nearest to the named one.
_SKINS: tuple[tuple[str, _RGB], ...] = (("pink", (235, 185, 160)), ("brown", (140, 95, 60)))
_GLASS: tuple[str, _RGB] = ("gray", (105, 120, 140))


@dataclass(frozen=True, slots=True)
class ToyCategory:
    """One object category of the toy world.

    Attributes:
        name: category name, e.g. ``"mug"``.
        supercategory: COCO-style supercategory, e.g. ``"kitchenware"``.
        parts: part names (each part instance is its own region, written ``"mug:handle"``);
            empty for part-less objects.
        colors: colours the object may have (the colour of its ``main`` part).
        main: the part painted in the object's colour; None for part-less objects.
    """

    name: str
    supercategory: str
    parts: tuple[str, ...]
    colors: tuple[str, ...]
    main: str | None = None


#: The vocabulary, in category-id order (ids start at 1).
TOYWORLD_VOCABULARY: dict[str, ToyCategory] = {c.name: c for c in (
    ToyCategory("mug", "kitchenware", ("body", "handle"),
                ("red", "blue", "white", "yellow", "green", "black"), "body"),
    ToyCategory("chair", "furniture", ("seat", "back", "leg"),
                ("brown", "red", "blue", "black", "white", "green"), "seat"),
    ToyCategory("car", "vehicle", ("body", "wheel", "window"),
                ("red", "blue", "white", "black", "gray", "yellow", "green"), "body"),
    ToyCategory("person", "person", ("head", "torso", "arm", "leg"),
                ("red", "blue", "green", "yellow", "white", "black", "purple", "orange", "pink"), "torso"),
    ToyCategory("lamp", "furniture", ("base", "pole", "shade"),
                ("white", "yellow", "red", "blue", "black", "green"), "shade"),
    ToyCategory("bottle", "kitchenware", ("body", "cap"), ("green", "brown", "blue", "white"), "body"),
    ToyCategory("table", "furniture", ("top", "leg"), ("brown", "white", "black", "gray"), "top"),
    ToyCategory("tree", "plant", ("trunk", "crown"), ("green", "orange", "yellow", "red"), "crown"),
    ToyCategory("house", "building", ("wall", "roof", "door", "window"),
                ("white", "yellow", "red", "blue", "gray", "pink"), "wall"),
    ToyCategory("bicycle", "vehicle", ("frame", "wheel", "seat"),
                ("red", "blue", "black", "green", "yellow", "orange", "white"), "frame"),
    ToyCategory("dog", "animal", ("head", "body", "leg", "tail"),
                ("brown", "black", "white", "gray", "orange"), "body"),
    ToyCategory("umbrella", "accessory", ("canopy", "handle"),
                ("red", "blue", "yellow", "black", "purple", "pink", "green"), "canopy"),
    ToyCategory("apple", "fruit", (), ("red", "green", "yellow")),
    ToyCategory("orange", "fruit", (), ("orange",)),
    ToyCategory("banana", "fruit", (), ("yellow", "green")),
    ToyCategory("ball", "toy", (), ("red", "blue", "yellow", "white", "orange", "green", "purple", "pink")),
)}

#: Object category names in id order.
TOYWORLD_CATEGORIES: list[str] = list(TOYWORLD_VOCABULARY)

#: Object category → its part names (empty for part-less objects).
TOYWORLD_PARTS: dict[str, tuple[str, ...]] = {c.name: c.parts for c in TOYWORLD_VOCABULARY.values()}

_OBJECT_IDS = {name: i + 1 for i, name in enumerate(TOYWORLD_CATEGORIES)}
# Part category ids are kept apart from object ids: CocoSource reads an image's neg_category_ids
# against every file's categories, so overlapping ids would mark parts absent.
_PART_IDS = {f"{obj}:{part}": 101 + i for i, (obj, part) in
             enumerate((o, p) for o in TOYWORLD_CATEGORIES for p in TOYWORLD_PARTS[o])}
_PLAIN_PART_IDS = {p: i + 1 for i, p in enumerate(dict.fromkeys(
    p for o in TOYWORLD_CATEGORIES for p in TOYWORLD_PARTS[o]))}

# Annotation ids are image_id * _ID_STRIDE + k; a scene holds far fewer than 1000 regions.
_ID_STRIDE = 1000
_JPEG_QUALITY = 95
_MIN_SIDE = 32

_Shading = Literal["flat", "side", "round"]
_Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, end-exclusive


# -- rendered scenes --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToyPart:
    """One visible part instance.

    Attributes:
        id: annotation id.
        name: plain part name (``"handle"``); its category is ``"<object>:<name>"``.
        color: basic colour term of the part.
        rle: visible mask.
    """

    id: int
    name: str
    color: str
    rle: RLE


@dataclass(frozen=True, slots=True)
class ToyObject:
    """One visible object.

    Attributes:
        id: annotation id.
        category: a name of :data:`TOYWORLD_CATEGORIES`.
        color: basic colour term (the colour of its main part).
        size: ``small``, ``medium`` or ``large`` for its category.
        rle: visible mask (the union of its parts' masks when it has parts).
        shape_area: pixels the object would cover with nothing in front of it; more than the
            visible area when it is occluded.
        parts: its visible part instances.
    """

    id: int
    category: str
    color: str
    size: str
    rle: RLE
    shape_area: int
    parts: tuple[ToyPart, ...] = ()


@dataclass(frozen=True, slots=True)
class ToyScene:
    """A rendered scene: the picture and its visible objects, back to front.

    Attributes:
        image_id: scene index + 1.
        file_name: ``<image_id:012d>.jpg``.
        image: the RGB picture.
        objects: visible objects in drawing order (later ones may occlude earlier ones).
    """

    image_id: int
    file_name: str
    image: Image.Image
    objects: tuple[ToyObject, ...]

    @property
    def absent_categories(self) -> list[str]:
        """Categories of the world with no visible object in this scene, in id order."""
        present = {o.category for o in self.objects}
        return [c for c in TOYWORLD_CATEGORIES if c not in present]


def render_scene(index: int, seed: int = 0, size: tuple[int, int] = (320, 240)) -> ToyScene:
    """Render scene ``index`` of the world ``seed``.

    The same arguments give the same pixels and masks on every run, whatever other scenes were
    rendered before (for one :data:`TOYWORLD_VERSION` and the same numpy and Pillow releases).

    Args:
        index: scene number, ≥ 0.
        seed: world seed, ≥ 0.
        size: ``(width, height)`` in pixels, each at least 32.

    Returns:
        The picture and its visible objects and parts.

    Raises:
        ConfigError: a negative index or seed, or a size too small.

    Example:
        >>> scene = render_scene(0)
        >>> scene.image.size, scene.file_name
        ((320, 240), '000000000001.jpg')
    """
    _check_args(index=index, seed=seed, size=size)
    rng = np.random.default_rng([seed, index])
    width, height = size
    canvas = _Canvas(width, height, light=1 if rng.random() < 0.5 else -1)
    horizon = _paint_background(canvas, rng)
    drawn = [_draw_object(canvas, rng, p, obj_index)
             for obj_index, p in enumerate(_compose(rng, width, height, horizon))]
    image = canvas.finish(rng)
    image_id = index + 1
    return ToyScene(image_id=image_id, file_name=f"{image_id:012d}.jpg", image=image,
                    objects=_visible_objects(canvas, drawn, image_id))


# -- writing ----------------------------------------------------------------------------------------


def write_toyworld(
    out_dir: str | Path,
    scenes: int,
    seed: int = 0,
    *,
    size: tuple[int, int] = (320, 240),
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Render ``scenes`` scenes and write them as a COCO instances + PACO parts dataset.

    Existing files of the same names are overwritten. The JSON files are written last, so a folder
    that was interrupted mid-way has no ``instances.json`` and is not mistaken for a finished one.

    Args:
        out_dir: folder to write (created if needed).
        scenes: number of scenes, ≥ 0.
        seed: world seed, ≥ 0.
        size: ``(width, height)`` of every image.
        progress: called after each scene with the number of scenes written so far.

    Returns:
        ``out_dir`` as a :class:`~pathlib.Path`, ready for :class:`ToyWorldSource`.

    Raises:
        ConfigError: a negative scene count or seed, or a size too small.

    Example:
        >>> folder = write_toyworld("/tmp/toy", scenes=10)  # doctest: +SKIP
        >>> len(ToyWorldSource(folder))  # doctest: +SKIP
        10
    """
    _check_args(scenes=scenes, seed=seed, size=size)
    root = Path(out_dir)
    earlier = world_info(root)
    # An earlier toy world's own instances.json goes first, so an interrupted rewrite is never mistaken
    # for a finished world; its pictures go after, those the new world does not overwrite.
    stale = set(earlier.get("file_names", ())) if earlier else set()
    (root / "instances.json").unlink(missing_ok=True)
    (root / "images").mkdir(parents=True, exist_ok=True)
    images: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for index in range(scenes):
        scene = render_scene(index, seed, size)
        # 4:4:4 chroma keeps the colour of thin parts (legs, handles) true to the annotation.
        scene.image.save(root / "images" / scene.file_name, quality=_JPEG_QUALITY, subsampling=0)
        record = {"id": scene.image_id, "file_name": scene.file_name, "width": size[0], "height": size[1]}
        images.append({**record, "neg_category_ids": [_OBJECT_IDS[c] for c in scene.absent_categories]})
        for obj in scene.objects:
            objects.append(_object_record(obj, scene.image_id))
            parts.extend(_part_record(part, obj, scene.image_id) for part in obj.parts)
        if progress is not None:
            progress(index + 1)
    info = {"description": "groundv toy world", "generator": "groundv.sources.toyworld",
            "version": TOYWORLD_VERSION, "groundv_version": __version__, "seed": seed, "scenes": scenes,
            "width": size[0], "height": size[1]}
    for name in stale - {image["file_name"] for image in images}:
        (root / "images" / name).unlink(missing_ok=True)
    _write_json(root / "instances.json", {
        "info": info, "images": images, "annotations": objects,
        "categories": [{"id": _OBJECT_IDS[c.name], "name": c.name, "supercategory": c.supercategory}
                       for c in TOYWORLD_VOCABULARY.values()]})
    # Part images carry no neg_category_ids: absence facts are about objects and live in instances.json.
    _write_json(root / "parts.json", {
        "info": info, "annotations": parts,
        "images": [{k: img[k] for k in ("id", "file_name", "width", "height")} for img in images],
        "categories": [{"id": cid, "name": name, "supercategory": name.split(":")[0]}
                       for name, cid in _PART_IDS.items()],
        "part_categories": [{"id": pid, "name": name} for name, pid in _PLAIN_PART_IDS.items()]})
    return root


def _object_record(obj: ToyObject, image_id: int) -> dict[str, Any]:
    return {"id": obj.id, "image_id": image_id, "category_id": _OBJECT_IDS[obj.category],
            "segmentation": dict(obj.rle), "area": masks.area(obj.rle), "bbox": list(masks.bbox(obj.rle)),
            "iscrowd": 0, "attributes": {"color": obj.color, "size": obj.size}}


def _part_record(part: ToyPart, obj: ToyObject, image_id: int) -> dict[str, Any]:
    return {"id": part.id, "image_id": image_id, "category_id": _PART_IDS[f"{obj.category}:{part.name}"],
            "obj_ann_id": obj.id, "segmentation": dict(part.rle), "area": masks.area(part.rle),
            "bbox": list(masks.bbox(part.rle)), "iscrowd": 0, "attributes": {"color": part.color}}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    # Write then rename, so a reader never sees half a file.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(orjson.dumps(data))
    os.replace(tmp, path)


def _check_args(*, index: int = 0, scenes: int = 0, seed: int, size: tuple[int, int]) -> None:
    if index < 0 or scenes < 0:
        raise ConfigError(f"scene index and count must be ≥ 0, got {min(index, scenes)}")
    if seed < 0:
        raise ConfigError(f"the toy-world seed must be ≥ 0, got {seed}")
    if len(size) != 2 or min(size) < _MIN_SIDE:
        raise ConfigError(f"image size must be (width, height), each at least {_MIN_SIDE} pixels, "
                          f"got {size!r}")


# -- reading ----------------------------------------------------------------------------------------


class ToyWorldSource(CocoSource):
    """A toy-world folder written by :func:`write_toyworld` (or ``groundv toyworld``).

    Reads ``instances.json`` with ``parts.json`` and the ``images/`` folder. Every category of
    the world that is not in an image is an absence fact of its scene.

    Args:
        path: the folder.
        skip_bad: count and record bad records instead of raising.
        exclude: image ids to leave out.

    Raises:
        InputError: the folder holds no ``instances.json``.

    Example:
        >>> src = ToyWorldSource(write_toyworld("/tmp/toy", scenes=3))  # doctest: +SKIP
        >>> [s.image_id for s in src]  # doctest: +SKIP
        [1, 2, 3]
    """

    name = "toyworld"

    def __init__(
        self,
        path: str | Path,
        *,
        skip_bad: bool = False,
        exclude: Collection[int | str] = (),
    ) -> None:
        root = Path(path)
        instances = root / "instances.json"
        if not instances.is_file():
            raise InputError("no toy world here: instances.json is missing", file=root,
                             hint=f"write one with `groundv toyworld` into {root}, or pass the folder "
                                  f"that holds instances.json, parts.json and images/")
        super().__init__(instances, images=root / "images", parts=[root / "parts.json"],
                         skip_bad=skip_bad, exclude=frozenset(exclude))
        self._root = root

    def _missing_image_hint(self) -> str:
        info = world_info(self._root)
        again = f" --scenes {info['scenes']} --seed {info['seed']}" if info else ""
        return f"the toy world lost a picture: render it again with groundv toyworld{again} --out {self._root}"


def world_info(path: str | Path) -> dict[str, Any] | None:
    """The ``info`` of the toy world in ``path`` (``seed``, ``scenes``, ``width``, ``height``, …) with its
    image ``file_names``, or None when ``path`` holds no finished toy world."""
    instances = Path(path) / "instances.json"
    try:
        data = orjson.loads(instances.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    info = data.get("info") if isinstance(data, dict) else None
    if not isinstance(info, dict) or info.get("generator") != "groundv.sources.toyworld":
        return None
    return {**info, "file_names": [image["file_name"] for image in data.get("images", [])]}


def read_toyworld(path: str | Path, **options: Any) -> Iterator[Scene]:
    """Stream the scenes of a toy-world folder; see :class:`ToyWorldSource` for the options."""
    return iter(ToyWorldSource(path, **options))


# -- composition: what goes where -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Look:
    """How a category is drawn: its drawer, usual height and half-width, and where it may stand.

    ``height`` is a fraction of the image height for a medium-size object at the very front;
    ``reach`` is its half-width in units of its height; ``depth`` the range of its perspective
    scale (1 = front edge of the picture, smaller = nearer the horizon).
    """

    draw: Callable[[_Pen, np.random.Generator, str], None]
    height: float
    reach: float
    depth: tuple[float, float] = (0.35, 1.0)


@dataclass(frozen=True, slots=True)
class _Placement:
    category: str
    color: str
    size: str
    x: float  # centre, pixels
    base: float  # ground contact, pixels from the top
    depth: float  # perspective scale, 1 at the front edge
    height: float  # pixels
    flip: bool


_TABLETOP = ("mug", "bottle", "apple", "orange", "banana", "ball")
_TABLETOP_LEVEL = 0.95  # where items stand on a table, in table heights above its feet


def _compose(rng: np.random.Generator, width: int, height: int, horizon: int) -> list[_Placement]:
    """Choose the objects of a scene and place them, back to front."""
    categories: list[str] = []
    wanted = int(rng.integers(3, 8))
    while len(categories) < wanted:
        category = TOYWORLD_CATEGORIES[int(rng.integers(len(TOYWORLD_CATEGORIES)))]
        # Sometimes several of a kind, so that "all the X" and "the left X" have something to mean.
        copies = 1 + int(rng.integers(1, 3)) if rng.random() < 0.25 else 1
        categories.extend([category] * min(copies, wanted - len(categories)))

    placed: list[tuple[_Placement, list[_Placement]]] = []
    for category in categories:
        # Best of two spots: fewer objects vanish entirely behind others, yet occlusion stays common.
        candidates = [_place(rng, category, width, height, horizon) for _ in range(2)]
        spot = min(candidates, key=lambda c: _crowding(c, [p for p, _ in placed]))
        on_top = []
        if category == "table" and rng.random() < 0.65:
            on_top = [_place_on_table(rng, spot, height) for _ in range(int(rng.integers(1, 4)))]
        placed.append((spot, on_top))
    placed.sort(key=lambda item: item[0].base)
    # A table's items are drawn right after it: nearer objects still cover them.
    return [p for spot, on_top in placed for p in (spot, *sorted(on_top, key=lambda q: q.base))]


def _place(rng: np.random.Generator, category: str, width: int, height: int, horizon: int) -> _Placement:
    look = _LOOKS[category]
    depth = float(rng.uniform(*look.depth))
    size = _choose(rng, list(TOYWORLD_SIZES))
    return _Placement(
        category=category, color=_choose(rng, TOYWORLD_VOCABULARY[category].colors), size=size,
        x=float(rng.uniform(0.04, 0.96)) * width, base=horizon + depth * (height - horizon), depth=depth,
        height=look.height * depth * TOYWORLD_SIZES[size] * height, flip=bool(rng.random() < 0.5))


def _place_on_table(rng: np.random.Generator, table: _Placement, image_height: int) -> _Placement:
    category = _choose(rng, _TABLETOP)
    size = _choose(rng, list(TOYWORLD_SIZES))
    return _Placement(
        category=category, color=_choose(rng, TOYWORLD_VOCABULARY[category].colors), size=size,
        x=table.x + float(rng.uniform(-0.5, 0.5)) * table.height,
        # Spread a little in depth on the tabletop; items further back are drawn first.
        base=table.base - (_TABLETOP_LEVEL - float(rng.uniform(0.0, 0.04))) * table.height, depth=table.depth,
        height=_LOOKS[category].height * table.depth * TOYWORLD_SIZES[size] * image_height,
        flip=bool(rng.random() < 0.5))


def _crowding(spot: _Placement, others: Sequence[_Placement]) -> float:
    """Horizontal overlap with the objects already placed, weighted by how close in depth they are."""
    reach = _LOOKS[spot.category].reach * spot.height
    total = 0.0
    for other in others:
        other_reach = _LOOKS[other.category].reach * other.height
        overlap = min(spot.x + reach, other.x + other_reach) - max(spot.x - reach, other.x - other_reach)
        if overlap > 0:
            total += overlap / (1.0 + abs(spot.base - other.base) / 10.0)
    return total


def _choose(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


# -- painting ---------------------------------------------------------------------------------------


class _Canvas:
    """The picture being painted, with a label map of which part owns each pixel.

    Label 0 is background. ``owner`` records which object last painted a pixel, so an object's
    unoccluded area can be counted as it is drawn.
    """

    def __init__(self, width: int, height: int, light: int) -> None:
        self.width, self.height = width, height
        self.light = light  # +1: lit from the left, -1: from the right
        self.rgb = np.zeros((height, width, 3), dtype=np.float32)
        self.labels = np.zeros((height, width), dtype=np.int32)
        self.owner = np.full((height, width), -1, dtype=np.int32)
        self.next_label = 1

    def window(self, xs: Sequence[float], ys: Sequence[float], pad: float) -> _Box | None:
        """Pixel box ``(x0, y0, x1, y1)`` around the points, clipped to the picture; None if outside."""
        x0 = max(0, math.floor(min(xs) - pad) - 1)
        y0 = max(0, math.floor(min(ys) - pad) - 1)
        x1 = min(self.width, math.ceil(max(xs) + pad) + 2)
        y1 = min(self.height, math.ceil(max(ys) + pad) + 2)
        return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None

    def paint(self, box: _Box, shape: np.ndarray, rgb: np.ndarray, shading: _Shading,
              label: int, obj: int) -> int:
        """Paint ``shape`` (a bitmap of ``box``) and give its pixels to ``label``.

        Returns:
            how many of the pixels the object ``obj`` had not covered yet.
        """
        x0, y0, x1, y1 = box
        if not shape.any():
            return 0
        if shading == "flat":
            self.rgb[y0:y1, x0:x1][shape] = rgb
        else:
            factor = self._shade(y1 - y0, x1 - x0, shading)[shape]
            # Normalised so the mean colour stays the named one whatever the shading.
            factor /= factor.mean()
            self.rgb[y0:y1, x0:x1][shape] = rgb * factor[:, None]
        self.labels[y0:y1, x0:x1][shape] = label
        owner = self.owner[y0:y1, x0:x1]
        fresh = int(np.count_nonzero(shape & (owner != obj)))
        owner[shape] = obj
        return fresh

    def darken_ground(self, box: _Box, shape: np.ndarray, amount: float) -> None:
        """A soft shadow on the background only: painted objects keep their colour."""
        x0, y0, x1, y1 = box
        where = shape * (self.labels[y0:y1, x0:x1] == 0)
        self.rgb[y0:y1, x0:x1] *= (1.0 - amount * where)[:, :, None]

    def _shade(self, h: int, w: int, shading: _Shading) -> np.ndarray:
        xn = (np.arange(w, dtype=np.float32) + 0.5) / w
        yn = (np.arange(h, dtype=np.float32) + 0.5) / h
        if shading == "side":
            return (1.0 + 0.16 * self.light * (1.0 - 2.0 * xn))[None, :] + (0.05 * (1.0 - 2.0 * yn))[:, None]
        hx = 0.5 - 0.17 * self.light
        dist = np.sqrt((xn[None, :] - hx) ** 2 + (yn[:, None] - 0.33) ** 2)
        return np.clip(1.2 - 0.6 * dist, 0.55, None)

    def finish(self, rng: np.random.Generator) -> Image.Image:
        """Add sensor noise and return the picture."""
        grain = rng.standard_normal((self.height, self.width, 3), dtype=np.float32)
        grain *= 1.5
        grain += 3.5 * rng.standard_normal((self.height, self.width, 1), dtype=np.float32)  # mostly brightness
        grain += self.rgb
        np.clip(grain, 0, 255, out=grain)
        return Image.fromarray(grain.astype(np.uint8), "RGB")


_GROUNDS = {  # (far colour, near colour)
    "grass": ((120, 150, 85), (70, 118, 42)),
    "dirt": ((175, 155, 120), (140, 112, 78)),
    "pavement": ((165, 165, 160), (112, 112, 108)),
}


def _paint_background(canvas: _Canvas, rng: np.random.Generator) -> int:
    """Sky, clouds, distant hills and textured ground; returns the horizon row."""
    w, h = canvas.width, canvas.height
    horizon = int(h * rng.uniform(0.36, 0.5))
    top = np.array([85, 140, 212], dtype=np.float32) + rng.normal(0, 8, 3).astype(np.float32)
    low = np.array([192, 214, 236], dtype=np.float32)
    t = np.linspace(0.0, 1.0, horizon, dtype=np.float32)[:, None]
    canvas.rgb[:horizon] = (top * (1 - t) + low * t)[:, None, :]
    _paint_clouds(canvas, rng, horizon)

    far, near = (np.array(c, dtype=np.float32) for c in _GROUNDS[_choose(rng, list(_GROUNDS))])
    t = np.linspace(0.0, 1.0, h - horizon, dtype=np.float32)[:, None] ** 0.7
    canvas.rgb[horizon:] = (far * (1 - t) + near * t)[:, None, :]
    # Texture: smooth blotches plus grain, stronger near the viewer.
    blotches = Image.fromarray(rng.standard_normal((h // 8 + 2, w // 8 + 2)).astype(np.float32), "F")
    blotches_px = np.asarray(blotches.resize((w, h - horizon), Image.Resampling.BILINEAR))
    grain = rng.standard_normal((h - horizon, w)).astype(np.float32)
    canvas.rgb[horizon:] += ((9.0 * blotches_px + 6.0 * grain) * (0.4 + 0.6 * t))[:, :, None]

    # Hills along the horizon, hazy with distance.
    xs = np.arange(w + 1, dtype=np.float32)
    phase = rng.uniform(0, 2 * np.pi, 3)
    rise = h * (0.03 + 0.02 * np.sin(xs / w * 5 + phase[0]) + 0.012 * np.sin(xs / w * 13 + phase[1])
                + 0.006 * np.sin(xs / w * 31 + phase[2]))
    hill = Image.new("L", (w, horizon + 2))
    ImageDraw.Draw(hill).polygon([(0, horizon + 1), *zip(xs.tolist(), (horizon - rise).tolist(), strict=True),
                                  (w, horizon + 1)], fill=255)
    shape = np.asarray(hill, dtype=bool)
    canvas.rgb[: horizon + 2][shape] = np.array([118, 145, 128], dtype=np.float32) + rng.normal(0, 5, 3)
    return horizon


def _paint_clouds(canvas: _Canvas, rng: np.random.Generator, horizon: int) -> None:
    count = int(rng.integers(0, 4))
    if count == 0:
        return
    w = canvas.width
    layer = Image.new("L", (w, horizon))
    draw = ImageDraw.Draw(layer)
    for _ in range(count):
        cx, cy = rng.uniform(0, w), rng.uniform(0.1, 0.6) * horizon
        rx = rng.uniform(0.06, 0.14) * w
        for _ in range(4):
            bx, by = cx + rng.uniform(-rx, rx), cy + rng.uniform(-0.25, 0.25) * rx
            r = rx * rng.uniform(0.3, 0.55)
            draw.ellipse((bx - r, by - 0.6 * r, bx + r, by + 0.6 * r), fill=210)
    alpha = np.asarray(layer.filter(ImageFilter.GaussianBlur(3)), dtype=np.float32)[:, :, None] / 255.0
    canvas.rgb[:horizon] = canvas.rgb[:horizon] * (1 - alpha) + 246.0 * alpha


@dataclass
class _Drawn:
    """An object as painted: its labels, with part name (None for the object itself) and colour."""

    placement: _Placement
    labels: list[tuple[int, str | None, str]]
    shape_area: int = 0


class _Pen:
    """Draws one object in its own units: ``u`` across (positive = the way it faces), ``v`` up
    from its feet, both in object heights. Each shape is painted into one part's region."""

    def __init__(self, canvas: _Canvas, rng: np.random.Generator, drawn: _Drawn, obj: int) -> None:
        self.canvas, self.rng, self.drawn, self.obj = canvas, rng, drawn, obj
        p = drawn.placement
        self.x, self.y, self.h = p.x, p.base, p.height
        self.dir = -1.0 if p.flip else 1.0
        self.tone = float(rng.uniform(0.96, 1.04))  # no two objects of a colour quite alike

    def part(self, name: str | None, color: str, rgb: _RGB | None = None) -> _Ink:
        """A new region (one part instance; ``name`` None for a part-less object) and its paint."""
        label = self.canvas.next_label
        self.canvas.next_label += 1
        self.drawn.labels.append((label, name, color))
        base = np.array(rgb or TOYWORLD_COLORS[color], dtype=np.float32) * self.tone
        return _Ink(label, base)

    def rect(self, ink: _Ink, u0: float, v0: float, u1: float, v1: float, *, radius: float = 0.0,
             shading: _Shading = "side", far: bool = False) -> None:
        (xa, ya), (xb, yb) = self._px(u0, v0), self._px(u1, v1)
        box = (min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb))
        r = radius * self.h
        self._stamp(ink, [box[0], box[2]], [box[1], box[3]], 0.0, shading, far,
                    lambda d, dx, dy: d.rounded_rectangle(
                        (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy), radius=r, fill=255))

    def ellipse(self, ink: _Ink, uc: float, vc: float, ru: float, rv: float, *,
                shading: _Shading = "round", far: bool = False, rgb: _RGB | None = None) -> None:
        xc, yc = self._px(uc, vc)
        rx, ry = ru * self.h, rv * self.h
        self._stamp(ink, [xc - rx, xc + rx], [yc - ry, yc + ry], 0.0, shading, far,
                    lambda d, dx, dy: d.ellipse((xc - rx + dx, yc - ry + dy, xc + rx + dx, yc + ry + dy),
                                                fill=255), rgb=rgb)

    def ring(self, ink: _Ink, uc: float, vc: float, ru: float, rv: float, width: float, *,
             shading: _Shading = "side") -> None:
        xc, yc = self._px(uc, vc)
        rx, ry = ru * self.h, rv * self.h
        lw = max(1, round(width * self.h))
        self._stamp(ink, [xc - rx, xc + rx], [yc - ry, yc + ry], 0.0, shading, False,
                    lambda d, dx, dy: d.ellipse((xc - rx + dx, yc - ry + dy, xc + rx + dx, yc + ry + dy),
                                                outline=255, width=lw))

    def polygon(self, ink: _Ink, points: Sequence[tuple[float, float]], *, shading: _Shading = "side",
                far: bool = False) -> None:
        pts = [self._px(u, v) for u, v in points]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        self._stamp(ink, xs, ys, 0.0, shading, far,
                    lambda d, dx, dy: d.polygon([(x + dx, y + dy) for x, y in pts], fill=255))

    def line(self, ink: _Ink, points: Sequence[tuple[float, float]], width: float, *,
             shading: _Shading = "flat", far: bool = False, rgb: _RGB | None = None) -> None:
        pts = [self._px(u, v) for u, v in points]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        lw = max(1, round(width * self.h))
        self._stamp(ink, xs, ys, lw / 2 + 1, shading, far,
                    lambda d, dx, dy: d.line([(x + dx, y + dy) for x, y in pts], fill=255, width=lw,
                                             joint="curve"), rgb=rgb)

    def shadow(self) -> None:
        """A soft contact shadow under the object, on the ground."""
        reach = _LOOKS[self.drawn.placement.category].reach * self.h
        depth = 0.06 * self.h
        box = self.canvas.window([self.x - reach, self.x + reach], [self.y - depth, self.y + depth], 1.0)
        if box is None:
            return
        x0, y0, x1, y1 = box
        layer = Image.new("L", (x1 - x0, y1 - y0))
        ImageDraw.Draw(layer).ellipse((self.x - reach * 1.05 - x0, self.y - 0.05 * self.h - y0,
                                       self.x + reach * 1.05 - x0, self.y + 0.05 * self.h - y0), fill=255)
        shape = np.asarray(layer, dtype=np.float32) / 255.0
        self.canvas.darken_ground(box, shape, 0.3)

    def _px(self, u: float, v: float) -> tuple[float, float]:
        return self.x + self.dir * u * self.h, self.y - v * self.h

    def _stamp(self, ink: _Ink, xs: Sequence[float], ys: Sequence[float], pad: float, shading: _Shading,
               far: bool, draw: Callable[[ImageDraw.ImageDraw, float, float], None],
               rgb: _RGB | None = None) -> None:
        box = self.canvas.window(xs, ys, pad)
        if box is None:
            return
        x0, y0, x1, y1 = box
        layer = Image.new("L", (x1 - x0, y1 - y0))
        draw(ImageDraw.Draw(layer), -x0, -y0)
        colour = ink.rgb if rgb is None else np.array(rgb, dtype=np.float32) * self.tone
        # The far side of an object (legs behind, inner wheels) is in its own shadow.
        colour = colour * 0.9 if far else colour
        shape = np.asarray(layer) > 0
        self.drawn.shape_area += self.canvas.paint(box, shape, colour, shading, ink.label, self.obj)


@dataclass(frozen=True, slots=True)
class _Ink:
    label: int
    rgb: np.ndarray


def _draw_object(canvas: _Canvas, rng: np.random.Generator, placement: _Placement, obj: int) -> _Drawn:
    drawn = _Drawn(placement, [])
    pen = _Pen(canvas, rng, drawn, obj)
    pen.shadow()
    _LOOKS[placement.category].draw(pen, rng, placement.color)
    return drawn


def _visible_objects(canvas: _Canvas, drawn: list[_Drawn], image_id: int) -> tuple[ToyObject, ...]:
    """Cut the label map into visible masks; drop hidden regions and objects."""
    counts = np.bincount(canvas.labels.ravel(), minlength=canvas.next_label)
    next_id = image_id * _ID_STRIDE + 1
    objects = []
    for d in drawn:
        visible = [(label, name, color) for label, name, color in d.labels if counts[label] > 0]
        if not visible:
            continue
        obj_id, next_id = next_id, next_id + 1
        place = d.placement
        if visible[0][1] is None:  # a part-less object is a single region
            rle = masks.encode(canvas.labels == visible[0][0])
            objects.append(ToyObject(obj_id, place.category, place.color, place.size, rle, d.shape_area))
            continue
        parts = []
        for label, name, color in visible:
            parts.append(ToyPart(next_id, name or "", color, masks.encode(canvas.labels == label)))
            next_id += 1
        rle = masks.union([p.rle for p in parts])
        objects.append(ToyObject(obj_id, place.category, place.color, place.size, rle, d.shape_area,
                                 tuple(parts)))
    return tuple(objects)


# -- the drawers: one per category, in object units (see _Pen) ---------------------------------------


def _draw_mug(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    handle = pen.part("handle", color)
    pen.ring(handle, 0.38, 0.52, 0.22, 0.26, 0.09)
    body = pen.part("body", color)
    pen.rect(body, -0.38, 0.0, 0.38, 1.0, radius=0.06)


def _draw_chair(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    for u in (-0.2, 0.2):
        pen.rect(pen.part("leg", color), u - 0.028, 0.07, u + 0.028, 0.52, far=True, shading="flat")
    back = pen.part("back", color)
    pen.rect(back, -0.24, 0.52, 0.24, 1.0, radius=0.03)
    seat = pen.part("seat", color)
    pen.polygon(seat, [(-0.28, 0.42), (0.28, 0.42), (0.28, 0.47), (0.24, 0.55), (-0.24, 0.55), (-0.28, 0.47)])
    for u in (-0.245, 0.245):
        pen.rect(pen.part("leg", color), u - 0.03, 0.0, u + 0.03, 0.43, shading="flat")


def _draw_car(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    body = pen.part("body", color)
    pen.polygon(body, [(-1.16, 0.2), (1.16, 0.2), (1.19, 0.44), (1.06, 0.58), (0.58, 0.63), (0.32, 0.98),
                       (-0.52, 0.98), (-0.8, 0.63), (-1.12, 0.6), (-1.19, 0.42)])
    glass = pen.part("window", *_GLASS)
    if rng.random() < 0.5:
        pen.polygon(glass, [(-0.72, 0.64), (-0.47, 0.91), (0.26, 0.91), (0.45, 0.64)], shading="flat")
    else:
        pen.polygon(glass, [(-0.72, 0.64), (-0.47, 0.91), (-0.16, 0.91), (-0.16, 0.64)], shading="flat")
        pen.polygon(pen.part("window", *_GLASS), [(-0.08, 0.64), (-0.08, 0.91), (0.26, 0.91), (0.45, 0.64)],
                    shading="flat")
    for u in (-0.7, 0.72):
        wheel = pen.part("wheel", "black")
        pen.ellipse(wheel, u, 0.2, 0.2, 0.2)
        pen.ellipse(wheel, u, 0.2, 0.08, 0.08, rgb=TOYWORLD_COLORS["gray"], shading="flat")


def _draw_person(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    trousers = _choose(rng, ("blue", "black", "brown", "gray"))
    stride = float(rng.uniform(0.0, 0.1))
    for side in (-1, 1):
        pen.line(pen.part("leg", trousers), [(side * 0.055, 0.47), (side * (0.07 + stride), 0.03)], 0.09,
                 far=side < 0)
    pen.rect(pen.part("torso", color), -0.125, 0.44, 0.125, 0.82, radius=0.045)
    swing = float(rng.uniform(-0.05, 0.08))
    for side in (-1, 1):
        elbow, hand = (side * 0.18, 0.63), (side * 0.17 + swing, 0.48)
        pen.line(pen.part("arm", color), [(side * 0.145, 0.79), elbow, hand], 0.065)
    skin, rgb = _SKINS[int(rng.integers(len(_SKINS)))]
    pen.ellipse(pen.part("head", skin, rgb), 0.0, 0.91, 0.075, 0.09)


def _draw_lamp(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    metal = _choose(rng, ("black", "gray", "white"))
    pen.ellipse(pen.part("base", metal), 0.0, 0.03, 0.15, 0.035, shading="side")
    pen.rect(pen.part("pole", metal), -0.017, 0.05, 0.017, 0.78, shading="flat")
    pen.polygon(pen.part("shade", color), [(-0.2, 0.72), (0.2, 0.72), (0.13, 1.0), (-0.13, 1.0)])


def _draw_bottle(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    pen.polygon(pen.part("body", color), [(-0.17, 0.0), (0.17, 0.0), (0.17, 0.55), (0.07, 0.74), (0.07, 0.89),
                                          (-0.07, 0.89), (-0.07, 0.74), (-0.17, 0.55)])
    cap = _choose(rng, tuple(c for c in ("red", "white", "black", "blue", "yellow") if c != color))
    pen.rect(pen.part("cap", cap), -0.085, 0.87, 0.085, 1.0, radius=0.02)


def _draw_table(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    legs = int(rng.integers(2, 5))
    far_legs = {2: (), 3: (0.0,), 4: (-0.6, 0.6)}[legs]
    for u in far_legs:
        pen.rect(pen.part("leg", color), u - 0.03, 0.1, u + 0.03, 0.93, far=True, shading="flat")
    top = pen.part("top", color)
    pen.polygon(top, [(-0.82, 0.87), (0.82, 0.87), (0.82, 0.93), (0.7, 1.0), (-0.7, 1.0), (-0.82, 0.93)])
    for u in (-0.74, 0.74):
        pen.rect(pen.part("leg", color), u - 0.035, 0.0, u + 0.035, 0.88, shading="flat")


def _draw_tree(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    pen.polygon(pen.part("trunk", "brown"), [(-0.06, 0.0), (0.06, 0.0), (0.03, 0.62), (-0.03, 0.62)])
    crown = pen.part("crown", color)
    if color == "green" and rng.random() < 0.35:  # a conifer
        for low, half in ((0.16, 0.4), (0.4, 0.32), (0.62, 0.23)):
            pen.polygon(crown, [(-half, low), (half, low), (0.0, low + 0.4)])
        return
    pen.ellipse(crown, 0.0, 0.7, 0.24, 0.2)  # the core, so the blobs around it never leave holes
    for _ in range(int(rng.integers(7, 11))):
        pen.ellipse(crown, float(rng.uniform(-0.2, 0.2)), float(rng.uniform(0.55, 0.86)),
                    float(rng.uniform(0.11, 0.17)), float(rng.uniform(0.1, 0.15)))


def _draw_house(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    pen.rect(pen.part("wall", color), -0.6, 0.0, 0.6, 0.6, shading="side")
    roof = _choose(rng, tuple(c for c in ("red", "brown", "gray", "black") if c != color))
    if rng.random() < 0.5:
        pen.polygon(pen.part("roof", roof), [(-0.7, 0.58), (0.7, 0.58), (0.0, 1.0)])
    else:
        pen.polygon(pen.part("roof", roof), [(-0.7, 0.58), (0.7, 0.58), (0.45, 0.92), (-0.45, 0.92)])
    door_at = float(rng.uniform(-0.35, 0.35))
    door = _choose(rng, tuple(c for c in ("brown", "red", "blue", "green", "white") if c != color))
    pen.rect(pen.part("door", door), door_at - 0.1, 0.0, door_at + 0.1, 0.34, shading="flat")
    slots = [u for u in (-0.42, -0.14, 0.14, 0.42) if abs(u - door_at) > 0.22]
    for u in sorted(rng.permutation(slots)[: int(rng.integers(1, 4))].tolist()):
        pen.rect(pen.part("window", *_GLASS), u - 0.08, 0.3, u + 0.08, 0.46, shading="flat")


def _draw_bicycle(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    for u in (-0.55, 0.55):
        pen.ring(pen.part("wheel", "black"), u, 0.33, 0.33, 0.33, 0.055)
    frame = pen.part("frame", color)
    rear, bracket, seat, head, front = (-0.55, 0.33), (-0.05, 0.3), (-0.22, 0.8), (0.4, 0.8), (0.55, 0.33)
    pen.line(frame, [rear, bracket, seat, rear], 0.05)
    pen.line(frame, [seat, head, bracket], 0.05)
    pen.line(frame, [front, head, (0.36, 0.95), (0.47, 0.97)], 0.045)
    saddle = _choose(rng, ("black", "brown"))
    pen.polygon(pen.part("seat", saddle), [(-0.36, 0.8), (-0.1, 0.82), (-0.12, 0.88), (-0.34, 0.88)])


def _draw_dog(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    for u in (-0.36, 0.26):
        pen.rect(pen.part("leg", color), u - 0.045, 0.06, u + 0.045, 0.45, far=True, shading="flat")
    pen.line(pen.part("tail", color), [(-0.48, 0.6), (-0.62, 0.78), (-0.66, 0.9)], 0.06)
    body = pen.part("body", color)
    pen.ellipse(body, -0.08, 0.56, 0.45, 0.17, shading="side")
    pen.polygon(body, [(0.18, 0.48), (0.36, 0.64), (0.44, 0.76), (0.28, 0.78), (0.12, 0.68)])
    for u in (-0.44, 0.34):
        pen.rect(pen.part("leg", color), u - 0.05, 0.0, u + 0.05, 0.45, shading="flat")
    head = pen.part("head", color)
    pen.ellipse(head, 0.42, 0.83, 0.15, 0.14)
    pen.ellipse(head, 0.58, 0.78, 0.1, 0.065)
    pen.polygon(head, [(0.32, 0.92), (0.4, 0.95), (0.33, 0.72), (0.28, 0.76)], far=True)


def _draw_umbrella(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    handle = pen.part("handle", _choose(rng, ("black", "brown", "gray")))
    pen.line(handle, [(0.0, 1.05), (0.0, 0.0)], 0.035)
    ribs = 6
    dome = [(0.6 * math.cos(a), 0.7 + 0.3 * math.sin(a)) for a in np.linspace(0.0, math.pi, 25).tolist()]
    # Back along the hem from left to right, scalloped between the rib tips.
    hem = [pt for k in range(ribs)
           for pt in ((-0.6 + 1.2 * k / ribs, 0.7), (-0.6 + 1.2 * (k + 0.5) / ribs, 0.745))]
    pen.polygon(pen.part("canopy", color), [*dome, *hem])


def _draw_apple(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    apple = pen.part(None, color)
    pen.ellipse(apple, 0.0, 0.48, 0.52, 0.48)
    pen.line(apple, [(0.0, 0.9), (0.06, 1.08)], 0.07, rgb=TOYWORLD_COLORS["brown"])


def _draw_orange(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    pen.ellipse(pen.part(None, color), 0.0, 0.5, 0.5, 0.5)


def _draw_banana(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    us = np.linspace(-1.2, 1.2, 17)
    bottom = 0.55 * (us / 1.2) ** 2
    top = bottom + 0.05 + 0.4 * np.sqrt(1.0 - (us / 1.2) ** 2)
    pen.polygon(pen.part(None, color), [*zip(us.tolist(), top.tolist(), strict=True),
                                        *zip(us[::-1].tolist(), bottom[::-1].tolist(), strict=True)])


def _draw_ball(pen: _Pen, rng: np.random.Generator, color: str) -> None:
    pen.ellipse(pen.part(None, color), 0.0, 0.5, 0.5, 0.5)


_LOOKS: dict[str, _Look] = {
    "mug": _Look(_draw_mug, 0.09, 0.6, (0.65, 1.0)),
    "chair": _Look(_draw_chair, 0.36, 0.3),
    "car": _Look(_draw_car, 0.36, 1.2),
    "person": _Look(_draw_person, 0.56, 0.2),
    "lamp": _Look(_draw_lamp, 0.5, 0.2),
    "bottle": _Look(_draw_bottle, 0.15, 0.17, (0.65, 1.0)),
    "table": _Look(_draw_table, 0.28, 0.82),
    "tree": _Look(_draw_tree, 1.35, 0.4, (0.22, 0.45)),
    "house": _Look(_draw_house, 0.95, 0.7, (0.25, 0.5)),
    "bicycle": _Look(_draw_bicycle, 0.34, 0.9),
    "dog": _Look(_draw_dog, 0.26, 0.7),
    "umbrella": _Look(_draw_umbrella, 0.5, 0.6),
    "apple": _Look(_draw_apple, 0.075, 0.5, (0.65, 1.0)),
    "orange": _Look(_draw_orange, 0.075, 0.5, (0.65, 1.0)),
    "banana": _Look(_draw_banana, 0.06, 1.2, (0.65, 1.0)),
    "ball": _Look(_draw_ball, 0.1, 0.5, (0.65, 1.0)),
}
