"""The engine: sends chat requests concurrently, politely and at most once.

:meth:`Engine.chat` is, for one request::

    cache lookup ──hit──► answer (cached=True, free)
        │ miss (an identical request already in flight is awaited, not sent again)
        ▼
    ledger.check() ──► BudgetExhausted (nothing sent)
        ▼
    AIMD limiter ──► client.send ──► 429: halve the window, honour Retry-After, retry
        │                      ├──► timeout / 503 (an overloaded server): halve the window, back off, retry
        │                      └──► other 5xx / connection error / unreadable body: back off, retry
        ▼ answer (paid: recorded in the ledger, usable or not)
    schema? the text must be JSON and not cut off (finish_reason "length"), else retry
        ▼
    cache.put (committed) ──► answer

Retries back off exponentially with jitter (``backoff · 2^(attempt-1)``, scaled by a random factor in
[0.5, 1], at most ``max_backoff``); a 429 with Retry-After instead pauses every new send for that
long. After ``max_retries`` retries the request fails with :class:`TeacherUnavailable`; a 4xx other
than 429 fails at once with :class:`TeacherRefused`. A cut-off answer is retried unchanged: raise the
request's ``max_tokens`` if it keeps happening.

The engine runs on one event loop. Async callers ``await engine.chat(r)`` (many at once with
``asyncio.gather``); synchronous callers (a teacher's ``respond`` running in worker threads) use
:meth:`Engine.chat_sync`, which runs every request on one background loop, so all threads share one
window, one connection pool and one budget.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import random
import re
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from groundv.engine.cache import ResponseCache
from groundv.engine.clients import ChatClient
from groundv.engine.failures import EngineStopped, TeacherUnavailable, Throttled, TransientFailure
from groundv.engine.ledger import Ledger
from groundv.engine.limiter import AimdLimiter
from groundv.engine.request import ChatRequest, ChatResponse

__all__ = ["Engine", "EngineStats", "run_sync"]

#: transient failures that mean "too much load": they shrink the AIMD window as a 429 does
_OVERLOADED = frozenset({"timeout", 503})

T = TypeVar("T")
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


@dataclass(frozen=True)
class EngineStats:
    """A snapshot of an engine's counters, for progress displays.

    Attributes:
        sent: attempts sent to the endpoint (retries included).
        answered: requests answered by the endpoint (usable answers, each paid once or more).
        cached: requests answered from the cache or by an identical request in flight (free).
        retries: attempts repeated after a failure.
        throttled: 429s received.
        failures: requests given up (TeacherUnavailable).
        window: the AIMD window now; ``min_window`` the smallest it has been.
        in_flight: attempts in flight now.
        spent: the ledger's total (earlier runs included).
    """

    sent: int
    answered: int
    cached: int
    retries: int
    throttled: int
    failures: int
    window: int
    min_window: int
    in_flight: int
    spent: float


def _usable_json(text: str) -> str | None:
    """``text`` as one JSON object (markdown fences stripped), or None when it is not one."""
    for candidate in (text, (m.group(1) if (m := _FENCE.match(text)) else None)):
        if candidate is None:
            continue
        try:
            value = orjson.loads(candidate)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return candidate
    return None


class Engine:
    """Runs chat requests against one client with a cache, a budget, AIMD concurrency and retries.

    Args:
        client: the endpoint (:func:`groundv.engine.clients.make_client`).
        cache: the response cache, or None to pay for every request.
        ledger: counts what is paid and enforces ``--max-cost`` / ``--max-requests`` (None: an uncapped,
            in-memory ledger).
        concurrency: the most requests in flight (the AIMD window's ceiling).
        max_retries: retries per request before :class:`TeacherUnavailable`.
        timeout: seconds per attempt (None: the client's).
        backoff: the first retry's base delay in seconds; ``max_backoff`` caps the growth.
        start_window: the AIMD window to start from (default ``concurrency``).

    Example:
        >>> from groundv.engine.clients import make_client
        >>> engine = Engine(make_client("openai", "http://127.0.0.1:9/v1", api_key_env=None), cache=None,
        ...                 ledger=None, concurrency=4)
        >>> engine.stats.window
        4
    """

    def __init__(self, client: ChatClient, *, cache: ResponseCache | None = None, ledger: Ledger | None = None,
                 concurrency: int = 16, max_retries: int = 6, timeout: float | None = None,
                 backoff: float = 0.5, max_backoff: float = 30.0, start_window: int | None = None) -> None:
        self.client = client
        self.cache = cache
        self.ledger = ledger if ledger is not None else Ledger()
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.limiter = AimdLimiter(concurrency, start_window)
        self._pending: dict[str, asyncio.Future[ChatResponse]] = {}
        self._paid_in_flight = 0
        self._counts = dict.fromkeys(("sent", "answered", "cached", "retries", "throttled", "failures"), 0)
        self._background: tuple[asyncio.AbstractEventLoop, threading.Thread] | None = None
        self._background_lock = threading.Lock()
        self._stopped: BaseException | None = None

    def __repr__(self) -> str:
        return f"Engine({self.client!r}, concurrency={self.limiter.limit}, cache={self.cache!r})"

    @property
    def stats(self) -> EngineStats:
        """The counters now."""
        return EngineStats(**self._counts, window=self.limiter.window, min_window=self.limiter.min_window,
                           in_flight=self.limiter.in_flight, spent=self.ledger.spent)

    def stop(self, why: BaseException) -> None:
        """Send nothing new from now on (:class:`EngineStopped`); answers already on their way still arrive
        and are cached, because they are paid for. Cache hits are still served."""
        if self._stopped is None:
            self._stopped = why

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """The answer to ``request``: from the cache if it is there, else from the endpoint (then cached).

        Raises:
            BudgetExhausted: the ledger's cap is reached (nothing was sent for this request).
            TeacherUnavailable: no usable answer within ``max_retries`` retries.
            TeacherRefused: the endpoint rejected the request (4xx other than 429).
            EngineStopped: :meth:`stop` was called before this request (or its retry) was sent.
        """
        key = request.key()
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            self._counts["cached"] += 1
            return hit
        pending = self._pending.get(key)
        if pending is not None:
            # The same question is already on its way: share its answer instead of paying twice.
            try:
                answer = await asyncio.shield(pending)
            except asyncio.CancelledError:
                if pending.cancelled() and (task := asyncio.current_task()) is not None and not task.cancelling():
                    return await self.chat(request)  # its asker was cancelled, not this one: ask anew
                raise
            self._counts["cached"] += 1
            return dataclasses.replace(answer, cached=True, cost=0.0)
        future: asyncio.Future[ChatResponse] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            answer = await self._fetch(request, key)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # marks it retrieved: nobody else may be waiting
            raise
        else:
            future.set_result(answer)
            return answer
        finally:
            del self._pending[key]

    async def _fetch(self, request: ChatRequest, key: str) -> ChatResponse:
        attempt = 0
        while True:
            self._check()
            epoch = await self.limiter.acquire()
            try:
                # The budget may have run out (or the run stopped) while this request waited for a slot.
                self._check()
            except BaseException:
                self.limiter.failed()
                raise
            attempt += 1
            self._counts["sent"] += 1
            self._paid_in_flight += 1
            try:
                answer = await self.client.send(request, timeout=self.timeout)
            except Throttled as exc:
                self.limiter.throttled(epoch, exc.retry_after)
                self._counts["throttled"] += 1
                last: TransientFailure = exc
            except TransientFailure as exc:
                if exc.status in _OVERLOADED:
                    # An overloaded server (a one-slot llama.cpp behind 16 requests) times out or says 503
                    # instead of 429: shrink the window as for a 429, or every retry times out again.
                    self.limiter.throttled(epoch, None)
                    self._counts["throttled"] += 1
                else:
                    self.limiter.failed()
                last = exc
            except BaseException:
                self.limiter.failed()
                raise
            else:
                self.limiter.succeeded()
                cost = self.ledger.record(key, answer.model, answer.usage)
                usable = self._usable(request, answer)
                if isinstance(usable, ChatResponse):
                    answer = dataclasses.replace(usable, cost=cost)
                    if self.cache is not None:
                        self.cache.put(key, answer)
                    self._counts["answered"] += 1
                    return answer
                last = usable
            finally:
                self._paid_in_flight -= 1
            if attempt > self.max_retries:
                self._counts["failures"] += 1
                raise TeacherUnavailable(self.client.endpoint, attempt, last)
            self._counts["retries"] += 1
            await asyncio.sleep(self._delay(attempt, last))

    def _check(self) -> None:
        if self._stopped is not None:
            raise EngineStopped(self._stopped)
        self.ledger.check(self._paid_in_flight)

    def _usable(self, request: ChatRequest, answer: ChatResponse) -> ChatResponse | TransientFailure:
        """The answer (its JSON cleaned of markdown fences), or why it must be asked again."""
        if request.schema is None:
            return answer
        if answer.finish_reason == "length":
            return TransientFailure(self.client.endpoint, "length", "the answer was cut off at max_tokens")
        text = _usable_json(answer.text)
        if text is None:
            return TransientFailure(self.client.endpoint, "bad json", f"not a JSON object: {answer.text[:80]!r}")
        return answer if text == answer.text else dataclasses.replace(answer, text=text)

    def _delay(self, attempt: int, failure: TransientFailure) -> float:
        if isinstance(failure, Throttled) and failure.retry_after is not None:
            # The limiter already holds every send until Retry-After; only spread the restart.
            return random.uniform(0, self.backoff)
        return min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)

    def chat_sync(self, request: ChatRequest) -> ChatResponse:
        """:meth:`chat` for synchronous callers, from any thread; all of them share one background loop."""
        return asyncio.run_coroutine_threadsafe(self.chat(request), self._loop()).result()

    def _loop(self) -> asyncio.AbstractEventLoop:
        with self._background_lock:
            if self._background is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="groundv-engine", daemon=True)
                thread.start()
                self._background = (loop, thread)
            return self._background[0]

    async def aclose(self) -> None:
        """Close the client's connections (the cache and ledger stay open: they belong to the caller)."""
        await self.client.aclose()

    def close(self) -> None:
        """Stop the background loop of :meth:`chat_sync`, if one was started, closing its connections."""
        with self._background_lock:
            if self._background is None:
                return
            loop, thread = self._background
            self._background = None
        asyncio.run_coroutine_threadsafe(self.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code, even when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
