"""One image and its pixel annotations: :class:`Scene` and :class:`Region`.

Every source format is read into this model, and everything downstream (planners, teachers, review,
export) works on it. A Scene is frozen and validated when built: region ids are unique, every part
names an existing object as its parent, every mask has the image's size, and no category is both
present and known to be absent.

Absence facts say which categories are *verified absent* from the image (COCO's exhaustive labels,
LVIS/PACO ``neg_category_ids``, the toy world). Categories that are merely not annotated are unknown
and are never listed; LVIS ``not_exhaustive_category_ids`` are kept apart in ``not_exhaustive``
(present, but not every instance has a mask).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from groundv import masks
from groundv.errors import InputError
from groundv.masks import RLE

__all__ = ["KINDS", "Region", "RegionKind", "Scene"]

RegionKind = Literal["object", "part", "stuff"]
KINDS: tuple[RegionKind, ...] = ("object", "part", "stuff")


@dataclass(frozen=True, slots=True)
class Region:
    """One annotated mask of a scene.

    Attributes:
        id: the source's own annotation id (COCO/LVIS/PACO ``id``, panoptic segment id, ...).
        kind: ``object``, ``part`` (has ``parent_id``) or ``stuff`` (amorphous, e.g. sky).
        category: the source's category name exactly as written (``"car_(automobile)"``,
            ``"mug:handle"``, ``"lear"``); :mod:`groundv.knowledge` turns it into words.
        category_id: the source's category id.
        rle: the mask, COCO compressed RLE of the image's size.
        bbox: ``(x, y, w, h)`` in pixels, as the source gives it.
        iscrowd: a COCO crowd region (a group, not one instance); never a target on its own.
        parent_id: for parts, the id of the object region they belong to.
        attributes: optional extras (colour, material, size, ...), source-specific.
    """

    id: int
    kind: RegionKind
    category: str
    category_id: int
    rle: RLE
    bbox: tuple[float, float, float, float]
    iscrowd: bool = False
    parent_id: int | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"region {self.id}: kind must be one of {KINDS}, got {self.kind!r}")
        if (self.kind == "part") != (self.parent_id is not None):
            raise ValueError(f"region {self.id}: a part needs a parent_id and only a part may have one "
                             f"(kind={self.kind!r}, parent_id={self.parent_id!r})")
        if len(self.bbox) != 4:
            raise ValueError(f"region {self.id}: bbox must be (x, y, w, h), got {self.bbox!r}")

    @property
    def area(self) -> int:
        """Exact pixel count of the mask."""
        return masks.area(self.rle)

    @property
    def part_name(self) -> str | None:
        """For a part whose category is written ``object:part``, the part; else the category."""
        if self.kind != "part":
            return None
        return self.category.split(":", 1)[1] if ":" in self.category else self.category


@dataclass(frozen=True, slots=True)
class Scene:
    """An image and its regions.

    Attributes:
        image_id: the source's image id (COCO ids are shared by the 2014 and 2017 releases).
        file_name: the image's path relative to the source's image folder.
        width, height: image size in pixels.
        source: the format it was read from (``coco``, ``lvis``, ``toyworld``, ...).
        regions: objects, parts and stuff, in source order.
        absent: category names verified absent from the image.
        not_exhaustive: category names present but not exhaustively annotated (LVIS).
        path: the resolved image file, when the source was given an image folder.

    Raises:
        InputError: on duplicate region ids, a part whose parent is missing or not an object, a mask
            whose size is not the image's, or a category both present and absent.

    Example:
        >>> from groundv import masks
        >>> r = Region(1, "object", "mug", 1, masks.empty(4, 4), (0, 0, 0, 0))
        >>> Scene(7, "a.jpg", 4, 4, "demo", (r,)).region(1).category
        'mug'
    """

    image_id: int | str
    file_name: str
    width: int
    height: int
    source: str
    regions: tuple[Region, ...] = ()
    absent: frozenset[str] = frozenset()
    not_exhaustive: frozenset[str] = frozenset()
    path: Path | None = None
    _index: dict[int, Region] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"image {self.image_id}"
        if self.width <= 0 or self.height <= 0:
            raise InputError(f"image size must be positive, got {self.width}×{self.height}", where=where)
        index = self._index
        for r in self.regions:
            if r.id in index:
                raise InputError(f"duplicate region id {r.id}", where=where,
                                 hint="annotation ids must be unique across all files of a source")
            index[r.id] = r
            if masks.size(r.rle) != (self.height, self.width):
                h, w = masks.size(r.rle)
                raise InputError(f"region {r.id} has a {h}×{w} mask but the image is "
                                 f"{self.height}×{self.width}", where=where)
        for r in self.regions:
            if r.parent_id is not None:
                parent = index.get(r.parent_id)
                if parent is None:
                    raise InputError(f"part {r.id} names parent {r.parent_id}, which is not in this image",
                                     where=where)
                if parent.kind != "object":
                    raise InputError(f"part {r.id} has parent {r.parent_id}, which is a {parent.kind}, "
                                     f"not an object", where=where)
        clash = self.absent & self.present_categories
        if clash:
            raise InputError(f"categories both annotated and listed as absent: {sorted(clash)}", where=where)

    # -- queries ------------------------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)``, the order masks use."""
        return self.height, self.width

    @property
    def objects(self) -> tuple[Region, ...]:
        return tuple(r for r in self.regions if r.kind == "object")

    @property
    def parts(self) -> tuple[Region, ...]:
        return tuple(r for r in self.regions if r.kind == "part")

    @property
    def stuff(self) -> tuple[Region, ...]:
        return tuple(r for r in self.regions if r.kind == "stuff")

    @property
    def present_categories(self) -> frozenset[str]:
        """Categories with at least one region (crowd regions included)."""
        return frozenset(r.category for r in self.regions)

    @property
    def is_empty(self) -> bool:
        return not self.regions

    def region(self, region_id: int) -> Region:
        """The region with this id.

        Raises:
            KeyError: no such region in this scene.
        """
        try:
            return self._index[region_id]
        except KeyError:
            raise KeyError(f"image {self.image_id} has no region {region_id}") from None

    def __contains__(self, region_id: object) -> bool:
        return region_id in self._index

    def children(self, region_id: int) -> tuple[Region, ...]:
        """The parts whose parent is ``region_id``."""
        return tuple(r for r in self.regions if r.parent_id == region_id)

    def parent(self, region: Region) -> Region | None:
        """The object a part belongs to, or None for objects and stuff."""
        return None if region.parent_id is None else self._index[region.parent_id]

    def union_mask(self, region_ids: Iterable[int]) -> RLE:
        """OR of the masks of the given regions (the empty mask for no ids)."""
        return masks.union([self.region(i).rle for i in region_ids], self.size)

    def select(self, region_ids: Iterable[int]) -> Scene:
        """A scene with only these regions (and the parents of selected parts, to stay valid)."""
        wanted = set(region_ids)
        for rid in list(wanted):
            parent_id = self.region(rid).parent_id
            if parent_id is not None:
                wanted.add(parent_id)
        return replace(self, regions=tuple(r for r in self.regions if r.id in wanted))

    def image_record(self) -> dict[str, Any]:
        """The ``image`` object of the sample and item contracts (DESIGN.md §3)."""
        return {"id": self.image_id, "file_name": self.file_name, "width": self.width,
                "height": self.height, "source": self.source}
