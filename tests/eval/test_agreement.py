"""The RLE-based protocols agree with the dense numpy reference (tests/eval/dense.py) to the last digit.

Thousands of random items: random sizes, masks (empty and full ones included), item and prediction flags, ignore
masks and categories. Integer accumulators must be equal; the float IoU sums are summed in the same order on both
sides, so they must be equal too, and so must every final metric.
"""

from __future__ import annotations

import numpy as np
import pytest

from groundv.eval import get_protocol
from tests.eval.dense import DENSE, dense_metrics, random_pairs

N_ITEMS = 3000

SPECS = [("gres", {}), ("gres", {"nt_from_mask": True}), ("lisa", {}), ("lisa", {"epsilons": False}),
         ("gsva", {}), ("gsva", {"refzom": True}), ("psalm", {})]


@pytest.fixture(scope="module")
def pairs():
    return random_pairs(np.random.default_rng(20240611), N_ITEMS)


def test_random_items_cover_the_edge_cases(pairs):
    gres = get_protocol("gres")
    for item, pred in pairs:
        gres.update(item, pred)
    s = gres.state["all"]
    assert min(s["TP"], s["TN"], s["FP"], s["FN"]) > 50
    assert s["pr_0.9"] > 50 and s["pr_0.5"] > s["pr_0.9"]
    assert sum(item.ignore is not None for item, _ in pairs) > N_ITEMS // 4
    assert len({item.size for item, _ in pairs}) > 100


@pytest.mark.parametrize(("name", "options"), SPECS, ids=[f"{n}{o or ''}" for n, o in SPECS])
def test_agrees_with_dense_reference(pairs, name, options):
    protocol = get_protocol(name, **options)
    for item, pred in pairs:
        protocol.update(item, pred)
    expected = DENSE[name](pairs, **options)
    assert protocol.state == expected
    for group, state in protocol.state.items():
        for field, value in state.items():
            assert type(value) is (float if field in ("acc_iou", "iou_sum", "giou_sum") else int), (group, field)
    result = protocol.compute()
    for group, state in expected.items():
        got = result if group == "all" else result["by_category"][group]
        want = dense_metrics(name, state, **options)
        assert {k: got[k] for k in want} == want, group
        assert set(got["undefined"]) == {k for k, v in want.items() if v is None}


@pytest.mark.parametrize(("name", "options"), SPECS, ids=[f"{n}{o or ''}" for n, o in SPECS])
def test_per_item_increments_agree(pairs, name, options):
    protocol = get_protocol(name, **options)
    for item, pred in pairs[:500]:
        want = DENSE[name]([(item, pred)], **options)["all"]
        got = protocol.score(item, pred)
        assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}, item.id
