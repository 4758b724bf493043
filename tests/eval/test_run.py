"""evaluate(): indexing and id checks, processes=N equal to processes=1, allow_missing, the worst-item heap and
the language-prior probe."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from groundv import masks
from groundv.errors import ConfigError, InputError
from groundv.eval import run
from groundv.eval.records import Item, Prediction, write_jsonl
from groundv.eval.run import ItemScore, evaluate, protocol_options, retained
from tests.conftest import box_mask

H, W = 8, 10


def make_item(item_id, box=None, category="cat", size=(H, W)):
    mask = masks.empty(*size) if box is None else box_mask(*size, *box)
    return Item(str(item_id), {"id": 1, "file_name": "a.jpg", "width": size[1], "height": size[0]},
                f"thing {item_id}", mask, box is None, category)


def make_pred(pred_id, box=None, no_target=None, size=(H, W)):
    mask = masks.empty(*size) if box is None else box_mask(*size, *box)
    return Prediction(str(pred_id), mask, no_target)


def random_files(tmp_path, n=60, seed=0):
    """Items with targets of random boxes, some no-target; predictions that are shifted, empty or flagged."""
    rng = np.random.default_rng(seed)
    items, preds = [], []
    for i in range(n):
        category = ("multi_object", "negative", "part")[i % 3]
        if i % 5 == 0:
            items.append(make_item(i, None, category))
        else:
            x, y = int(rng.integers(0, 6)), int(rng.integers(0, 4))
            items.append(make_item(i, (x, y, x + int(rng.integers(1, 5)), y + int(rng.integers(1, 5))), category))
        kind = rng.integers(0, 4)
        if kind == 0:
            preds.append(make_pred(i))
        else:
            x, y = int(rng.integers(0, 7)), int(rng.integers(0, 5))
            preds.append(make_pred(i, (x, y, x + 3, y + 3), no_target=bool(kind == 3) if kind > 1 else None))
    write_jsonl(items, tmp_path / "items.jsonl")
    write_jsonl(preds, tmp_path / "preds.jsonl")
    return tmp_path / "items.jsonl", tmp_path / "preds.jsonl"


def test_gres_on_a_tiny_file(tmp_path):
    write_jsonl([make_item(1, (0, 0, 4, 2)), make_item(2, None)], tmp_path / "i.jsonl")
    write_jsonl([make_pred(1, (0, 0, 4, 1)), make_pred(2, None)], tmp_path / "p.jsonl")
    result = evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "gres")
    assert result.metrics["giou"] == pytest.approx(75.0)  # (0.5 + 1) / 2
    assert result.metrics["n_acc"] == 100.0 and result.items == 2 and result.missing == []
    assert [s.id for s in result.worst] == ["1", "2"] and result.worst[0].iou == 0.5
    assert result.to_json()["missing"] == 0 and "blind" not in result.to_json()


def test_processes_give_exactly_the_one_process_result(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "CHUNK", 7)  # 60 items → 9 chunks spread over the workers
    items, preds = random_files(tmp_path)
    for name in ("gres", "lisa"):
        one = evaluate(items, preds, name, worst=5, per_item=True)
        two = evaluate(items, preds, name, processes=2, worst=5, per_item=True)
        assert two.metrics == one.metrics  # every metric and the whole state, float sums to the last bit
        assert two.metrics["state"] == one.metrics["state"]
        assert two.worst == one.worst and two.scores == one.scores


def test_chunking_matches_a_plain_update_loop(tmp_path, monkeypatch):
    from groundv.eval import get_protocol
    from groundv.eval.predictions import match
    from groundv.eval.records import read_items

    monkeypatch.setattr(run, "CHUNK", 7)
    items, preds = random_files(tmp_path, seed=3)
    gres = get_protocol("gres")
    for item, prediction in match(read_items(items), preds):
        gres.update(item, prediction)
    result = evaluate(items, preds, "gres").metrics
    plain = gres.compute()
    for group, state in plain["state"].items():
        for field, value in state.items():
            assert result["state"][group][field] == pytest.approx(value, rel=1e-12), (group, field)


def test_worst_items_are_the_lowest_ious_in_file_order(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "CHUNK", 4)
    items, preds = random_files(tmp_path, n=30, seed=1)
    result = evaluate(items, preds, "gres", worst=6, per_item=True)
    assert result.scores is not None and [s.index for s in result.scores] == list(range(30))
    assert result.worst == sorted(result.scores)[:6]
    assert all(isinstance(s, ItemScore) and s.category for s in result.worst)
    assert evaluate(items, preds, "gres", worst=0).worst == []


def test_allow_missing_counts_reports_and_scores_empty_masks(tmp_path):
    write_jsonl([make_item(1, (0, 0, 4, 4)), make_item(2, (0, 0, 2, 2)), make_item(3, None)], tmp_path / "i.jsonl")
    write_jsonl([make_pred(1, (0, 0, 4, 4))], tmp_path / "p.jsonl")
    with pytest.raises(InputError) as exc:
        evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "gres")
    message = str(exc.value)
    assert "i.jsonl: line 2" in message and "item '2' has no prediction" in message and "1 more" in message
    result = evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "gres", allow_missing=True)
    assert result.missing == ["2", "3"] and result.to_json()["missing"] == 2
    # A missing answer is an empty mask that does not reject: item 2 scores IoU 0 (TN, I = 0) and the
    # no-target item 3 is a false negative (IoU 0), never a free correct rejection.
    state = result.metrics["state"]["all"]
    assert state["TN"] == 2 and state["FN"] == 1 and state["TP"] == 0 and state["FP"] == 0
    assert result.metrics["giou"] == pytest.approx(100 / 3)


@pytest.mark.parametrize(("items", "preds", "expected"), [
    ([make_item(1, (0, 0, 2, 2)), make_item(1, (0, 0, 2, 2))], [make_pred(1)],
     ["i.jsonl: line 2", "duplicate item id '1' (first on line 1)"]),
    ([make_item(1, (0, 0, 2, 2))], [make_pred(1), make_pred(1)],
     ["p.jsonl: line 2: prediction 1", "duplicate prediction id '1' (first on line 1)"]),
    ([make_item(1, (0, 0, 2, 2))], [make_pred(1), make_pred("zz")],
     ["p.jsonl: line 2: prediction zz", "no item has the id 'zz'"]),
    ([make_item(1, (0, 0, 2, 2)), make_item(2, (0, 0, 2, 2))], [make_pred(1), make_pred(2, size=(4, 4))],
     ["p.jsonl: line 2: prediction 2", "mask is 4×4 but item '2' is 8×10"]),
])
def test_bad_input_names_file_line_and_id(tmp_path, items, preds, expected):
    write_jsonl(items, tmp_path / "i.jsonl")
    write_jsonl(preds, tmp_path / "p.jsonl")
    with pytest.raises(InputError) as exc:
        evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "gres")
    for text in expected:
        assert text in str(exc.value)


def test_an_error_in_a_worker_process_keeps_file_line_and_id(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "CHUNK", 2)
    items = [make_item(i, (0, 0, 2, 2)) for i in range(6)]
    preds = [make_pred(i, (0, 0, 2, 2), size=(H, W) if i != 4 else (3, 3)) for i in range(6)]
    write_jsonl(items, tmp_path / "i.jsonl")
    write_jsonl(preds, tmp_path / "p.jsonl")
    with pytest.raises(InputError) as exc:
        evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "lisa", processes=2)
    assert "p.jsonl: line 5: prediction 4" in str(exc.value) and exc.value.file.endswith("p.jsonl")


def test_malformed_item_is_named_by_line(tmp_path):
    write_jsonl([make_item(1, (0, 0, 2, 2))], tmp_path / "i.jsonl")
    with (tmp_path / "i.jsonl").open("a") as handle:
        handle.write('{"id": 2, "image": {}, "expression": "x", "no_target": "no", "mask": {"size": [8, 10], '
                     '"counts": [80]}}\n')
    write_jsonl([make_pred(1), make_pred(2)], tmp_path / "p.jsonl")
    with pytest.raises(InputError) as exc:
        evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "gres")
    assert "i.jsonl: line 2: item 2" in str(exc.value) and "no_target" in str(exc.value)


def test_blind_probe_reports_both_scores_and_the_fraction_retained(tmp_path):
    items = [make_item("a", (0, 0, 4, 4), "part"), make_item("b", (0, 0, 4, 4), "part"),
             make_item("c", (0, 0, 2, 4), "negative")]
    write_jsonl(items, tmp_path / "i.jsonl")
    write_jsonl([make_pred(i.id, (0, 0, 4, 4) if i.id != "c" else (0, 0, 2, 4)) for i in items], tmp_path / "p.jsonl")
    # blind: half of each target (IoU 0.5), and no answer at all for "c" (scored empty: a false positive)
    write_jsonl([make_pred("a", (0, 0, 2, 4)), make_pred("b", (0, 0, 4, 2))], tmp_path / "b.jsonl")
    with pytest.raises(InputError, match="item 'c' has no prediction in .*b.jsonl"):
        evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "gres", blind_predictions_path=tmp_path / "b.jsonl")
    result = evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "gres", allow_missing=True,
                      blind_predictions_path=tmp_path / "b.jsonl")
    assert result.missing == [] and result.blind_missing == ["c"]
    assert result.metrics["giou"] == 100.0 and result.blind["giou"] == pytest.approx(100 / 3)
    assert result.blind["ciou"] == pytest.approx(100 * 16 / 40)  # I = 8 + 8 + 0, U = 16 + 16 + 8
    kept = result.retained
    assert kept["unit"] == "fraction"
    assert kept["giou"] == pytest.approx(1 / 3) and kept["ciou"] == pytest.approx(0.4)
    assert kept["by_category"]["part"]["giou"] == pytest.approx(0.5)
    assert kept["by_category"]["negative"]["giou"] == 0.0
    out = result.to_json()
    assert out["blind"]["giou"] == result.blind["giou"] and out["blind"]["missing"] == 1
    assert out["retained"]["ciou"] == pytest.approx(0.4)


def test_retained_is_none_where_undefined_or_zero():
    got = retained({"giou": 0.0, "ciou": None, "n_acc": 50.0, "count": 3}, {"giou": 10.0, "ciou": 5.0, "n_acc": None})
    assert got == {"unit": "fraction", "giou": None, "ciou": None, "n_acc": None, "by_category": {}}


def test_protocol_options_and_config_errors(tmp_path):
    assert protocol_options("gres") == {"nt_from_mask"}
    assert protocol_options("lisa") == {"epsilons"}
    assert protocol_options("gsva") == {"refzom"}
    with pytest.raises(ConfigError, match="unknown protocol"):
        protocol_options("rela")
    with pytest.raises(ConfigError, match="unknown protocol"):
        evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "rela")
    with pytest.raises(ConfigError, match="refzom"):
        evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "gres", options={"refzom": True})
    with pytest.raises(ConfigError, match="processes"):
        evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "gres", processes=0)


def test_progress_reports_each_stage(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "CHUNK", 16)
    items, preds = random_files(tmp_path, n=40)
    calls = []
    evaluate(items, preds, "psalm", progress=lambda *a: calls.append(a), blind_predictions_path=preds)
    assert calls[0] == ("indexing", 0, None)
    assert ("scoring", 40, 40) in calls and calls[-1] == ("scoring blind", 40, 40)


def test_docstring_examples():
    import doctest

    assert doctest.testmod(run, optionflags=doctest.ELLIPSIS).failed == 0


def test_a_corrupt_rle_is_refused_before_it_can_hang_pycocotools(tmp_path):
    write_jsonl([make_item(1, (0, 0, 4, 4)), make_item(2, (0, 0, 2, 2))], tmp_path / "i.jsonl")
    good = make_pred(1, (0, 0, 4, 4)).to_json()
    bad = dict(make_pred(2, (0, 0, 2, 2)).to_json(), mask={"size": [8, 10], "counts": "0"})
    (tmp_path / "p.jsonl").write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(bad) + b"\n")
    with pytest.raises(InputError, match=r"p.jsonl: line 2: prediction 2: 'mask': compressed RLE counts are "
                                         r"corrupt: runs cover 0 pixels, the size needs 80"):
        evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "gres")
