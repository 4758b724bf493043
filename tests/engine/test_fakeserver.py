"""The fake server itself: routes, fault plans, its log and its stand-alone process."""

from __future__ import annotations

import subprocess
import sys

import httpx
import orjson
import pytest

from groundv.engine.fakeserver import Fault, FaultPlan


def test_fault_plan_in_arrival_order_and_per_request():
    plan = FaultPlan(["500", Fault("429", 2)])
    assert [f.kind if f else None for f in (plan.next("a"), plan.next("b"), plan.next("a"))] == ["500", "429", None]
    per = FaultPlan(["500"], per_request=True)
    assert [f.kind if f else None for f in (per.next("a"), per.next("b"), per.next("a"))] == ["500", "500", None]
    with pytest.raises(ValueError, match="unknown fault 'teapot'"):
        Fault("teapot")


def test_routes_errors_and_log(fake_server):
    server = fake_server()
    with httpx.Client(base_url=server.url) as http:
        assert http.post("/v2/other", json={"messages": []}).status_code == 404
        bad = http.post("/v1/messages", content=b"not json")
        assert bad.status_code == 400 and bad.json()["type"] == "error"
        ok = http.post("/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
                       headers={"x-groundv-key": "abc"})
        assert ok.json()["choices"][0]["message"]["content"] == '{"answer": "ok"}'
    assert [(e.api, e.status, e.key) for e in server.log] == [("openai", 404, ""), ("anthropic", 400, ""),
                                                              ("openai", 200, "abc")]
    assert server.keys() == ["", "", "abc"]


def test_runs_as_its_own_process():
    with subprocess.Popen([sys.executable, "-m", "groundv.engine.fakeserver", "--latency", "0"],
                          stdout=subprocess.PIPE, text=True) as process:
        try:
            url = process.stdout.readline().strip()
            body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
            reply = httpx.post(url + "/v1/messages", json=body)
            assert reply.json()["content"][0]["text"] == '{"answer": "ok"}'
        finally:
            process.terminate()
            process.wait(10)


def test_the_process_plays_a_teacher_for_a_whole_cli_run_and_logs_each_request(tmp_path):
    log = tmp_path / "requests.jsonl"
    with subprocess.Popen([sys.executable, "-m", "groundv.engine.fakeserver", "--teacher", "correct",
                           "--log", str(log)], stdout=subprocess.PIPE, text=True) as process:
        try:
            url = process.stdout.readline().strip()
            done = subprocess.run([sys.executable, "-m", "groundv", "generate", "--scenes", "2", "--out",
                                   str(tmp_path / "ds"), "--teacher", "openai", "--model", "fake",
                                   "--base-url", f"{url}/v1", "--batch", "image"],
                                  capture_output=True, text=True, timeout=300)
        finally:
            process.terminate()
            process.wait(10)
    assert done.returncode == 0, done.stderr
    lines = [orjson.loads(line) for line in log.read_bytes().splitlines()]
    assert len(lines) == 2 and all(line["status"] == 200 and line["key"] for line in lines)  # one per image
    manifest = orjson.loads((tmp_path / "ds" / "manifest.json").read_bytes())
    assert manifest["samples"] > 0 and manifest["rejected"] == 0
