"""COCO panoptic: one JSON plus a folder of PNG segment maps, things and stuff.

The JSON (``panoptic_val2017.json``) holds ``images[]``, ``categories[]`` (``isthing`` 1 for the 80
thing classes, 0 for the 53 stuff classes) and one ``annotations[]`` record per image:
``{image_id, file_name (the PNG), segments_info: [{id, category_id, area, bbox, iscrowd}]}``. The PNG
(``panoptic_val2017/000000142238.png``) is RGB and each pixel holds its segment id,
``R + 256·G + 256²·B``; 0 is void (unlabelled). The channels are widened to ``uint32`` before they
are combined: in ``uint8`` the sum silently wraps around.

Every segment becomes one region: ``object`` for a thing, ``stuff`` for a stuff class, ``iscrowd``
and ``bbox`` as ``segments_info`` gives them, the mask taken from the PNG. The region id is the
segment id, which is unique **only within an image** (the sample reuses id 3937500 in both images);
a panoptic region is therefore identified by ``(image_id, region.id)``, never by its id alone.

Absence: like COCO instances, the thing classes are labelled exhaustively, so every thing category
with no segment in an image is verified absent from it. Stuff is not listed as absent. When a record
of an image is skipped (``skip_bad``), that image gets no absence facts, since the skipped pixels
may belong to any class.

The 2-channel PNG variant (category id and instance index, the input of panopticapi's
``2channels2panoptic`` converter) is not read: its segments do not carry the JSON's segment ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from groundv import masks
from groundv.errors import InputError
from groundv.scene import Region, Scene
from groundv.sources.base import Source, read_json, resolve_image

__all__ = ["PanopticSource", "read_panoptic", "segment_ids"]

_MASKS_HINT = "pass the folder of panoptic PNGs with --masks"
_WRONG_PNG = "the PNG may belong to another image or another JSON"
_TWO_CHANNEL = ("this looks like a 2-channel PNG (category id, instance index); convert it to RGB segment ids "
                "with panopticapi's converters/2channels2panoptic_coco_format.py")


@dataclass(frozen=True, slots=True)
class _Category:
    id: int
    name: str
    isthing: bool


@dataclass(frozen=True, slots=True)
class _Segment:
    id: int
    category_id: int
    iscrowd: bool
    bbox: tuple[float, float, float, float] | None


@dataclass(slots=True)
class _Entry:
    """One image record and its panoptic annotation record."""

    image_id: int
    width: int
    height: int
    file_name: str
    png: str | None = None
    segments: list[Any] = field(default_factory=list)  # raw segments_info records, checked per image


def segment_ids(rgb: np.ndarray) -> np.ndarray:
    """Segment ids ``R + 256·G + 256²·B`` of an H×W×3 panoptic map, as ``uint32``.

    Example:
        >>> px = np.array([[[1, 2, 3]]], dtype=np.uint8)
        >>> int(segment_ids(px)[0, 0]) == 1 + 256 * 2 + 256 * 256 * 3
        True
    """
    rgb = rgb.astype(np.uint32)  # uint8 arithmetic wraps: 256 * G would be 0
    return rgb[..., 0] + (rgb[..., 1] << 8) + (rgb[..., 2] << 16)


class PanopticSource(Source):
    """COCO panoptic segmentation (JSON + PNG segment maps).

    Args:
        path: the panoptic JSON, e.g. ``panoptic_val2017.json``.
        masks: the folder of panoptic PNGs. Default: the folder next to the JSON named after its
            stem (``panoptic_val2017.json`` → ``panoptic_val2017/``).
        images: folder holding the image files; when given, every image must exist.
        skip_bad: count and record bad images and segments instead of raising.
        exclude: image ids to leave out (the leakage guard).

    Raises:
        InputError: the JSON cannot be read or is not panoptic, or the PNG folder does not exist.
            Problems inside an image's records are raised (or skipped) while iterating.

    Example:
        >>> src = PanopticSource("panoptic_val2017.json", images="val2017")  # doctest: +SKIP
        >>> [r.kind for r in next(iter(src)).regions][:3]  # doctest: +SKIP
        ['object', 'object', 'stuff']
    """

    name = "panoptic"

    def __init__(
        self,
        path: str | Path,
        *,
        masks: str | Path | None = None,
        images: str | Path | None = None,
        skip_bad: bool = False,
        exclude: Sequence[int | str] | frozenset[int | str] = (),
    ) -> None:
        super().__init__(skip_bad=skip_bad, exclude=exclude)
        self.file = Path(path)
        self.images = Path(images) if images is not None else None
        data = read_json(self.file)
        if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
            raise InputError("not a COCO panoptic file: expected an object with 'images', 'annotations' "
                             "and 'categories' lists", file=self.file)
        self.masks = self._masks_folder(masks)
        self._categories = self._read_categories(data.get("categories"))
        self._entries = self._read_entries(data.get("images"), data["annotations"])

    # -- index ---------------------------------------------------------------------------------

    def _masks_folder(self, given: str | Path | None) -> Path:
        folder = Path(given) if given is not None else self.file.with_suffix("")
        if not folder.is_dir():
            what = "the panoptic PNG folder" if given is not None else "the default panoptic PNG folder"
            raise InputError(f"{what} {folder} does not exist", file=self.file, hint=_MASKS_HINT)
        return folder

    def _read_categories(self, records: Any) -> dict[int, _Category]:
        if not isinstance(records, list):
            raise InputError("'categories' must be a list", file=self.file)
        categories: dict[int, _Category] = {}
        for i, rec in enumerate(records):
            where = f"categories[{i}]"
            if not (isinstance(rec, dict) and _is_int(rec.get("id")) and isinstance(rec.get("name"), str)):
                raise InputError("a category needs an integer 'id' and a string 'name'", file=self.file,
                                 where=where)
            if rec["id"] in categories:
                raise InputError(f"duplicate category id {rec['id']}", file=self.file, where=where)
            categories[rec["id"]] = _Category(rec["id"], rec["name"], bool(rec.get("isthing", 1)))
        return categories

    def _read_entries(self, images: Any, annotations: list[Any]) -> dict[int, _Entry]:
        if not isinstance(images, list):
            raise InputError("'images' must be a list", file=self.file)
        entries: dict[int, _Entry] = {}
        for i, rec in enumerate(images):
            image_id = rec.get("id") if isinstance(rec, dict) else None
            where = f"image {image_id}" if _is_int(image_id) else f"images[{i}]"
            if not (isinstance(rec, dict) and _is_int(image_id) and _is_int(rec.get("width"))
                    and _is_int(rec.get("height")) and isinstance(rec.get("file_name"), str)):
                self.problems.fail(InputError("an image needs integer 'id', 'width', 'height' and a string "
                                              "'file_name'", file=self.file, where=where))
                continue
            if rec["id"] in entries:
                self.problems.fail(InputError("duplicate image id", file=self.file, where=where))
                continue
            entries[rec["id"]] = _Entry(rec["id"], rec["width"], rec["height"], rec["file_name"])
        for i, rec in enumerate(annotations):
            image_id = rec.get("image_id") if isinstance(rec, dict) else None
            where = f"annotation of image {image_id}" if _is_int(image_id) else f"annotations[{i}]"
            if not (isinstance(rec, dict) and _is_int(image_id) and isinstance(rec.get("file_name"), str)
                    and isinstance(rec.get("segments_info"), list)):
                self.problems.fail(InputError("an annotation needs an integer 'image_id', the PNG's "
                                              "'file_name' and a 'segments_info' list", file=self.file,
                                              where=where))
                continue
            entry = entries.get(rec["image_id"])
            if entry is None:
                self.problems.fail(InputError(f"names image {image_id}, which is not in 'images'",
                                              file=self.file, where=f"annotations[{i}]"))
                continue
            if entry.png is not None:
                self.problems.fail(InputError("image has two annotation records", file=self.file,
                                              where=where))
                continue
            entry.png = rec["file_name"]
            entry.segments = rec["segments_info"]
        return entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def categories(self) -> list[str]:
        """Thing and stuff category names, in id order."""
        return [self._categories[k].name for k in sorted(self._categories)]

    # -- scenes --------------------------------------------------------------------------------

    def _scenes(self) -> Iterator[Scene]:
        for image_id, entry in self._entries.items():
            if not self._keep(image_id):
                continue
            scene = self._scene(entry)
            if scene is not None:
                yield scene

    def _scene(self, entry: _Entry) -> Scene | None:
        where = f"image {entry.image_id}"
        skipped_before = self.problems.skipped
        if entry.png is None:
            self.problems.fail(InputError("has no record in 'annotations'", file=self.file, where=where))
            return None
        try:
            if entry.width <= 0 or entry.height <= 0:
                raise InputError(f"size must be positive, got {entry.width}×{entry.height}",
                                 file=self.file, where=where)
            image_path = resolve_image(self.images, entry.file_name, file=self.file, where=where,
                                       size=(entry.width, entry.height))
            ids = self._read_png(entry)
        except InputError as err:
            self.problems.fail(err)
            return None

        segments = self._segments(entry)
        uniques, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(ids.shape)
        slot = {int(u): k for k, u in enumerate(uniques)}
        png = self.masks / entry.png

        listed = {s.id for s in segments}
        unknown = [(int(u), int(c)) for u, c in zip(uniques, counts, strict=True)
                   if u != 0 and int(u) not in listed]
        if unknown:
            shown = ", ".join(f"{u} ({c} px)" for u, c in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            # A 2-channel PNG (R = category id, G = instance, B = 0) matches none of the listed ids.
            two_channel = (not listed & slot.keys()
                           and all(u >> 16 == 0 and u & 255 in self._categories for u, _ in unknown))
            self.problems.fail(InputError(
                f"pixels with segment id(s) not in segments_info of {self.file.name}: {shown}",
                file=png, where=where, hint=_TWO_CHANNEL if two_channel else _WRONG_PNG))

        regions: list[Region] = []
        for seg in segments:
            seg_where = f"image {entry.image_id} segment {seg.id}"
            category = self._categories.get(seg.category_id)
            if category is None:
                self.problems.fail(InputError(f"unknown category id {seg.category_id}", file=self.file,
                                              where=seg_where,
                                              hint="add it to 'categories' or fix the segment"))
                continue
            k = slot.get(seg.id)
            if k is None:
                self.problems.fail(InputError("segment has no pixels in its PNG", file=self.file,
                                              where=seg_where, hint=f"check {png}: {_WRONG_PNG}"))
                continue
            rle = masks.encode(inverse == k)
            regions.append(Region(
                id=seg.id, kind="object" if category.isthing else "stuff", category=category.name,
                category_id=category.id, rle=rle, bbox=seg.bbox if seg.bbox is not None else masks.bbox(rle),
                iscrowd=seg.iscrowd))

        absent: frozenset[str] = frozenset()
        if self.problems.skipped == skipped_before:
            present = {r.category for r in regions}
            absent = frozenset(c.name for c in self._categories.values()
                               if c.isthing and c.name not in present)
        try:
            return Scene(image_id=entry.image_id, file_name=entry.file_name, width=entry.width,
                         height=entry.height, source=self.name, regions=tuple(regions), absent=absent,
                         path=image_path)
        except InputError as err:
            self.problems.fail(InputError(err.reason, file=self.file, where=err.where, hint=err.hint))
            return None

    def _segments(self, entry: _Entry) -> list[_Segment]:
        """The image's ``segments_info``, checked; bad records are raised or skipped."""
        out: list[_Segment] = []
        seen: set[int] = set()
        for i, rec in enumerate(entry.segments):
            seg_id = rec.get("id") if isinstance(rec, dict) else None
            category_id = rec.get("category_id") if isinstance(rec, dict) else None
            if not isinstance(seg_id, int) or isinstance(seg_id, bool):
                self.problems.fail(InputError("a segment needs an integer 'id'", file=self.file,
                                              where=f"image {entry.image_id} segments_info[{i}]"))
                continue
            where = f"image {entry.image_id} segment {seg_id}"
            if not isinstance(category_id, int) or isinstance(category_id, bool):
                self.problems.fail(InputError("a segment needs an integer 'category_id'", file=self.file,
                                              where=where))
                continue
            if seg_id <= 0:
                self.problems.fail(InputError(f"segment id must be positive (0 is void), got {seg_id}",
                                              file=self.file, where=where))
                continue
            if seg_id in seen:
                self.problems.fail(InputError("duplicate segment id in this image", file=self.file,
                                              where=where))
                continue
            seen.add(seg_id)
            out.append(_Segment(seg_id, category_id, bool(rec.get("iscrowd", 0)), _bbox(rec.get("bbox"))))
        return out

    def _read_png(self, entry: _Entry) -> np.ndarray:
        """The image's H×W segment-id map."""
        where = f"image {entry.image_id}"
        png = self.masks / (entry.png or "")
        if not png.is_file():
            raise InputError(f"panoptic PNG {png} not found", file=self.file, where=where, hint=_MASKS_HINT)
        try:
            with Image.open(png) as im:
                if im.mode not in ("RGB", "RGBA", "P"):
                    raise InputError(f"expected an RGB panoptic PNG, got mode {im.mode!r}", file=png,
                                     where=where)
                rgb = np.asarray(im.convert("RGB"))
        except InputError:
            raise
        except (OSError, ValueError, SyntaxError) as exc:  # PIL: UnidentifiedImageError, truncated data
            raise InputError(f"cannot be read as a PNG ({exc})", file=png, where=where) from None
        h, w = rgb.shape[:2]
        if (h, w) != (entry.height, entry.width):
            raise InputError(f"PNG is {w}×{h} but the image record says {entry.width}×{entry.height}",
                             file=png, where=where, hint="the PNG may belong to another image")
        return segment_ids(rgb)


def _bbox(value: Any) -> tuple[float, float, float, float] | None:
    """``segments_info`` bbox as floats, or None when it is missing or malformed (taken from the mask)."""
    if (isinstance(value, list) and len(value) == 4
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        x, y, w, h = (float(v) for v in value)
        return x, y, w, h
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_panoptic(path: str | Path, **options: Any) -> Iterator[Scene]:
    """Stream the scenes of a COCO panoptic JSON; see :class:`PanopticSource` for the options."""
    return iter(PanopticSource(path, **options))
