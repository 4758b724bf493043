"""The engine against the fault-injecting fake server over loopback: retries, AIMD, Retry-After, dedupe."""

from __future__ import annotations

import asyncio
import email.utils
import threading
import time

import orjson
import pytest

from groundv.engine.clients import make_client
from groundv.engine.engine import Engine, run_sync
from groundv.engine.failures import TeacherUnavailable
from groundv.engine.fakeserver import Fault, FaultPlan
from tests.engine.conftest import ask


def engine_for(server, **kwargs) -> Engine:
    kwargs.setdefault("backoff", 0.01)
    return Engine(make_client("openai", server.url + "/v1", api_key_env=None, timeout=kwargs.pop("timeout", 5.0)),
                  **kwargs)


def run_all(engine: Engine, requests):
    async def go():
        async with engine:
            return await asyncio.gather(*(engine.chat(r) for r in requests))
    return asyncio.run(go())


@pytest.mark.parametrize("fault", ["500", "truncated", "cutoff", "broken", Fault("slow", 0.2), Fault("429")])
def test_each_fault_is_retried_until_an_answer(fake_server, fault):
    server = fake_server(faults=FaultPlan([fault, fault]))
    engine = engine_for(server, concurrency=1)
    [answer] = run_all(engine, [ask()])
    assert orjson.loads(answer.text) == {"answer": "ok"}
    kind = fault if isinstance(fault, str) else fault.kind
    # A slow answer is still an answer; every other fault costs one retry.
    assert [e.fault for e in server.log] == ([kind] if kind == "slow" else [kind, kind, None])
    assert engine.stats.retries == (0 if kind == "slow" else 2)
    assert engine.stats.answered == 1 and engine.stats.failures == 0


def test_paid_but_unusable_answers_are_in_the_ledger(fake_server):
    server = fake_server(faults=FaultPlan(["truncated", "cutoff"]))
    engine = engine_for(server)
    run_all(engine, [ask()])
    assert engine.ledger.requests == 3  # two bad answers were paid for too
    assert engine.stats.sent == 3


def test_hang_past_the_timeout_is_retried(fake_server):
    server = fake_server(faults=FaultPlan([Fault("hang", 30)]))
    engine = engine_for(server, timeout=0.3)
    start = time.monotonic()
    [answer] = run_all(engine, [ask()])
    assert 0.3 <= time.monotonic() - start < 5
    assert answer.text == '{"answer": "ok"}' and [e.status for e in server.log] == [0, 200]


def test_gives_up_naming_endpoint_and_status(fake_server):
    server = fake_server(faults=FaultPlan(["500"] * 10))
    engine = engine_for(server, max_retries=3)
    with pytest.raises(TeacherUnavailable, match=r"/v1/chat/completions gave no usable answer after 4 attempts "
                                                 r"\(last: 500: internal error\)") as info:
        run_all(engine, [ask()])
    assert info.value.status == 500 and info.value.hint
    assert len(server.log) == 4 and engine.stats.failures == 1


def test_text_answers_need_no_json(fake_server):
    server = fake_server(lambda body: "just prose", faults=FaultPlan(["truncated"]))
    [answer] = run_all(engine_for(server), [ask(schema=None)])
    assert answer.text == "just "  # without a schema a cut answer cannot be detected: it is returned
    assert answer.mode == "text"


def test_json_in_markdown_fences_is_cleaned_and_prose_retried(fake_server):
    answers = iter(["Sure! here it is", '```json\n{"answer": "ok"}\n```'])
    server = fake_server(lambda body: next(answers))
    engine = engine_for(server)
    [answer] = run_all(engine, [ask()])
    assert answer.text == '{"answer": "ok"}' and len(server.log) == 2


def test_unknown_region_ids_are_the_teachers_business(fake_server):
    """The engine checks the form (JSON), not the content: an answer naming a region that does not exist passes."""
    server = fake_server(lambda body: '{"answer": "the cup", "target_ids": [999999]}')
    [answer] = run_all(engine_for(server), [ask()])
    assert orjson.loads(answer.text)["target_ids"] == [999999] and len(server.log) == 1


def test_retry_after_is_honoured(fake_server):
    server = fake_server(faults=FaultPlan([Fault("429", 0.5)]))
    engine = engine_for(server)
    start = time.monotonic()
    run_all(engine, [ask()])
    assert time.monotonic() - start >= 0.5
    assert engine.stats.throttled == 1


def test_retry_after_as_http_date_pauses_other_sends(fake_server):
    when = email.utils.formatdate(time.time() + 1.5, usegmt=True)  # whole seconds: waits 0.5–1.5 s
    server = fake_server(faults=FaultPlan([Fault("429", retry_after=when)]), latency=0.05)
    engine = engine_for(server, concurrency=1)

    async def go():
        async with engine:
            first = asyncio.create_task(engine.chat(ask("a")))
            await asyncio.sleep(0.1)  # "a" got its 429: "b" must now wait for the pause as well
            started = time.monotonic()
            await engine.chat(ask("b"))
            await first
            return time.monotonic() - started

    assert asyncio.run(go()) >= 0.25
    assert [e.status for e in server.log] == [429, 200, 200]


def test_aimd_window_halves_on_429_and_recovers(fake_server):
    # 20 requests at concurrency 8; the first 8 arrivals get a 429, all from the first window.
    server = fake_server(faults=FaultPlan([Fault("429", 0.05)] * 8), latency=0.02)
    engine = engine_for(server, concurrency=8)
    answers = run_all(engine, [ask(f"q{i}") for i in range(20)])
    assert len(answers) == 20
    stats = engine.stats
    assert stats.throttled == 8
    assert stats.min_window == 4  # one overfull window halves it once, not eight times
    assert stats.window == 8  # and 20 successes grow it back to the ceiling
    assert stats.sent == 28


def test_repeated_429s_shrink_the_window_to_one(fake_server):
    server = fake_server(faults=FaultPlan([Fault("429", 0.01)] * 6, per_request=True))
    engine = engine_for(server, concurrency=16, max_retries=8)
    run_all(engine, [ask()])
    assert engine.stats.min_window == 1 and engine.stats.window == 2


def test_in_flight_duplicates_are_sent_once(fake_server):
    server = fake_server(latency=0.1)
    engine = engine_for(server)
    answers = run_all(engine, [ask("same")] * 5 + [ask("other")])
    assert len(server.log) == 2
    assert [a.cached for a in answers] == [False, True, True, True, True, False]
    assert engine.stats.cached == 4


def test_a_cancelled_asker_does_not_cancel_its_duplicates(fake_server):
    server = fake_server(latency=0.2)
    engine = engine_for(server)

    async def go():
        async with engine:
            first = asyncio.create_task(engine.chat(ask("same")))
            await asyncio.sleep(0.05)
            second = asyncio.create_task(engine.chat(ask("same")))
            await asyncio.sleep(0.05)
            first.cancel()
            return await second

    assert asyncio.run(go()).text == '{"answer": "ok"}'
    assert len(server.log) == 2  # the cancelled asker's request was sent, then the duplicate's own


def test_chat_sync_from_threads_shares_one_loop(fake_server):
    server = fake_server(latency=0.05)
    results: dict[int, str] = {}
    with engine_for(server, concurrency=4) as engine:
        def work(i: int) -> None:
            results[i] = engine.chat_sync(ask(f"t{i}")).text

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert engine.stats.answered == 8
    assert len(results) == 8 and len(server.log) == 8


def test_run_sync_inside_a_running_loop():
    async def inner():
        return 7

    async def outer():
        return run_sync(inner())

    assert run_sync(inner()) == 7 and asyncio.run(outer()) == 7


def test_timeouts_shrink_the_window_like_429s(fake_server):
    # A one-slot local server behind many requests times out instead of saying 429: back off the same way.
    server = fake_server(faults=FaultPlan([Fault("hang", 30)] * 4), latency=0.01)
    engine = engine_for(server, concurrency=8, timeout=0.3)
    answers = run_all(engine, [ask(f"q{i}") for i in range(12)])
    assert len(answers) == 12
    assert engine.stats.throttled == 4
    assert engine.stats.min_window == 4  # the four timeouts of one window halve it once
