"""AIMD concurrency: how many requests may be in flight, adapted to the server's 429s.

The window starts at ``start`` (default: the limit), grows by one per successful answer up to the
limit (additive increase) and halves on a 429 (multiplicative decrease). A burst of 429s caused by one
overfull window halves it once, not once per 429: each send carries the window's *epoch*, and only a
429 for a send made in the current epoch shrinks it. A 429's Retry-After pauses every new send until
that moment. The limiter belongs to one event loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib

__all__ = ["AimdLimiter"]


class AimdLimiter:
    """Admits sends while fewer than ``window`` are in flight.

    Args:
        limit: the most sends ever in flight (``--concurrency``).
        start: the initial window (default ``limit``).

    Example:
        >>> limiter = AimdLimiter(8)
        >>> async def one():
        ...     epoch = await limiter.acquire()
        ...     limiter.throttled(epoch, retry_after=None)
        ...     return limiter.window
        >>> asyncio.run(one())
        4
    """

    def __init__(self, limit: int, start: int | None = None) -> None:
        if limit < 1:
            raise ValueError(f"concurrency must be at least 1, got {limit}")
        self.limit = limit
        self.window = max(1, min(limit, start or limit))
        self.in_flight = 0
        self.min_window = self.window
        self._epoch = 0
        self._paused_until = 0.0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"AimdLimiter(window={self.window}, limit={self.limit}, in_flight={self.in_flight})"

    def paused_for(self) -> float:
        """Seconds left of the current Retry-After pause (0 when not paused)."""
        return max(0.0, self._paused_until - asyncio.get_running_loop().time())

    async def acquire(self) -> int:
        """Wait for a free slot (and the end of any pause), first come first served.

        Returns the epoch to hand back to :meth:`throttled`.
        """
        loop = asyncio.get_running_loop()
        if not self._waiters and self.in_flight < self.window and self._paused_until <= loop.time():
            self.in_flight += 1
            return self._epoch
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        self._wake()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # The slot was handed over just before the cancellation: pass it on.
                self.in_flight -= 1
                self._wake()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise
        return self._epoch

    def _wake(self) -> None:
        """Hand free slots to waiters in order (the slot is taken on their behalf), unless paused."""
        loop = asyncio.get_running_loop()
        if self._paused_until > loop.time():
            if self._waiters and self._timer is None:
                self._timer = loop.call_at(self._paused_until, self._pause_over)
            return
        while self._waiters and self.in_flight < self.window:
            waiter = self._waiters.popleft()
            if not waiter.done():  # skip the cancelled
                self.in_flight += 1
                waiter.set_result(None)

    def _pause_over(self) -> None:
        self._timer = None
        self._wake()

    def succeeded(self) -> None:
        """Release a slot after an answer; the window grows by one."""
        self.in_flight -= 1
        self.window = min(self.limit, self.window + 1)
        self._wake()

    def failed(self) -> None:
        """Release a slot after a failure that says nothing about load (a 500, a bad body): the window stays."""
        self.in_flight -= 1
        self._wake()

    def throttled(self, epoch: int, retry_after: float | None) -> None:
        """Release a slot after a 429, a timeout or a 503: halve the window (once per epoch), pause."""
        self.in_flight -= 1
        if epoch == self._epoch:
            self.window = max(1, self.window // 2)
            self.min_window = min(self.min_window, self.window)
            self._epoch += 1
        if retry_after:
            self._paused_until = max(self._paused_until, asyncio.get_running_loop().time() + retry_after)
        self._wake()
