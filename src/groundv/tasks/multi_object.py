"""Multi-object instructions: several instances at once, always *all* of what is described.

==========  ======================================================================================
subtype     targets
==========  ======================================================================================
category    every instance of one category with at least two instances ("all the mugs")
categories  every instance of two or three categories ("the mugs and the chairs"), count ≥ 2
attribute   every instance of a category with one colour (or size), at least two of them, where
            the colour of every instance of the category is known ("the red balls")
==========  ======================================================================================

Only categories safe for "all" are used (:meth:`SceneFacts.safe_for_all`: no crowd region, not in
``scene.not_exhaustive``), so the targets are exactly what the words say. ``count`` is always
``len(target_ids)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from groundv.tasks.facts import SceneFacts, pick_varied
from groundv.tasks.plan import Category, Plan, Planner

__all__ = ["MultiObjectPlanner"]

_Candidate = tuple[tuple[int, ...], dict[str, Any]]


class MultiObjectPlanner(Planner):
    """Plans instructions that refer to two or more instances.

    Example:
        >>> MultiObjectPlanner().plan(scene, np.random.default_rng(0), limit=1)  # doctest: +SKIP
        [Plan(category='multi_object', subtype='category', target_ids=(3001, 3005),
              facts={'category': 'lamp', 'count': 2}, level=None)]
    """

    category: ClassVar[Category] = "multi_object"
    subtypes: ClassVar[tuple[str, ...]] = ("category", "categories", "attribute")
    prompt_version: ClassVar[str] = "v1"

    def _plan(self, f: SceneFacts, rng: np.random.Generator, limit: int) -> list[Plan]:
        """Up to ``limit`` plans with distinct target sets, of different subtypes where possible."""
        safe = [k for k in f.safe_keys() if f.targets(k)]
        candidates: dict[str, list[_Candidate]] = {"category": [], "categories": [], "attribute": []}
        for k in safe:
            ids = f.targets(k)
            if len(ids) >= 2:
                candidates["category"].append((ids, {"category": f.names[k], "count": len(ids)}))
        for i, a in enumerate(safe):
            for b in safe[i + 1:]:
                ids = (*f.targets(a), *f.targets(b))
                candidates["categories"].append((ids, {"categories": [f.names[a], f.names[b]], "count": len(ids)}))
        if len(safe) >= 3:  # a few triples too, for longer lists
            for _ in range(3):
                trio = sorted(rng.choice(len(safe), size=3, replace=False).tolist())
                keys = [safe[j] for j in trio]
                ids = tuple(i for k in keys for i in f.targets(k))
                candidates["categories"].append((ids, {"categories": [f.names[k] for k in keys], "count": len(ids)}))
        for k in safe:
            for attribute in ("color", "size"):
                values = f.values(k, attribute)
                if not values:
                    continue
                for value in dict.fromkeys(values):
                    ids = tuple(i for i, v in zip(f.groups[k], values, strict=True) if v == value)
                    if len(ids) >= 2:
                        candidates["attribute"].append((ids, {"category": f.names[k], "attribute": attribute,
                                                              "value": value, "count": len(ids)}))
        picked = pick_varied(rng, candidates, limit, key=lambda c: tuple(sorted(c[0])))
        return [Plan("multi_object", subtype, tuple(sorted(ids)), facts) for subtype, (ids, facts) in picked]
