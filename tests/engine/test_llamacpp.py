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


def _generate(url: str, world, out, **extra):
    from groundv.generate import generate
    from groundv.sources.toyworld import ToyWorldSource

    llm = {"model": "smollm2", "base_url": url, "batch": "image", "concurrency": 2, "max_retries": 0,
           "params": {"max_tokens": 160, "temperature": 0, "seed": 1}, **extra}
    return generate(ToyWorldSource(world), out, teacher="openai", categories=("negative", "reasoning"),
                    plans_per_unit=1, llm=llm)


def test_a_prompt_longer_than_the_context_is_refused_with_its_own_reason(llamacpp_url, tmp_path):
    # A per-image prompt (~3,000 tokens) does not fit the 2,048-token server: every structured-output mode
    # is refused; the error must be the context's, with a hint, not the first mode's format refusal.
    from groundv.engine.failures import TeacherRefused
    from groundv.sources.toyworld import write_toyworld
    from groundv.store import read_manifest

    world = write_toyworld(tmp_path / "world", 1, seed=3)
    with pytest.raises(TeacherRefused, match="maximum context length") as refused:
        _generate(llamacpp_url, world, tmp_path / "ds")
    assert "--batch" in refused.value.hint and "response_format" not in refused.value.message
    stopped = read_manifest(tmp_path / "ds").data
    assert stopped["status"] == "stopped" and "context" in stopped["stopped"]


def test_generate_per_image_with_smollm2_accounts_for_every_plan_and_pays_once(tmp_path):
    # The whole LLM path against a real model with room for a per-image prompt: one request per scene
    # (json_object with the grouped schema), every plan either accepted or rejected with a reason code,
    # and a rerun from the cache that sends nothing. The model is tiny: quality is not what is tested.
    from groundv.sources.toyworld import write_toyworld
    from groundv.store import iter_samples, read_manifest
    from tests.llm_server import llamacpp_missing, llamacpp_server

    if reason := llamacpp_missing():
        pytest.skip(reason)
    world = write_toyworld(tmp_path / "world", 2, seed=3)
    with llamacpp_server(n_ctx=8192) as url:
        manifest = _generate(url, world, tmp_path / "ds")
        assert manifest.complete
        data = read_manifest(tmp_path / "ds").data
        rejections = [orjson.loads(line) for p in sorted((tmp_path / "ds").glob("rejections-*.jsonl"))
                      for line in p.read_bytes().splitlines()]
        assert len(rejections) == data["rejected"] and manifest.samples + len(rejections) > 0
        assert all(r["reason"] for r in rejections)
        requests = [u for s in iter_samples(tmp_path / "ds") for u in s["provenance"]["usage"]["requests"]]
        requests += [u for r in rejections for u in r["usage"]["requests"]]
        assert requests and {u["mode"] for u in requests} == {"json_object"}
        assert all(u["plans"] == 2 for u in requests)  # each request covered both of its image's plans
        paid = (tmp_path / "ds" / "ledger.jsonl").read_bytes().splitlines()
        assert 2 <= len(paid) <= 4  # one request per image, at most one feedback retry each

        again = _generate(url, world, tmp_path / "again", cache=tmp_path / "ds" / "teacher-cache.sqlite")
    assert again.samples == manifest.samples and again.rejected == manifest.rejected
    ledger = tmp_path / "again" / "ledger.jsonl"
    assert not ledger.exists() or not ledger.read_bytes()  # answered from the cache: nothing paid
