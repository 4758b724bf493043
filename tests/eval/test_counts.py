"""Exact pixel counts from RLEs (groundv.eval.counts) against numpy on decoded masks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from groundv import masks
from groundv.errors import ConfigError, InputError, MaskError
from groundv.eval.counts import IGNORE_MODES, Counts, item_counts, pixel_counts
from tests.eval.dense import _random_bitmap, make_item, make_prediction

P = [[1, 1, 0, 0, 1]]
G = [[0, 1, 1, 0, 1]]
IG = [[1, 0, 1, 1, 0]]


@pytest.mark.parametrize(("mode", "ignore", "expected"), [
    ("none", None, Counts(inter=2, union=4, pred=3, gt=3)),
    ("exclude", None, Counts(inter=2, union=4, pred=3, gt=3)),
    ("foreground", None, Counts(inter=2, union=4, pred=3, gt=3)),
    ("none", IG, Counts(inter=2, union=4, pred=3, gt=3)),
    # LISA: P' = {1, 4}, G' = {1, 4}
    ("exclude", IG, Counts(inter=2, union=2, pred=2, gt=2)),
    # GSVA: G' = G ∪ IG = {0, 1, 2, 3, 4}
    ("foreground", IG, Counts(inter=3, union=5, pred=3, gt=5)),
])
def test_hand_counts(mode, ignore, expected):
    ig = None if ignore is None else masks.encode(np.array(ignore))
    assert pixel_counts(masks.encode(np.array(P)), masks.encode(np.array(G)), ig, mode) == expected


def test_counts_are_python_ints_and_frozen():
    c = pixel_counts(masks.encode(np.array(P)), masks.encode(np.array(G)), masks.encode(np.array(IG)), "exclude")
    assert all(type(v) is int for v in dataclasses.astuple(c))
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.inter = 0  # type: ignore[misc]


def test_empty_masks():
    z = masks.empty(3, 4)
    for mode in IGNORE_MODES:
        assert pixel_counts(z, z, z, mode) == Counts(0, 0, 0, 0)
    full = masks.encode(np.ones((3, 4)))
    assert pixel_counts(z, z, full, "foreground") == Counts(0, 12, 0, 12)
    assert pixel_counts(full, full, full, "exclude") == Counts(0, 0, 0, 0)


def _dense(p, g, ig, mode):
    if mode == "exclude":
        p, g = p & ~ig, g & ~ig
    elif mode == "foreground":
        g = g | ig
    return Counts(int((p & g).sum()), int((p | g).sum()), int(p.sum()), int(g.sum()))


@pytest.mark.parametrize("mode", IGNORE_MODES)
def test_random_agreement_with_numpy(mode):
    rng = np.random.default_rng(7)
    for _ in range(1500):
        h, w = (int(v) for v in rng.integers(1, 30, size=2))
        p, g, ig = (_random_bitmap(rng, h, w) for _ in range(3))
        with_ignore = rng.random() < 0.7
        got = pixel_counts(masks.encode(p), masks.encode(g), masks.encode(ig) if with_ignore else None, mode)
        assert got == _dense(p, g, ig if with_ignore else np.zeros_like(ig), mode)


def test_size_mismatch():
    with pytest.raises(MaskError):
        pixel_counts(masks.empty(2, 3), masks.empty(3, 2))
    with pytest.raises(MaskError):
        pixel_counts(masks.empty(2, 3), masks.empty(2, 3), masks.empty(3, 3), "exclude")
    item = make_item([[0, 1, 1]], item_id="x7")
    with pytest.raises(InputError, match="x7") as err:
        item_counts(item, make_prediction([[1], [1], [0]], item_id="x7"), "none")
    assert "3×1" in str(err.value) and "1×3" in str(err.value)


def test_unknown_mode():
    with pytest.raises(ConfigError, match="ignore mode"):
        pixel_counts(masks.empty(1, 1), masks.empty(1, 1), None, "drop")  # type: ignore[arg-type]
