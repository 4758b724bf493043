"""The review log: ``DIR/reviews.jsonl``, one JSON line per reviewer action, replayed to the current state.

Nothing a reviewer does is ever rewritten or deleted: every key press that changes something is one
appended line, so the file is both the audit trail and the state. Replaying it from the start gives
each (sample, reviewer) pair's current :class:`Review`.

==========  =======================================================================================
action      fields (besides ``action_id``, ``sample``, ``reviewer``, ``action``, ``time``)
==========  =======================================================================================
accept      ``note`` (optional)
reject      ``reasons`` (codes from :data:`REASONS`, at least one), ``note``
edit        ``instruction``, ``response``: the reviewer's wording (the shards keep the original)
toggle      ``region`` (the id switched), ``targets`` (the whole new target list) and ``mask`` (their
            union, recomputed with :func:`groundv.masks.union`), so the log needs no source to replay
flag        ``region``, ``flagged`` (bool): the source's mask of that region is bad
undo        ``undoes``: the ``action_id`` of the reviewer's latest action on that sample still in force
==========  =======================================================================================

Writes are safe against crashes and against other writers: each line is written with one ``write``
call on a descriptor opened ``O_APPEND``, under an exclusive ``fcntl`` lock, and fsynced. A line torn
by a crash (no newline at the end of the file) is closed with a newline before the next line, so it
becomes one corrupt line: reported and skipped on replay, never fatal and never glued to a good one.

Example:
    >>> log = ReviewLog(tmp)  # doctest: +SKIP
    >>> log.append({"sample": "0123abcd", "reviewer": "ana", "action": "accept"})  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from groundv import masks
from groundv.errors import InputError
from groundv.masks import RLE
from groundv.store import append_line

__all__ = ["ACTIONS", "REASONS", "REVIEWS_FILE", "Review", "ReviewLog", "ReviewState", "check_action", "replay"]

#: the review log's file name, inside the dataset folder
REVIEWS_FILE = "reviews.jsonl"
#: every action a reviewer can take
ACTIONS: tuple[str, ...] = ("accept", "reject", "edit", "toggle", "flag", "undo")
#: reject reason codes → what they mean (shown in the page)
REASONS: dict[str, str] = {
    "wrong_target": "the mask covers something the instruction does not mean",
    "missing_target": "something the instruction means is not in the mask",
    "ambiguous": "the instruction could mean more than one thing",
    "bad_text": "the instruction or response is badly written",
    "hallucinated": "the response states something not in the image",
    "bad_mask": "a source mask is wrong (flag the region too)",
    "other": "anything else (say what in the note)",
}
_MAX_TEXT = 10_000  # characters of an instruction, response or note: a paste accident, not a review


@dataclass
class Review:
    """One reviewer's current view of one sample (the log replayed).

    Attributes:
        sample: the sample id.
        reviewer: the reviewer's name.
        verdict: ``accept``, ``reject`` or None (not decided yet).
        reasons: the reject reason codes.
        note: the note given with the verdict.
        instruction, response: the reviewer's edited text, None when not edited.
        targets, mask: the reviewer's target ids and their union mask, None when not changed.
        flags: region ids whose source mask the reviewer flagged as bad.
        applied: ids of the actions in force, oldest first (the last one is what undo takes back).
        verdict_at: the log position of the verdict in force (orders reviewers for Cohen's κ).
    """

    sample: str
    reviewer: str
    verdict: str | None = None
    reasons: tuple[str, ...] = ()
    note: str = ""
    instruction: str | None = None
    response: str | None = None
    targets: list[int] | None = None
    mask: RLE | None = None
    flags: set[int] = field(default_factory=set)
    applied: list[str] = field(default_factory=list)
    verdict_at: int | None = None

    @property
    def edited(self) -> bool:
        """Whether the reviewer changed the text or the targets."""
        return self.instruction is not None or self.response is not None or self.targets is not None

    def to_json(self) -> dict[str, Any]:
        return {"sample": self.sample, "reviewer": self.reviewer, "verdict": self.verdict,
                "reasons": list(self.reasons), "note": self.note, "instruction": self.instruction,
                "response": self.response, "targets": self.targets, "flags": sorted(self.flags),
                "actions": len(self.applied), "edited": self.edited}


def check_action(record: Any) -> str | None:
    """Why ``record`` is not a valid review action, or None when it is."""
    if not isinstance(record, dict):
        return "not a JSON object"
    for key in ("action_id", "sample", "reviewer", "action"):
        if not isinstance(record.get(key), str) or not record[key]:
            return f"missing or empty {key!r}"
    action = record["action"]
    if action not in ACTIONS:
        return f"unknown action {action!r}"
    for key in ("note", "instruction", "response"):
        if key in record and (not isinstance(record[key], str) or len(record[key]) > _MAX_TEXT):
            return f"{key!r} must be a string of at most {_MAX_TEXT} characters"
    if action == "reject":
        reasons = record.get("reasons")
        if not isinstance(reasons, list) or not reasons or any(r not in REASONS for r in reasons):
            return f"a reject needs reason codes among {', '.join(REASONS)}"
    elif action == "edit":
        if not isinstance(record.get("instruction"), str) or not isinstance(record.get("response"), str):
            return "an edit needs 'instruction' and 'response'"
        if not record["instruction"].strip():
            return "the instruction may not be empty"
    elif action in ("toggle", "flag"):
        if not _is_int(record.get("region")):
            return f"a {action} needs an integer 'region'"
        if action == "flag" and not isinstance(record.get("flagged"), bool):
            return "a flag needs 'flagged': true or false"
        if action == "toggle":
            targets, mask = record.get("targets"), record.get("mask")
            if not isinstance(targets, list) or not all(_is_int(t) for t in targets):
                return "a toggle needs 'targets', a list of region ids"
            if not (isinstance(mask, dict) and isinstance(mask.get("counts"), str)
                    and isinstance(mask.get("size"), list) and len(mask["size"]) == 2):
                return "a toggle needs 'mask', a compressed RLE"
            if masks.check_runs([mask])[0] is not None:  # type: ignore[list-item]
                return "the toggle's mask RLE is corrupt"
    elif action == "undo" and not isinstance(record.get("undoes"), str):
        return "an undo needs 'undoes', an action id"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class ReviewState:
    """Every (sample, reviewer) pair's :class:`Review`, built by applying actions in log order.

    Attributes:
        reviews: ``{sample id: {reviewer: Review}}``.
        actions: ``{action id: action}`` of every valid action applied.
        corrupt: ``(where, why)`` of every line skipped.
        count: valid actions applied.
    """

    def __init__(self) -> None:
        self.reviews: dict[str, dict[str, Review]] = {}
        self.actions: dict[str, dict[str, Any]] = {}
        self.corrupt: list[tuple[str, str]] = []
        self.count = 0

    def review(self, sample: str, reviewer: str) -> Review:
        """The reviewer's review of the sample (an empty one when they have done nothing)."""
        return self.reviews.get(sample, {}).get(reviewer) or Review(sample, reviewer)

    def of_sample(self, sample: str) -> dict[str, Review]:
        """Every reviewer's review of one sample."""
        return self.reviews.get(sample, {})

    def apply(self, action: Mapping[str, Any], where: str) -> None:
        """Apply one action read at ``where``; an invalid one is recorded in :attr:`corrupt`."""
        problem = check_action(action)
        if problem is None and action["action_id"] in self.actions:
            problem = f"action id {action['action_id']} appears twice"
        if problem is None and action["action"] == "undo":
            target = self.actions.get(action["undoes"])
            if target is None or (target["sample"], target["reviewer"]) != (action["sample"], action["reviewer"]):
                problem = f"undoes {action['undoes']!r}, which is not an action of this reviewer on this sample"
            elif action["undoes"] not in self.review(action["sample"], action["reviewer"]).applied:
                problem = f"undoes {action['undoes']!r}, which is not in force"
        if problem is not None:
            self.corrupt.append((where, problem))
            return
        self.actions[action["action_id"]] = dict(action)
        self.count += 1
        per_sample = self.reviews.setdefault(action["sample"], {})
        current = per_sample.get(action["reviewer"]) or Review(action["sample"], action["reviewer"])
        applied = list(current.applied)
        if action["action"] == "undo":
            applied.remove(action["undoes"])
        else:
            applied.append(action["action_id"])
        per_sample[action["reviewer"]] = self._fold(action["sample"], action["reviewer"], applied)

    def _fold(self, sample: str, reviewer: str, applied: list[str]) -> Review:
        # Folding from scratch makes undo exact: the state is what the actions still in force say.
        review = Review(sample, reviewer, applied=applied)
        for action_id in applied:
            a = self.actions[action_id]
            kind = a["action"]
            if kind in ("accept", "reject"):
                review.verdict, review.note = kind, a.get("note", "")
                review.reasons = tuple(a.get("reasons", ())) if kind == "reject" else ()
                review.verdict_at = a.get("_at")
            elif kind == "edit":
                review.instruction, review.response = a["instruction"], a["response"]
            elif kind == "toggle":
                review.targets, review.mask = list(a["targets"]), {"size": list(a["mask"]["size"]),
                                                                   "counts": a["mask"]["counts"]}
            elif kind == "flag":
                (review.flags.add if a["flagged"] else review.flags.discard)(int(a["region"]))
        return review


class ReviewLog:
    """``DIR/reviews.jsonl``: append actions, and keep a :class:`ReviewState` up to date with the file.

    The state follows the file, not this object's own writes, so several processes (or several
    servers on one dataset) can share one log: :meth:`refresh` reads whatever was appended since.
    """

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / REVIEWS_FILE
        self.state = ReviewState()
        self._offset = 0
        self._line = 0
        self._lock = threading.Lock()

    def refresh(self) -> ReviewState:
        """Apply every complete line appended since the last call; returns the state."""
        with self._lock:
            if not self.path.is_file():
                return self.state
            with self.path.open("rb") as f:
                if os.fstat(f.fileno()).st_size < self._offset:
                    # The file was replaced by a shorter one (restored from a backup): replay it from the start.
                    self.state, self._offset, self._line = ReviewState(), 0, 0
                f.seek(self._offset)
                data = f.read()
            end = data.rfind(b"\n") + 1  # a line still being written (or torn) waits for its newline
            for line in data[:end].splitlines():
                self._line += 1
                if not line.strip():
                    continue
                where = f"{self.path}: line {self._line}"
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    self.state.corrupt.append((where, f"not valid JSON ({exc.msg})"))
                    continue
                if isinstance(record, dict):
                    record["_at"] = self._line
                self.state.apply(record, where)
            self._offset += end
            return self.state

    def append(self, action: Mapping[str, Any]) -> dict[str, Any]:
        """Write one action (``action_id`` and ``time`` added) and return it as written.

        Raises:
            InputError: the action is not valid (the message says why); nothing is written.
        """
        record = {"action_id": uuid.uuid4().hex, "time": datetime.now(UTC).isoformat(timespec="seconds"),
                  **{k: v for k, v in action.items() if k not in ("action_id", "time", "_at")}}
        problem = check_action(record)
        if problem is not None:
            raise InputError(f"not a valid review action: {problem}", file=self.path)
        # locked, fsynced, and a line torn by a crash is closed first, so it stays one corrupt line
        append_line(self.path, orjson.dumps(record, option=orjson.OPT_SORT_KEYS))
        return record

def replay(directory: str | Path) -> ReviewState:
    """The review state of a dataset folder, from its whole ``reviews.jsonl`` (empty when there is none)."""
    return ReviewLog(directory).refresh()
