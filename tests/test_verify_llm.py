"""The LLM verifier (groundv.verify_llm through groundv.verify) against the fake chat server."""

from __future__ import annotations

import base64
import io
import json
import shutil
from collections import Counter
from typing import Any

import orjson
import pytest
from PIL import Image
from typer.testing import CliRunner

from groundv.cli import app
from groundv.engine.fakeserver import FakeServer
from groundv.engine.faketeacher import images, user_texts
from groundv.engine.ledger import BudgetExhausted
from groundv.errors import ConfigError
from groundv.export.base import open_dataset_source, scenes_for
from groundv.generate import generate
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.store import iter_samples, read_manifest
from groundv.teachers.llm import region_list
from groundv.verify import VERDICTS_FILE, make_verifier, verify
from groundv.verify_llm import PROMPT_VERSION

runner = CliRunner()
QUESTION = "\n\nInstruction:\n"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify-llm")
    world = write_toyworld(root / "world", 3, seed=4)
    generate(ToyWorldSource(world), root / "ds", categories=["negative", "multi_object", "part"])
    return root / "ds"


@pytest.fixture
def dataset(generated, tmp_path):
    return shutil.copytree(generated, tmp_path / "ds")


@pytest.fixture(scope="module")
def truth(generated):
    """(region list JSON, instruction) → the sample's targets: what a perfect verifier answers."""
    samples = list(iter_samples(generated))
    scenes = scenes_for(open_dataset_source(generated), {s["image"]["id"] for s in samples})
    table = {}
    for s in samples:
        key = (orjson.dumps(region_list(scenes[s["image"]["id"]])), s["instruction"])
        assert table.setdefault(key, sorted(s["target_ids"])) == sorted(s["target_ids"])
        table[key] = sorted(s["target_ids"])
    return table


def question(body: dict[str, Any]) -> tuple[bytes, str]:
    """The region list and instruction of the request (the last user turn that asks; feedback skipped)."""
    text = next(t for t in reversed(user_texts(body)) if QUESTION in t)
    regions, instruction = text.split(QUESTION, 1)
    return orjson.dumps(json.loads(regions.split("Regions:\n", 1)[1])), json.loads(instruction)


def correct(truth):
    return lambda body: json.dumps({"target_ids": truth[question(body)], "unsure": False})


def wrong(truth):
    def answer(body):
        regions, instruction = question(body)
        want = truth[(regions, instruction)]
        return json.dumps({"target_ids": [] if want else [json.loads(regions)[0]["id"]], "unsure": False})
    return answer


def verdicts(directory):
    return [orjson.loads(line) for line in (directory / VERDICTS_FILE).read_bytes().splitlines()]


def llm(server, **extra):
    return {"model": "fake-1", "base_url": f"{server.url}/v1", **extra}


@pytest.mark.parametrize(("teacher", "base"), [("openai", "/v1"), ("anthropic", "")])
def test_a_correct_verifier_agrees_and_records_model_prompt_and_usage(dataset, truth, teacher, base):
    samples = list(iter_samples(dataset))
    with FakeServer(correct(truth)) as server:
        summary = verify(dataset, teacher=teacher, llm={"model": "fake-1", "base_url": server.url + base})
    assert summary.new == Counter({"agree": len(samples)}) and len(server.log) == len(samples)
    assert {e.mode for e in server.log} == ({"tool"} if teacher == "anthropic" else {"json_schema"})
    records = verdicts(dataset)
    assert [r["id"] for r in records] == [s["id"] for s in samples]  # sample order, whatever the interleaving
    keys = set(server.keys())
    for sample, record in zip(samples, records, strict=True):
        assert record["verdict"] == "agree" and record["expected_ids"] == sorted(sample["target_ids"])
        assert record["verifier"]["name"] == teacher and record["verifier"]["model"] == "fake-1"
        assert record["verifier"]["prompt_version"] == PROMPT_VERSION and record["verifier"]["vision"] is False
        (use,) = record["usage"]["requests"]
        assert use["key"] in keys and use["prompt_tokens"] > 0 and use["completion_tokens"] > 0
    # the verifier sees the instruction, never the answer it checks
    body = server.log[0].body
    assert samples[0]["response"] not in json.dumps(body) and "target_ids\": [" not in user_texts(body)[-1]


def test_a_wrong_verifier_disagrees_and_its_answer_is_stored(dataset, truth):
    with FakeServer(wrong(truth)) as server:
        summary = verify(dataset, teacher="openai", llm=llm(server))
    samples = {s["id"]: s for s in iter_samples(dataset)}
    assert summary.new == Counter({"disagree": len(samples)}) and len(server.log) == len(samples)
    for record in verdicts(dataset):
        named = json.loads(record["answer"])["target_ids"]
        assert record["verdict"] == "disagree" and record["expected_ids"] == named
        assert named != sorted(samples[record["id"]]["target_ids"])
        assert str(named) in record["detail"]


def test_explicit_unsure_is_asked_once_and_off_schema_twice(dataset):
    with FakeServer(lambda body: '{"target_ids": [], "unsure": true}') as server:
        summary = verify(dataset, teacher="openai", llm=llm(server))
    n = sum(summary.new.values())
    assert summary.new == Counter({"unsure": n}) and len(server.log) == n
    assert all(r["expected_ids"] is None and "unsure" in r["detail"] for r in verdicts(dataset))

    (dataset / VERDICTS_FILE).unlink()
    with FakeServer(lambda body: '{"note": "looks fine to me"}') as server:  # a fresh cache: ask again
        summary = verify(dataset, teacher="openai", llm=llm(server, cache=dataset / "other-cache.sqlite"))
    assert summary.new == Counter({"unsure": n}) and len(server.log) == 2 * n  # one feedback retry each
    retries = [user_texts(e.body)[-1] for e in server.log if len(user_texts(e.body)) == 4]
    assert len(retries) == n
    assert all(t.startswith("Your answer was not accepted: the answer does not match the schema") for t in retries)
    record = verdicts(dataset)[0]
    assert record["detail"].startswith("no usable answer after the feedback retry")
    assert record["answer"] == '{"note": "looks fine to me"}' and len(record["usage"]["requests"]) == 2


def test_unknown_region_ids_get_one_feedback_retry(dataset, truth):
    def answer(body):
        if "Your answer was not accepted" in user_texts(body)[-1]:
            return correct(truth)(body)
        return '{"target_ids": [987654321], "unsure": false}'

    with FakeServer(answer) as server:
        summary = verify(dataset, teacher="openai", llm=llm(server))
    n = sum(summary.new.values())
    assert summary.new == Counter({"agree": n}) and len(server.log) == 2 * n
    retries = [user_texts(e.body)[-1] for e in server.log if len(user_texts(e.body)) == 4]
    assert len(retries) == n and all("ids [987654321] are not regions of this image" in t for t in retries)


def test_no_json_within_the_engines_retries_is_unsure_not_a_crash(dataset):
    with FakeServer(lambda body: "I think it is the dog.") as server:
        summary = verify(dataset, teacher="openai", llm=llm(server, max_retries=0))
    n = sum(summary.new.values())
    assert summary.new == Counter({"unsure": n}) and len(server.log) == n
    assert verdicts(dataset)[0]["detail"].startswith("the model gave no JSON answer")


def test_a_second_run_sends_nothing_the_cache_answers_a_rerun(dataset, truth):
    with FakeServer(correct(truth)) as server:
        verify(dataset, teacher="openai", llm=llm(server))
        first = (dataset / VERDICTS_FILE).read_bytes()
        sent = len(server.log)
        again = verify(dataset, teacher="openai", llm=llm(server))
        assert again.new == Counter() and again.skipped_existing == sent and again.total == Counter({"agree": sent})
        (dataset / VERDICTS_FILE).unlink()
        verify(dataset, teacher="openai", llm=llm(server))
        assert len(server.log) == sent  # every answer came from DIR/teacher-cache.sqlite
    assert (dataset / VERDICTS_FILE).read_bytes() == first
    assert (dataset / "teacher-cache.sqlite").is_file() and (dataset / "verifier-ledger.jsonl").is_file()


def test_another_verifier_verdicts_the_samples_again(dataset, truth):
    with FakeServer(wrong(truth)) as server:
        verify(dataset, teacher="openai", llm=llm(server))
    rules = verify(dataset)  # the LLM's verdicts do not count as the rules verifier's
    n = sum(rules.new.values())
    assert rules.skipped_existing == 0 and rules.total == rules.new == Counter({"agree": n})
    assert len(verdicts(dataset)) == 2 * n


def test_vision_sends_the_downscaled_marked_image(dataset, truth):
    with FakeServer(correct(truth)) as server:
        summary = verify(dataset, teacher="openai", llm=llm(server, vision=True, image_size=200))
    assert summary.new == Counter({"agree": len(server.log)})
    for exchange in server.log:
        (data,) = images(exchange.body)
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            assert image.format == "PNG" and image.size == (200, 150)  # the 320×240 toy image, downscaled
    assert verdicts(dataset)[0]["verifier"]["image_size"] == 200


def test_budget_stop_keeps_an_ordered_prefix_and_resumes_without_paying_twice(dataset, truth):
    samples = [s["id"] for s in iter_samples(dataset)]
    with FakeServer(correct(truth)) as server:
        with pytest.raises(BudgetExhausted):
            verify(dataset, teacher="openai", llm=llm(server, max_requests=4))
        written = [r["id"] for r in verdicts(dataset)]
        assert len(written) <= 4 and written == samples[:len(written)]
        summary = verify(dataset, teacher="openai", llm=llm(server))
    assert [r["id"] for r in verdicts(dataset)] == samples and summary.total == Counter({"agree": len(samples)})
    assert len(server.log) == len(samples)


def test_drop_disagreeing_records_the_model(dataset, truth, tmp_path):
    with FakeServer(correct(truth)) as server:
        summary = verify(dataset, teacher="openai", llm=llm(server), drop_disagreeing=tmp_path / "kept")
    verified = read_manifest(tmp_path / "kept").data["verified"]
    assert summary.kept == sum(summary.new.values()) and verified["verifier"] == "openai"
    assert verified["model"] == "fake-1" and verified["prompt_version"] == PROMPT_VERSION


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="needs a model"):
        make_verifier("openai", {})
    with pytest.raises(ConfigError, match="takes no LLM options"):
        make_verifier("rules", {"model": "m"})
    with pytest.raises(ConfigError, match="unknown verifier"):
        make_verifier("oracle")


def test_max_cost_without_prices_is_refused(dataset):
    # without prices every answer costs 0.0 and the cap would never stop the run
    with pytest.raises(ConfigError, match="needs the prices") as error:
        verify(dataset, teacher="openai", llm={"model": "m", "base_url": "http://127.0.0.1:9/v1", "max_cost": 1.0})
    assert "--price-prompt" in (error.value.hint or "") and not (dataset / VERDICTS_FILE).exists()


def test_cli_verifies_with_a_model_and_stops_at_the_cap_with_exit_code_3(dataset, truth):
    with FakeServer(correct(truth)) as server:
        base = ["verify", str(dataset), "--teacher", "openai", "--model", "fake-1", "--base-url", f"{server.url}/v1"]
        stopped = runner.invoke(app, [*base, "--max-requests", "2"])
        assert stopped.exit_code == 3, stopped.output
        assert "stopped:" in stopped.output and "request cap" in stopped.output
        done = runner.invoke(app, base)
    assert done.exit_code == 0, done.output
    assert "Verdicts (openai fake-1)" in done.output and "already verdicted" in done.output
    refused = runner.invoke(app, ["verify", str(dataset), "--model", "fake-1"])
    assert refused.exit_code == 2 and "--model go with an LLM verifier" in refused.output


def test_the_review_screen_names_the_llm_verifier(dataset, truth):
    from groundv.review.session import ReviewSession

    with FakeServer(wrong(truth)) as server:
        verify(dataset, teacher="openai", llm=llm(server))
    first = verdicts(dataset)[0]
    shown = ReviewSession(dataset).view(first["id"], "ann")["verifier"]
    assert shown["name"] == "openai fake-1" and shown["verdict"] == "disagree"
    assert shown["expected"] == first["expected_ids"] and shown["detail"] == first["detail"]


@pytest.fixture(scope="module")
def smollm2_url():
    from tests.llm_server import llamacpp_missing, llamacpp_server

    if reason := llamacpp_missing():
        pytest.skip(reason)
    with llamacpp_server(n_ctx=4096) as url:
        yield url


@pytest.mark.slow
def test_a_tiny_real_model_verdicts_through_the_whole_pipeline(smollm2_url, tmp_path):
    world = write_toyworld(tmp_path / "world", 1, seed=1)
    generate(ToyWorldSource(world), tmp_path / "ds", categories=["multi_object"], plans_per_unit=1)  # ≈ 1,100 tokens
    n = len(list(iter_samples(tmp_path / "ds")))
    summary = verify(tmp_path / "ds", teacher="openai",
                     llm={"model": "smollm2", "base_url": smollm2_url, "concurrency": 2,
                          "params": {"temperature": 0, "max_tokens": 40}})
    assert sum(summary.new.values()) == n > 0
    for record in verdicts(tmp_path / "ds"):
        # llama.cpp refuses json_schema; the engine fell back to grammar-constrained json_object
        assert record["usage"]["requests"] and all(u["mode"] == "json_object" and u["prompt_tokens"] > 100
                                                   for u in record["usage"]["requests"])
