"""groundv reproduce: the quick run end to end (slow), and the summary, checks, table and chart (fast)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from PIL import Image
from typer.testing import CliRunner

from groundv.cli import app
from groundv.errors import ConfigError
from groundv.reproduce import QUICK, ReproduceConfig, reproduce, run_names
from groundv.reproduce.report import draw_chart, markdown, summarise
from groundv.tasks.plan import CATEGORIES

runner = CliRunner()


def metrics(giou: float, n_acc: float | None = 50.0, **by_category: float) -> dict:
    cats = {c: {"giou": by_category.get(c, giou), "ciou": giou, "n_acc": None} for c in ("referring", *CATEGORIES)}
    return {"giou": giou, "ciou": giou, "n_acc": n_acc, "t_acc": 90.0, "by_category": cats}


def test_runs_are_the_baseline_the_full_mix_and_five_leave_one_outs():
    runs = run_names(True)
    assert runs["baseline"] == ("referring",)
    assert runs["groundv"] == ("referring", *CATEGORIES)
    assert runs["without-part"] == ("referring", "negative", "multi_object", "reasoning", "multi_granularity")
    assert len(runs) == 7 and list(run_names(False)) == ["baseline", "groundv"]


def test_checks_are_computed_from_paired_seeds_never_assumed():
    runs = {
        "baseline": {0: metrics(20, 0.0), 1: metrics(22, 0.0)},
        "groundv": {0: metrics(30, 80.0, part=10), 1: metrics(31, 85.0, part=12)},
        "without-negative": {0: metrics(25, 5.0), 1: metrics(26, 90.0)},
        "without-part": {0: metrics(29, 80.0, part=15), 1: metrics(30, 80.0, part=15)},
    }
    result = summarise(runs, {"empty": metrics(10, 100.0)}, settings={"seeds": [0, 1]},
                       counts={"train": {}, "test": {}}, seconds=1.0)
    verdicts = {c["check"]: (c["verdict"], c["seeds_positive"]) for c in result["checks"]}
    assert verdicts["Ground-V lifts overall gIoU"] == ("holds", 2)
    assert verdicts["removing negatives hurts N-Acc"] == ("mixed", 1)  # +75 and −5: mean positive, one seed not
    assert verdicts["part helps its own subset"] == ("does not hold", 0)
    assert "reasoning helps its own subset" not in verdicts  # that run was not trained
    assert result["runs"]["groundv"]["overall"]["giou"]["mean"] == pytest.approx(30.5)
    assert result["runs"]["groundv"]["overall"]["giou"]["sd"] == pytest.approx(0.7071, abs=1e-3)
    table = markdown(result)
    assert "| `groundv` | 30.5 ± 0.7 |" in table and "**does not hold**" in table and "`empty` (no training)" in table
    chart = draw_chart(result)
    assert chart.width > 600 and chart.getbbox() is not None


def test_bad_settings_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(ConfigError, match="test scenes"):
        reproduce(tmp_path / "a", ReproduceConfig(scenes=10, test_scenes=10))
    with pytest.raises(ConfigError, match="seeds"):
        reproduce(tmp_path / "b", ReproduceConfig(seeds=(1, 1)))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "mine.txt").write_text("x")
    with pytest.raises(ConfigError, match="holds no reproduction"):
        reproduce(tmp_path / "c", QUICK)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch", reason="groundv reproduce needs the 'student' extra (torch)")
    out = tmp_path_factory.mktemp("reproduce") / "quick"
    result = runner.invoke(app, ["reproduce", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Expected patterns" in result.output and "results (" in result.output
    return out


@pytest.mark.slow
def test_quick_run_trains_evaluates_and_writes_the_table(quick_run):
    results = orjson.loads((quick_run / "results.json").read_bytes())
    student = results["runs"]["groundv"]["overall"]
    # the smoke test's bar: a trained student grounds better than the trivial baselines
    assert student["giou"]["mean"] > results["baselines"]["largest"]["overall"]["giou"]
    assert student["t_acc"]["mean"] > results["baselines"]["empty"]["overall"]["t_acc"]
    assert set(results["runs"]) == {"baseline", "groundv"}
    assert results["counts"]["test"]["negative"] > 0 and results["counts"]["train"]["referring"] > 0
    assert {c["check"] for c in results["checks"]} >= {"negatives teach rejection (N-Acc)"}
    table = (quick_run / "table.md").read_text()
    assert "gIoU per test subset" in table and "| `baseline` |" in table
    with Image.open(quick_run / "chart.png") as chart:
        assert chart.width > 600
    for run in ("baseline", "groundv"):
        assert (quick_run / "runs" / run / "seed-0" / "predictions.jsonl").is_file()


@pytest.mark.slow
def test_a_finished_reproduction_is_reused_and_other_settings_are_refused(quick_run):
    models = sorted((quick_run / "runs").glob("*/seed-0/model/model.pt"))
    stamps = [p.stat().st_mtime_ns for p in models]
    again = reproduce(quick_run, QUICK)  # every step's files are there: nothing is trained again
    assert [p.stat().st_mtime_ns for p in models] == stamps
    assert again["runs"]["groundv"]["overall"]["giou"]["values"] == orjson.loads(
        (quick_run / "results.json").read_bytes())["runs"]["groundv"]["overall"]["giou"]["values"]
    with pytest.raises(ConfigError, match="other settings"):
        reproduce(quick_run, ReproduceConfig(scenes=QUICK.scenes + 1, test_scenes=60, seeds=(0,)))
