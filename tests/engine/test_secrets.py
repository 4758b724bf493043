"""The API key goes to the server and nowhere else: not logs, reprs, errors, the cache or the ledger."""

from __future__ import annotations

import asyncio
import logging

import orjson
import pytest

from groundv.engine.cache import ResponseCache
from groundv.engine.clients import make_client
from groundv.engine.engine import Engine
from groundv.engine.failures import TeacherRefused
from groundv.engine.fakeserver import FaultPlan
from groundv.engine.ledger import Ledger, Prices
from tests.engine.conftest import ask

SECRET = "sk-groundv-test-0123456789abcdef"


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_key_reaches_the_server_and_nothing_else(api, fake_server, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("GROUNDV_TEST_KEY", SECRET)
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log every request at DEBUG/INFO
    server = fake_server(api_key=SECRET, faults=FaultPlan(["500", "429"]))
    base = server.url + ("/v1" if api == "openai" else "")
    client = make_client(api, base, api_key_env="GROUNDV_TEST_KEY")
    cache, ledger = ResponseCache(tmp_path / "cache.sqlite"), Ledger(tmp_path / "ledger.jsonl", Prices(1, 1))

    async def go():
        async with Engine(client, cache=cache, ledger=ledger, backoff=0.01) as engine:
            answer = await engine.chat(ask())
            return answer, repr(engine), engine.stats
    answer, engine_repr, stats = asyncio.run(go())
    assert orjson.loads(answer.text) == {"answer": "ok"}  # the server checked the key: it arrived
    assert stats.retries == 2
    cache.close()
    texts = [caplog.text, engine_repr, repr(client), repr(cache), repr(ledger), repr(answer), repr(server.log)]
    assert caplog.text  # there were log lines to search
    assert all(SECRET not in text for text in texts)
    for path in tmp_path.iterdir():  # cache.sqlite, its WAL, ledger.jsonl
        assert SECRET.encode() not in path.read_bytes(), path


def test_wrong_key_error_does_not_echo_it(fake_server, monkeypatch):
    monkeypatch.setenv("GROUNDV_TEST_KEY", SECRET)
    server = fake_server(api_key="the-right-one")
    client = make_client("anthropic", server.url, api_key_env="GROUNDV_TEST_KEY")

    async def go():
        async with Engine(client) as engine:
            await engine.chat(ask())
    with pytest.raises(TeacherRefused) as info:
        asyncio.run(go())
    assert info.value.status == 401 and "environment variable" in info.value.hint
    assert SECRET not in f"{info.value} {info.value!r} {info.value.hint} {info.value.__cause__!r}"
