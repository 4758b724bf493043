"""kill -9 at random moments in an LLM run, re-run: the dataset equals an uninterrupted run's, nothing paid twice."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from groundv.engine import faketeacher
from groundv.engine.fakeserver import FakeServer, Fault, FaultPlan
from groundv.sources.toyworld import write_toyworld
from groundv.store import read_manifest

GROUNDV = [sys.executable, "-c", "from groundv.cli import main; main()"]


def dataset_files(directory: Path) -> dict[str, bytes]:
    names = ("samples-", "rejections-", "completed.log", "manifest.json")
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.name.startswith(names)}


def cached_keys(directory: Path) -> set[str]:
    path = directory / "teacher-cache.sqlite"
    if not path.is_file():
        return set()
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT key FROM responses")}


@pytest.mark.slow
def test_kill_9_and_rerun_gives_the_uninterrupted_dataset_and_pays_nothing_twice(tmp_path):
    world = write_toyworld(tmp_path / "world", 6, seed=4)
    # Wrong first, right after the feedback: every plan takes a question and its retry. A slow server
    # that also fails now and then (a 500, a 429), which the engine retries.
    faults = FaultPlan([Fault("500") if i % 40 == 39 else Fault("429", 0.1) if i % 40 == 19 else Fault("slow")
                        for i in range(2000)])
    with FakeServer(faketeacher.fixed_on_feedback, latency=0.05, faults=faults) as server:
        def command(out: Path) -> list[str]:
            return [*GROUNDV, "generate", "--world", str(world), "--out", str(out), "--teacher", "openai",
                    "--model", "fake-1", "--base-url", f"{server.url}/v1", "--concurrency", "4"]

        subprocess.run(command(tmp_path / "whole"), check=True, capture_output=True)
        whole = sum(e.status == 200 for e in server.log)
        server.log.clear()
        rng = random.Random(11)
        received: list[tuple[int, set[str]]] = []
        kills = 0
        for _ in range(3):
            # A random moment: after a random number of further requests reached the server.
            target = len(server.log) + rng.randint(5, 30)
            process = subprocess.Popen(command(tmp_path / "killed"), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            while process.poll() is None and len(server.log) < target:
                time.sleep(0.005)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait()
            # The server logs a request before it replies: every answer received is logged by now.
            received.append((len(server.log), cached_keys(tmp_path / "killed")))
        subprocess.run(command(tmp_path / "killed"), check=True, capture_output=True)
    assert kills >= 2, "the run finished before it could be killed: make the server slower"
    assert read_manifest(tmp_path / "killed").complete
    assert dataset_files(tmp_path / "killed") == dataset_files(tmp_path / "whole")
    for mark, keys in received:
        # Answers received before a kill are in the cache: none of them was asked again afterwards.
        assert keys and keys.isdisjoint(server.keys()[mark:])
    # Only answers in flight at a kill (at most --concurrency each time) were paid twice.
    answered = Counter(e.key for e in server.log if e.status == 200)
    assert sum(answered.values()) - whole == sum(n - 1 for n in answered.values()) <= 4 * kills
    assert any(e.status in (429, 500) for e in server.log)
