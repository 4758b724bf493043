"""The AIMD limiter on its own: the window's arithmetic, pauses, and no lost wake-ups."""

from __future__ import annotations

import asyncio

import pytest

from groundv.engine.limiter import AimdLimiter


def test_window_halves_once_per_epoch_and_grows_by_one():
    async def go():
        limiter = AimdLimiter(8)
        epochs = [await limiter.acquire() for _ in range(8)]
        assert limiter.in_flight == 8
        for epoch in epochs[:3]:  # three 429s from one window: one halving
            limiter.throttled(epoch, retry_after=None)
        assert limiter.window == 4
        with pytest.raises(TimeoutError):  # 5 still in flight > window 4: no slot
            await asyncio.wait_for(limiter.acquire(), 0.05)
        for _ in range(5):
            limiter.succeeded()
        assert limiter.window == 8 and limiter.in_flight == 0
        epoch = await limiter.acquire()
        limiter.throttled(epoch, retry_after=None)  # a send of the new epoch halves again
        return limiter.window, limiter.min_window

    assert asyncio.run(go()) == (4, 4)


def test_window_never_below_one_and_limit_validated():
    with pytest.raises(ValueError, match="at least 1"):
        AimdLimiter(0)

    async def go():
        limiter = AimdLimiter(4, start=2)
        assert limiter.window == 2
        for _ in range(5):
            limiter.throttled(await limiter.acquire(), retry_after=None)
        return limiter.window

    assert asyncio.run(go()) == 1


def test_retry_after_pauses_new_sends():
    async def go():
        limiter = AimdLimiter(4)
        loop = asyncio.get_running_loop()
        limiter.throttled(await limiter.acquire(), retry_after=0.3)
        assert limiter.paused_for() > 0.2
        start = loop.time()
        await limiter.acquire()
        return loop.time() - start

    assert asyncio.run(go()) >= 0.29


def test_many_waiters_all_get_through():
    """1,000 tasks through a window of 3 that shrinks and regrows: everyone finishes, at most 3 at once."""
    async def go():
        limiter = AimdLimiter(3)
        peak = 0
        done = 0

        async def task(i: int) -> None:
            nonlocal peak, done
            epoch = await limiter.acquire()
            peak = max(peak, limiter.in_flight)
            await asyncio.sleep(0)
            if i % 50 == 0:
                limiter.throttled(epoch, retry_after=0.001)
                await task(i + 1)
            else:
                limiter.succeeded()
            done += 1

        await asyncio.wait_for(asyncio.gather(*(task(i) for i in range(1000))), 10)
        return peak, done, limiter.in_flight

    peak, done, in_flight = asyncio.run(go())
    assert peak <= 3 and done == 1020 and in_flight == 0


def test_cancelled_waiter_does_not_block_others():
    async def go():
        limiter = AimdLimiter(1)
        await limiter.acquire()
        stuck = asyncio.create_task(limiter.acquire())
        waiting = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0)
        limiter.succeeded()  # wakes `stuck` ...
        stuck.cancel()  # ... which is cancelled before it runs: its wake-up must pass to `waiting`
        await asyncio.wait_for(waiting, 1)
        return limiter.in_flight

    assert asyncio.run(go()) == 1
