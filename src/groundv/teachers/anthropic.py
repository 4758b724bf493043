"""The ``anthropic`` teacher: Claude through the Messages API (the Ground-V paper's teacher).

Same prompts, region lists and set-of-marks images as the ``openai`` teacher
(:mod:`groundv.teachers.llm`); the engine's Anthropic client sends them to ``/v1/messages`` (the
system prompt as ``system``, images as base64 ``image`` blocks). The API key comes from
``$ANTHROPIC_API_KEY`` unless another variable is named.

Example:
    >>> from groundv.teachers.llm import TeacherConfig
    >>> AnthropicTeacher(TeacherConfig("claude-sonnet-4-5")).record("negative")["api"]
    'anthropic'
"""

from __future__ import annotations

from groundv.teachers.llm import LLMTeacher

__all__ = ["AnthropicTeacher"]


class AnthropicTeacher(LLMTeacher):
    """The category prompts, sent to Anthropic's Messages API."""

    name = "anthropic"
    api = "anthropic"
