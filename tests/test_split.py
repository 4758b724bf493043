"""groundv split DIR --test-from-reviews: the test split from two reviewers' verdicts."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from groundv.benchmarks import read_benchmark
from groundv.cli import app
from groundv.errors import ConfigError, InputError
from groundv.generate import generate
from groundv.review.reviews import REVIEWS_FILE, ReviewLog
from groundv.review.session import ReviewSession
from groundv.sample import Sample
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.split import TEST_FILE, make_test_split
from groundv.store import read_manifest

runner = CliRunner()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("split")
    generate(ToyWorldSource(write_toyworld(root / "world", 3, seed=5)), root / "ds", seed=2)
    return root / "ds"


@pytest.fixture
def dataset(generated: Path, tmp_path: Path) -> Path:
    out = tmp_path / "ds"
    shutil.copytree(generated, out)
    return out


def _by_category(directory: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted(directory.glob("samples-*.jsonl")):
        for line in path.read_bytes().splitlines():
            s = orjson.loads(line)
            out.setdefault(s["category"], []).append(s["id"])
    return out


def _verdict(log: ReviewLog, sid: str, who: str, verdict: str, reason: str = "ambiguous") -> None:
    log.append({"sample": sid, "reviewer": who, "action": verdict,
                **({"reasons": [reason]} if verdict == "reject" else {})})


def test_accepted_by_both_reviewers_form_the_test_split(dataset: Path) -> None:
    cats = _by_category(dataset)
    part, neg = cats["part"], cats["negative"]
    log = ReviewLog(dataset)
    # part: 4 reviewed — both accept ×2 (one with an edit), one rejects ×1, both reject ×1; 1 pending.
    _verdict(log, part[0], "ana", "accept")
    _verdict(log, part[0], "bob", "accept")
    session = ReviewSession(dataset, reviewers=2)
    scene = session.scene(session.samples[part[1]])
    extra = next(r.id for r in scene.regions if r.id not in session.samples[part[1]]["target_ids"] and not r.iscrowd)
    session.act(part[1], "ana", {"action": "toggle", "region": extra})
    session.act(part[1], "ana", {"action": "edit", "instruction": "Segment those two.", "response": "Both."})
    _verdict(log, part[1], "ana", "accept")
    _verdict(log, part[1], "bob", "accept")
    _verdict(log, part[2], "ana", "accept")
    _verdict(log, part[2], "bob", "reject", "wrong_target")
    _verdict(log, part[3], "ana", "reject", "bad_mask")
    _verdict(log, part[3], "bob", "reject", "bad_mask")
    _verdict(log, part[4], "ana", "accept")  # pending: one verdict
    # negative: 2 reviewed — both accept but edit the text differently (a conflict), both accept.
    for who, text in (("ana", "Find the zebra."), ("bob", "Where is the zebra?")):
        log.append({"sample": neg[0], "reviewer": who, "action": "edit", "instruction": text, "response": "None."})
        _verdict(log, neg[0], who, "accept")
    _verdict(log, neg[1], "ana", "accept")
    _verdict(log, neg[1], "bob", "accept")

    report = make_test_split(dataset)
    assert (report.reviewed, report.kept, report.discarded, report.pending, report.edited) == (6, 3, 3, 1 + sum(
        len(v) for v in cats.values()) - 7, 1)
    assert report.discard_rate == 0.5
    records = [orjson.loads(line) for line in (dataset / TEST_FILE).read_bytes().splitlines()]
    order = [sid for path in sorted(dataset.glob("samples-*.jsonl")) for sid in
             (orjson.loads(line)["id"] for line in path.read_bytes().splitlines())]
    kept = [sid for sid in order if sid in {part[0], part[1], neg[1]}]
    assert [r["id"] for r in records] == kept  # shard order
    records = sorted(records, key=lambda r: [part[0], part[1], neg[1]].index(r["id"]))
    for r in records:
        Sample.from_json(r)  # still a valid §3.1 sample
        assert r["split"] == "test" and r["review"]["reviewers"] == ["ana", "bob"]
    edited = records[1]
    original = session.samples[part[1]]
    assert edited["instruction"] == "Segment those two." and edited["response"] == "Both."
    assert edited["target_ids"] == sorted({*original["target_ids"], extra})
    assert edited["mask"] == session.current(part[1], "ana")["mask"] and edited["mask"] != original["mask"]
    assert edited["review"]["edited"] == ["instruction", "response", "targets"]
    assert edited["review"]["original"]["instruction"] == original["instruction"]
    assert edited["review"]["original"]["targets"] == original["target_ids"]

    manifest = read_manifest(dataset).data["test_split"]
    assert manifest["file"] == TEST_FILE and manifest["samples"] == 3 and manifest["discard_rate"] == 0.5
    p, n = manifest["by_category"]["part"], manifest["by_category"]["negative"]
    assert (p["reviewed"], p["kept"], p["discarded"], p["discard_rate"], p["pending"]) == (4, 2, 2, 0.5, len(part) - 4)
    assert p["reasons"] == {"bad_mask": 2, "wrong_target": 1}
    # part pairs: (a,a), (a,a), (a,r), (r,r): p_o = .75; ana accepts .75, bob .5; p_e = .375 + .125 = .5 → κ = .5
    # acceptance counts every verdict, the pending sample's too: 6 accepts of 9.
    assert p["kappa"] == 0.5 and p["acceptance"] == 0.666667
    assert (n["reviewed"], n["kept"], n["discard_rate"], n["reasons"]) == (2, 1, 0.5, {"conflicting_edits": 1})
    assert n["kappa"] is None and "chance agreement" in n["kappa_note"]
    assert manifest["by_category"]["reasoning"]["discard_rate"] is None

    # The existing benchmark reader takes the reviewed split as the Ground-V test benchmark.
    items = list(read_benchmark("groundv", [dataset], split="test"))
    assert [i.id for i in items] == kept
    item = next(i for i in items if i.id == part[1])
    assert item.expression == "Segment those two." and item.mask == edited["mask"]
    assert len(list(read_benchmark("groundv", [dataset], split="all"))) == sum(len(v) for v in cats.values())


def test_single_reviewer_mode_must_be_asked_for(dataset: Path) -> None:
    ids = _by_category(dataset)["multi_object"]
    log = ReviewLog(dataset)
    _verdict(log, ids[0], "ana", "accept")
    _verdict(log, ids[1], "ana", "reject")
    with pytest.raises(ConfigError, match="no sample has 2 verdicts") as caught:
        make_test_split(dataset)
    assert "--reviewers 1" in (caught.value.hint or "")
    report = make_test_split(dataset, reviewers=1)
    assert (report.reviewed, report.kept, report.by_category["multi_object"]["discard_rate"]) == (2, 1, 0.5)


def test_corrupt_review_lines_are_reported_not_fatal(dataset: Path) -> None:
    ids = _by_category(dataset)["part"]
    log = ReviewLog(dataset)
    _verdict(log, ids[0], "ana", "accept")
    with (dataset / REVIEWS_FILE).open("ab") as f:
        f.write(b"garbage\n")
    _verdict(log, ids[0], "bob", "accept")
    report = make_test_split(dataset)
    assert report.kept == 1 and len(report.corrupt) == 1 and report.corrupt[0][0].endswith("line 2")
    assert read_manifest(dataset).data["test_split"]["corrupt_lines"] == 1


def test_no_reviews_is_a_clear_error(dataset: Path) -> None:
    with pytest.raises(InputError, match="nothing has been reviewed"):
        make_test_split(dataset)
    with pytest.raises(ConfigError, match="must be 1 or 2"):
        make_test_split(dataset, reviewers=3)


def test_cli_split(dataset: Path) -> None:
    ids = _by_category(dataset)["reasoning"]
    log = ReviewLog(dataset)
    for who in ("ana", "bob"):
        _verdict(log, ids[0], who, "accept")
        _verdict(log, ids[1], who, "reject")
    result = runner.invoke(app, ["split", str(dataset), "--test-from-reviews"])
    assert result.exit_code == 0, result.output
    assert "reasoning" in result.output and "50.0%" in result.output and "wrote 1 test samples" in result.output
    assert runner.invoke(app, ["split", str(dataset)]).exit_code == 2
    items = tmp = dataset.parent / "items.jsonl"
    result = runner.invoke(app, ["items", "--benchmark", "groundv", str(dataset), "--split", "test", "--out", str(tmp)])
    assert result.exit_code == 0, result.output
    assert [orjson.loads(line)["id"] for line in items.read_bytes().splitlines()] == [ids[0]]
