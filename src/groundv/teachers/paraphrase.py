"""The ``paraphrase`` teacher: the rules planner picks and verifies the targets, an LLM rewrites the wording.

Each plan is first worded by :class:`~groundv.teachers.rules.RulesTeacher` (with the unit's rng, so the
draft is the one the rules teacher would have written); the LLM gets the region list, the plan and
that draft, and returns a more natural ``{"instruction", "response"}`` with the same meaning. The
output keeps **the planner's targets** — the model is never asked for ids — so grounding stays exact
while the language gets richer; the validator still checks every sample (blank text, duplicates,
and the plan's own checks). Same engine, cache, batching (per plan, unit or image), vision and
feedback retry as the other LLM teachers (:mod:`groundv.teachers.llm`); the prompt is :data:`SYSTEM` with
:data:`EXAMPLES`, version :data:`PROMPT_VERSION`, plus the category's task paragraph from its 3-shot
prompt file (per image: :data:`SYSTEM` once, then each category's task paragraph).

Example:
    >>> from groundv.teachers.llm import TeacherConfig
    >>> ParaphraseTeacher(TeacherConfig("gpt-4o-mini")).prompt_version("part")
    'paraphrase-v1'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from groundv.scene import Scene
from groundv.tasks.plan import Plan
from groundv.tasks.registry import load_prompt
from groundv.teachers.base import TeacherOutput
from groundv.teachers.llm import Example, LLMTeacher, TeacherConfig, plan_view
from groundv.teachers.rules import RulesTeacher

__all__ = ["EXAMPLES", "EXAMPLE_CATEGORIES", "PROMPT_VERSION", "SYSTEM", "ParaphraseTeacher"]

PROMPT_VERSION = "paraphrase-v1"

SYSTEM = (
    "You rewrite requests for an image segmentation dataset. You receive the list of an image's annotated "
    "regions (each with an id, a category, a box [x, y, w, h] in pixels and its parts), a plan (a subtype, the "
    "target region ids and the facts the request must convey) and a draft instruction and response written "
    "from templates. Rewrite both so that they read like a person wrote them — varied, natural, concise — while "
    "keeping exactly the same meaning: the same things, counts, colours, sizes, positions and parts, nothing "
    "added that the facts do not say. When the plan has no targets, the instruction still asks for the thing as "
    "if it might be there and the response still says plainly that it is not. Never mention ids, boxes or the "
    "plan. Reply with one JSON object and nothing else: {\"instruction\": str, \"response\": str}."
)

#: (regions, plan with its draft, answer) — one negative, one multi-object, one part example
EXAMPLES: tuple[Example, ...] = (
    ([{"id": 11, "category": "dog", "box": [40, 120, 180, 140], "parts": []},
      {"id": 12, "category": "couch", "box": [0, 60, 420, 260], "parts": []}],
     {"subtype": "object", "target_ids": [], "facts": {"absent": "cat"},
      "draft": {"instruction": "Segment the cat.", "response": "There is no cat in the image."}},
     {"instruction": "Could you outline the cat lying on the couch?",
      "response": "I can't — there's no cat here; the animal on the couch is a dog."}),
    ([{"id": 21, "category": "chair", "box": [10, 200, 80, 120], "parts": []},
      {"id": 22, "category": "chair", "box": [300, 210, 85, 115], "parts": []},
      {"id": 23, "category": "dining table", "box": [90, 180, 200, 140], "parts": []}],
     {"subtype": "category", "target_ids": [21, 22], "facts": {"category": "chair", "count": 2},
      "draft": {"instruction": "Segment all the chairs.", "response": "Here are the two chairs."}},
     {"instruction": "Highlight every chair around the table.",
      "response": "Sure — both chairs are highlighted, one on each side of the table."}),
    ([{"id": 31, "category": "mug", "box": [30, 90, 50, 60],
       "parts": [{"id": 32, "category": "mug:handle", "box": [70, 100, 10, 30]}]}],
     {"subtype": "one", "target_ids": [32], "facts": {"part": "handle", "object": "mug"},
      "draft": {"instruction": "Segment the handle of the mug.", "response": "Here is the mug's handle."}},
     {"instruction": "Which part of the mug would I hold it by? Mask just that.",
      "response": "That's the handle, on the right side of the mug."}),
)

#: the category of each of :data:`EXAMPLES` (a per-image request shows them keyed by it)
EXAMPLE_CATEGORIES: tuple[str, ...] = ("negative", "multi_object", "part")

_SCHEMA = {"type": "object", "required": ["instruction", "response"], "additionalProperties": False,
           "properties": {"instruction": {"type": "string", "minLength": 3},
                          "response": {"type": "string", "minLength": 1}}}


class ParaphraseTeacher(LLMTeacher):
    """Rules targets, LLM wording (see the module docstring); speaks the OpenAI API by default.

    Args:
        config: the LLM settings.
        engine: the engine :meth:`respond` sends through (executors pass their own to :meth:`answer`).
        api: ``openai`` or ``anthropic`` — which endpoint rewrites the drafts.
    """

    name = "paraphrase"

    def __init__(self, config: TeacherConfig, engine: Any = None, api: str = "openai") -> None:
        super().__init__(config, engine)
        self.api = api
        self._rules = RulesTeacher()

    def prompt_version(self, category: str) -> str:
        return PROMPT_VERSION

    def _system(self, category: str) -> str:
        task = _task(category)
        return f"{SYSTEM}\n\nThe category: {task}" if task else SYSTEM

    def _system_parts(self, category: str) -> tuple[str, str]:
        return SYSTEM, _task(category)

    def _item_schema(self, category: str) -> dict[str, Any]:
        return dict(_SCHEMA)

    def _examples(self, category: str) -> list[Example]:
        return list(EXAMPLES)

    def _image_examples(self, categories: Sequence[str]) -> list[list[tuple[str, Example]]]:
        # The examples do not depend on the category: shown once, each under the category it is from.
        return [[(category, example)] for category, example in zip(EXAMPLE_CATEGORIES, EXAMPLES, strict=True)]

    def _drafts(self, scene: Scene, plans: Sequence[Plan], rng: np.random.Generator) -> list[dict[str, Any]]:
        drafts = []
        for plan in plans:
            words = self._rules.respond(scene, plan, rng)
            drafts.append({**plan_view(plan), "draft": {"instruction": words.instruction, "response": words.response}})
        return drafts

    def _output(self, plan: Plan, answer: Mapping[str, Any], raw: Any) -> TeacherOutput | str:
        return TeacherOutput(str(answer["instruction"]), str(answer["response"]), tuple(plan.target_ids), raw)


def _task(category: str) -> str:
    """The task paragraph of the category's 3-shot prompt ("" when it has none)."""
    return str(load_prompt(category)["system"]).partition("\n\nTask: ")[2]
