"""Hallucinated references: instructions about things that are not in the image (empty target).

==========  =====================================================================================
subtype     what is asked for, and why it is surely not there
==========  =====================================================================================
object      a category in ``scene.absent`` (verified absent) that nothing present could be taken
            for: no present category is it, is above or below it in the taxonomy, or shares a
            phrasing with it ("the puppy" is never asked when a dog is there). Absent categories
            that share a hypernym with something present ("a cat" beside a dog) are preferred.
attribute   a present category, every instance of which has a known colour (or size), with a value
            none has and none is close to (no "orange mug" when a mug is red).
relation    two present categories, every instance with a mask, and a direction that no pair takes
            (``SceneFacts.clearly_not``: relate denies it and the box centres lie the other way).
==========  =====================================================================================

Facts follow :mod:`groundv.tasks.plan`; ``target_ids`` is always empty.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from groundv import knowledge
from groundv.knowledge import BASIC_TERMS
from groundv.tasks.facts import COLOUR_NEIGHBOURS, GENERIC_HYPERNYMS, RELATION_PREDICATES, SceneFacts, pick_varied
from groundv.tasks.plan import Category, Plan, Planner

__all__ = ["SIZES", "NegativePlanner"]

#: Size classes a source may give (the toy world's ``attributes["size"]``).
SIZES: tuple[str, ...] = ("small", "medium", "large")


class NegativePlanner(Planner):
    """Plans no-target instructions: an absent object, an attribute or a relation nobody has.

    Example:
        >>> NegativePlanner().plan(scene, np.random.default_rng(0))  # doctest: +SKIP
        [Plan(category='negative', subtype='object', target_ids=(), facts={'absent': 'cat'}, level=None)]
    """

    category: ClassVar[Category] = "negative"
    subtypes: ClassVar[tuple[str, ...]] = ("object", "attribute", "relation")
    prompt_version: ClassVar[str] = "v1"

    def _plan(self, f: SceneFacts, rng: np.random.Generator, limit: int) -> list[Plan]:
        """Up to ``limit`` negatives, of different subtypes where the scene allows."""
        candidates = {"object": self._objects(f, rng), "attribute": self._attributes(f),
                      "relation": self._relations(f)}
        return [Plan("negative", subtype, (), facts) for subtype, facts in pick_varied(rng, candidates, limit)]

    @staticmethod
    def _objects(f: SceneFacts, rng: np.random.Generator) -> list[dict[str, Any]]:
        absent = sorted(c for c in f.scene.absent if not f.confusable(c))
        near = {h for r in f.regions.values() if r.kind == "object"
                for h in knowledge.hypernyms(r.category)} - GENERIC_HYPERNYMS
        plausible = [c for c in absent if near & set(knowledge.hypernyms(c))]
        # Mostly plausible absentees, but not only: a category unrelated to the scene is a fair test too.
        pool = plausible if plausible and rng.random() < 0.75 else absent
        return [{"absent": knowledge.display_name(c)} for c in pool]

    @staticmethod
    def _attributes(f: SceneFacts) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key in f.safe_keys():
            colours = f.values(key, "color")
            if colours:
                blocked = set(colours).union(*(COLOUR_NEIGHBOURS.get(c, frozenset()) for c in colours))
                out.extend({"category": f.names[key], "attribute": "color", "value": v,
                            "present_values": sorted(set(colours))} for v in BASIC_TERMS if v not in blocked)
            sizes = f.values(key, "size")
            if sizes and set(sizes) <= set(SIZES):
                # only the extremes: "the medium mug" is not something people ask for
                out.extend({"category": f.names[key], "attribute": "size", "value": v,
                            "present_values": sorted(set(sizes))}
                           for v in ("small", "large") if v not in sizes)
        return out

    @staticmethod
    def _relations(f: SceneFacts) -> list[dict[str, Any]]:
        keys = [k for k in f.safe_keys() if f.geometry_known(k)]
        return [{"subject": f.names[a], "relation": p, "object": f.names[b]}
                for a in keys for b in keys if a != b for p in RELATION_PREDICATES if f.clearly_not(a, p, b)]
