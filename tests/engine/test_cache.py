"""The response cache: hits are free and never sent, survive kill -9, and are shared by processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from groundv.engine.cache import ResponseCache
from groundv.engine.clients import make_client
from groundv.engine.engine import Engine
from groundv.engine.ledger import Ledger, Prices
from groundv.engine.request import ChatResponse
from tests.engine.conftest import ask

ROOT = Path(__file__).resolve().parents[2]


def test_put_get_round_trip(tmp_path):
    cache = ResponseCache(tmp_path / "sub" / "cache.sqlite")
    answer = ChatResponse(text='{"a": 1}', model="m", usage={"prompt_tokens": 3, "completion_tokens": 2},
                          finish_reason="stop", mode="json_object", cost=0.5)
    cache.put("k", answer)
    got = cache.get("k")
    assert got == ChatResponse(text='{"a": 1}', model="m", usage={"prompt_tokens": 3, "completion_tokens": 2},
                               finish_reason="stop", mode="json_object", cached=True, cost=0.0)
    assert cache.get("other") is None and "k" in cache and len(cache) == 1
    cache.close()
    with ResponseCache(tmp_path / "sub" / "cache.sqlite") as reopened:
        assert reopened.get("k").text == '{"a": 1}'


def test_cache_hit_never_reaches_the_server_and_is_free(fake_server, tmp_path):
    server = fake_server()
    cache = ResponseCache(tmp_path / "cache.sqlite")
    ledger = Ledger(tmp_path / "ledger.jsonl", Prices(1_000_000, 1_000_000))

    def run(max_requests=None):
        async def go():
            client = make_client("openai", server.url + "/v1", api_key_env=None)
            async with Engine(client, cache=cache, ledger=ledger) as engine:
                answers = await asyncio.gather(*(engine.chat(ask(f"q{i}")) for i in range(5)))
                return answers, engine.stats
        ledger.max_requests = max_requests
        return asyncio.run(go())

    first, _ = run()
    assert not any(a.cached for a in first) and all(a.cost > 0 for a in first)
    spent = ledger.spent
    # The rerun is allowed no paid request at all, and needs none.
    again, stats = run(max_requests=ledger.requests)
    assert all(a.cached and a.cost == 0 for a in again)
    assert [a.text for a in again] == [a.text for a in first]
    assert len(server.log) == 5 and sorted(server.keys()) == sorted(ask(f"q{i}").key() for i in range(5))
    assert stats.cached == 5 and stats.sent == 0 and ledger.spent == spent


def test_an_answer_survives_kill_9(tmp_path):
    path = tmp_path / "cache.sqlite"
    script = textwrap.dedent(f"""
        import os, signal
        from groundv.engine.cache import ResponseCache
        from groundv.engine.request import ChatResponse
        cache = ResponseCache({str(path)!r})
        cache.put("k", ChatResponse(text="kept", model="m"))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    process = subprocess.run([sys.executable, "-c", script], check=False)
    assert process.returncode == -signal.SIGKILL
    assert ResponseCache(path).get("k").text == "kept"


WORKER = """
import asyncio, sys
from groundv.engine.cache import ResponseCache
from groundv.engine.clients import make_client
from groundv.engine.engine import Engine
from tests.engine.conftest import ask

async def main(url, path, first, last):
    async with Engine(make_client("openai", url, api_key_env=None), cache=ResponseCache(path)) as engine:
        answers = await asyncio.gather(*(engine.chat(ask(f"q{i}")) for i in range(first, last)))
    print(sum(a.cached for a in answers))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
"""


def test_two_processes_share_one_cache(fake_server, tmp_path):
    server = fake_server(latency=0.01)
    path = tmp_path / "cache.sqlite"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def spawn(first: int, last: int) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", WORKER, server.url + "/v1", str(path), str(first), str(last)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    # Two writers at once on disjoint questions: no "database is locked", nothing lost.
    workers = [spawn(0, 40), spawn(40, 80)]
    outputs = [w.communicate(timeout=60) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert len(ResponseCache(path)) == 80
    # A third process asking everything again pays nothing.
    reader = spawn(0, 80)
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert out.strip() == "80" and len(server.log) == 80


def _open_and_put(path: str, barrier) -> None:
    barrier.wait()
    with ResponseCache(path) as cache:
        cache.put(str(os.getpid()), ChatResponse(text="x", model="m"))


def test_processes_opening_a_fresh_cache_together_all_succeed(tmp_path):
    # Switching a new file to WAL raced: one of two workers starting at once got "database is locked"
    # (about one start in five on a 2-core machine). Thirty fresh files, three openers on each.
    context = multiprocessing.get_context("fork")
    for n in range(30):
        path = str(tmp_path / f"{n}.sqlite")
        barrier = context.Barrier(3)
        openers = [context.Process(target=_open_and_put, args=(path, barrier)) for _ in range(3)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join(timeout=60)
        assert [o.exitcode for o in openers] == [0, 0, 0], f"file {n}"
        assert len(ResponseCache(path)) == 3
