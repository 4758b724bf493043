"""generate() with an LLM teacher on the Ray executor: the same dataset as the local executor, cache shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundv.engine import faketeacher, ray_executor
from groundv.engine.failures import TeacherUnavailable
from groundv.engine.fakeserver import FakeServer, FaultPlan
from groundv.generate import generate
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.store import read_manifest

ray = pytest.importorskip("ray", reason="Ray is not installed (the 'ray' extra)")
pytest.importorskip("ray.data", reason="Ray's data library is not installed (the 'ray' extra)")

DATASET_FILES = ("samples-", "rejections-", "completed.log", "manifest.json")


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def dataset_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.name.startswith(DATASET_FILES)}


@pytest.mark.slow
def test_ray_writes_the_local_executors_dataset_and_reuses_its_cache(tmp_path, ray_cluster):
    world = write_toyworld(tmp_path / "world", 5, seed=4)
    with FakeServer(faketeacher.correct) as server:
        llm = {"model": "fake-1", "base_url": f"{server.url}/v1"}
        generate(ToyWorldSource(world), tmp_path / "local", teacher="openai", llm=llm)
        sent_local = len(server.log)
        ray_manifest = generate(ToyWorldSource(world), tmp_path / "ray", teacher="openai", llm=llm, executor="ray")
        assert len(server.log) == 2 * sent_local  # a fresh cache: every question asked once more

        # The same seed and answers give the same files, byte for byte.
        assert dataset_files(tmp_path / "ray") == dataset_files(tmp_path / "local")
        assert ray_manifest.complete
        assert read_manifest(tmp_path / "ray").samples > 0

        # With the local run's cache, Ray pays for nothing.
        before = len(server.log)
        shared = {**llm, "cache": tmp_path / "local" / "teacher-cache.sqlite"}
        generate(ToyWorldSource(world), tmp_path / "ray-cached", teacher="openai", llm=shared, executor="ray")
        assert len(server.log) == before
        assert dataset_files(tmp_path / "ray-cached") == dataset_files(tmp_path / "local")


def test_ray_resumes_a_local_run_in_chunks(tmp_path, ray_cluster, monkeypatch):
    # Chunks of three: the first holds two scenes done before and one to do, the second three to do.
    monkeypatch.setattr(ray_executor, "SCENES_PER_CHUNK", 3)
    world = write_toyworld(tmp_path / "world", 6, seed=5)
    with FakeServer(faketeacher.correct) as server:
        llm = {"model": "fake-1", "base_url": f"{server.url}/v1"}
        generate(ToyWorldSource(world), tmp_path / "whole", teacher="openai", llm=llm)
        generate(ToyWorldSource(world), tmp_path / "split", teacher="openai", llm=llm, limit=2)
        source = CountingSource(world)
        ahead: list[int] = []
        generate(source, tmp_path / "split", teacher="openai", llm=llm, executor="ray",
                 progress=lambda done, total: ahead.append(source.read - done))
    assert dataset_files(tmp_path / "split") == dataset_files(tmp_path / "whole")
    assert len(ahead) == 6 and max(ahead) == 2  # never more than a chunk read and not yet written


class CountingSource(ToyWorldSource):
    """Counts the scenes read from it."""

    read = 0

    def __iter__(self):
        for scene in super().__iter__():
            self.read += 1
            yield scene


def test_an_endpoint_failing_under_ray_raises_its_own_error_and_stops_the_manifest(tmp_path, ray_cluster):
    # The actor's error crosses a process boundary: it must arrive as itself, not as a pickling TypeError.
    world = write_toyworld(tmp_path / "world", 3, seed=6)
    with FakeServer(faketeacher.correct, faults=FaultPlan(["500"] * 1000)) as server, \
            pytest.raises(TeacherUnavailable, match="gave no usable answer after 1 attempts"):
        generate(ToyWorldSource(world), tmp_path / "out", teacher="openai", executor="ray",
                 llm={"model": "fake-1", "base_url": f"{server.url}/v1", "max_retries": 0})
    assert read_manifest(tmp_path / "out").data["status"] == "stopped"


def test_ray_per_image_requests_match_the_local_executor(tmp_path, ray_cluster):
    world = write_toyworld(tmp_path / "world", 3, seed=7)
    with FakeServer(faketeacher.correct) as server:
        llm = {"model": "fake-1", "base_url": f"{server.url}/v1", "batch": "image"}
        generate(ToyWorldSource(world), tmp_path / "local", teacher="openai", llm=llm)
        assert len(server.log) == 3
        generate(ToyWorldSource(world), tmp_path / "ray", teacher="openai", llm=llm, executor="ray")
    assert dataset_files(tmp_path / "ray") == dataset_files(tmp_path / "local")
