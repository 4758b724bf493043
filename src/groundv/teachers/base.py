"""The teacher interface: a plan in, an instruction and a response out.

The rules teacher words a plan from templates; an LLM teacher (next issue) is shown the scene's
regions and the category's 3-shot prompt and answers in the category's JSON schema. Either way the
answer is a :class:`TeacherOutput` that the validator checks against the scene before it becomes a
sample.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from groundv.scene import Scene
from groundv.tasks.plan import Plan

__all__ = ["Teacher", "TeacherOutput"]


@dataclass(frozen=True)
class TeacherOutput:
    """What a teacher answered for one plan.

    Attributes:
        instruction: the text a user would type.
        response: the teacher's answer text (a refusal for no-target plans).
        target_ids: the region ids the teacher says the instruction refers to; the rules teacher
            returns the plan's, an LLM its own answer (the validator compares them).
        raw: the unparsed teacher output, kept for rejections and audits.
    """

    instruction: str
    response: str
    target_ids: tuple[int, ...]
    raw: Any = None
    usage: dict[str, Any] = field(default_factory=dict)


class Teacher(ABC):
    """Words plans.

    Attributes:
        name: ``rules``, ``openai``, ``anthropic``, ``paraphrase``.
        model: the model name, None for the rules teacher.
    """

    name: str
    model: str | None = None

    @abstractmethod
    def respond(self, scene: Scene, plan: Plan, rng: np.random.Generator) -> TeacherOutput:
        """Word ``plan`` for ``scene``; deterministic for a seeded ``rng``."""
