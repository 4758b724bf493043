"""Which sample a reviewer sees next: queues stratified by category and source, one or two reviewers each.

The order is fixed by the seed: samples are grouped by (category, source), each group shuffled, and the
groups dealt round-robin, so that any first stretch of reviews covers every category and source about
evenly (a reviewer who stops after 200 samples still leaves a usable sample of each). A queue can be
narrowed to one category and/or one source.

With ``reviewers=2`` each sample is shown to two different reviewers, blind: the queue counts how many
other reviewers have given a verdict (or hold the sample on screen now, a lease of
:data:`LEASE_SECONDS`) and never says what they decided.

Example:
    >>> q = ReviewQueue([{"id": "a", "category": "part", "image": {"source": "coco"}}])
    >>> q.next("ana", ReviewState())
    'a'
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from groundv.review.reviews import ReviewState

__all__ = ["LEASE_SECONDS", "ReviewQueue", "stratified_order"]

#: how long a sample handed to a reviewer counts as theirs before another reviewer may get it instead
LEASE_SECONDS = 600.0


def _stratum(sample: Mapping[str, Any]) -> tuple[str, str]:
    return str(sample.get("category")), str((sample.get("image") or {}).get("source"))


def stratified_order(samples: Sequence[Mapping[str, Any]], *, seed: int = 0) -> list[str]:
    """Sample ids, each (category, source) group shuffled and the groups interleaved round-robin."""
    groups: dict[tuple[str, str], list[str]] = {}
    for s in samples:
        groups.setdefault(_stratum(s), []).append(str(s["id"]))
    for key, ids in groups.items():
        random.Random(f"{seed}:{key[0]}:{key[1]}").shuffle(ids)
    order: list[str] = []
    lanes = [groups[k] for k in sorted(groups)]
    for i in range(max(map(len, lanes), default=0)):
        order.extend(lane[i] for lane in lanes if i < len(lane))
    return order


class ReviewQueue:
    """Hands out samples to reviewers.

    Args:
        samples: the sample records (``id``, ``category``, ``image.source`` are used).
        reviewers: verdicts wanted per sample (1, or 2 for the blind two-reviewer mode).
        seed: fixes the order.
    """

    def __init__(self, samples: Sequence[Mapping[str, Any]], *, reviewers: int = 1, seed: int = 0) -> None:
        if reviewers not in (1, 2):
            raise ValueError(f"reviewers must be 1 or 2, got {reviewers}")
        self.reviewers = reviewers
        self.order = stratified_order(samples, seed=seed)
        self.strata = {str(s["id"]): _stratum(s) for s in samples}
        self._leases: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def _wanted(self, sample: str, reviewer: str, state: ReviewState, now: float) -> bool:
        reviews = state.of_sample(sample)
        if reviewer in reviews and reviews[reviewer].verdict is not None:
            return False
        others = {r for r, v in reviews.items() if r != reviewer and v.verdict is not None}
        others |= {r for r, t in self._leases.get(sample, {}).items() if r != reviewer and now - t < LEASE_SECONDS}
        return len(others) < self.reviewers

    def next(self, reviewer: str, state: ReviewState, *, category: str | None = None, source: str | None = None,
             skip: Sequence[str] = ()) -> str | None:
        """The next sample for ``reviewer`` (leased to them), or None when their queue is empty.

        Args:
            reviewer: who asks.
            state: the replayed review log.
            category, source: narrow the queue to one stratum.
            skip: ids not to hand out now (the ones the reviewer skipped this session).
        """
        now, skipped = time.monotonic(), set(skip)
        with self._lock:
            for sample in self.order:
                cat, src = self.strata[sample]
                if (category and cat != category) or (source and src != source) or sample in skipped:
                    continue
                if self._wanted(sample, reviewer, state, now):
                    self._leases.setdefault(sample, {})[reviewer] = now
                    return sample
        return None

    def progress(self, reviewer: str, state: ReviewState) -> dict[str, int]:
        """``done`` by this reviewer, ``left`` for them, ``complete`` samples (enough verdicts), ``total``."""
        done = complete = left = 0
        now = time.monotonic()
        with self._lock:
            for sample in self.order:
                reviews = state.of_sample(sample)
                verdicts = sum(v.verdict is not None for v in reviews.values())
                mine = reviewer in reviews and reviews[reviewer].verdict is not None
                done += mine
                complete += verdicts >= self.reviewers
                left += self._wanted(sample, reviewer, state, now)
        return {"done": done, "left": left, "complete": complete, "total": len(self.order)}
