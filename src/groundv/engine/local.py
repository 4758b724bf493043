"""The local executor: many scenes' requests in flight on one asyncio loop, results written in source order.

:func:`run_local` keeps a window of scenes in flight, each a :meth:`SceneRunner.run
<groundv.engine.runner.SceneRunner.run>` task sharing one engine (so one AIMD window, one cache, one
budget), and writes each scene's unit results to the dataset as soon as it and every scene before
it are finished. The files are therefore the ones a sequential run writes, and a unit is marked done
only after all its answers are validated and written.

When a scene fails — the budget ran out (:class:`~groundv.engine.ledger.BudgetExhausted`), the
endpoint kept failing, or anything else — it stops the engine, so nothing new is sent; the requests
already sent are paid for, so the other scenes in flight are allowed to settle (their answers land in
the cache and a resume gets them free); scenes finished in order before the failing one are written
and its error is raised. Only an interrupt (Ctrl-C) cancels what is in flight.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from groundv.engine.failures import EngineStopped
from groundv.engine.runner import SceneRunner
from groundv.scene import Scene
from groundv.store import Dataset, UnitResult

__all__ = ["SceneWriter", "run_local"]

Job = tuple[int, Scene, list[str], list[str]]


def run_local(runner: SceneRunner, dataset: Dataset, jobs: Iterator[Job], *, total: int, window: int | None = None,
              progress: Callable[[int, int], None] | None = None,
              on_stats: Callable[[Mapping[str, Any]], None] | None = None) -> int:
    """Run ``jobs`` (source index, scene, categories to do, instructions already accepted) through ``runner``.

    Args:
        runner: an unopened runner; it is opened (its engine started) for the run and closed after.
        dataset: where unit results are written, in source order.
        jobs: the scenes in source order.
        total: scenes in all, for ``progress``.
        window: the most scenes in flight (default: the engine's concurrency, at least 4).
        progress: called after each scene is written with (scenes done, total).
        on_stats: called after each scene is written with the runner's counters and ``spent``.

    Returns:
        The number of scenes written.

    Raises:
        BudgetExhausted: the cost or request cap was reached (finished scenes are written first).
        TeacherUnavailable, TeacherRefused: the endpoint failed (likewise).
    """
    size = window or max(4, int(runner.settings["engine"]["concurrency"]))
    return asyncio.run(_drive(runner, dataset, jobs, total, size, progress, on_stats))


class SceneWriter:
    """Writes scenes' unit results to the dataset (the caller keeps source order), then reports.

    Every executor writes through one of these, so they write the same files.
    """

    def __init__(self, dataset: Dataset, total: int, progress: Callable[[int, int], None] | None,
                 on_stats: Callable[[Mapping[str, Any]], None] | None,
                 stats: Callable[[], Mapping[str, Any]]) -> None:
        self.dataset, self.total, self.progress, self.on_stats, self.stats = dataset, total, progress, on_stats, stats
        self.written = 0

    def __call__(self, index: int, units: list[UnitResult] | None) -> None:
        """Write scene ``index``'s units (None: nothing left to do for it) and count it as done."""
        for unit in units or ():
            self.dataset.write(index, unit)
        self.written += 1
        if self.progress is not None:
            self.progress(self.written, self.total)
        if self.on_stats is not None:
            self.on_stats(self.stats())


async def _drive(runner: SceneRunner, dataset: Dataset, jobs: Iterator[Job], total: int, window: int,
                 progress: Callable[[int, int], None] | None,
                 on_stats: Callable[[Mapping[str, Any]], None] | None) -> int:
    pending: deque[tuple[int, asyncio.Task[list[UnitResult]] | None]] = deque()
    write = SceneWriter(dataset, total, progress, on_stats,
                        lambda: {**runner.counts, "spent": runner.engine.ledger.spent if runner.engine else 0.0})

    async def settle(limit: int) -> None:
        """Write finished scenes from the head; wait for the head while more than ``limit`` are in flight."""
        while pending:
            index, task = pending[0]
            if task is not None and not task.done() and len(pending) <= limit:
                return
            units = await task if task is not None else None
            pending.popleft()
            write(index, units)

    async with runner:
        try:
            for index, scene, todo, seen in jobs:
                task = asyncio.create_task(runner.run(scene, todo, seen)) if todo else None
                pending.append((index, task))
                await settle(window)
            await settle(0)
        except Exception as error:
            # The failing scene stopped the engine; requests already sent are paid for: let them arrive
            # and be cached, so that a resume never pays for them again. Nothing after it is written.
            await asyncio.gather(*(t for _, t in pending if t is not None), return_exceptions=True)
            if isinstance(error, EngineStopped):
                raise error.why from None  # an earlier scene was caught by the stop: report its cause
            raise
        finally:
            for _, task in pending:
                if task is not None:
                    task.cancel()
            await asyncio.gather(*(t for _, t in pending if t is not None), return_exceptions=True)
    return write.written
