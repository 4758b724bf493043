"""Part-level instructions: parts of objects, from part regions (PACO, the toy world).

=======  ==========================================================================================
subtype  targets
=======  ==========================================================================================
one      the single part of a name that one object has ("the handle of the leftmost mug"): the
         object has exactly one visible part of that name. The object is singled out by
         ``object_expression`` (``knowledge.distinguish``), or is alone of its category (safe for
         "all") and ``object_expression`` is None. Parts an object has several of (a chair's four
         legs) are never "one": one leg among four has no name here.
all      every part of a name, at least two: on every instance of one object category
         (``object`` set: "the legs of the chairs", also a single chair's four legs) or on every
         object that has such parts (``object`` None: "all the wheels"). Every object category
         involved must be safe for "all". When the category has several instances, the parts
         must lie on at least two of them: "every leg of the dog" with two dogs in the image (legs
         annotated on one) would not say which dog, and "of the dogs" would claim the other's.
=======  ==========================================================================================

``part`` is the bare part's words ("leg"), ``object`` the object's display name.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from groundv.scene import Scene
from groundv.tasks.facts import SceneFacts, pick_varied
from groundv.tasks.plan import Category, Plan, Planner

__all__ = ["PartPlanner"]

_Candidate = tuple[tuple[int, ...], dict[str, Any]]


class PartPlanner(Planner):
    """Plans instructions whose targets are part regions.

    Example:
        >>> PartPlanner().unsupported(scene_without_parts)  # doctest: +SKIP
        'no part regions'
    """

    category: ClassVar[Category] = "part"
    subtypes: ClassVar[tuple[str, ...]] = ("one", "all")
    prompt_version: ClassVar[str] = "v1"

    def unsupported(self, scene: Scene) -> str | None:
        """``"no part regions"`` when the scene has none, else None."""
        return None if scene.parts else "no part regions"

    def _plan(self, f: SceneFacts, rng: np.random.Generator, limit: int) -> list[Plan]:
        """Up to ``limit`` part plans with distinct target sets (none when the scene has no parts)."""
        candidates = {"one": self._one(f), "all": self._all(f)}
        picked = pick_varied(rng, candidates, limit, key=lambda c: c[0])
        return [Plan("part", subtype, ids, facts) for subtype, (ids, facts) in picked]

    @staticmethod
    def _parts_by_name(f: SceneFacts, object_id: int) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for pid in f.parts_of(object_id):
            p = f.regions[pid]
            if not p.crowd and p.box is not None:
                out.setdefault(p.name, []).append(pid)
        return out

    @classmethod
    def _one(cls, f: SceneFacts) -> list[_Candidate]:
        out: list[_Candidate] = []
        for k in f.groups:
            instances = f.targets(k)
            alone = len(instances) == 1 and f.safe_for_all(k)
            for oid in instances:
                expression = None if alone else f.expression(oid)
                if not alone and expression is None:
                    continue
                for name, pids in cls._parts_by_name(f, oid).items():
                    if len(pids) == 1:
                        out.append(((pids[0],), {"part": name, "object": f.names[k], "object_expression": expression}))
        return out

    @classmethod
    def _all(cls, f: SceneFacts) -> list[_Candidate]:
        out: list[_Candidate] = []
        by_name: dict[str, list[tuple[str, int]]] = {}  # part name -> (object key, part id)
        unsafe_names: set[str] = set()
        for k in f.groups:
            per_name: dict[str, list[int]] = {}
            for oid in f.groups[k]:
                for name, pids in cls._parts_by_name(f, oid).items():
                    per_name.setdefault(name, []).extend(pids)
            instances = len(f.targets(k))
            for name, pids in per_name.items():
                if not f.safe_for_all(k):
                    unsafe_names.add(name)
                    continue
                by_name.setdefault(name, []).extend((k, p) for p in pids)
                owners = {f.regions[p].parent_id for p in pids}
                if len(pids) >= 2 and (instances == 1 or len(owners) >= 2):
                    out.append((tuple(pids), {"part": name, "object": f.names[k], "count": len(pids)}))
        for name, found in by_name.items():
            if name not in unsafe_names and len({k for k, _ in found}) >= 2:
                ids = tuple(p for _, p in found)
                out.append((ids, {"part": name, "object": None, "count": len(ids)}))
        return out
