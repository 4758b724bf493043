"""Token estimates for ``--dry-run``: what a run would send, before anything is spent.

Formulas (rough on purpose; they size a budget, they do not bill):

- text: ``ceil(characters / 4)`` for the system prompt, every text part and the schema's JSON (a
  schema is sent with the request in every structured-output mode), plus 4 tokens per message for the
  chat template;
- image: Anthropic's published rule ``width · height / 750`` after the image is scaled to fit 1568
  pixels on its long side, which also lies within OpenAI's high-detail tile count (85 + 170 per
  512-pixel tile) for the sizes groundv sends. The size is read from the image header only.

Completion tokens are not estimated here: a request's ``max_tokens`` bounds them.
"""

from __future__ import annotations

import base64
import io
import math

import orjson
from PIL import Image

from groundv.engine.request import ChatRequest

__all__ = ["estimate_image_tokens", "estimate_tokens"]

_CHARS_PER_TOKEN = 4
_PER_MESSAGE = 4
_MAX_SIDE = 1568
_PIXELS_PER_TOKEN = 750


def estimate_image_tokens(width: int, height: int) -> int:
    """Prompt tokens for one ``width × height`` image.

    Example:
        >>> estimate_image_tokens(640, 480)
        410
    """
    scale = min(1.0, _MAX_SIDE / max(width, height, 1))
    return math.ceil(round(width * scale) * round(height * scale) / _PIXELS_PER_TOKEN)


def _text_tokens(text: str) -> int:
    return math.ceil(len(text) / _CHARS_PER_TOKEN)


def estimate_tokens(request: ChatRequest) -> int:
    """Estimated prompt tokens of ``request`` (see the module docstring for the formulas)."""
    tokens = _text_tokens(request.system) + _PER_MESSAGE
    if request.schema is not None:
        tokens += _text_tokens(orjson.dumps(request.schema).decode())
    for message in request.messages:
        tokens += _PER_MESSAGE
        content = message["content"]
        if isinstance(content, str):
            tokens += _text_tokens(content)
            continue
        for part in content:
            if part.get("type") == "image":
                with Image.open(io.BytesIO(base64.b64decode(part["data"]))) as image:
                    tokens += estimate_image_tokens(*image.size)
            else:
                tokens += _text_tokens(part.get("text", ""))
    return tokens
