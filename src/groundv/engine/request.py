"""One chat call to a teacher model and its answer, independent of the provider.

A :class:`ChatRequest` is what a teacher asks; the engine sends it to an OpenAI-compatible or an
Anthropic endpoint (see :mod:`groundv.engine.clients`) and hands back a :class:`ChatResponse`.
:meth:`ChatRequest.key` names a request by its content — model, parameters, prompt version, texts and
the SHA-256 of every image's bytes — so that the response cache never pays twice for the same question.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["ChatRequest", "ChatResponse", "image_part", "text_part"]


def text_part(text: str) -> dict[str, Any]:
    """A text piece of a message's content."""
    return {"type": "text", "text": text}


def image_part(data: bytes, media_type: str = "image/png") -> dict[str, Any]:
    """An image piece of a message's content (``data``: the encoded file's bytes)."""
    return {"type": "image", "media_type": media_type, "data": base64.b64encode(data).decode("ascii")}


@dataclass(frozen=True)
class ChatRequest:
    """A provider-neutral chat request.

    Attributes:
        model: the model name the endpoint knows.
        system: the system prompt.
        messages: ``{"role": "user" | "assistant", "content": str | [part, ...]}`` dicts; a part is
            :func:`text_part` or :func:`image_part`.
        schema: the JSON Schema the answer must follow, or None for free text.
        params: sampling parameters (``temperature``, ``max_tokens``, ``top_p``, ``seed``).
        prompt_version: the prompt file's version (``"negative/v1"``), part of the key.
        tag: where the request comes from (image id, category…); for logs, not part of the key.
    """

    model: str
    system: str
    messages: tuple[dict[str, Any], ...]
    schema: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    prompt_version: str = ""
    tag: dict[str, Any] = field(default_factory=dict, compare=False)

    def key(self) -> str:
        """The SHA-256 (hex) of the request's content; images count by the hash of their bytes."""
        def strip(content: Any) -> Any:
            if isinstance(content, str):
                return content
            return [
                {"type": "image", "media_type": p["media_type"],
                 "sha256": hashlib.sha256(base64.b64decode(p["data"])).hexdigest()}
                if p.get("type") == "image" else p
                for p in content
            ]

        body = {"model": self.model, "system": self.system, "schema": self.schema, "params": self.params,
                "prompt_version": self.prompt_version,
                "messages": [{"role": m["role"], "content": strip(m["content"])} for m in self.messages]}
        return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def images(self) -> int:
        """How many images the request carries."""
        return sum(1 for m in self.messages if not isinstance(m["content"], str)
                   for p in m["content"] if p.get("type") == "image")


@dataclass(frozen=True)
class ChatResponse:
    """A model's answer.

    Attributes:
        text: the answer text (the JSON object, for a request with a schema).
        model: the model that answered, as the endpoint reports it.
        usage: ``{"prompt_tokens": int, "completion_tokens": int}``.
        finish_reason: ``stop``, ``length`` (cut off), … as normalised by the client.
        mode: how the schema was enforced: ``json_schema``, ``json_object`` or ``prompt`` (OpenAI-compatible),
            ``tool`` or ``prompt`` (Anthropic); ``text`` for a request without a schema.
        cached: True when the answer came from the response cache (nothing was paid).
        cost: what the answer cost in the ledger's currency (0 when cached).
    """

    text: str
    model: str
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str = "stop"
    mode: str = "prompt"
    cached: bool = False
    cost: float = 0.0
