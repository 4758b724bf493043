"""Multi-granularity instructions: one scene described at three levels of abstraction.

===============  ====================================================================================
level            targets
===============  ====================================================================================
instance         one object, named by a phrase unique in the image (``knowledge.distinguish``: "the
                 leftmost dog"); an object alone of its safe category is named "the dog" only when no
                 object of the scene has a distinguishing phrase
category         every instance of one category safe for "all" ("the dogs"), one or more
supercategory    every instance of every present category below one hypernym ("the animals": dogs and
                 cats), when it covers at least two categories or two instances; skipped when any
                 category below it is unsafe (crowd, not exhaustive) or a stuff region falls under it.
                 Hypernyms as general as "object" are never used.
===============  ====================================================================================

A scene gives at most one plan per level, levels in a random order, cut to ``limit``. Each plan
records its level in :attr:`Plan.level` and in ``facts["level"]``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from groundv import knowledge
from groundv.tasks.facts import GENERIC_HYPERNYMS, SceneFacts, pick_varied, unique
from groundv.tasks.plan import Category, Plan, Planner

__all__ = ["MultiGranularityPlanner", "covered_keys"]


def covered_keys(facts: SceneFacts, hypernym: str) -> list[str]:
    """Object category keys present in the scene that are a ``hypernym`` (scene order)."""
    return [k for k in facts.groups if knowledge.is_a(facts.regions[facts.groups[k][0]].category, hypernym)]


class MultiGranularityPlanner(Planner):
    """Plans the instance, category and supercategory levels of one scene.

    Example:
        >>> [p.level for p in MultiGranularityPlanner().plan(scene, np.random.default_rng(0))]  # doctest: +SKIP
        ['category', 'supercategory', 'instance']
    """

    category: ClassVar[Category] = "multi_granularity"
    subtypes: ClassVar[tuple[str, ...]] = ("instance", "category", "supercategory")
    prompt_version: ClassVar[str] = "v1"

    def _plan(self, f: SceneFacts, rng: np.random.Generator, limit: int) -> list[Plan]:
        """Up to ``limit`` plans, at most one per level."""
        candidates = {"instance": self._instances(f), "category": self._categories(f),
                      "supercategory": self._supercategories(f)}
        # one plan per level: pick one candidate per level, then keep `limit` levels
        one_each = {level: [found[int(rng.integers(len(found)))]] if found else []
                    for level, found in candidates.items()}
        picked = pick_varied(rng, one_each, limit)
        return [Plan("multi_granularity", level, ids, {**facts, "level": level}, level=level)
                for level, (ids, facts) in picked]

    @staticmethod
    def _instances(f: SceneFacts) -> list[tuple[tuple[int, ...], dict[str, Any]]]:
        out = []
        for k in f.groups:
            for rid in f.targets(k):
                expression = f.expression(rid)
                if expression is not None:
                    out.append(((rid,), {"category": f.names[k], "expression": expression}))
        if out:
            return out
        return [(f.targets(k), {"category": f.names[k], "expression": f"the {f.names[k]}"})
                for k in f.safe_keys() if len(f.targets(k)) == 1 and f.regions[f.targets(k)[0]].box is not None]

    @staticmethod
    def _categories(f: SceneFacts) -> list[tuple[tuple[int, ...], dict[str, Any]]]:
        return [(f.targets(k), {"category": f.names[k], "count": len(f.targets(k))})
                for k in f.safe_keys() if f.targets(k)]

    @staticmethod
    def _supercategories(f: SceneFacts) -> list[tuple[tuple[int, ...], dict[str, Any]]]:
        hypernyms = unique(h for k in f.groups for h in knowledge.hypernyms(f.regions[f.groups[k][0]].category)
                           if h.lower() not in GENERIC_HYPERNYMS)
        stuff = [r.category for r in f.regions.values() if r.kind == "stuff"]
        out = []
        for h in hypernyms:
            keys = covered_keys(f, h)
            if not keys or any(not f.safe_for_all(k) for k in keys):
                continue
            if any(knowledge.is_a(c, h) for c in stuff):
                continue
            if any(f.names[k].lower() == h.lower() for k in keys):
                continue  # the hypernym is itself a present category's name: no change of level
            ids = tuple(i for k in keys for i in f.targets(k))
            if len(keys) >= 2 or len(ids) >= 2:
                out.append((ids, {"hypernym": h, "categories": [f.names[k] for k in keys], "count": len(ids)}))
        return out
