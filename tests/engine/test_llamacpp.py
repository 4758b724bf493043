"""The engine against a real OpenAI-compatible server: llama.cpp's, running SmolLM2-135M on the CPU."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from groundv.engine.cache import ResponseCache
from groundv.engine.clients import make_client
from groundv.engine.engine import Engine
from groundv.engine.request import ChatRequest

pytestmark = pytest.mark.slow

SCHEMA = {"type": "object", "properties": {"fruit": {"type": "string"}}, "required": ["fruit"]}


def test_fallback_lands_on_json_object_and_caches(llamacpp_url, tmp_path):
    client = make_client("openai", llamacpp_url, api_key_env=None, timeout=60)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    request = ChatRequest(model="smollm2", system="You name things.", schema=SCHEMA, prompt_version="test/v1",
                          messages=({"role": "user", "content": "Name one fruit."},),
                          params={"max_tokens": 40, "temperature": 0, "seed": 1})

    async def go():
        async with Engine(client, cache=cache, concurrency=2, backoff=0.05) as engine:
            first = await engine.chat(request)
            again = await engine.chat(request)
            return first, again, engine.stats

    first, again, stats = asyncio.run(go())
    # llama-cpp-python refuses json_schema (HTTP 500 naming response_format) and enforces json_object's schema.
    assert first.mode == "json_object" and client.mode == "json_object"
    assert isinstance(orjson.loads(first.text)["fruit"], str)
    assert first.usage["prompt_tokens"] > 0 and first.usage["completion_tokens"] > 0
    assert again.cached and again.text == first.text and stats.sent == 1 and stats.cached == 1
