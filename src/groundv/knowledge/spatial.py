"""Spatial relations between the regions of a scene, from mask geometry alone.

Everything here is pure geometry on each region's **mask box** (the tight box of the mask, from
:func:`groundv.masks.bbox`, not the source's ``bbox`` field, which may be loose) and **mask area**
(:func:`groundv.masks.area`); it is deterministic and never decodes a mask. Image coordinates are
used: *above* means a smaller y. Regions with an empty mask take part in nothing; crowd regions are
never a subject, an object or a landmark.

**Pairwise predicates** (:func:`relate`, :func:`relations`), for boxes A and B with centres ``c``,
sizes ``w × h``, overlaps ``ox`` (along x) and ``oy`` (along y):

=============  ==============================================================================
predicate      holds when
=============  ==============================================================================
left of        ``A.cx < B.cx``, ``ox ≤ overlap_max · min(A.w, B.w)`` (side by side, not stacked)
               and ``oy ≥ align_min · min(A.h, B.h)`` (they share some rows)
right of       the mirror image of *left of*
above          ``A.cy < B.cy``, ``oy ≤ overlap_max · min(A.h, B.h)`` and
               ``ox ≥ align_min · min(A.w, B.w)`` (they share some columns)
below          the mirror image of *above*
next to        the gap between the boxes is at most ``near_gap`` × the smaller box's longer
               side (touching boxes have gap 0), and the boxes' intersection is at most
               ``contain_max`` × the smaller box's area (one is not inside the other)
=============  ==============================================================================

**Superlatives** (:func:`extreme`) pick one region of a set, and only when it wins clearly; a tie
within the margin gives None:

======================  ===========================  ==========================================
superlative             compares                     the winner must beat the runner-up by
======================  ===========================  ==========================================
leftmost / rightmost    box centre x                 ``position_margin`` × image width
topmost / bottommost    box centre y                 ``position_margin`` × image height
largest / smallest      mask area                    a factor of ``1 + size_margin``
closest to the center   centre distance to the       ``distance_margin`` × image diagonal
                        image centre
======================  ===========================  ==========================================

:func:`nearest` uses the gap between boxes (``distance_margin`` × image diagonal), or the distance to
the image centre. All thresholds live in :class:`Thresholds`; the defaults are :data:`DEFAULT`.

**Distinguishing a region** (:func:`distinctions`, :func:`distinguish`): a region's *group* is the
regions of the same kind and category (compared through :func:`~groundv.knowledge.taxonomy.canonical`,
so ``wheel_1`` and ``wheel_2`` are one group; for parts, only the parts of the same object). Within its
group a region may be the unique leftmost, largest, ... one ("the leftmost mug"), or the only member
that stands in a predicate to a *landmark* — a region that is alone of its category in the scene
("the mug to the left of the laptop", "the mug closest to the laptop"). Nothing is claimed when the
group has fewer than two regions (the category alone names it), contains a crowd region, or its
category is in ``scene.not_exhaustive`` (unmasked instances could be the real leftmost one).

Example:
    >>> import numpy as np
    >>> from groundv.scene import Region, Scene
    >>> def box(i, x0, x1, cat="mug"):
    ...     m = np.zeros((40, 60), np.uint8); m[10:20, x0:x1] = 1
    ...     return Region(i, "object", cat, 1, masks.encode(m), (x0, 10, x1 - x0, 10))
    >>> scene = Scene(1, "a.jpg", 60, 40, "demo", (box(1, 2, 10), box(2, 30, 40), box(3, 45, 58, "laptop")))
    >>> distinguish(scene, 1), relate(scene.region(2), scene.region(3))
    ('the leftmost mug', ('left of', 'next to'))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from groundv import masks
from groundv.knowledge.taxonomy import category_key, display_name, part_names
from groundv.scene import Region, RegionKind, Scene

__all__ = [
    "DEFAULT",
    "PREDICATES",
    "SUPERLATIVES",
    "Box",
    "Distinction",
    "Relation",
    "Thresholds",
    "distinctions",
    "distinguish",
    "extreme",
    "geometry",
    "group",
    "nearest",
    "relate",
    "relations",
]

#: Pairwise predicates, in the order :func:`relate` reports them.
PREDICATES: tuple[str, ...] = ("left of", "right of", "above", "below", "next to")
#: Superlatives, in the order :func:`distinctions` tries them.
SUPERLATIVES: tuple[str, ...] = (
    "leftmost", "rightmost", "topmost", "bottommost", "largest", "smallest", "closest to the center",
)
_PREDICATE_WORDS = {"left of": "to the left of", "right of": "to the right of", "above": "above",
                    "below": "below", "next to": "next to"}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The geometric thresholds; see the module docstring for where each one applies.

    Attributes:
        overlap_max: how much two boxes may overlap along an axis and still be side by side
            (fraction of the narrower box).
        align_min: how much they must overlap across that axis (fraction of the smaller box).
        near_gap: the largest gap for *next to* (fraction of the smaller box's longer side).
        contain_max: the largest box intersection for *next to* (fraction of the smaller box).
        position_margin: the winning margin of leftmost/rightmost/topmost/bottommost (fraction of
            the image width or height).
        size_margin: largest/smallest must differ from the runner-up by this factor minus 1.
        distance_margin: the winning margin of nearest and closest-to-the-center (fraction of the
            image diagonal).
    """

    overlap_max: float = 0.5
    align_min: float = 0.1
    near_gap: float = 0.5
    contain_max: float = 0.5
    position_margin: float = 0.05
    size_margin: float = 0.25
    distance_margin: float = 0.05


#: The thresholds used unless others are passed.
DEFAULT = Thresholds()


@dataclass(frozen=True, slots=True)
class Box:
    """A region's mask box ``[x0, x1) × [y0, y1)`` and its mask area in pixels."""

    x0: float
    y0: float
    x1: float
    y1: float
    area: int

    @property
    def w(self) -> float:
        return self.x1 - self.x0

    @property
    def h(self) -> float:
        return self.y1 - self.y0

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass(frozen=True, slots=True)
class Relation:
    """``subject`` stands in ``predicate`` to ``object`` (region ids): ``Relation(3, "left of", 7)``."""

    subject: int
    predicate: str
    object: int


@dataclass(frozen=True, slots=True)
class Distinction:
    """One way to single a region out of its group.

    Attributes:
        relation: a superlative (``"leftmost"``), a predicate (``"left of"``) or ``"closest to"``.
        phrase: the referring expression, e.g. ``"the mug to the left of the laptop"``.
        other_id: the landmark region for a relation to another region, else None.
    """

    relation: str
    phrase: str
    other_id: int | None = None


def geometry(region: Region) -> Box | None:
    """The mask box and area of a region; None when its mask is empty."""
    area = masks.area(region.rle)
    if area == 0:
        return None
    x, y, w, h = masks.bbox(region.rle)
    return Box(x, y, x + w, y + h, area)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _gap(a: Box, b: Box) -> float:
    dx = max(0.0, max(a.x0, b.x0) - min(a.x1, b.x1))
    dy = max(0.0, max(a.y0, b.y0) - min(a.y1, b.y1))
    return math.hypot(dx, dy)


def _relate_boxes(a: Box, b: Box, t: Thresholds) -> tuple[str, ...]:
    ox, oy = _overlap(a.x0, a.x1, b.x0, b.x1), _overlap(a.y0, a.y1, b.y0, b.y1)
    found = set()
    if oy >= t.align_min * min(a.h, b.h) and ox <= t.overlap_max * min(a.w, b.w) and a.cx != b.cx:
        found.add("left of" if a.cx < b.cx else "right of")
    if ox >= t.align_min * min(a.w, b.w) and oy <= t.overlap_max * min(a.h, b.h) and a.cy != b.cy:
        found.add("above" if a.cy < b.cy else "below")
    smaller_side = min(max(a.w, a.h), max(b.w, b.h))
    if _gap(a, b) <= t.near_gap * smaller_side and ox * oy <= t.contain_max * min(a.w * a.h, b.w * b.h):
        found.add("next to")
    return tuple(p for p in PREDICATES if p in found)


def relate(a: Region, b: Region, *, thresholds: Thresholds = DEFAULT) -> tuple[str, ...]:
    """The predicates that hold for ``a`` relative to ``b`` ("a is left of b"), in :data:`PREDICATES` order.

    Empty when either mask is empty or ``a`` is ``b``.
    """
    if a.id == b.id:
        return ()
    ga, gb = geometry(a), geometry(b)
    if ga is None or gb is None:
        return ()
    return _relate_boxes(ga, gb, thresholds)


def _eligible(scene: Scene, categories: Iterable[str] | None,
              kinds: Sequence[RegionKind]) -> list[tuple[Region, Box]]:
    wanted = None if categories is None else {category_key(c) for c in categories}
    out = []
    for r in scene.regions:
        if r.kind not in kinds or r.iscrowd or (wanted is not None and category_key(r.category) not in wanted):
            continue
        box = geometry(r)
        if box is not None:
            out.append((r, box))
    return out


def _linked(a: Region, b: Region) -> bool:
    """A part and its own object: their relation says nothing useful."""
    return a.parent_id == b.id or b.parent_id == a.id


def relations(scene: Scene, *, categories: Iterable[str] | None = None,
              kinds: Sequence[RegionKind] = ("object",),
              thresholds: Thresholds = DEFAULT) -> tuple[Relation, ...]:
    """Every predicate between every ordered pair of eligible regions.

    Args:
        scene: the scene.
        categories: only regions of these categories (any naming scheme: ``"car"`` also matches
            ``"car_(automobile)"``); None for all.
        kinds: region kinds to include (objects by default).
        thresholds: see :class:`Thresholds`.

    Returns:
        Relations ordered by subject, then object (scene order), then predicate.
    """
    eligible = _eligible(scene, categories, kinds)
    out = []
    for a, ga in eligible:
        for b, gb in eligible:
            if a.id != b.id and not _linked(a, b):
                out.extend(Relation(a.id, p, b.id) for p in _relate_boxes(ga, gb, thresholds))
    return tuple(out)


def _unique_best(items: Sequence[tuple[int, float]], margin: float) -> int | None:
    """The id with the smallest score when it beats the runner-up by at least ``margin``."""
    if not items:
        return None
    ranked = sorted(items, key=lambda item: item[1])
    if len(ranked) > 1 and ranked[1][1] - ranked[0][1] < margin:
        return None
    return ranked[0][0]


def _superlative_score(scene: Scene, superlative: str, t: Thresholds) -> tuple[Callable[[Box], float], float]:
    """A score to minimise and the margin the winner needs, for one superlative."""
    w, h = scene.width, scene.height
    diagonal = math.hypot(w, h)
    if superlative == "leftmost":
        return (lambda b: b.cx), t.position_margin * w
    if superlative == "rightmost":
        return (lambda b: -b.cx), t.position_margin * w
    if superlative == "topmost":
        return (lambda b: b.cy), t.position_margin * h
    if superlative == "bottommost":
        return (lambda b: -b.cy), t.position_margin * h
    if superlative == "largest":  # log areas: "1.25 times larger" becomes a fixed margin
        return (lambda b: -math.log(b.area)), math.log1p(t.size_margin)
    if superlative == "smallest":
        return (lambda b: math.log(b.area)), math.log1p(t.size_margin)
    if superlative == "closest to the center":
        return (lambda b: math.hypot(b.cx - w / 2, b.cy - h / 2)), t.distance_margin * diagonal
    raise ValueError(f"unknown superlative {superlative!r}; expected one of {SUPERLATIVES}")


def extreme(scene: Scene, region_ids: Iterable[int], superlative: str, *,
            thresholds: Thresholds = DEFAULT) -> int | None:
    """The region that is uniquely the ``superlative`` one among ``region_ids``.

    Regions with empty masks are ignored. Returns None when fewer than two regions remain or the
    winner does not beat the runner-up by the margin (a tie).

    Raises:
        ValueError: ``superlative`` is not one of :data:`SUPERLATIVES`.
        KeyError: an id is not in the scene.
    """
    score, margin = _superlative_score(scene, superlative, thresholds)
    items = []
    for rid in region_ids:
        box = geometry(scene.region(rid))
        if box is not None:
            items.append((rid, score(box)))
    return _unique_best(items, margin) if len(items) >= 2 else None


def nearest(scene: Scene, to: int | None = None, *, categories: Iterable[str] | None = None,
            kinds: Sequence[RegionKind] = ("object",), thresholds: Thresholds = DEFAULT) -> int | None:
    """The eligible region nearest to region ``to`` (box gap), or to the image centre when ``to`` is None.

    ``to`` itself, its parent and its parts are never candidates. Returns None when there is no
    candidate or the two nearest are within ``distance_margin`` × the image diagonal of each other.

    Raises:
        KeyError: ``to`` is not in the scene.
    """
    margin = thresholds.distance_margin * math.hypot(scene.width, scene.height)
    if to is None:
        cx, cy = scene.width / 2, scene.height / 2
        items = [(r.id, math.hypot(b.cx - cx, b.cy - cy)) for r, b in _eligible(scene, categories, kinds)]
        return _unique_best(items, margin)
    ref = scene.region(to)
    ref_box = geometry(ref)
    if ref_box is None:
        return None
    items = [(r.id, _gap(b, ref_box)) for r, b in _eligible(scene, categories, kinds)
             if r.id != to and not _linked(r, ref)]
    return _unique_best(items, margin)


def group(scene: Scene, region_id: int) -> tuple[int, ...]:
    """Ids of the regions of the same kind and category as ``region_id`` (itself included).

    Categories are compared through the taxonomy, so numbered Pascal-Part parts (``wheel_1``,
    ``wheel_2``) form one group; parts are grouped only with parts of the same object.
    """
    region = scene.region(region_id)
    key = category_key(region.category)
    return tuple(r.id for r in scene.regions
                 if r.kind == region.kind and category_key(r.category) == key
                 and (region.kind != "part" or r.parent_id == region.parent_id))


def _noun(scene: Scene, region: Region) -> str:
    if region.kind == "part":
        names = part_names(region.category)
        if names is not None:
            return f"{names[1]} of the {names[0]}"
        parent = scene.parent(region)
        if parent is not None:
            return f"{display_name(region.category)} of the {display_name(parent.category)}"
    return display_name(region.category)


def _landmarks(scene: Scene, exclude: set[int]) -> list[tuple[Region, Box]]:
    """Objects and stuff that are alone of their category in the scene (so "the laptop" is one thing)."""
    counts: dict[tuple[str, str], int] = {}
    for r in scene.regions:
        counts[(r.kind, category_key(r.category))] = counts.get((r.kind, category_key(r.category)), 0) + 1
    out = []
    for r in scene.regions:
        if (r.id in exclude or r.kind == "part" or r.iscrowd or r.category in scene.not_exhaustive
                or counts[(r.kind, category_key(r.category))] != 1):
            continue
        box = geometry(r)
        if box is not None:
            out.append((r, box))
    return out


def distinctions(scene: Scene, region_id: int, *, thresholds: Thresholds = DEFAULT) -> tuple[Distinction, ...]:
    """Every way to single ``region_id`` out of its :func:`group`, superlatives first.

    Returns ``()`` when the group has fewer than two regions with masks, holds a crowd region, or its
    category is not exhaustively annotated (``scene.not_exhaustive``); see the module docstring.

    Raises:
        KeyError: ``region_id`` is not in the scene.
    """
    region = scene.region(region_id)
    if geometry(region) is None:
        return ()
    members = [scene.region(i) for i in group(scene, region_id)]
    if any(m.iscrowd or m.category in scene.not_exhaustive for m in members):
        return ()
    boxes = {m.id: b for m in members if (b := geometry(m)) is not None}
    if len(boxes) < 2:
        return ()
    noun = _noun(scene, region)
    out = []
    for sup in SUPERLATIVES:
        if extreme(scene, boxes, sup, thresholds=thresholds) == region_id:
            phrase = f"the {noun} {sup}" if sup.startswith("closest") else f"the {sup} {noun}"
            out.append(Distinction(sup, phrase))
    if region.kind == "part":
        return tuple(out)
    margin = thresholds.distance_margin * math.hypot(scene.width, scene.height)
    for landmark, lbox in _landmarks(scene, set(boxes)):
        other = display_name(landmark.category)
        holds = {mid: _relate_boxes(b, lbox, thresholds) for mid, b in boxes.items()}
        for predicate in PREDICATES:
            if [mid for mid, preds in holds.items() if predicate in preds] == [region_id]:
                out.append(Distinction(predicate, f"the {noun} {_PREDICATE_WORDS[predicate]} the {other}",
                                       landmark.id))
        if _unique_best([(mid, _gap(b, lbox)) for mid, b in boxes.items()], margin) == region_id:
            out.append(Distinction("closest to", f"the {noun} closest to the {other}", landmark.id))
    return tuple(out)


def distinguish(scene: Scene, region_id: int, *, thresholds: Thresholds = DEFAULT) -> str | None:
    """The first of :func:`distinctions` as a phrase ("the leftmost mug"), or None when none is unique.

    Raises:
        KeyError: ``region_id`` is not in the scene.
    """
    found = distinctions(scene, region_id, thresholds=thresholds)
    return found[0].phrase if found else None
