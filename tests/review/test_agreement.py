"""Acceptance and Cohen's κ against hand-computed values."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundv.review.agreement import cohen_kappa, review_stats
from groundv.review.reviews import ReviewLog, replay


def test_kappa_matches_a_hand_computed_example() -> None:
    # 10 samples: both accept 6, both reject 2, rater 1 accepts/rater 2 rejects 1, the other way 1.
    # p_o = 8/10; rater 1 accepts 7/10, rater 2 accepts 7/10; p_e = .7·.7 + .3·.3 = .58;
    # κ = (.8 - .58) / (1 - .58) = .22 / .42 = 0.523810.
    pairs = [("accept", "accept")] * 6 + [("reject", "reject")] * 2 + [("accept", "reject"), ("reject", "accept")]
    assert cohen_kappa(pairs) == (0.52381, None)


def test_kappa_is_undefined_with_a_reason() -> None:
    assert cohen_kappa([]) == (None, "no sample has two verdicts yet")
    kappa, why = cohen_kappa([("accept", "accept")] * 5)
    assert kappa is None and "chance agreement is 1" in (why or "")
    assert cohen_kappa([("accept", "reject"), ("reject", "accept")]) == (-1.0, None)


def test_review_stats_per_category(tmp_path: Path) -> None:
    samples = {"a": {"category": "part"}, "b": {"category": "part"}, "c": {"category": "negative"},
               "d": {"category": "negative"}}
    log = ReviewLog(tmp_path)
    for sid, ana, bob in (("a", "accept", "accept"), ("b", "reject", "accept"), ("c", "reject", "reject")):
        for who, verdict in (("ana", ana), ("bob", bob)):
            log.append({"sample": sid, "reviewer": who, "action": verdict,
                        **({"reasons": ["ambiguous"]} if verdict == "reject" else {})})
    log.append({"sample": "zzz", "reviewer": "ana", "action": "accept"})  # not in the dataset: left out
    stats = review_stats(samples, replay(tmp_path))
    part, negative = stats["by_category"]["part"], stats["by_category"]["negative"]
    assert (part["verdicts"], part["accepted"], part["acceptance"], part["pairs"]) == (4, 3, 0.75, 2)
    # part pairs: (accept, accept), (reject, accept): p_o = .5, p_e = .5·1 + .5·0 = .5 → κ = 0.
    assert part["kappa"] == 0.0 and part["reasons"] == {"ambiguous": 1}
    assert negative["kappa"] is None and negative["acceptance"] == 0.0 and negative["samples"] == 2
    # all: pairs (a,a), (r,a), (r,r): p_o = 2/3; rater 1 accepts 1/3, rater 2 2/3; p_e = 2/9 + 2/9 = 4/9;
    # κ = (2/3 - 4/9) / (5/9) = 0.4.
    assert stats["all"]["kappa"] == pytest.approx(0.4) and stats["all"]["verdicts"] == 6
