"""Token estimates for --dry-run."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from groundv.engine.estimate import estimate_image_tokens, estimate_tokens
from groundv.engine.request import ChatRequest, image_part, text_part


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(("size", "tokens"), [((640, 480), 410), ((1568, 1568), 3279), ((3136, 1568), 1640),
                                              ((1, 1), 1)])
def test_image_tokens(size, tokens):
    assert estimate_image_tokens(*size) == tokens


def test_request_tokens_count_text_schema_and_images():
    text_only = ChatRequest(model="m", system="x" * 400, messages=({"role": "user", "content": "y" * 40},))
    assert estimate_tokens(text_only) == 100 + 4 + 10 + 4
    with_image = ChatRequest(model="m", system="x" * 400, schema={"type": "object"}, messages=(
        {"role": "user", "content": [text_part("y" * 40), image_part(png(640, 480))]},))
    assert estimate_tokens(with_image) == 100 + 4 + 5 + 4 + 10 + 410  # '{"type":"object"}' is 17 chars → 5
