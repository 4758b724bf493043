"""reviews.jsonl: append, replay, undo, corrupt lines, writers at once."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pytest

from groundv import masks
from groundv.errors import InputError
from groundv.review.reviews import REVIEWS_FILE, ReviewLog, check_action, replay

MASK = masks.empty(4, 5)


def test_actions_replay_to_the_current_state(tmp_path: Path) -> None:
    log = ReviewLog(tmp_path)
    log.append({"sample": "s1", "reviewer": "ana", "action": "edit", "instruction": "Segment the mug.",
                "response": "Here."})
    log.append({"sample": "s1", "reviewer": "ana", "action": "toggle", "region": 7, "targets": [3, 7], "mask": MASK})
    log.append({"sample": "s1", "reviewer": "ana", "action": "flag", "region": 3, "flagged": True})
    log.append({"sample": "s1", "reviewer": "ana", "action": "reject", "reasons": ["bad_mask"], "note": "3 leaks"})
    log.append({"sample": "s1", "reviewer": "bob", "action": "accept"})
    state = replay(tmp_path)
    ana, bob = state.review("s1", "ana"), state.review("s1", "bob")
    assert (ana.verdict, ana.reasons, ana.note) == ("reject", ("bad_mask",), "3 leaks")
    assert (ana.instruction, ana.response, ana.targets, ana.flags) == ("Segment the mug.", "Here.", [3, 7], {3})
    assert ana.mask == MASK and ana.edited
    assert bob.verdict == "accept" and not bob.edited
    assert state.review("s2", "ana").verdict is None and state.count == 5


def test_undo_takes_back_the_latest_action_in_force(tmp_path: Path) -> None:
    log = ReviewLog(tmp_path)
    first = log.append({"sample": "s", "reviewer": "ana", "action": "accept"})
    second = log.append({"sample": "s", "reviewer": "ana", "action": "reject", "reasons": ["ambiguous"]})
    log.append({"sample": "s", "reviewer": "ana", "action": "undo", "undoes": second["action_id"]})
    assert replay(tmp_path).review("s", "ana").verdict == "accept"
    log.append({"sample": "s", "reviewer": "ana", "action": "undo", "undoes": first["action_id"]})
    state = replay(tmp_path)
    assert state.review("s", "ana").verdict is None
    # Undoing an action twice, or another reviewer's, is reported and skipped.
    log.append({"sample": "s", "reviewer": "ana", "action": "undo", "undoes": first["action_id"]})
    log.append({"sample": "s", "reviewer": "bob", "action": "undo", "undoes": second["action_id"]})
    state = replay(tmp_path)
    assert [why for _, why in state.corrupt] == [
        f"undoes {first['action_id']!r}, which is not in force",
        f"undoes {second['action_id']!r}, which is not an action of this reviewer on this sample"]
    assert state.review("s", "ana").verdict is None


def test_every_line_is_one_action_with_an_id_and_a_time(tmp_path: Path) -> None:
    log = ReviewLog(tmp_path)
    written = log.append({"sample": "s", "reviewer": "ana", "action": "accept", "action_id": "forged"})
    lines = (tmp_path / REVIEWS_FILE).read_bytes().splitlines()
    assert len(lines) == 1 and orjson.loads(lines[0]) == written
    assert written["action_id"] != "forged" and len(written["action_id"]) == 32 and written["time"].endswith("+00:00")


@pytest.mark.parametrize(("action", "why"), [
    ({"action": "reject"}, "a reject needs reason codes"),
    ({"action": "reject", "reasons": ["nope"]}, "a reject needs reason codes"),
    ({"action": "edit", "instruction": " ", "response": "x"}, "the instruction may not be empty"),
    ({"action": "toggle", "region": "3", "targets": [], "mask": MASK}, "a toggle needs an integer 'region'"),
    ({"action": "toggle", "region": 3, "targets": [3], "mask": {"size": [4, 5], "counts": "0"}}, "mask RLE is corrupt"),
    ({"action": "flag", "region": 3}, "a flag needs 'flagged'"),
    ({"action": "launch"}, "unknown action 'launch'"),
    ({"action": "accept", "note": "x" * 10_001}, "'note' must be a string"),
])
def test_invalid_actions_are_refused_and_nothing_is_written(tmp_path: Path, action: dict, why: str) -> None:
    record = {"sample": "s", "reviewer": "ana", **action}
    with pytest.raises(InputError, match=why):
        ReviewLog(tmp_path).append(record)
    assert not (tmp_path / REVIEWS_FILE).exists()
    assert why in (check_action({"action_id": "a", **record}) or "")


def test_corrupt_lines_are_reported_and_skipped_never_fatal(tmp_path: Path) -> None:
    log = ReviewLog(tmp_path)
    log.append({"sample": "s", "reviewer": "ana", "action": "accept"})
    with (tmp_path / REVIEWS_FILE).open("ab") as f:
        f.write(b"{not json\n")
        f.write(b'["a list"]\n')
        f.write(b'{"action_id": "x", "sample": "s", "reviewer": "bob", "action": "dance"}\n')
        f.write(b'{"action_id": "y", "sample": "t", "reviewer": "bob", "act')  # torn by a crash: no newline
    state = replay(tmp_path)
    assert [where.rsplit(": ", 1)[1] for where, _ in state.corrupt] == ["line 2", "line 3", "line 4"]
    assert "not valid JSON" in state.corrupt[0][1] and "unknown action 'dance'" in state.corrupt[2][1]
    # The next append closes the torn line first: it becomes one corrupt line, the new one stays whole.
    log.append({"sample": "t", "reviewer": "bob", "action": "accept"})
    state = replay(tmp_path)
    assert [where.rsplit(": ", 1)[1] for where, _ in state.corrupt] == ["line 2", "line 3", "line 4", "line 5"]
    assert state.review("t", "bob").verdict == "accept" and state.review("s", "ana").verdict == "accept"


def test_refresh_reads_only_what_was_appended_since(tmp_path: Path) -> None:
    reader, writer = ReviewLog(tmp_path), ReviewLog(tmp_path)
    assert reader.refresh().count == 0
    writer.append({"sample": "s", "reviewer": "ana", "action": "accept"})
    assert reader.refresh().count == 1
    writer.append({"sample": "s", "reviewer": "bob", "action": "accept"})
    state = reader.refresh()
    assert state.count == 2 and set(state.of_sample("s")) == {"ana", "bob"}
    (tmp_path / REVIEWS_FILE).write_bytes(b"")  # replaced by a shorter file: replayed from the start
    writer.append({"sample": "t", "reviewer": "cy", "action": "accept"})
    state = reader.refresh()
    assert state.count == 1 and not state.of_sample("s") and state.review("t", "cy").verdict == "accept"


def test_two_threads_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    log = ReviewLog(tmp_path)

    def write(who: str) -> None:
        for i in range(150):
            log.append({"sample": f"s{i}", "reviewer": who, "action": "accept", "note": who * 50})

    threads = [threading.Thread(target=write, args=(w,)) for w in ("ana", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = replay(tmp_path)
    assert state.count == 300 and not state.corrupt
    assert all(state.review(f"s{i}", w).verdict == "accept" for i in range(150) for w in ("ana", "bob"))


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    script = ("import sys; from groundv.review.reviews import ReviewLog\n"
              "log = ReviewLog(sys.argv[1])\n"
              "for i in range(100):\n"
              "    log.append({'sample': f's{i}', 'reviewer': sys.argv[2], 'action': 'accept', 'note': 'x' * 3000})\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), who]) for who in ("ana", "bob")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    state = replay(tmp_path)
    assert state.count == 200 and not state.corrupt
