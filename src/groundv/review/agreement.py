"""Acceptance and inter-reviewer agreement (Cohen's κ) per category, from the replayed review log.

For κ, a sample counts when at least two reviewers gave it a verdict; its first two verdicts (in log
order) are rater 1 and rater 2, since in the blind two-reviewer mode reviewers change from sample to
sample and only the order is shared. With p_o the observed agreement and p_e the agreement expected
by chance from each rater's own accept rate::

    κ = (p_o − p_e) / (1 − p_e)

κ is undefined (None, with the reason) when no sample has two verdicts, or when p_e = 1 (both raters
gave one and the same verdict to every sample: agreement says nothing then).

Example:
    >>> cohen_kappa([("accept", "accept"), ("reject", "reject"), ("accept", "reject"), ("accept", "accept")])
    (0.5, None)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from groundv.review.reviews import ReviewState

__all__ = ["cohen_kappa", "review_stats"]


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> tuple[float | None, str | None]:
    """Cohen's κ of two raters' accept/reject verdicts; ``(None, reason)`` when it is undefined."""
    if not pairs:
        return None, "no sample has two verdicts yet"
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first = sum(a == "accept" for a, _ in pairs) / n
    second = sum(b == "accept" for _, b in pairs) / n
    chance = first * second + (1 - first) * (1 - second)
    if chance >= 1.0:
        return None, "both reviewers gave the same verdict to every sample (chance agreement is 1)"
    return round((observed - chance) / (1 - chance), 6), None


def review_stats(samples: Mapping[str, Mapping[str, Any]], state: ReviewState) -> dict[str, Any]:
    """Per category and overall: verdicts, accepted, acceptance, samples with two verdicts, κ.

    Args:
        samples: ``{sample id: record}`` of the dataset (reviews of unknown ids are left out).
        state: the replayed review log.
    """
    rows: dict[str, dict[str, Any]] = {}
    pairs_by: dict[str, list[tuple[str, str]]] = {}
    reasons: dict[str, dict[str, int]] = {}
    for sid, record in samples.items():
        category = str(record.get("category"))
        row = rows.setdefault(category, {"samples": 0, "verdicts": 0, "accepted": 0})
        row["samples"] += 1
        decided = sorted((r for r in state.of_sample(sid).values() if r.verdict is not None),
                         key=lambda r: r.verdict_at or 0)
        row["verdicts"] += len(decided)
        row["accepted"] += sum(r.verdict == "accept" for r in decided)
        for r in decided:
            for code in r.reasons:
                reasons.setdefault(category, {}).setdefault(code, 0)
                reasons[category][code] += 1
        if len(decided) >= 2:
            pairs_by.setdefault(category, []).append((str(decided[0].verdict), str(decided[1].verdict)))
    total = {"samples": 0, "verdicts": 0, "accepted": 0}
    for category, row in rows.items():
        for key in total:
            total[key] += row[key]
        _finish(row, pairs_by.get(category, []), reasons.get(category, {}))
    all_reasons: dict[str, int] = {}
    for per in reasons.values():
        for code, n in per.items():
            all_reasons[code] = all_reasons.get(code, 0) + n
    overall = dict(total)
    _finish(overall, [p for ps in pairs_by.values() for p in ps], all_reasons)
    return {"by_category": dict(sorted(rows.items())), "all": overall}


def _finish(row: dict[str, Any], pairs: list[tuple[str, str]], reasons: dict[str, int]) -> None:
    row["acceptance"] = round(row["accepted"] / row["verdicts"], 6) if row["verdicts"] else None
    row["pairs"] = len(pairs)
    row["kappa"], row["kappa_note"] = cohen_kappa(pairs)
    row["reasons"] = dict(sorted(reasons.items()))
