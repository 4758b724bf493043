"""generate() with LLM teachers against the fake chat server: both APIs, rejections, vision, budget, resume."""

from __future__ import annotations

import base64
import io
import json
import os
import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from groundv.cli import app
from groundv.engine import faketeacher
from groundv.engine.clients import make_client
from groundv.engine.engine import Engine
from groundv.engine.failures import TeacherUnavailable
from groundv.engine.fakeserver import FakeServer, Fault, FaultPlan
from groundv.engine.ledger import BudgetExhausted
from groundv.errors import ConfigError
from groundv.generate import estimate, generate, make_teacher, unit_rng
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.store import iter_samples, read_manifest
from groundv.tasks.registry import get_planner
from groundv.teachers.llm import TeacherConfig

DATASET_FILES = ("samples-", "rejections-", "completed.log", "manifest.json")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_toyworld(tmp_path_factory.mktemp("world"), 4, seed=2)


def dataset_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.name.startswith(DATASET_FILES)}


def llm(server: FakeServer, **extra) -> dict:
    return {"model": "fake-1", "base_url": f"{server.url}/v1", **extra}


@pytest.mark.parametrize(("teacher", "base"), [("openai", "/v1"), ("anthropic", "")])
def test_a_correct_teacher_gets_every_plan_accepted(world, tmp_path, teacher, base):
    with FakeServer(faketeacher.correct) as server:
        manifest = generate(ToyWorldSource(world), tmp_path, teacher=teacher,
                            llm={"model": "fake-1", "base_url": server.url + base, "params": {"temperature": 0}})
    assert manifest.complete and manifest.samples > 20 and manifest.rejected == 0
    assert {e.api for e in server.log} == {teacher} and len(server.log) == manifest.samples
    assert {e.mode for e in server.log} == ({"tool"} if teacher == "anthropic" else {"json_schema"})
    settings = manifest.settings["teacher"]
    assert settings["name"] == teacher and settings["model"] == "fake-1" and settings["params"] == {"temperature": 0}
    assert settings["prompt_versions"]["part"] == "v1" and "max_cost" not in str(manifest.settings)
    keys = set(server.keys())
    for sample in iter_samples(tmp_path):
        assert sample["teacher"] == {"name": teacher, "model": "fake-1", "prompt_version": "v1"}
        assert sample["provenance"]["teacher"]["api"] == teacher
        (use,) = sample["provenance"]["usage"]["requests"]
        assert use["key"] in keys and use["prompt_tokens"] > 0 and use["plans"] == 1


def test_a_wrong_teacher_is_retried_once_then_rejected_with_reason_codes(world, tmp_path):
    with FakeServer(faketeacher.wrong) as server:
        manifest = generate(ToyWorldSource(world), tmp_path, teacher="openai", llm=llm(server), limit=2)
    assert manifest.samples == 0 and manifest.rejected > 0
    assert set(manifest.rejections) == {"unknown_target", "no_target_mismatch"}
    assert len(server.log) == 2 * manifest.rejected  # the first question and its one feedback retry
    assert len(set(server.keys())) == len(server.log)  # the retry is never the identical prompt
    for rejection in iter_samples(tmp_path, "rejections"):
        assert rejection["target_ids"] == [faketeacher.UNKNOWN_ID] and rejection["detail"]
        assert len(rejection["usage"]["requests"]) == 2
        assert rejection["teacher"]["api"] == "openai" and rejection["teacher"]["model"] == "fake-1"
    retries = [e for e in server.log if len(faketeacher.user_texts(e.body)) == 5]
    assert retries and all("Your answer was not accepted: " in faketeacher.user_texts(e.body)[-1] for e in retries)


def test_a_model_that_never_writes_json_gets_rejections_not_a_stopped_run(world, tmp_path):
    # The engine retries prose itself (max_retries), then gives up; the unit is rejected, the run goes on.
    with FakeServer(lambda body: "Sure! Find the zebra in the picture.") as server:
        manifest = generate(ToyWorldSource(world), tmp_path, teacher="openai", limit=2, categories=["negative"],
                            llm={**llm(server), "max_retries": 1})
    assert manifest.complete and manifest.samples == 0
    assert manifest.rejections == {"invalid_answer": manifest.rejected} and manifest.rejected > 0
    rejection = next(iter_samples(tmp_path, "rejections"))
    assert rejection["detail"].startswith("the model gave no JSON answer (")
    assert "bad json" in rejection["detail"]
    assert len(server.log) == 2 * manifest.rejected  # one try + one engine retry per plan, never more


def test_off_schema_answers_become_invalid_answer_rejections(world, tmp_path):
    # (Text that is no JSON at all is retried by the engine itself, see groundv.engine.engine.)
    with FakeServer(lambda body: '{"note": "Sure! Here is a nice instruction."}') as server:
        manifest = generate(ToyWorldSource(world), tmp_path, teacher="openai", llm=llm(server), limit=1,
                            categories=["negative"])
    assert manifest.rejections == {"invalid_answer": manifest.rejected} and manifest.rejected > 0
    assert len(server.log) == 2 * manifest.rejected
    rejection = next(iter_samples(tmp_path, "rejections"))
    assert rejection["raw"] == '{"note": "Sure! Here is a nice instruction."}'
    assert rejection["detail"] == "the answer does not match the schema: missing key 'instruction'"


@pytest.mark.parametrize(("teacher", "base"), [("openai", "/v1"), ("anthropic", "")])
def test_vision_sends_the_downscaled_marked_image(world, tmp_path, teacher, base):
    with FakeServer(faketeacher.correct) as server:
        manifest = generate(ToyWorldSource(world), tmp_path, teacher=teacher, limit=1, categories=["part"],
                            llm={**llm(server, vision=True, image_size=200), "base_url": server.url + base})
    assert manifest.samples > 0 and manifest.settings["teacher"]["vision"] is True
    for exchange in server.log:
        (data,) = faketeacher.images(exchange.body)
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            assert image.format == "PNG" and image.size == (200, 150)  # the 320×240 toy image, downscaled


def test_batch_asks_once_per_unit_for_the_same_samples(world, tmp_path):
    with FakeServer(faketeacher.correct) as server:
        single = generate(ToyWorldSource(world), tmp_path / "single", teacher="openai", llm=llm(server))
        per_plan = len(server.log)
        batched = generate(ToyWorldSource(world), tmp_path / "batch", teacher="openai", llm=llm(server, batch=True))
    assert batched.samples == single.samples and batched.rejected == 0
    assert len(server.log) - per_plan == batched.data["units"] - sum(
        sum(c.values()) for c in batched.unsupported.values()) < per_plan
    assert [s["instruction"] for s in iter_samples(tmp_path / "single")] == \
        [s["instruction"] for s in iter_samples(tmp_path / "batch")]


def test_paraphrase_keeps_the_planners_targets(world, tmp_path):
    rules = generate(ToyWorldSource(world), tmp_path / "rules")
    with FakeServer(faketeacher.paraphrase) as server:
        manifest = generate(ToyWorldSource(world), tmp_path / "para", teacher="paraphrase", llm=llm(server))
    assert manifest.samples == rules.samples
    ruled, worded = list(iter_samples(tmp_path / "rules")), list(iter_samples(tmp_path / "para"))
    assert [s["target_ids"] for s in worded] == [s["target_ids"] for s in ruled]
    assert all(w["instruction"].startswith("Please, ") for w in worded)
    assert all(w["instruction"][8:].lower() == r["instruction"][0].lower() + r["instruction"][1:].lower()
               for w, r in zip(worded, ruled, strict=True))
    assert worded[0]["teacher"]["prompt_version"] == "paraphrase-v1"


def test_budget_stop_then_resume_equals_an_uninterrupted_run(world, tmp_path):
    with FakeServer(faketeacher.fixed_on_feedback) as server:
        whole = generate(ToyWorldSource(world), tmp_path / "whole", teacher="openai", llm=llm(server))
        paid_whole = len(server.log)
        server.log.clear()
        for cap in (7, 30):
            with pytest.raises(BudgetExhausted, match="request cap"):
                generate(ToyWorldSource(world), tmp_path / "capped", teacher="openai",
                         llm=llm(server, max_requests=cap, concurrency=4))
            stopped = read_manifest(tmp_path / "capped").data
            assert stopped["status"] == "stopped" and "request cap" in stopped["stopped"]
            assert len(server.log) <= cap
            # said once the answers in flight have landed: what the ledger holds, nothing "in flight"
            paid = len((tmp_path / "capped" / "ledger.jsonl").read_bytes().splitlines())
            assert f": {paid} paid requests of --max-requests {cap}" in stopped["stopped"]
        generate(ToyWorldSource(world), tmp_path / "capped", teacher="openai", llm=llm(server, max_requests=10_000))
    assert whole.complete and dataset_files(tmp_path / "capped") == dataset_files(tmp_path / "whole")
    assert len(server.keys()) == len(set(server.keys())) == paid_whole  # nothing was paid twice


def test_an_endpoint_that_keeps_failing_stops_the_run_and_says_why_in_the_manifest(world, tmp_path):
    with FakeServer(faketeacher.correct, faults=FaultPlan(["500"] * 100)) as server, \
            pytest.raises(TeacherUnavailable, match="500"):
        generate(ToyWorldSource(world), tmp_path, teacher="openai", llm={**llm(server), "max_retries": 1})
    stopped = read_manifest(tmp_path).data
    assert stopped["status"] == "stopped" and "gave no usable answer" in stopped["stopped"]


def test_answers_in_flight_when_the_endpoint_fails_are_kept_for_the_rerun(world, tmp_path):
    # The first request fails at once; three others are slow but answered. They were paid for, so the
    # run waits for them and caches them before it stops, and sends nothing new after the failure: the
    # rerun never sends them again.
    slow = Fault("slow", 0.5)
    with FakeServer(faketeacher.correct, faults=FaultPlan(["500", slow, slow, slow])) as server:
        with pytest.raises(TeacherUnavailable, match="500"):
            generate(ToyWorldSource(world), tmp_path, teacher="openai",
                     llm={**llm(server), "max_retries": 0, "concurrency": 4})
        answered = {e.key for e in server.log if e.status == 200}
        assert len(server.log) == 4 and len(answered) == 3
        assert read_manifest(tmp_path).data["status"] == "stopped"
        server.log.clear()
        generate(ToyWorldSource(world), tmp_path, teacher="openai", llm=llm(server))
        assert answered.isdisjoint(server.keys()) and server.log


def test_dry_run_sends_nothing_and_counts_what_would_be_sent(world, tmp_path):
    with FakeServer(faketeacher.correct) as server:
        guess = estimate(ToyWorldSource(world), teacher="openai", out_dir=tmp_path / "ds",
                         llm=llm(server, prices=(2.0, 8.0), params={"max_tokens": 100}))
        assert server.log == [] and not (tmp_path / "ds").exists()
        manifest = generate(ToyWorldSource(world), tmp_path / "ds", teacher="openai", llm=llm(server))
        again = estimate(ToyWorldSource(world), teacher="openai", out_dir=tmp_path / "ds", llm=llm(server))
    assert guess["requests"] == guess["plans"] == len(server.log) == manifest.samples
    assert guess["prompt_tokens"] > 1000 * guess["requests"] * 0.5 and guess["cached_requests"] == 0
    assert guess["prompt_cost"] == pytest.approx(guess["prompt_tokens"] * 2.0 / 1e6)
    assert guess["max_completion_cost"] == pytest.approx(guess["requests"] * 100 * 8.0 / 1e6)
    assert again["requests"] == 0 and again["cached_requests"] == guess["requests"]
    with pytest.raises(ConfigError, match="sends no requests"):
        estimate(ToyWorldSource(world), teacher="rules")


def test_settings_must_match_to_resume_but_budget_caps_need_not(world, tmp_path):
    with FakeServer(faketeacher.correct) as server:
        prices = (0.15, 0.6)  # a cost cap needs prices (test_max_cost_without_prices_is_refused)
        generate(ToyWorldSource(world), tmp_path, teacher="openai", llm=llm(server, max_cost=5.0, prices=prices),
                 limit=1)
        generate(ToyWorldSource(world), tmp_path, teacher="openai", llm=llm(server, max_cost=9.0, prices=prices),
                 limit=1)
        with pytest.raises(ConfigError, match="other settings: teacher.model"):
            generate(ToyWorldSource(world), tmp_path, teacher="openai", llm={**llm(server), "model": "other"})
        with pytest.raises(ConfigError, match="needs a model"):
            generate(ToyWorldSource(world), tmp_path / "x", teacher="anthropic", llm={})
        with pytest.raises(ConfigError, match="concurrently in one process"):
            generate(ToyWorldSource(world), tmp_path / "x", teacher="openai", llm=llm(server), workers=2)


def test_the_api_key_comes_from_the_environment_and_is_never_written(world, tmp_path, monkeypatch):
    secret = "sk-test-" + "9" * 24
    monkeypatch.setenv("GROUNDV_TEST_KEY", secret)
    with FakeServer(faketeacher.correct, api_key=secret) as server:
        manifest = generate(ToyWorldSource(world), tmp_path, teacher="openai", limit=1,
                            llm=llm(server, api_key_env="GROUNDV_TEST_KEY"))
    assert manifest.samples > 0
    with sqlite3.connect(tmp_path / "teacher-cache.sqlite") as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    monkeypatch.delenv("GROUNDV_TEST_KEY")
    with pytest.raises(ConfigError):
        generate(ToyWorldSource(world), tmp_path / "other", teacher="openai", limit=1,
                 llm=llm(server, api_key_env="GROUNDV_TEST_KEY"))


def test_cli_stops_at_max_cost_with_exit_code_3_and_resumes(world, tmp_path):
    runner = CliRunner()
    with FakeServer(faketeacher.correct) as server:
        base = ["generate", "--world", str(world), "--out", str(tmp_path / "ds"), "--teacher", "openai",
                "--model", "fake-1", "--base-url", f"{server.url}/v1", "--price-prompt", "10", "--concurrency", "2"]
        dry = runner.invoke(app, [*base, "--dry-run"])
        assert dry.exit_code == 0 and "requests to send" in dry.output and server.log == []
        stopped = runner.invoke(app, [*base, "--max-cost", "0.05"])
        assert stopped.exit_code == 3, stopped.output
        assert "stopped:" in stopped.output and "--max-cost 0.05" in stopped.output and "higher" in stopped.output
        stats = runner.invoke(app, ["stats", str(tmp_path / "ds")])
        assert stats.exit_code == 0 and "stopped: the cost cap is reached" in " ".join(stats.output.split())
        before = len(server.log)
        done = runner.invoke(app, [*base, "--max-cost", "100"])
        assert done.exit_code == 0, done.output
    assert read_manifest(tmp_path / "ds").complete and 0 < before < len(server.log)
    assert len(set(server.keys())) == len(server.log)
    assert not os.environ.get("GROUNDV_TEST_KEY")


def test_cli_batch_image_sends_one_request_per_image_and_refuses_unknown_modes(world, tmp_path):
    runner = CliRunner()
    with FakeServer(faketeacher.correct) as server:
        base = ["generate", "--world", str(world), "--teacher", "openai", "--model", "fake-1",
                "--base-url", f"{server.url}/v1"]
        done = runner.invoke(app, [*base, "--out", str(tmp_path / "ds"), "--batch", "image"])
        assert done.exit_code == 0, done.output
        assert len(server.log) == 4  # the world's four images, every category in one request each
        assert read_manifest(tmp_path / "ds").data["settings"]["teacher"]["batch"] == "image"
        wrong = runner.invoke(app, [*base, "--out", str(tmp_path / "other"), "--batch", "scene"])
        assert wrong.exit_code == 2 and "scene" in wrong.output and len(server.log) == 4


def test_respond_words_one_plan_through_an_engine(world):
    scene = next(iter(ToyWorldSource(world)))
    plan = get_planner("multi_object").plan(scene, unit_rng(0, scene.image_id, "multi_object"), limit=1)[0]
    with FakeServer(faketeacher.correct) as server, \
            Engine(make_client("openai", f"{server.url}/v1", api_key_env=None)) as engine:
        teacher = make_teacher("openai", TeacherConfig("fake-1"), engine=engine)
        output = teacher.respond(scene, plan, unit_rng(0, 1, "x"))
        assert output.target_ids == plan.target_ids and output.instruction.startswith("Segment")
        assert output.usage["requests"][0]["key"] == server.keys()[0]


def test_cli_refuses_llm_options_for_the_rules_teacher(world, tmp_path):
    result = CliRunner().invoke(app, ["generate", "--world", str(world), "--out", str(tmp_path), "--model", "m"])
    assert result.exit_code == 2 and "--model goes with an LLM teacher" in result.output


@pytest.mark.parametrize(("teacher", "api", "base", "structured", "mode"), [
    ("openai", None, "/v1", ("json_object",), "json_object"),
    ("openai", None, "/v1", (), "prompt"),
    ("paraphrase", "anthropic", "", (), "prompt"),
])
def test_structured_output_falls_back_and_is_recorded(world, tmp_path, teacher, api, base, structured, mode):
    play = faketeacher.paraphrase if teacher == "paraphrase" else faketeacher.correct
    with FakeServer(play, structured=structured) as server:
        manifest = generate(ToyWorldSource(world), tmp_path, teacher=teacher, limit=1, categories=["negative"],
                            llm={"model": "fake-1", "base_url": server.url + base, "api": api})
    assert manifest.samples > 0 and manifest.rejected == 0
    assert manifest.settings["teacher"]["api"] == (api or "openai")
    assert {u["mode"] for s in iter_samples(tmp_path) for u in s["provenance"]["usage"]["requests"]} == {mode}


def asked_categories(exchange) -> list[str]:
    """The categories a per-image request asks about, in order."""
    _, layout = faketeacher.asked(exchange.body)
    return [category for category, _ in layout]


@pytest.mark.parametrize(("teacher", "base", "mode"), [("openai", "/v1", "json_schema"), ("anthropic", "", "tool")])
def test_per_image_asks_once_per_image_for_the_same_samples(world, tmp_path, teacher, base, mode):
    with FakeServer(faketeacher.correct) as server:
        options = {"model": "fake-1", "base_url": server.url + base}
        unit = generate(ToyWorldSource(world), tmp_path / "unit", teacher=teacher, llm={**options, "batch": "unit"})
        server.log.clear()
        image = generate(ToyWorldSource(world), tmp_path / "image", teacher=teacher, llm={**options, "batch": "image"})
    assert image.samples == unit.samples > 20 and image.rejected == 0
    assert len(server.log) == image.data["images"] == 4  # one request per image, none per unit
    assert {e.mode for e in server.log} == {mode}
    by_image: dict = {}
    for sample in iter_samples(tmp_path / "image"):
        by_image.setdefault(sample["image"]["id"], []).append(sample["category"])
    planned = sorted([c for c in image.settings["categories"] if c in cats] for cats in by_image.values())
    assert sorted(asked_categories(e) for e in server.log) == planned and len(planned[0]) >= 4
    assert image.settings["teacher"]["batch"] == "image" and unit.settings["teacher"]["batch"] is True
    same = [(s["id"], s["instruction"], s["target_ids"]) for s in iter_samples(tmp_path / "image")]
    assert same == [(s["id"], s["instruction"], s["target_ids"]) for s in iter_samples(tmp_path / "unit")]
    keys = server.keys()
    for sample in iter_samples(tmp_path / "image"):
        assert sample["provenance"]["teacher"]["batch"] == "image"
        (use,) = sample["provenance"]["usage"]["requests"]
        assert use["key"] in keys and use["plans"] >= 10 and use["mode"] == mode


def test_per_image_retries_only_the_wrong_plan(world, tmp_path):
    def one_wrong(body):
        answer = json.loads(faketeacher.correct(body))
        if "Plans to answer again" not in faketeacher.user_texts(body)[-1]:
            answer["multi_object"][0]["target_ids"] = [faketeacher.UNKNOWN_ID]  # unknown_target, first try only
        return json.dumps(answer)

    with FakeServer(one_wrong) as server:
        manifest = generate(ToyWorldSource(world), tmp_path, teacher="openai", limit=2,
                            llm=llm(server, batch="image"))
    assert manifest.rejected == 0 and len(server.log) == 4  # two images, each one question + one retry
    retries = [e for e in server.log if "Plans to answer again" in faketeacher.user_texts(e.body)[-1]]
    assert len(retries) == 2
    for retry in retries:
        note = faketeacher.user_texts(retry.body)[-1]
        assert note.startswith("Your answer was not accepted: multi_object answer 1: unknown_target")
        assert asked_categories(retry) == ["multi_object"] and len(faketeacher.asked(retry.body)[0]) == 1
    samples = list(iter_samples(tmp_path))
    retried = [s["id"] for s in samples if len(s["provenance"]["usage"]["requests"]) == 2]
    first_multi = [next(s["id"] for s in samples if s["category"] == "multi_object" and s["image"]["id"] == image)
                   for image in (1, 2)]
    assert retried == first_multi


def test_per_image_rejects_what_stays_wrong_with_reason_codes(world, tmp_path):
    with FakeServer(faketeacher.wrong) as server:
        manifest = generate(ToyWorldSource(world), tmp_path, teacher="openai", llm=llm(server, batch="image"), limit=2)
    assert manifest.samples == 0 and set(manifest.rejections) == {"unknown_target", "no_target_mismatch"}
    assert len(server.log) == 4 and len(set(server.keys())) == 4
    for rejection in iter_samples(tmp_path, "rejections"):
        assert len(rejection["usage"]["requests"]) == 2 and rejection["teacher"]["batch"] == "image"


@pytest.mark.parametrize(("teacher", "api", "base", "structured", "mode"), [
    ("openai", None, "/v1", ("json_object",), "json_object"),
    ("openai", None, "/v1", (), "prompt"),
    ("anthropic", None, "", (), "prompt"),
    ("paraphrase", "anthropic", "", ("tool",), "tool"),
])
def test_per_image_structured_output_falls_back(world, tmp_path, teacher, api, base, structured, mode):
    play = faketeacher.paraphrase if teacher == "paraphrase" else faketeacher.correct
    with FakeServer(play, structured=structured) as server:
        manifest = generate(ToyWorldSource(world), tmp_path, teacher=teacher, limit=2,
                            llm={"model": "fake-1", "base_url": server.url + base, "api": api, "batch": "image"})
    assert manifest.samples > 10 and manifest.rejected == 0
    assert {u["mode"] for s in iter_samples(tmp_path) for u in s["provenance"]["usage"]["requests"]} == {mode}
    answered = [e for e in server.log if e.status == 200]
    assert len(answered) == 2 and all(e.mode == ("none" if mode == "prompt" else mode) for e in answered)
    if mode in ("json_object", "prompt"):  # the schema travels in the system prompt then
        body = answered[0].body
        system = str(body.get("system") or body["messages"][0]["content"])
        assert '"multi_object"' in system and "minItems" in system


def test_paraphrase_per_image_keeps_the_planners_targets_and_the_unit_words(world, tmp_path):
    with FakeServer(faketeacher.paraphrase) as server:
        unit = generate(ToyWorldSource(world), tmp_path / "unit", teacher="paraphrase", llm=llm(server, batch=True))
        server.log.clear()
        image = generate(ToyWorldSource(world), tmp_path / "image", teacher="paraphrase",
                         llm=llm(server, batch="image"))
    assert image.samples == unit.samples and len(server.log) == 4
    assert [(s["instruction"], s["target_ids"]) for s in iter_samples(tmp_path / "image")] == \
        [(s["instruction"], s["target_ids"]) for s in iter_samples(tmp_path / "unit")]


@pytest.mark.parametrize("teacher", ["openai", "anthropic"])
def test_per_image_vision_sends_each_image_once(world, tmp_path, teacher):
    base = "/v1" if teacher == "openai" else ""
    with FakeServer(faketeacher.correct) as server:
        manifest = generate(ToyWorldSource(world), tmp_path, teacher=teacher,
                            llm={**llm(server, vision=True, image_size=200, batch="image"),
                                 "base_url": server.url + base})
    assert manifest.samples > 20 and len(server.log) == 4
    sent = [faketeacher.images(e.body) for e in server.log]
    assert all(len(images) == 1 for images in sent) and len({images[0] for images in sent}) == 4
    with Image.open(io.BytesIO(base64.b64decode(sent[0][0]))) as image:
        assert image.size == (200, 150)


def test_per_image_dry_run_counts_one_request_per_image(world, tmp_path):
    with FakeServer(faketeacher.correct) as server:
        options = llm(server, batch="image", vision=True, prices=(2.0, 8.0), params={"max_tokens": 100})
        guess = estimate(ToyWorldSource(world), teacher="openai", out_dir=tmp_path / "ds", llm=options)
        unit = estimate(ToyWorldSource(world), teacher="openai", out_dir=tmp_path / "ds",
                        llm={**options, "batch": True})
        assert server.log == []
        manifest = generate(ToyWorldSource(world), tmp_path / "ds", teacher="openai", llm=options)
        again = estimate(ToyWorldSource(world), teacher="openai", out_dir=tmp_path / "ds", llm=options)
    assert guess["requests"] == guess["images"] == len(server.log) == guess["scenes"] == 4
    assert guess["plans"] == unit["plans"] == manifest.samples and unit["requests"] > 3 * guess["requests"]
    assert guess["prompt_tokens"] < unit["prompt_tokens"]
    assert guess["max_completion_cost"] == pytest.approx(4 * 100 * 8.0 / 1e6)
    assert again["requests"] == 0 and again["cached_requests"] == 4


def test_per_image_budget_stop_then_resume_equals_an_uninterrupted_run(world, tmp_path):
    with FakeServer(faketeacher.fixed_on_feedback) as server:
        whole = generate(ToyWorldSource(world), tmp_path / "whole", teacher="openai", llm=llm(server, batch="image"))
        paid_whole = len(server.log)
        server.log.clear()
        for cap in (1, 3, 6):
            with pytest.raises(BudgetExhausted, match="request cap"):
                generate(ToyWorldSource(world), tmp_path / "capped", teacher="openai",
                         llm=llm(server, batch="image", max_requests=cap, concurrency=2))
            assert read_manifest(tmp_path / "capped").data["status"] == "stopped" and len(server.log) <= cap
        generate(ToyWorldSource(world), tmp_path / "capped", teacher="openai",
                 llm=llm(server, batch="image", max_requests=10_000))
    assert whole.complete and paid_whole == 8  # four images, each a question and its retry
    assert dataset_files(tmp_path / "capped") == dataset_files(tmp_path / "whole")
    assert len(server.keys()) == len(set(server.keys())) == paid_whole  # nothing was paid twice


def test_per_image_resume_of_a_half_written_image_is_answered_from_the_cache(world, tmp_path):
    # A run killed while writing an image's units: the rest are asked with the very same request.
    with FakeServer(faketeacher.correct) as server:
        generate(ToyWorldSource(world), tmp_path, teacher="openai", llm=llm(server, batch="image"))
        whole = dataset_files(tmp_path)
        log = tmp_path / "completed.log"
        lines = log.read_bytes().splitlines(keepends=True)
        log.write_bytes(b"".join(lines[:-2]))  # the last image's last two units never happened
        server.log.clear()
        generate(ToyWorldSource(world), tmp_path, teacher="openai", llm=llm(server, batch="image"))
    assert server.log == [] and dataset_files(tmp_path) == whole


def test_batch_settings_must_match_to_resume_and_old_booleans_still_do(world, tmp_path):
    with FakeServer(faketeacher.correct) as server:
        generate(ToyWorldSource(world), tmp_path, teacher="openai", llm=llm(server, batch=True), limit=1)
        # a dataset recorded as "batch": true (before per-image mode) resumes under its new name
        generate(ToyWorldSource(world), tmp_path, teacher="openai", llm=llm(server, batch="unit"), limit=2)
        assert read_manifest(tmp_path).settings["teacher"]["batch"] is True
        with pytest.raises(ConfigError, match="other settings: teacher.batch"):
            generate(ToyWorldSource(world), tmp_path, teacher="openai", llm=llm(server, batch="image"))
        with pytest.raises(ConfigError, match="unknown request grouping"):
            generate(ToyWorldSource(world), tmp_path / "x", teacher="openai", llm=llm(server, batch="images"))


def test_respond_per_image_words_one_plan_in_the_per_image_form(world):
    scene = next(iter(ToyWorldSource(world)))
    plan = get_planner("part").plan(scene, unit_rng(0, scene.image_id, "part"), limit=1)[0]
    with FakeServer(faketeacher.correct) as server, \
            Engine(make_client("openai", f"{server.url}/v1", api_key_env=None)) as engine:
        teacher = make_teacher("openai", TeacherConfig("fake-1", batch="image"), engine=engine)
        output = teacher.respond(scene, plan, unit_rng(0, 1, "x"))
        assert output.target_ids == plan.target_ids and asked_categories(server.log[0]) == ["part"]


def test_max_cost_without_prices_is_refused(world, tmp_path):
    # without prices every answer costs 0.0: the cap would silently never stop the run
    with FakeServer(faketeacher.correct) as server:
        for call in (generate, estimate):
            with pytest.raises(ConfigError, match="needs the prices") as error:
                call(ToyWorldSource(world), out_dir=tmp_path / "ds", teacher="openai",
                     llm=llm(server, max_cost=2.0))
            assert "--price-prompt" in (error.value.hint or "")
        assert server.log == [] and not (tmp_path / "ds").exists()
        generate(ToyWorldSource(world), tmp_path / "ok", teacher="openai", limit=1,
                 llm=llm(server, max_cost=2.0, prices=(0.0, 0.6)))
    runner = CliRunner()
    refused = runner.invoke(app, ["generate", "--world", str(world), "--out", str(tmp_path / "cli"), "--teacher",
                                  "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--max-cost", "1"])
    assert refused.exit_code != 0 and "needs the prices" in " ".join(refused.output.split())
