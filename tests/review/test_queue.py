"""The stratified queue and the blind two-reviewer assignment."""

from __future__ import annotations

from pathlib import Path

from groundv.review.queue import ReviewQueue, stratified_order
from groundv.review.reviews import ReviewLog, ReviewState, replay


def _samples() -> list[dict]:
    out = []
    for category, n in (("part", 6), ("negative", 2), ("reasoning", 3)):
        out += [{"id": f"{category}{i}", "category": category, "image": {"source": "coco"}} for i in range(n)]
    out += [{"id": f"lvis{i}", "category": "part", "image": {"source": "lvis"}} for i in range(2)]
    return out


def test_strata_are_dealt_round_robin_and_the_seed_fixes_the_order() -> None:
    order = stratified_order(_samples(), seed=0)
    assert sorted(order) == sorted(s["id"] for s in _samples())
    # The first four cover every (category, source) stratum once.
    assert {o.rstrip("0123456789") for o in order[:4]} == {"negative", "part", "reasoning", "lvis"}
    assert order == stratified_order(_samples(), seed=0) and order != stratified_order(_samples(), seed=1)


def test_one_reviewer_mode_hands_each_sample_out_once(tmp_path: Path) -> None:
    queue, log = ReviewQueue(_samples()), ReviewLog(tmp_path)
    seen = []
    while (sid := queue.next("ana", log.refresh())) is not None:
        seen.append(sid)
        log.append({"sample": sid, "reviewer": "ana", "action": "accept"})
    assert sorted(seen) == sorted(s["id"] for s in _samples())
    assert queue.next("bob", replay(tmp_path)) is None
    assert queue.progress("ana", replay(tmp_path)) == {"done": 13, "left": 0, "complete": 13, "total": 13}


def test_two_reviewer_mode_shows_each_sample_to_two_different_reviewers(tmp_path: Path) -> None:
    queue, log = ReviewQueue(_samples(), reviewers=2), ReviewLog(tmp_path)
    given: dict[str, list[str]] = {}
    for who in ("ana", "bob", "cy"):
        while (sid := queue.next(who, log.refresh())) is not None:
            given.setdefault(sid, []).append(who)
            log.append({"sample": sid, "reviewer": who, "action": "accept"})
    assert all(len(set(w)) == 2 for w in given.values()) and len(given) == 13
    assert "cy" not in {w for ws in given.values() for w in ws}  # ana and bob covered everything


def test_a_sample_on_someone_s_screen_is_leased_and_the_queue_narrows() -> None:
    queue, state = ReviewQueue(_samples(), reviewers=1), ReviewState()
    first = queue.next("ana", state, category="negative")
    assert first is not None and first.startswith("negative")
    assert queue.next("bob", state, category="negative") not in (None, first)  # the lease keeps ana's
    assert queue.next("ana", state, category="negative") == first  # asking again gives the same one
    assert queue.next("ana", state, source="lvis", skip=["lvis0"]) == "lvis1"
