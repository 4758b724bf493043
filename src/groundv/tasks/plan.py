"""What a planner decides and a teacher words: :class:`Plan`, and the :class:`Planner` interface.

A planner looks at one :class:`~groundv.scene.Scene` (and what :mod:`groundv.knowledge` knows about
it) and chooses **target sets** — existing region ids, or none — together with the **facts** an
instruction must express so that exactly those regions are meant. It never writes text: a teacher
words the plan (the offline rules teacher from templates, an LLM from the category's 3-shot prompt),
and the validator checks the result against the scene. Correct by construction: targets come from
the annotations, never from text.

``facts`` is a JSON-ready dict whose keys depend on the category and subtype. Names in facts are
display names (``knowledge.display_name``); plural forms are the teacher's business.

=================  ==============  ===============================================================
category           subtype         facts
=================  ==============  ===============================================================
negative           object          ``absent``: a category verified absent (``scene.absent``)
                   attribute       ``category``, ``attribute`` (``"color"`` | ``"size"``), ``value``
                                   no instance has, ``present_values``: the values instances do have
                   relation        ``subject``, ``relation`` (``"left of"``, ``"right of"``,
                                   ``"above"``, ``"below"``), ``object``: both categories present,
                                   no subject instance stands in that relation to any object instance
multi_object       category        ``category``, ``count`` (≥ 2): every instance of one category
                   categories      ``categories`` (≥ 2 names), ``count``: every instance of each
                   attribute       ``category``, ``attribute``, ``value``, ``count`` (≥ 2): every
                                   instance of the category with that colour/size
reasoning          affordance      ``affordance`` (a phrase completing "something …"),
                                   ``categories``: the categories in the scene that afford it,
                                   ``explanation``: why they do (one clause per category)
multi_granularity  instance        ``category``, ``expression``: a referring phrase unique in the
                                   image (``knowledge.distinguish``), ``level``: "instance"
                   category        ``category``, ``count``, ``level``: "category"
                   supercategory   ``hypernym``, ``categories`` (those under it in the scene),
                                   ``count``, ``level``: "supercategory"
part               one             ``part``, ``object``, ``object_expression``: a phrase singling
                                   out the parent object (or None when it is the only one)
                   all             ``part``, ``object`` (or None for parts of every object that has
                                   them), ``count`` (≥ 2): every such part
=================  ==============  ===============================================================

Every plan also records ``level`` for multi_granularity (in :attr:`Plan.level`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from groundv.scene import Scene
from groundv.tasks.facts import SceneFacts

__all__ = ["CATEGORIES", "Category", "Plan", "Planner"]

Category = Literal["negative", "multi_object", "reasoning", "multi_granularity", "part"]
#: the five Ground-V categories, in the paper's order
CATEGORIES: tuple[Category, ...] = ("negative", "multi_object", "reasoning", "multi_granularity", "part")


@dataclass(frozen=True)
class Plan:
    """One sample to be worded: its category, subtype, target regions and the facts to express.

    Attributes:
        category: one of :data:`CATEGORIES`.
        subtype: see the module table (e.g. ``"object"`` for a negative about an absent category).
        target_ids: the source's region ids the instruction refers to; empty for negatives.
        facts: what the instruction must say (module table); JSON-ready.
        level: multi_granularity's level (``instance``, ``category``, ``supercategory``), else None.
    """

    category: Category
    subtype: str
    target_ids: tuple[int, ...]
    facts: Mapping[str, Any] = field(default_factory=dict)
    level: str | None = None

    @property
    def no_target(self) -> bool:
        return not self.target_ids

    def to_json(self) -> dict[str, Any]:
        """The plan as recorded in a sample (``plan`` field), so the sample can be re-checked."""
        return {"category": self.category, "subtype": self.subtype, "target_ids": list(self.target_ids),
                "facts": dict(self.facts), "level": self.level}


class Planner(ABC):
    """Chooses target sets for one category.

    Attributes:
        category: the category it plans.
        subtypes: the subtypes it can produce.
        prompt_version: version of its 3-shot prompt and response schema (files under
            ``tasks/prompts/``), recorded in every sample.
    """

    category: ClassVar[Category]
    subtypes: ClassVar[tuple[str, ...]]
    prompt_version: ClassVar[str]

    def plan(self, scene: Scene, rng: np.random.Generator, *, pixels: np.ndarray | None = None,
             limit: int = 3, facts: SceneFacts | None = None) -> list[Plan]:
        """Up to ``limit`` plans for ``scene``, chosen with ``rng`` (deterministic for a seeded rng).

        Args:
            scene: the image and its regions.
            rng: the work unit's random generator.
            pixels: the image as H×W×3 uint8 when available (colour naming), else None.
            limit: the most plans to return.
            facts: a :class:`~groundv.tasks.facts.SceneFacts` already built for the scene, so the five
                planners of one image share it.
        """
        if self.unsupported(scene):
            return []
        return self._plan(facts or SceneFacts(scene, pixels), rng, limit)

    @abstractmethod
    def _plan(self, facts: SceneFacts, rng: np.random.Generator, limit: int) -> list[Plan]:
        """The planner's own choice, from the scene's facts."""

    def unsupported(self, scene: Scene) -> str | None:
        """Why this category cannot be planned for this scene at all (e.g. "no part regions"), or None."""
        return None
