"""The ledger: prices, caps that stop a run before it pays, totals that add up across runs."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from groundv.engine.cache import ResponseCache
from groundv.engine.clients import make_client
from groundv.engine.engine import Engine
from groundv.engine.ledger import BudgetExhausted, Ledger, Prices
from groundv.errors import GroundvError, GroundvWarning
from tests.engine.conftest import ask


def test_record_prices_and_totals(tmp_path):
    ledger = Ledger(tmp_path / "ledger.jsonl", Prices(prompt_per_mtok=2.0, completion_per_mtok=10.0))
    cost = ledger.record("k1", "m", {"prompt_tokens": 1000, "completion_tokens": 100})
    assert cost == pytest.approx(0.003)
    ledger.record("k2", "m", {"prompt_tokens": 500, "completion_tokens": 0})
    assert (ledger.requests, ledger.prompt_tokens, ledger.completion_tokens) == (2, 1500, 100)
    assert ledger.spent == pytest.approx(0.004)
    lines = [orjson.loads(line) for line in (tmp_path / "ledger.jsonl").read_bytes().splitlines()]
    assert [line["key"] for line in lines] == ["k1", "k2"] and lines[0]["cost"] == pytest.approx(0.003)


def test_totals_are_cumulative_across_reopen_and_corrupt_lines_are_reported(tmp_path):
    path = tmp_path / "ledger.jsonl"
    Ledger(path, Prices(1e6, 0)).record("k1", "m", {"prompt_tokens": 3, "completion_tokens": 0})
    with path.open("ab") as fh:
        fh.write(b'{"key": "k2", "prompt_tok\n')  # a line cut by a crash mid-write
    with pytest.warns(GroundvWarning, match=r"ledger.jsonl: line 2: not a ledger entry"):
        reopened = Ledger(path, Prices(1e6, 0), max_cost=7.0)
    assert reopened.requests == 1 and reopened.spent == pytest.approx(3.0)
    reopened.record("k3", "m", {"prompt_tokens": 4, "completion_tokens": 0})
    with pytest.raises(BudgetExhausted, match=r"spent 7.0000 of --max-cost 7") as info:
        reopened.check()
    assert isinstance(info.value, GroundvError) and "resume" in info.value.hint
    with pytest.warns(GroundvWarning):
        assert Ledger(path).requests == 2


def test_request_cap_counts_requests_in_flight():
    ledger = Ledger(max_requests=3)
    ledger.check(in_flight=2)
    with pytest.raises(BudgetExhausted, match=r"0 paid requests \(\+3 in flight\) of --max-requests 3"):
        ledger.check(in_flight=3)


def run(server, ledger, questions, concurrency=4, cache=None):
    async def go():
        client = make_client("openai", server.url + "/v1", api_key_env=None)
        async with Engine(client, cache=cache, ledger=ledger, concurrency=concurrency) as engine:
            return await asyncio.gather(*(engine.chat(q) for q in questions), return_exceptions=True)
    return asyncio.run(go())


def test_max_requests_stops_exactly_and_resumes(fake_server, tmp_path):
    server = fake_server(latency=0.02)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    questions = [ask(f"q{i}") for i in range(10)]
    results = run(server, Ledger(tmp_path / "ledger.jsonl", max_requests=6), questions, cache=cache)
    stopped = [r for r in results if isinstance(r, BudgetExhausted)]
    assert len(stopped) == 4 and len(server.log) == 6  # never one request over the cap
    # The next run with a higher cap pays only for the four left: the cap counts both runs.
    ledger = Ledger(tmp_path / "ledger.jsonl", max_requests=10)
    results = run(server, ledger, questions, cache=cache)
    assert not any(isinstance(r, Exception) for r in results)
    assert len(server.log) == 10 and ledger.requests == 10 and sum(r.cached for r in results) == 6


def test_max_cost_overshoots_by_at_most_the_concurrency(fake_server):
    server = fake_server(latency=0.02)
    ledger = Ledger(None, Prices(prompt_per_mtok=1e6), max_cost=1.0)  # every answer costs far more than the cap
    results = run(server, ledger, [ask(f"q{i}") for i in range(20)], concurrency=3)
    paid = [r for r in results if not isinstance(r, Exception)]
    assert 1 <= len(paid) <= 3 and len(server.log) == len(paid)
    assert all(isinstance(r, BudgetExhausted) for r in results if isinstance(r, Exception))


def test_two_ledgers_on_one_file_share_one_budget(tmp_path):
    # Ray actors each hold a Ledger on the dataset's file: one's spend must stop the other.
    path = tmp_path / "ledger.jsonl"
    first = Ledger(path, Prices(1_000_000, 0), max_cost=3)
    second = Ledger(path, Prices(1_000_000, 0), max_cost=3)
    first.record("a", "m", {"prompt_tokens": 2, "completion_tokens": 0})
    second.check()  # 2 of 3 spent: still open
    second.record("b", "m", {"prompt_tokens": 1, "completion_tokens": 0})
    assert second.spent == pytest.approx(3) and second.requests == 2
    with pytest.raises(BudgetExhausted, match="spent 3"):
        first.check()  # it never recorded "b" itself, but reads it from the file
    assert (first.requests, first.prompt_tokens) == (2, 3)


def test_a_line_still_being_written_is_counted_once_it_is_complete(tmp_path):
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path, Prices(1_000_000, 0))
    with path.open("ab") as fh:
        fh.write(b'{"key": "x", "model": "m", "prompt_tokens": 5, "completion_tokens": 0, "cost": 5.0')
    ledger.check()
    assert ledger.requests == 0
    with path.open("ab") as fh:
        fh.write(b"}\n")
    ledger.check()
    assert (ledger.requests, ledger.spent) == (1, 5.0)


def test_a_line_torn_by_a_crash_does_not_swallow_the_next_paid_answer(tmp_path):
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path, Prices(1_000_000, 1_000_000))
    ledger.record("a", "m", {"prompt_tokens": 1, "completion_tokens": 1})
    with path.open("ab") as fh:
        fh.write(b'{"key": "torn')  # killed mid-write
    with pytest.warns(GroundvWarning, match="line 2: not a ledger entry"):
        ledger.record("b", "m", {"prompt_tokens": 2, "completion_tokens": 0})
        fresh = Ledger(path)
    assert ledger.requests == fresh.requests == 2 and fresh.spent == ledger.spent == 4.0
    assert path.read_bytes().splitlines()[1] == b'{"key": "torn'


def test_a_budget_stop_says_what_was_paid_once_the_answers_in_flight_landed(tmp_path):
    ledger = Ledger(tmp_path / "ledger.jsonl", max_requests=2)
    ledger.record("a", "m", {})
    with pytest.raises(BudgetExhausted) as stop:
        ledger.check(in_flight=1)
    assert "1 paid requests (+1 in flight) of --max-requests 2" in str(stop.value)
    ledger.record("b", "m", {})  # the answer in flight lands
    stop.value.settle()
    assert str(stop.value) == "the request cap is reached: 2 paid requests of --max-requests 2"
