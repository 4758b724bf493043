"""The gres, lisa, gsva and psalm protocols: METRICS.md §14 worked examples, the §6 edge-case table, undefined
ratios, options, and shard + merge."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

from groundv.errors import ConfigError
from groundv.eval import get_protocol
from groundv.eval.gres import GresProtocol, gres_increments
from groundv.eval.gsva import GsvaProtocol
from groundv.eval.lisa import LisaProtocol, lisa_increments
from groundv.eval.psalm import PsalmProtocol
from tests.eval.dense import make_item, make_prediction, random_pairs

PROTOCOLS = ("gres", "lisa", "gsva", "psalm")


def run(name, pairs, **options):
    protocol = get_protocol(name, **options)
    for item, pred in pairs:
        protocol.update(item, pred)
    return protocol.compute()


def digits(value, expected, places):
    """``value`` rounds to ``expected`` at ``places`` decimals (METRICS.md prints rounded numbers)."""
    return abs(value - expected) <= 0.5 * 10 ** -places + 1e-12


# -- METRICS.md §14 worked examples ------------------------------------------------------------------------------

def example_1():
    a_gt = np.zeros((4, 4), dtype=bool)
    a_gt[:2] = True  # 8 px
    b_gt = np.zeros((4, 4), dtype=bool)
    b_gt[3, 0] = b_gt[3, 1] = True
    b_pred = np.zeros((4, 4), dtype=bool)
    b_pred[3, 0] = b_pred[2, 3] = True
    return [(make_item(a_gt, no_target=False, item_id="A"), make_prediction(a_gt, no_target=False, item_id="A")),
            (make_item(b_gt, no_target=False, item_id="B"), make_prediction(b_pred, no_target=False, item_id="B"))]


def test_example_1_ciou_is_not_giou():
    gres = run("gres", example_1())
    assert gres["state"]["all"]["acc_I"] == 9 and gres["state"]["all"]["acc_U"] == 11
    assert round(gres["giou"], 3) == 66.667
    assert gres["giou"] == pytest.approx(100 * (1 + 1 / 3) / 2)
    assert round(gres["ciou"], 3) == 81.818
    assert gres["ciou"] == pytest.approx(100 * 9 / 11)
    for t in (0.7, 0.8, 0.9):
        assert gres[f"pr@{t}"] == 50.0
    lisa = run("lisa", example_1())
    assert digits(lisa["giou"] / 100, 0.6666622, 7)
    assert digits(lisa["ciou"] / 100, 0.8181818, 7)
    assert "pr@0.7" not in lisa and "n_acc" not in lisa


def example_2():
    pairs = []
    for i, covered in enumerate((10, 9, 8, 7, 5)):
        pred = np.zeros((1, 10), dtype=bool)
        pred[0, :covered] = True
        pairs.append((make_item(np.ones((1, 10)), no_target=False, item_id=f"t{i}"),
                      make_prediction(pred, no_target=False, item_id=f"t{i}")))
    for i in range(2):
        pairs.append((make_item(np.zeros((1, 10)), no_target=True, item_id=f"n{i}"),
                      make_prediction(np.zeros((1, 10)), no_target=True, item_id=f"n{i}")))
    return pairs


def test_example_2_pr_boundaries_exclude_no_target():
    gres = run("gres", example_2())
    assert gres["state"]["all"]["not_empty"] == 5  # the Pr@ denominator, not 7
    assert (gres["pr@0.7"], gres["pr@0.8"], gres["pr@0.9"]) == (80.0, 60.0, 40.0)
    assert (gres["pr@0.5"], gres["pr@0.6"]) == (100.0, 80.0)
    assert round(gres["giou"], 3) == 84.286
    assert gres["giou"] == pytest.approx(100 * 5.9 / 7)
    assert gres["ciou"] == 78.0
    assert (gres["n_acc"], gres["t_acc"]) == (100.0, 100.0)
    # the inclusive >= on the exact ratio counts 7/10 toward Pr@0.7; LISA's epsilon would not
    seven = example_2()[3]
    assert gres_increments(*seven)["pr_0.7"] == 1
    assert lisa_increments(*seven)["iou_sum"] < 0.7


def example_3():
    """Image 1: IoU 1, 0, 0.5 (each GT 2 px); image 2: IoU 1."""
    rows = [([1, 1, 0, 0], [1, 1, 0, 0]), ([1, 1, 0, 0], [0, 0, 1, 1]), ([1, 1, 0, 0], [1, 0, 0, 0]),
            ([0, 0, 1, 1], [0, 0, 1, 1])]
    return [(make_item([gt], item_id=str(i)), make_prediction([pred], item_id=str(i)))
            for i, (gt, pred) in enumerate(rows)]


def test_example_3_lisa_averages_per_mask():
    lisa = run("lisa", example_3())
    assert digits(lisa["giou"] / 100, 0.6249953, 7)
    assert lisa["count"] == 4
    assert lisa["ciou"] / 100 == pytest.approx(0.5, abs=1e-9)
    exact = run("lisa", example_3(), epsilons=False)
    assert (exact["giou"], exact["ciou"]) == (62.5, 50.0)
    per_image = (np.mean([1, 0, 0.5]) + 1) / 2
    assert per_image == 0.75 and not digits(lisa["giou"] / 100, per_image, 2)
    gres = run("gres", example_3())
    assert (gres["giou"], gres["ciou"]) == (62.5, 50.0)


def test_lisa_epsilon_values_of_section_2():
    one = make_item([[1]]), make_prediction([[1]])
    assert digits(lisa_increments(*one)["iou_sum"], 0.99999, 5)
    seven = make_item([[1] * 10]), make_prediction([[1] * 7 + [0] * 3])
    assert digits(lisa_increments(*seven)["iou_sum"], 0.6999993, 7)
    assert lisa_increments(*seven, epsilons=False)["iou_sum"] == 0.7


# -- METRICS.md §6: the cross-protocol edge-case table -----------------------------------------------------------

EMPTY = [[0] * 5] * 2
GT = [[1] * 5, [0] * 5]  # 5 px
AWAY = [[0] * 5, [1, 1, 1, 0, 0]]  # 3 px, disjoint from GT
FP_PRED = [[1, 1, 1, 1, 0], [1, 0, 0, 0, 0]]  # against GT: I = 4, U = 6

# (id, item, prediction, {protocol spec: expected state increments and/or metrics (keys with '@' or not in state)})
EDGE_ROWS = [
    ("gt-empty/rejects/mask-empty", make_item(EMPTY, no_target=True), make_prediction(EMPTY, no_target=True), {
        "gres": {"TP": 1, "acc_iou": 1.0, "acc_I": 0, "acc_U": 0, "not_empty": 0, "giou": 100.0, "n_acc": 100.0},
        "gsva": {"TP": 1, "giou_sum": 1.0, "U_sum": 0, "giou": 100.0 / (1 + 1e-5), "n_acc": 100.0},
        "lisa": {"iou_sum": 1.0, "U_sum": 0, "giou": 100.0 / (1 + 1e-5)},
        "psalm": {"iou_sum": 1.0, "U_sum": 0, "giou": 100.0},  # gIoU denominator: #samples, no epsilon
    }),
    ("gt-empty/no-flag/mask-empty", make_item(EMPTY, no_target=True), make_prediction(EMPTY), {
        "gres": {"TP": 1, "acc_iou": 1.0},  # rejects = the empty mask when there is no flag
        "gres(nt_from_mask)": {"TP": 1, "acc_iou": 1.0},
        "gsva": {"TP": 1, "giou_sum": 1.0},
        "lisa": {"iou_sum": 1.0},
        "psalm": {"iou_sum": 1.0},
    }),
    ("gt-empty/rejects/mask-nonempty", make_item(EMPTY, no_target=True), make_prediction(AWAY, no_target=True), {
        "gres": {"TP": 1, "acc_iou": 1.0, "acc_U": 0},  # flag-based: IoU 1 whatever the mask is
        "gres(nt_from_mask)": {"FN": 1, "acc_iou": 0.0, "acc_U": 3},
        "gsva": {"TP": 1, "giou_sum": 1.0, "U_sum": 0},  # REJ-based, the mask is ignored
        "lisa": {"iou_sum": 0.0, "U_sum": 3, "I_sum": 0},  # no rejection: the mask counts
        "psalm": {"iou_sum": 0.0, "U_sum": 3},
    }),
    ("gt-empty/no-rejection/mask-empty", make_item(EMPTY, no_target=True), make_prediction(EMPTY, no_target=False), {
        "gres": {"FN": 1, "acc_iou": 0.0, "acc_U": 0, "n_acc": 0.0, "giou": 0.0, "ciou": None},
        "gres(nt_from_mask)": {"TP": 1, "acc_iou": 1.0},
        "gsva": {"FN": 1, "giou_sum": 0.0, "U_sum": 0, "n_acc": 0.0, "ciou": 0.0},
        "lisa": {"iou_sum": 1.0, "U_sum": 0, "ciou": 0.0},  # 0 / (0 + 1e-10)
        "lisa(exact)": {"iou_sum": 1.0, "giou": 100.0, "ciou": None},
        "psalm": {"iou_sum": 1.0},
    }),
    ("gt-empty/no-rejection/mask-nonempty", make_item(EMPTY, no_target=True), make_prediction(AWAY), {
        "gres": {"FN": 1, "acc_iou": 0.0, "acc_U": 3, "ciou": 0.0},
        "gsva": {"FN": 1, "giou_sum": 0.0, "U_sum": 3},
        "gsva(refzom)": {"FN": 1, "giou_sum": 0.0, "U_sum": 0},  # refzom does not add the FN union
        "lisa": {"iou_sum": 0.0, "U_sum": 3},
        "psalm": {"iou_sum": 0.0, "U_sum": 3},
    }),
    ("gt-nonempty/rejected", make_item(GT), make_prediction(FP_PRED, no_target=True), {
        "gres": {"FP": 1, "acc_I": 0, "acc_U": 6, "acc_iou": 0.0, "not_empty": 1, "t_acc": 0.0, "n_acc": 0.0},
        "gres(nt_from_mask)": {"TN": 1, "acc_I": 4, "acc_U": 6, "acc_iou": 4 / 6},
        "gsva": {"FP": 1, "I_sum": 4, "U_sum": 6, "giou_sum": 4 / (6 + 1e-8), "t_acc": 0.0, "n_acc": None},
        "lisa": {"I_sum": 4, "U_sum": 6, "iou_sum": 4 / (6 + 1e-5)},  # n/a: the flag is not read
        "psalm": {"I_sum": 4, "U_sum": 6, "iou_sum": 4 / (6 + 1e-5)},
    }),
    ("iou-formula/7-of-10", make_item([[1] * 10]), make_prediction([[1] * 7 + [0] * 3]), {
        "gres": {"TN": 1, "acc_iou": 0.7, "pr_0.7": 1, "pr_0.8": 0, "pr@0.7": 100.0},
        "gsva": {"TN": 1, "giou_sum": 7 / (10 + 1e-8)},
        "lisa": {"iou_sum": 7 / (10 + 1e-5)},
        "lisa(exact)": {"iou_sum": 0.7},
        "psalm": {"iou_sum": 7 / (10 + 1e-5)},
    }),
    ("targeted/empty-gt-unflagged", make_item(EMPTY, no_target=False), make_prediction(EMPTY), {
        "gres": {"TN": 0, "FP": 1, "acc_iou": 0.0, "not_empty": 1},  # flag-based: targeted; empty mask rejects
        "gres(nt_from_mask)": {"FP": 1, "acc_iou": 0.0},
        "gsva": {"TP": 1, "giou_sum": 1.0},  # empty GT from the mask sum
        "lisa": {"iou_sum": 1.0},
        "psalm": {"iou_sum": 1.0},
    }),
    ("targeted/empty-gt-unflagged/flag-false", make_item(EMPTY, no_target=False),
     make_prediction(EMPTY, no_target=False), {
        "gres": {"TN": 1, "acc_iou": 0.0, "acc_U": 0, "pr_0.5": 0},  # U == 0: IoU 0
        "gsva": {"FN": 1, "giou_sum": 0.0},
    }),
    ("ignore-label", make_item([[1, 1, 0, 0]], ignore=[[0, 1, 1, 0]]), make_prediction([[1, 1, 1, 0]]), {
        "gres": {"acc_I": 2, "acc_U": 3},  # binary GT: the ignore mask is not read
        "gsva": {"I_sum": 3, "U_sum": 3, "giou_sum": 3 / (3 + 1e-8)},  # .bool(): ignore is foreground
        "lisa": {"I_sum": 1, "U_sum": 1, "iou_sum": 1 / (1 + 1e-5)},  # excluded from P, G, I, U
        "psalm": {"I_sum": 2, "U_sum": 3},
    }),
    ("ignore-covers-everything", make_item([[1, 0]], ignore=[[1, 1]]), make_prediction([[1, 1]], no_target=False), {
        "lisa": {"I_sum": 0, "U_sum": 0, "iou_sum": 1.0},  # nothing left: U == 0 scores 1
        "gsva": {"TN": 1, "I_sum": 2, "U_sum": 2},
    }),
]

SPECS = {
    "gres": ("gres", {}), "gres(nt_from_mask)": ("gres", {"nt_from_mask": True}),
    "lisa": ("lisa", {}), "lisa(exact)": ("lisa", {"epsilons": False}),
    "gsva": ("gsva", {}), "gsva(refzom)": ("gsva", {"refzom": True}),
    "psalm": ("psalm", {}),
}


@pytest.mark.parametrize(("item", "prediction", "spec", "expected"), [
    pytest.param(item, pred, spec, expected, id=f"{row_id}-{spec}")
    for row_id, item, pred, per_protocol in EDGE_ROWS for spec, expected in per_protocol.items()
])
def test_edge_case_table(item, prediction, spec, expected):
    name, options = SPECS[spec]
    protocol = get_protocol(name, **options)
    increments = protocol.update(item, prediction)
    assert set(increments) == set(protocol.FIELDS)
    result = protocol.compute()
    for key, value in expected.items():
        got = increments[key] if key in protocol.FIELDS else result[key]
        assert got == value, f"{spec} {key}: got {got!r}, expected {value!r}"
        if key in protocol.FIELDS:
            assert type(got) is type(value), f"{spec} {key}: {type(got).__name__}"


# -- undefined ratios: None with a reason, never a crash ---------------------------------------------------------

@pytest.mark.parametrize("name", PROTOCOLS)
def test_no_samples(name):
    result = run(name, [])
    metrics = [k for k in result if k not in ("protocol", "unit", "count", "undefined", "by_category", "state",
                                              "options")]
    assert metrics and all(result[k] is None for k in metrics)
    assert set(result["undefined"]) == set(metrics)
    assert all(isinstance(why, str) and why for why in result["undefined"].values())
    assert result["count"] == 0 and result["unit"] == "percent"


def test_gres_only_correct_rejections():
    result = run("gres", example_2()[5:])
    assert result["giou"] == 100.0 and result["n_acc"] == 100.0
    assert result["ciou"] is None and result["t_acc"] is None
    assert all(result[f"pr@{t}"] is None for t in (0.5, 0.6, 0.7, 0.8, 0.9))
    assert "ZeroDivisionError" in result["undefined"]["ciou"]
    assert "not_empty == 0" in result["undefined"]["pr@0.7"]
    assert set(result["undefined"]) == {"ciou", "t_acc", "pr@0.5", "pr@0.6", "pr@0.7", "pr@0.8", "pr@0.9"}


def test_gres_n_t_acc_zero_without_no_target_samples():
    result = run("gres", example_1())
    assert result["n_acc"] == 0.0 and result["t_acc"] == 0.0  # ReLA's explicit rule, not undefined
    assert result["undefined"] == {}


def test_gsva_n_t_acc_undefined():
    targeted = run("gsva", example_1())
    assert targeted["n_acc"] is None and targeted["t_acc"] == 100.0
    assert "TP + FN == 0" in targeted["undefined"]["n_acc"]
    no_target = run("gsva", example_2()[5:])
    assert no_target["t_acc"] is None and no_target["n_acc"] == 100.0
    assert no_target["ciou"] == 0.0  # 0 / (0 + 1e-10), as GSVA computes it


def test_lisa_exact_ciou_undefined_when_no_union():
    pairs = example_2()[5:]
    assert run("lisa", pairs)["ciou"] == 0.0
    exact = run("lisa", pairs, epsilons=False)
    assert exact["ciou"] is None and exact["giou"] == 100.0 and "ciou" in exact["undefined"]


# -- options -----------------------------------------------------------------------------------------------------

def test_get_protocol_builds_each_with_options():
    assert isinstance(get_protocol("gres"), GresProtocol)
    assert get_protocol("gres", nt_from_mask=True).options == {"nt_from_mask": True}
    assert get_protocol("lisa", epsilons=False).options == {"epsilons": False}
    assert get_protocol("gsva", refzom=True).options == {"refzom": True}
    assert isinstance(get_protocol("psalm"), PsalmProtocol)
    assert run("gsva", [], refzom=True)["options"] == {"refzom": True}


@pytest.mark.parametrize(("name", "options"), [
    ("gres", {"epsilons": False}), ("psalm", {"refzom": True}), ("lisa", {"nt_from_mask": True}),
    ("gres", {"nt_from_mask": "yes"}), ("lisa", {"epsilons": 0}), ("gsva", {"refzom": None}),
])
def test_bad_options(name, options):
    with pytest.raises(ConfigError):
        get_protocol(name, **options)


def test_prediction_flag_vs_nt_from_mask():
    item = make_item(GT)
    flagged = make_prediction(GT, no_target=True)
    assert gres_increments(item, flagged)["FP"] == 1
    assert gres_increments(item, flagged, nt_from_mask=True)["TN"] == 1
    unflagged_empty = make_prediction(EMPTY, no_target=False)
    assert gres_increments(make_item(EMPTY), unflagged_empty)["FN"] == 1
    assert gres_increments(make_item(EMPTY), unflagged_empty, nt_from_mask=True)["TP"] == 1


# -- shard + merge -----------------------------------------------------------------------------------------------

def _assert_same_state(a, b):
    assert set(a) == set(b)
    for group in a:
        assert set(a[group]) == set(b[group])
        for field, value in a[group].items():
            if isinstance(value, float) or isinstance(b[group][field], float):
                # only the float IoU sum may differ in its last bits with the summation order (METRICS.md §12)
                assert value == pytest.approx(b[group][field], rel=1e-12, abs=1e-12), (group, field)
            else:
                assert type(value) is int and value == b[group][field], (group, field)


def _assert_same_metrics(a, b):
    for key, value in a.items():
        if key in ("state", "by_category"):
            continue
        assert value == b[key] if not isinstance(value, float) else value == pytest.approx(b[key], rel=1e-12)
    assert set(a["by_category"]) == set(b["by_category"])
    for category, metrics in a["by_category"].items():
        for key, value in metrics.items():
            other = b["by_category"][category][key]
            assert value == other if not isinstance(value, float) else value == pytest.approx(other, rel=1e-12)


@pytest.mark.parametrize(("name", "options"), [(n, o) for n, o in SPECS.values()])
def test_shards_merge_to_one_pass(name, options):
    pairs = random_pairs(np.random.default_rng(3), 600)
    one_pass = get_protocol(name, **options)
    for item, pred in pairs:
        one_pass.update(item, pred)
    shards = []
    for k in range(3):
        shard = get_protocol(name, **options)
        for item, pred in pairs[k::3]:
            shard.update(item, pred)
        shards.append(shard)
    merged = get_protocol(name, **options)
    from_states = get_protocol(name, **options)
    for shard in shards:
        merged.merge(shard)
        from_states.merge(shard.compute()["state"])
    expected = one_pass.compute()
    assert set(expected["by_category"]) == {"a", "b", "c"}
    for protocol in (merged, from_states):
        _assert_same_state(protocol.state, one_pass.state)
        _assert_same_metrics(protocol.compute(), expected)
    assert merged.state == from_states.state  # same additions in the same order


@pytest.mark.parametrize(("name", "other"), [(a, b) for a in PROTOCOLS for b in PROTOCOLS if a != b])
def test_merge_refuses_another_protocols_state(name, other):
    source = get_protocol(other)
    source.update(*example_1()[0])
    target = get_protocol(name)
    with pytest.raises(ConfigError):
        target.merge(source)
    with pytest.raises(ConfigError):
        target.merge(source.compute()["state"])
    assert target.state == {}


@pytest.mark.parametrize(("protocol", "other"), [
    (GresProtocol(), GresProtocol(nt_from_mask=True)),
    (LisaProtocol(), LisaProtocol(epsilons=False)),
    (GsvaProtocol(), GsvaProtocol(refzom=True)),
])
def test_merge_refuses_other_options(protocol, other):
    with pytest.raises(ConfigError, match="built with"):
        protocol.merge(other)


@pytest.mark.parametrize("module", ["groundv.eval.counts", "groundv.eval.gres", "groundv.eval.lisa",
                                    "groundv.eval.gsva", "groundv.eval.psalm"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
