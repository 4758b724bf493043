"""The Ground-V test split from human review: ``groundv split DIR --test-from-reviews``.

A sample joins the test split when it has verdicts from at least ``reviewers`` reviewers (two by
default, the blind two-reviewer mode of ``groundv review``) and every one of them accepted it. The
rest of the reviewed samples are discarded; the discard rate per category is the paper's "23.1% of
the test samples were discarded by the reviewers" measured on our data. Samples without enough
verdicts yet are *pending* and counted apart.

Reviewers' edits are applied: a changed instruction or response, and changed targets with the union
mask recomputed when they were toggled (stored in ``reviews.jsonl``). When two reviewers changed the
same field differently the sample is discarded as a conflict (counted under ``conflicting_edits``);
an edit made by one reviewer is applied (the other accepted the sample the first one fixed).

Writes, both inside the dataset folder and nothing else:

* ``DIR/test.jsonl``: the kept samples (the §3.1 contract, checked with
  :meth:`groundv.sample.Sample.from_json`), each with ``"split": "test"`` and a ``review`` object
  (reviewers, the fields edited, the original values of edited fields); shard order;
* ``manifest.json``: a ``test_split`` field with the counts, the discard rate per category, the reject
  reasons, acceptance and Cohen's κ per category.

The original shards are never changed. ``groundv items --benchmark groundv DIR --split test`` reads
``test.jsonl``.

Example:
    >>> report = make_test_split("ds")  # doctest: +SKIP
    >>> report.by_category["part"]["discard_rate"]  # doctest: +SKIP
    0.2
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from groundv.errors import ConfigError, InputError
from groundv.review.agreement import review_stats
from groundv.review.reviews import REVIEWS_FILE, Review, replay
from groundv.sample import Sample
from groundv.store import MANIFEST, read_lenient, read_manifest, write_atomic

__all__ = ["TEST_FILE", "SplitReport", "make_test_split"]

#: the test split's file, inside the dataset folder
TEST_FILE = "test.jsonl"
_EDITABLE = ("instruction", "response", "targets")


@dataclass
class SplitReport:
    """What :func:`make_test_split` found and wrote.

    Attributes:
        path: the test split file.
        reviewers: verdicts a sample needed.
        samples: samples in the dataset.
        reviewed: samples with enough verdicts.
        kept: samples in the test split.
        pending: samples without enough verdicts yet.
        edited: kept samples with a reviewer's edit applied.
        by_category: per category: reviewed, kept, discarded, discard_rate, reasons, acceptance, kappa.
        corrupt: ``(where, why)`` of every corrupt line skipped (samples or reviews).
    """

    path: Path
    reviewers: int
    samples: int = 0
    reviewed: int = 0
    kept: int = 0
    pending: int = 0
    edited: int = 0
    by_category: dict[str, dict[str, Any]] = field(default_factory=dict)
    corrupt: list[tuple[str, str]] = field(default_factory=list)

    @property
    def discarded(self) -> int:
        return self.reviewed - self.kept

    @property
    def discard_rate(self) -> float | None:
        return round(self.discarded / self.reviewed, 6) if self.reviewed else None

    def to_json(self) -> dict[str, Any]:
        """The manifest's ``test_split`` field."""
        return {"file": self.path.name, "reviewers": self.reviewers, "samples": self.kept,
                "dataset_samples": self.samples, "reviewed": self.reviewed, "discarded": self.discarded,
                "discard_rate": self.discard_rate, "pending": self.pending, "edited": self.edited,
                "by_category": self.by_category, "corrupt_lines": len(self.corrupt), "reviews": REVIEWS_FILE}


def _merge_edits(sample: dict[str, Any], reviews: list[Review]) -> tuple[dict[str, Any] | None, list[str]]:
    """The sample with the reviewers' edits applied and the fields edited; None on conflicting edits."""
    out, edited = dict(sample), []
    for name in _EDITABLE:
        values = {}
        for r in reviews:
            value = r.targets if name == "targets" else getattr(r, name)
            if value is not None:
                values[orjson.dumps(sorted(value) if name == "targets" else value)] = r
        if len(values) > 1:
            return None, []
        if not values:
            continue
        r = next(iter(values.values()))
        if name == "targets":
            if sorted(r.targets or []) == sorted(sample["target_ids"]):
                continue
            out["target_ids"], out["mask"], out["no_target"] = sorted(r.targets or []), r.mask, not r.targets
        else:
            if getattr(r, name) == sample[name]:
                continue
            out[name] = getattr(r, name)
        edited.append(name)
    return out, edited


def make_test_split(directory: str | Path, *, reviewers: int = 2) -> SplitReport:
    """Write ``DIR/test.jsonl`` and the manifest's ``test_split`` from ``DIR/reviews.jsonl``.

    Args:
        directory: a dataset folder that has been reviewed with ``groundv review``.
        reviewers: verdicts a sample needs (2: accepted by both reviewers; 1 for a single-reviewer review).

    Raises:
        InputError: not a dataset folder, or no review log.
        ConfigError: ``reviewers`` is not 1 or 2, or no sample has that many verdicts yet.
    """
    directory = Path(directory)
    read_manifest(directory)
    if reviewers not in (1, 2):
        raise ConfigError(f"--reviewers must be 1 or 2, got {reviewers}")
    if not (directory / REVIEWS_FILE).is_file():
        raise InputError(f"no {REVIEWS_FILE} here: nothing has been reviewed", file=directory,
                         hint="review the samples first: groundv review DIR")
    report = SplitReport(directory / TEST_FILE, reviewers)
    state = replay(directory)
    report.corrupt.extend(state.corrupt)
    samples: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("samples-*.jsonl")):
        for _, record in read_lenient(path, lambda where, why: report.corrupt.append((where, why))):
            samples[record["id"]] = record
    report.samples = len(samples)
    kept: list[bytes] = []
    rows: dict[str, dict[str, Any]] = {}
    most = 0
    for sid, sample in samples.items():
        category = str(sample.get("category"))
        row = rows.setdefault(category, {"reviewed": 0, "kept": 0, "pending": 0, "reasons": Counter()})
        decided = [r for r in state.of_sample(sid).values() if r.verdict is not None]
        most = max(most, len(decided))
        if len(decided) < reviewers:
            row["pending"] += 1
            report.pending += 1
            continue
        row["reviewed"] += 1
        report.reviewed += 1
        if any(r.verdict != "accept" for r in decided):
            row["reasons"].update(code for r in decided for code in r.reasons)
            continue
        merged, edited = _merge_edits(sample, decided)
        if merged is None:
            row["reasons"]["conflicting_edits"] += 1
            continue
        merged["split"] = "test"
        merged["review"] = {"reviewers": sorted(r.reviewer for r in decided), "edited": edited,
                            "original": {k: sample["target_ids" if k == "targets" else k] for k in edited}}
        Sample.from_json(merged, file=report.path, where=f"sample {sid}")  # an edit must keep the contract
        kept.append(orjson.dumps(merged, option=orjson.OPT_SORT_KEYS) + b"\n")
        row["kept"] += 1
        report.kept += 1
        report.edited += bool(edited)
    if report.reviewed == 0:
        hint = ("samples have one verdict at most: pass --reviewers 1 for a single-reviewer review"
                if reviewers == 2 and most == 1 else "review more samples with groundv review")
        raise ConfigError(f"no sample has {reviewers} verdicts yet", hint=hint)
    stats = review_stats(samples, state)["by_category"]
    for category, row in rows.items():
        discarded = row["reviewed"] - row["kept"]
        row.update({"discarded": discarded,
                    "discard_rate": round(discarded / row["reviewed"], 6) if row["reviewed"] else None,
                    "reasons": dict(sorted(row["reasons"].items())),
                    "acceptance": stats[category]["acceptance"], "kappa": stats[category]["kappa"],
                    "kappa_note": stats[category]["kappa_note"]})
    report.by_category = dict(sorted(rows.items()))
    write_atomic(report.path, b"".join(kept))
    manifest = read_manifest(directory).data
    manifest["test_split"] = report.to_json()
    write_atomic(directory / MANIFEST, orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
                  + b"\n")
    return report
