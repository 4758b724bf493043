"""The Ray executor: scenes through ``ray.data``, LLM calls from actors, results written in source order.

:func:`run_ray` is the Ray twin of :func:`groundv.engine.local.run_local`. The scenes still to do
become a ``ray.data`` dataset; ``map_batches`` hands batches of them to a pool of actors, each of which
builds its own :class:`~groundv.engine.runner.SceneRunner` from the same plain settings dict (so its
own :class:`~groundv.engine.engine.Engine`, on its own asyncio loop) and runs a batch's scenes
concurrently. The driver reads the results back in source order (``preserve_order``) and writes them
to the dataset exactly as the local executor does, so the same seed and the same cache give the same
files on both executors.

What is shared between actors is what lives on disk: the response cache (SQLite in WAL mode, safe for
several processes on one machine; on a cluster put it on a shared file system) and the spend ledger
(an append-only file that every actor's :class:`~groundv.engine.ledger.Ledger` re-reads before each
check, so all actors share one budget). A cost cap can be overshot by the answers in flight, up to one
engine's concurrency per actor; the spend is always recorded exactly.

The driver hands Ray ``chunk`` scenes at a time, so its memory stays bounded whatever the source's size
(each chunk starts its own actor pool; a thousand scenes of LLM calls dwarf that start-up).

A scene whose actor hit the budget or an endpoint failure comes back as that error; the driver writes
every scene before it and raises the error, like the local executor.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from typing import Any

from groundv.engine.failures import EngineStopped
from groundv.engine.local import SceneWriter
from groundv.errors import GroundvError, MissingDependency
from groundv.scene import Scene
from groundv.store import Dataset

__all__ = ["SCENES_PER_CHUNK", "run_ray"]

#: scenes handed to Ray at a time by default (the driver holds at most this many)
SCENES_PER_CHUNK = 1000

Job = tuple[int, Scene, list[str], list[str]]


def _ray() -> Any:
    try:
        import ray
        import ray.data  # the data library comes with the ray[data] extra, not plain ray
    except ImportError:
        raise MissingDependency("ray[data]", "the Ray executor (--executor ray)", "ray") from None
    return ray


class _SceneActor:
    """One Ray actor: a SceneRunner with an open engine on the actor's own event loop."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        from groundv.engine.runner import SceneRunner

        self.loop = asyncio.new_event_loop()
        self.runner = SceneRunner.build(settings)
        self.loop.run_until_complete(self.runner.__aenter__())

    async def _run(self, jobs: list[tuple[Scene, list[str], list[str]]]) -> list[Any]:
        # Gathered inside a coroutine: Ray calls actors from worker threads that have no current loop.
        return await asyncio.gather(*(self.runner.run(scene, todo, seen) for scene, todo, seen in jobs),
                                    return_exceptions=True)

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        jobs = [pickle.loads(blob) for blob in batch["job"]]
        before = Counter(self.runner.counts)
        results = self.loop.run_until_complete(self._run(jobs))
        answers = []
        for result in results:
            if isinstance(result, GroundvError):
                answers.append(pickle.dumps(("error", result)))
            elif isinstance(result, BaseException):
                # Anything else is a bug: it travels as text, the driver raises it.
                answers.append(pickle.dumps(("bug", f"{type(result).__name__}: {result}")))
            else:
                answers.append(pickle.dumps(("ok", result)))
        counts = Counter(self.runner.counts)
        counts.subtract(before)
        spent = self.runner.engine.ledger.spent if self.runner.engine is not None else 0.0
        # The counters ride on the batch's first row only, so the driver adds each batch's once.
        stats = [pickle.dumps((dict(counts), spent))] + [b""] * (len(answers) - 1)
        return {"index": list(batch["index"]), "result": answers, "stats": stats}


def run_ray(settings: Mapping[str, Any], dataset: Dataset, jobs: Iterator[Job], *, total: int, actors: int = 2,
            batch_size: int = 8, chunk: int | None = None, progress: Callable[[int, int], None] | None = None,
            on_stats: Callable[[Mapping[str, Any]], None] | None = None,
            init: Mapping[str, Any] | None = None) -> int:
    """Run ``jobs`` (source index, scene, categories to do, instructions already accepted) on Ray.

    Args:
        settings: :func:`groundv.engine.runner.llm_settings`' dict; every actor builds its runner from it.
        dataset: where unit results are written, in source order.
        jobs: the scenes in source order.
        total: scenes in all, for ``progress``.
        actors: the size of the actor pool (each with ``settings["engine"]["concurrency"]`` requests in flight).
        batch_size: scenes per ``map_batches`` batch (run concurrently within an actor).
        chunk: scenes handed to Ray at a time (default :data:`SCENES_PER_CHUNK`); the driver holds at
            most this many (pickled), so a source of any size runs in bounded memory.
        progress: called after each scene is written with (scenes done, total).
        on_stats: called after each scene is written with the summed counters and the largest ``spent`` seen.
        init: keyword arguments for ``ray.init`` when Ray is not initialised yet (``address`` for a cluster).

    Returns:
        The number of scenes written.

    Raises:
        MissingDependency: Ray (with its data library) is not installed.
        BudgetExhausted, TeacherUnavailable, TeacherRefused: from an actor, after the scenes before it are written.
    """
    ray = _ray()
    # Ray Data logs every execution plan at INFO; the progress bar says what a user needs.
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    if not ray.is_initialized():
        ray.init(**{"include_dashboard": False, "log_to_driver": False, **dict(init or {})})
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False

    counts: Counter[str] = Counter()
    spent = 0.0
    write = SceneWriter(dataset, total, progress, on_stats, lambda: {**counts, "spent": spent})

    def stats(blob: bytes) -> None:
        nonlocal spent
        if blob:  # the counters ride on each batch's first row only
            delta, actor_spent = pickle.loads(blob)
            counts.update(delta)
            spent = max(spent, actor_spent)

    jobs = iter(jobs)
    while block := tuple(islice(jobs, max(1, chunk or SCENES_PER_CHUNK))):  # itertools.batched is Python 3.12+
        _run_block(ray, settings, block, write, stats, actors, batch_size)
    return write.written


def _run_block(ray: Any, settings: Mapping[str, Any], block: tuple[Job, ...], write: SceneWriter,
               stats: Callable[[bytes], None], actors: int, batch_size: int) -> None:
    """One chunk of scenes through a ``ray.data`` pipeline, written in source order."""
    rows = [{"index": index, "job": pickle.dumps((scene, todo, seen))} for index, scene, todo, seen in block if todo]
    # Scenes with nothing to do are written (as nothing) between the ones Ray brings back, in order.
    waiting = deque(index for index, _, todo, _ in block if not todo)

    def flush_until(index: int | None) -> None:
        while waiting and (index is None or waiting[0] < index):
            write(waiting.popleft(), None)

    if rows:
        data = ray.data.from_items(rows).map_batches(
            _SceneActor, fn_constructor_args=(dict(settings),), batch_size=batch_size, batch_format="numpy",
            concurrency=min(actors, len(rows)), num_cpus=0.5)  # more actors than rows: Ray warns, idle
        for batch in data.iter_batches(batch_size=None, batch_format="numpy"):
            for index, blob, row_stats in zip(batch["index"], batch["result"], batch["stats"], strict=True):
                stats(row_stats)
                flush_until(int(index))
                kind, value = pickle.loads(blob)
                if kind == "error":
                    raise value.why if isinstance(value, EngineStopped) else value
                if kind == "bug":
                    raise RuntimeError(f"a Ray actor failed: {value}")
                write(int(index), value)
    flush_until(None)
