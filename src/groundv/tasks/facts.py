"""What the planners know about one scene: :class:`SceneFacts`, built once and shared by all five.

A planner never looks at masks or raw names itself; it asks a :class:`SceneFacts`:

================================  ===================================================================
question                          answer
================================  ===================================================================
``regions[id]``                   a :class:`RegionFacts`: display name, category key, colour, size,
                                  crowd flag, whether its mask is empty
``groups[key]``                   the **object** regions of one category (by ``knowledge.category_key``),
                                  crowd regions included, in scene order
``targets(key)``                  the same without crowd regions: what a plan may target
``safe_for_all(key)``             whether "all the X" means exactly ``targets(key)``: no crowd region
                                  in the group and the category is not in ``scene.not_exhaustive``
``expression(id)``                a phrase naming the region uniquely (``knowledge.distinguish``)
``holds(a, predicate, b)``        whether some instance of ``a`` stands in the predicate to some
                                  instance of ``b`` (``knowledge.relate`` on every pair)
``clearly_not(a, predicate, b)``  whether no instance of ``a`` does, with a margin (box centres on
                                  the other side), every instance of both having a non-empty mask
================================  ===================================================================

**Colours** come from the source when it gives them (``attributes["color"]``: the toy world), else
from the pixels when they are passed (``knowledge.colour_name``, objects only), else they are None
(unknown). People and their parts never get a colour (:func:`about_person`): a colour word about a
person reads as skin colour ("the black person"), so no instruction may say one. Nor does a region
whose name holds its colour word ("the orange orange"). **Sizes** come only from the source
(``attributes["size"]``), and people get none either ("the medium people"). Crowd regions are never
targets, and a category with a crowd region is never used for "all the X".

Example:
    >>> from groundv import masks
    >>> from groundv.scene import Region, Scene
    >>> def mug(i, x0):
    ...     m = np.zeros((40, 60), np.uint8); m[10:20, x0:x0 + 8] = 1
    ...     return Region(i, "object", "mug", 1, masks.encode(m), (x0, 10, 8, 10), attributes={"color": "red"})
    >>> facts = SceneFacts(Scene(1, "a.jpg", 60, 40, "demo", (mug(1, 2), mug(2, 40))))
    >>> facts.targets("mug"), facts.safe_for_all("mug"), facts.regions[1].color, facts.expression(1)
    ((1, 2), True, 'red', 'the leftmost mug')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from groundv import knowledge
from groundv.knowledge.spatial import Box, geometry
from groundv.scene import Region, Scene

__all__ = ["COLOUR_NEIGHBOURS", "GENERIC_HYPERNYMS", "RELATION_PREDICATES", "RegionFacts", "SceneFacts",
           "about_person", "article", "pick_varied"]

#: The directional predicates negatives may deny (``next to`` is too loose to deny safely).
RELATION_PREDICATES: tuple[str, ...] = ("left of", "right of", "above", "below")

#: Hypernyms too general to name a group ("the objects" is everything).
GENERIC_HYPERNYMS: frozenset[str] = frozenset({"object", "part", "thing"})

#: Colour terms that pixels or paint can blur into each other; a negative never asks for a colour
#: next to one an instance has ("the orange mug" when the only mug was named red).
COLOUR_NEIGHBOURS: Mapping[str, frozenset[str]] = {
    "red": frozenset({"orange", "pink", "purple", "brown"}),
    "orange": frozenset({"red", "yellow", "brown"}),
    "yellow": frozenset({"orange", "green"}),
    "green": frozenset({"yellow", "blue"}),
    "blue": frozenset({"purple", "green"}),
    "purple": frozenset({"blue", "pink", "red"}),
    "pink": frozenset({"red", "purple", "white"}),
    "brown": frozenset({"orange", "red", "black"}),
    "black": frozenset({"gray", "brown"}),
    "white": frozenset({"gray", "pink"}),
    "gray": frozenset({"black", "white"}),
}

#: last words of category names that mean people, for sources whose names the taxonomy does not know
_PEOPLE_WORDS = frozenset({"person", "people", "man", "woman", "men", "women", "boy", "girl", "child", "children",
                           "kid", "baby", "toddler", "lady", "gentleman", "player", "skier", "rider", "pedestrian"})

T = TypeVar("T")


def about_person(category: str) -> bool:
    """Whether a raw category is a person or a person's part (``person``, ``person:arm``, ``woman``).

    Example:
        >>> about_person("person:torso"), about_person("baby"), about_person("dog")
        (True, True, False)
    """
    names = knowledge.part_names(category)
    owner = names[0] if names is not None else category
    words = knowledge.display_name(owner).lower().split()
    return (knowledge.category_key(owner) == "person" or knowledge.is_a(owner, "person")
            or (bool(words) and words[-1] in _PEOPLE_WORDS))


@dataclass(frozen=True, slots=True)
class RegionFacts:
    """What planners know about one region.

    Attributes:
        id: the region id.
        kind: ``object``, ``part`` or ``stuff``.
        category: the raw category name.
        key: ``knowledge.category_key(category)``; equal for every spelling of a category.
        name: ``knowledge.display_name(category)``; for parts the bare part ("leg").
        color: a basic colour term, or None when unknown.
        size: ``small`` / ``medium`` / ``large`` when the source says so, else None.
        crowd: a crowd region (never a target).
        parent_id: a part's object, else None.
        box: mask box and area, or None for an empty mask.
    """

    id: int
    kind: str
    category: str
    key: str
    name: str
    color: str | None
    size: str | None
    crowd: bool
    parent_id: int | None
    box: Box | None


def article(phrase: str) -> str:
    """``"a mug"`` / ``"an apple"`` (a spelling rule, good enough for category names)."""
    return f"{'an' if phrase[:1].lower() in 'aeiou' else 'a'} {phrase}"


class SceneFacts:
    """Facts about one scene that every planner shares; see the module docstring.

    Args:
        scene: the scene.
        pixels: the image as H×W×3 ``uint8`` (for colour naming when the source gives no colour).

    Attributes:
        scene: the scene.
        regions: :class:`RegionFacts` by region id, in scene order.
        groups: object region ids by category key (crowd included), keys in scene order.
        names: display name of each object category key.
        present_keys: category keys of every region (objects, parts, stuff, crowd included).
    """

    def __init__(self, scene: Scene, pixels: np.ndarray | None = None) -> None:
        self.scene = scene
        self.regions: dict[int, RegionFacts] = {r.id: self._region(r, pixels) for r in scene.regions}
        self.groups: dict[str, tuple[int, ...]] = {}
        self.names: dict[str, str] = {}
        for r in self.regions.values():
            if r.kind == "object":
                self.groups[r.key] = (*self.groups.get(r.key, ()), r.id)
                self.names.setdefault(r.key, r.name)
        self.present_keys: frozenset[str] = frozenset(r.key for r in self.regions.values())
        self._not_exhaustive = frozenset(knowledge.category_key(c) for c in scene.not_exhaustive)
        self._expressions: dict[int, str | None] = {}

    @staticmethod
    def _region(r: Region, pixels: np.ndarray | None) -> RegionFacts:
        attrs = r.attributes or {}
        color = attrs.get("color") if isinstance(attrs.get("color"), str) else None
        box = geometry(r)
        if color is None and pixels is not None and r.kind == "object" and not r.iscrowd and box is not None:
            color = knowledge.colour_name(pixels, r.rle)
        size = attrs.get("size") if isinstance(attrs.get("size"), str) else None
        if r.kind == "part":
            names = knowledge.part_names(r.category)
            name = names[1] if names is not None else knowledge.display_name(r.category)
        else:
            name = knowledge.display_name(r.category)
        if about_person(r.category) or (color is not None and color.lower() in name.lower().split()):
            # no skin colours; and "the orange orange" says nothing
            color = None
        if about_person(r.category):
            # "the medium people" reads as a judgement of bodies, not a way to pick one out
            size = None
        return RegionFacts(id=r.id, kind=r.kind, category=r.category, key=knowledge.category_key(r.category),
                           name=name, color=color, size=size, crowd=r.iscrowd, parent_id=r.parent_id, box=box)

    # -- groups ---------------------------------------------------------------------------------

    def targets(self, key: str) -> tuple[int, ...]:
        """The non-crowd object regions of a category."""
        return tuple(i for i in self.groups.get(key, ()) if not self.regions[i].crowd)

    def safe_for_all(self, key: str) -> bool:
        """True when "all the X" means exactly :meth:`targets`: the category is present, has no
        crowd region and is exhaustively annotated."""
        ids = self.groups.get(key, ())
        return bool(ids) and key not in self._not_exhaustive and not any(self.regions[i].crowd for i in ids)

    def safe_keys(self) -> list[str]:
        """Object category keys safe for "all", in scene order."""
        return [k for k in self.groups if self.safe_for_all(k)]

    def values(self, key: str, attribute: str) -> list[str] | None:
        """The ``color`` or ``size`` of every instance of a safe category, or None when the category is
        unsafe or any instance's value is unknown."""
        if not self.safe_for_all(key):
            return None
        out = [getattr(self.regions[i], attribute) for i in self.groups[key]]
        return None if any(v is None for v in out) else out

    def parts_of(self, object_id: int) -> tuple[int, ...]:
        """Part region ids of an object."""
        return tuple(r.id for r in self.regions.values() if r.parent_id == object_id)

    # -- expressions and relations ---------------------------------------------------------------

    def expression(self, region_id: int) -> str | None:
        """``knowledge.distinguish`` for the region (cached): unique in the image, or None."""
        if region_id not in self._expressions:
            self._expressions[region_id] = knowledge.distinguish(self.scene, region_id)
        return self._expressions[region_id]

    def geometry_known(self, key: str) -> bool:
        """Every instance of a safe category has a non-empty mask."""
        return self.safe_for_all(key) and all(self.regions[i].box is not None for i in self.groups[key])

    def holds(self, subject: str, predicate: str, obj: str) -> bool:
        """Whether some instance of ``subject`` stands in ``predicate`` to some instance of ``obj``."""
        scene = self.scene
        return any(predicate in knowledge.relate(scene.region(a), scene.region(b))
                   for a in self.groups.get(subject, ()) for b in self.groups.get(obj, ()))

    def clearly_not(self, subject: str, predicate: str, obj: str) -> bool:
        """No instance of ``subject`` is ``predicate`` any instance of ``obj``, with a margin: besides
        ``knowledge.relate`` denying it for every pair, every subject box centre lies on the other side
        of (or level with) every object box centre. False when any instance's geometry is unknown."""
        if predicate not in RELATION_PREDICATES or subject == obj:
            return False
        if not (self.geometry_known(subject) and self.geometry_known(obj)):
            return False
        if self.holds(subject, predicate, obj):
            return False
        for a in self.groups[subject]:
            for b in self.groups[obj]:
                ba, bb = self.regions[a].box, self.regions[b].box
                if ba is None or bb is None:  # excluded by geometry_known; keeps the type checker calm
                    return False
                if ((predicate == "left of" and ba.cx < bb.cx) or (predicate == "right of" and ba.cx > bb.cx)
                        or (predicate == "above" and ba.cy < bb.cy) or (predicate == "below" and ba.cy > bb.cy)):
                    return False
        return True

    # -- knowledge about present categories ------------------------------------------------------

    def confusable(self, category: str) -> bool:
        """Whether asking for ``category`` could mean something present: a present category is it,
        lies below or above it in the taxonomy, or shares a phrasing with it (``puppy`` / ``dog``); a
        part's bare name counts ("seat" of a bicycle against a "seat" meaning chair)."""
        mine = {s.lower() for s in knowledge.synonyms(category)}
        for r in self.regions.values():
            if knowledge.is_a(r.category, category) or knowledge.is_a(category, r.category):
                return True
            theirs = {s.lower() for s in knowledge.synonyms(r.category)} | {r.name.lower()}
            if mine & theirs:
                return True
        return False


def pick_varied(rng: np.random.Generator, candidates: Mapping[str, Sequence[T]], limit: int,
                *, key: Callable[[T], object] | None = None) -> list[tuple[str, T]]:
    """Pick up to ``limit`` candidates, cycling through subtypes in a random order so that a scene's
    plans differ in subtype first; within a subtype the pick is random, without repeats.

    Args:
        rng: the random generator (the only source of randomness: same state, same picks).
        candidates: candidates by subtype, each list in a deterministic order.
        limit: the most to return.
        key: identity of a candidate for de-duplication across subtypes (default: none).

    Returns:
        ``(subtype, candidate)`` pairs.
    """
    pools = {s: list(cands) for s, cands in candidates.items() if cands}
    order = [s for s in candidates if s in pools]
    order = [order[i] for i in rng.permutation(len(order))] if order else []
    out: list[tuple[str, T]] = []
    seen: set[object] = set()
    while len(out) < limit and any(pools[s] for s in order):
        for s in order:
            if len(out) >= limit:
                break
            pool = pools[s]
            while pool:
                c = pool.pop(int(rng.integers(len(pool))))
                ident = key(c) if key is not None else None
                if ident is None or ident not in seen:
                    if ident is not None:
                        seen.add(ident)
                    out.append((s, c))
                    break
    return out


def unique(items: Iterable[T]) -> list[T]:
    """Items without repeats, first occurrence kept."""
    return list(dict.fromkeys(items))
