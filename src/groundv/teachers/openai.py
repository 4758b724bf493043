"""The ``openai`` teacher: any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp, Ollama, ...).

It sends the category's 3-shot prompt and the scene's region list (and, with ``vision``, the
set-of-marks image) as :mod:`groundv.teachers.llm` builds them; the engine's OpenAI client speaks
``/v1/chat/completions`` and enforces the answer schema (``json_schema``, else ``json_object``, else
the prompt alone). The API key comes from ``$OPENAI_API_KEY`` unless another variable is named; a local
server needs none.

Example:
    >>> from groundv.teachers.llm import TeacherConfig
    >>> OpenAITeacher(TeacherConfig("gpt-4o-mini")).record("part")["name"]
    'openai'
"""

from __future__ import annotations

from groundv.teachers.llm import LLMTeacher

__all__ = ["OpenAITeacher"]


class OpenAITeacher(LLMTeacher):
    """The category prompts, sent to an OpenAI-compatible endpoint."""

    name = "openai"
    api = "openai"
