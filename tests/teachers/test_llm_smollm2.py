"""The openai teacher against a real model: llama.cpp's server with SmolLM2-135M (plumbing, not quality)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from groundv.generate import generate
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.store import iter_samples
from groundv.tasks.validate import REASONS
from groundv.teachers.llm import INVALID_ANSWER
from tests.llm_server import llamacpp_missing, llamacpp_server


@pytest.fixture(scope="module")
def smollm2_url() -> Iterator[str]:
    if reason := llamacpp_missing():
        pytest.skip(reason)
    with llamacpp_server(n_ctx=4096) as url:  # a 3-shot prompt with a region list is ≈ 1,500 tokens
        yield url


@pytest.mark.slow
def test_a_tiny_real_model_goes_through_the_whole_pipeline(smollm2_url, tmp_path):
    world = write_toyworld(tmp_path / "world", 1, seed=1)
    llm = {"model": "smollm2", "base_url": smollm2_url, "params": {"temperature": 0, "max_tokens": 120},
           "concurrency": 2, "cache": tmp_path / "shared-cache.sqlite"}
    first = generate(ToyWorldSource(world), tmp_path / "a", teacher="openai",
                     categories=["multi_object"], plans_per_unit=1, llm=llm)
    assert first.complete and first.samples + first.rejected == 1 and first.data["units"] == 1
    records = [*iter_samples(tmp_path / "a"), *iter_samples(tmp_path / "a", "rejections")]
    for record in records:
        uses = (record.get("provenance") or record)["usage"]["requests"]
        # llama.cpp refuses json_schema; the engine fell back to grammar-constrained json_object
        assert uses and all(u["mode"] == "json_object" and u["prompt_tokens"] > 500 for u in uses)
    for rejection in iter_samples(tmp_path / "a", "rejections"):
        assert rejection["reason"] in (*REASONS, INVALID_ANSWER) and rejection["detail"]
    assert (tmp_path / "a" / "ledger.jsonl").read_text().count("\n") >= 1
    # The same questions with the same cache: nothing is sent (no ledger line), the same files come out.
    again = generate(ToyWorldSource(world), tmp_path / "b", teacher="openai",
                     categories=["multi_object"], plans_per_unit=1, llm=llm)
    assert not (tmp_path / "b" / "ledger.jsonl").exists()
    assert (again.samples, again.rejected) == (first.samples, first.rejected)
    assert (tmp_path / "b" / "rejections-00000.jsonl").read_bytes() == \
        (tmp_path / "a" / "rejections-00000.jsonl").read_bytes()
