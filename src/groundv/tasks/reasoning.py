"""Reasoning instructions: things described by what they are for, never by name.

The planner takes an affordance of something present (``knowledge.affordances``: "to sit on") and
targets **every** region in the scene whose category affords it (``knowledge.affords``), objects and
parts alike: a chair and a bench for "something to sit on", or a chair's seat part when parts are
annotated. It is never partial: when any category affording the phrase has a crowd region or is not
exhaustively annotated, the affordance is skipped, since the instruction would mean regions without
a mask.

Facts: ``affordance`` (completes "something …"), ``categories`` (display names of the categories
that afford it, in scene order; parts read "chair's seat") and ``explanation`` (one clause per category,
joined with "; ").
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from groundv import knowledge
from groundv.tasks.facts import SceneFacts, article, pick_varied, unique
from groundv.tasks.plan import Category, Plan, Planner

__all__ = ["ReasoningPlanner", "affording_regions"]


def affording_regions(facts: SceneFacts, affordance: str) -> tuple[list[int], list[str]] | None:
    """Ids of the regions whose category affords ``affordance`` and those categories (raw names, scene
    order), or None when one of them has a crowd region or is not exhaustively annotated."""
    scene = facts.scene
    ids: list[int] = []
    cats: list[str] = []
    by_key: dict[str, bool] = {}
    for r in facts.regions.values():
        ok = by_key.get(r.key)
        if ok is None:
            ok = by_key[r.key] = knowledge.affords(r.category, affordance)
        if not ok:
            continue
        if r.crowd or r.category in scene.not_exhaustive:
            return None
        if r.kind == "object" and not facts.safe_for_all(r.key):
            return None
        ids.append(r.id)
        cats.append(r.category)
    return ids, unique(cats)


def _explain(category: str, affordance: str) -> str:
    name = knowledge.possessive_name(category)
    if knowledge.part_names(category):
        # "a cat's left eye is a kind of left eye" says nothing: parts get the use alone.
        return f"{article(name)} is something {affordance}"
    kinds = [h for h in knowledge.hypernyms(category) if h.lower() != name.lower()][:1]
    kind = f" is a kind of {kinds[0]} and" if kinds else ""
    # "grass is a kind of plant", never "a grass"
    return f"{name if knowledge.is_mass(category) else article(name)}{kind} is something {affordance}"


class ReasoningPlanner(Planner):
    """Plans indirect instructions that name a use ("something to sit on") instead of a category.

    Example:
        >>> ReasoningPlanner().plan(scene, np.random.default_rng(0), limit=1)  # doctest: +SKIP
        [Plan(category='reasoning', subtype='affordance', target_ids=(1001, 1009),
              facts={'affordance': 'to sit on', 'categories': ['chair', 'bench'], 'explanation': ...})]
    """

    category: ClassVar[Category] = "reasoning"
    subtypes: ClassVar[tuple[str, ...]] = ("affordance",)
    prompt_version: ClassVar[str] = "v1"

    def _plan(self, f: SceneFacts, rng: np.random.Generator, limit: int) -> list[Plan]:
        """Up to ``limit`` affordance plans with distinct target sets."""
        # a phrase with "it" ("to carry it by") needs an antecedent the instruction does not give
        phrases = unique(p for r in f.regions.values() if not r.crowd for p in knowledge.affordances(r.category)
                         if "it" not in p.split())
        candidates: list[tuple[tuple[int, ...], dict[str, Any]]] = []
        for phrase in phrases:
            found = affording_regions(f, phrase)
            if not found or not found[0]:
                continue
            ids, cats = found
            candidates.append((tuple(ids), {
                "affordance": phrase,
                "categories": unique(knowledge.possessive_name(c) for c in cats),
                # Numbered parts (wheel_1 … wheel_5) read alike: explain each name once.
                "explanation": "; ".join(unique(_explain(c, phrase) for c in cats)),
            }))
        picked = pick_varied(rng, {"affordance": candidates}, limit, key=lambda c: c[0])
        return [Plan("reasoning", "affordance", ids, facts) for _, (ids, facts) in picked]
