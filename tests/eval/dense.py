"""A dense numpy reference for the four protocols, and the builders the eval tests share.

Each ``dense_<protocol>`` decodes the masks to arrays, counts with numpy and follows METRICS.md's pseudo-code
line by line (§1.2 ReLA, §2 LISA with ``intersectionAndUnionGPU``'s 255 handling, §3 GSVA, §4 PSALM). It knows
nothing of :mod:`groundv.eval`'s RLE arithmetic, so agreeing with it to the last digit checks that arithmetic.
Results are ``{group: state}`` with the ``"all"`` group and one group per category, like ``Protocol.state``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from groundv import masks
from groundv.eval.records import Item, Prediction

Pair = tuple[Item, Prediction]
State = dict[str, Any]

GRES_FIELDS = ("acc_I", "acc_U", "acc_iou", "total", "not_empty", "empty", "TP", "TN", "FP", "FN",
               "pr_0.5", "pr_0.6", "pr_0.7", "pr_0.8", "pr_0.9")
LISA_FIELDS = ("I_sum", "U_sum", "iou_sum", "n_masks")
GSVA_FIELDS = ("I_sum", "U_sum", "giou_sum", "count", "TP", "TN", "FP", "FN")
PSALM_FIELDS = ("I_sum", "U_sum", "iou_sum", "count")
PR_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


# -- builders ----------------------------------------------------------------------------------------------------

def bitmap(rows: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """A bool array from nested lists of 0/1."""
    return np.asarray(rows, dtype=bool)


def make_item(gt: Sequence[Sequence[int]] | np.ndarray, *, no_target: bool | None = None, item_id: str = "1",
              category: str | None = None, ignore: Sequence[Sequence[int]] | np.ndarray | None = None) -> Item:
    """An item whose mask is the bitmap ``gt``; ``no_target`` defaults to "the mask is empty"."""
    gt = bitmap(gt)
    flag = not gt.any() if no_target is None else no_target
    ign = None if ignore is None else masks.encode(bitmap(ignore))
    return Item(item_id, {"id": 1, "width": gt.shape[1], "height": gt.shape[0]}, "the thing", masks.encode(gt),
                flag, category, ign)


def make_prediction(pred: Sequence[Sequence[int]] | np.ndarray, *, no_target: bool | None = None,
                    item_id: str = "1") -> Prediction:
    """A prediction whose mask is the bitmap ``pred``."""
    return Prediction(item_id, masks.encode(bitmap(pred)), no_target)


def _random_bitmap(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    kind = rng.random()
    if kind < 0.2:
        return np.zeros((h, w), dtype=bool)
    if kind < 0.25:
        return np.ones((h, w), dtype=bool)
    if kind < 0.6:
        return rng.random((h, w)) < rng.random()
    out = np.zeros((h, w), dtype=bool)
    for _ in range(int(rng.integers(1, 4))):
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        out[y0:int(rng.integers(y0 + 1, h + 1)), x0:int(rng.integers(x0 + 1, w + 1))] = True
    return out


def random_pairs(rng: np.random.Generator, n: int, *, max_side: int = 12) -> list[Pair]:
    """``n`` random (item, prediction) pairs of random sizes, masks (empty ones included), flags, ignore masks and
    categories; predictions are often a perturbed GT, so IoUs land on the Pr@ thresholds too."""
    pairs = []
    for i in range(n):
        h, w = (int(v) for v in rng.integers(1, max_side + 1, size=2))
        gt = _random_bitmap(rng, h, w)
        roll = rng.random()
        if roll < 0.4:
            pred = gt ^ (rng.random((h, w)) < rng.random() * 0.3)
        elif roll < 0.5:
            pred = gt.copy()
        else:
            pred = _random_bitmap(rng, h, w)
        # flags: mostly consistent with the mask, sometimes not (an empty targeted GT, a flagged non-empty one)
        no_target = bool(rng.random() < 0.85) if not gt.any() else bool(rng.random() < 0.1)
        pred_flag = [None, True, False][int(rng.integers(0, 3))]
        ignore = _random_bitmap(rng, h, w) if rng.random() < 0.4 else None
        category = ["a", "b", "c", None][int(rng.integers(0, 4))]
        pairs.append((make_item(gt, no_target=no_target, item_id=str(i), category=category, ignore=ignore),
                      make_prediction(pred, no_target=pred_flag, item_id=str(i))))
    return pairs


# -- dense reference ---------------------------------------------------------------------------------------------

def _arrays(item: Item, prediction: Prediction) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pred = masks.decode(prediction.mask).astype(bool)
    gt = masks.decode(item.mask).astype(bool)
    ignore = (masks.decode(item.ignore).astype(bool) if item.ignore is not None
              else np.zeros(gt.shape, dtype=bool))
    return pred, gt, ignore


def _run(pairs: Iterable[Pair], fields: Sequence[str],
         step: Callable[[State, Item, Prediction], None]) -> dict[str, State]:
    states: dict[str, State] = {}
    for item, prediction in pairs:
        for group in ("all", item.category):
            if group is None:
                continue
            if group not in states:
                states[group] = dict.fromkeys(fields, 0)
            step(states[group], item, prediction)
    return states


def dense_gres(pairs: Iterable[Pair], *, nt_from_mask: bool = False) -> dict[str, State]:
    """METRICS.md §1.2, literally."""
    def step(s: State, item: Item, prediction: Prediction) -> None:
        pred_mask, gt_mask, _ = _arrays(item, prediction)
        if nt_from_mask or prediction.no_target is None:  # noqa: SIM108 — kept in the pseudo-code's shape
            pred_nt = not pred_mask.any()
        else:
            pred_nt = prediction.no_target
        gt_nt = item.no_target
        I = int(np.count_nonzero(pred_mask & gt_mask))  # noqa: E741 — METRICS' names
        U = int(np.count_nonzero(pred_mask | gt_mask))
        if gt_nt:
            s["empty"] += 1
            if pred_nt:
                s["TP"] += 1
                s["acc_iou"] += 1.0
            else:
                s["FN"] += 1
                s["acc_U"] += U
        else:
            if pred_nt:
                s["FP"] += 1
                I = 0  # noqa: E741
            else:
                s["TN"] += 1
            iou = 0.0 if U == 0 else I / U
            s["acc_iou"] += iou
            s["acc_I"] += I
            s["acc_U"] += U
            s["not_empty"] += 1
            for t in PR_THRESHOLDS:
                if iou >= t:
                    s[f"pr_{t}"] += 1
        s["total"] += 1
    return _run(pairs, GRES_FIELDS, step)


def _lisa_counts(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray) -> tuple[int, int]:
    """``intersectionAndUnionGPU(output, target, K=2, ignore_index=255)``, class 1, in numpy."""
    target = gt.astype(np.int64)
    target[ignore] = 255
    output = pred.astype(np.int64)
    output[target == 255] = 255
    intersection = output[output == target]
    area_i = np.bincount(intersection[intersection <= 1], minlength=2)
    area_o = np.bincount(output[output <= 1], minlength=2)
    area_t = np.bincount(target[target <= 1], minlength=2)
    area_u = area_o + area_t - area_i
    return int(area_i[1]), int(area_u[1])


def dense_lisa(pairs: Iterable[Pair], *, epsilons: bool = True) -> dict[str, State]:
    """METRICS.md §2 (one mask per item), literally."""
    def step(s: State, item: Item, prediction: Prediction) -> None:
        pred, gt, ignore = _arrays(item, prediction)
        I, U = _lisa_counts(pred, gt, ignore)  # noqa: E741
        if epsilons:  # noqa: SIM108
            a = I / (U + 1e-5)
        else:
            a = I / U if U else 0.0
        if U == 0:
            a += 1.0
        s["I_sum"] += I
        s["U_sum"] += U
        s["iou_sum"] += a
        s["n_masks"] += 1
    return _run(pairs, LISA_FIELDS, step)


def dense_gsva(pairs: Iterable[Pair], *, refzom: bool = False) -> dict[str, State]:
    """METRICS.md §3, literally (the GT cast with ``.bool()``: ignore pixels are foreground)."""
    def step(s: State, item: Item, prediction: Prediction) -> None:
        pred, gt, ignore = _arrays(item, prediction)
        raw = gt.astype(np.uint8)
        raw[ignore] = 255
        gt = raw.astype(bool)
        pred_rej = prediction.no_target if prediction.no_target is not None else not pred.any()
        I = int(np.count_nonzero(pred & gt))  # noqa: E741
        U = int(np.count_nonzero(pred | gt))
        if gt.sum() < 1:
            if pred_rej:
                s["TP"] += 1
                s["giou_sum"] += 1.0
            else:
                s["FN"] += 1
                s["giou_sum"] += 0.0
                if not refzom:
                    s["U_sum"] += U
        else:
            if pred_rej:
                s["FP"] += 1
            else:
                s["TN"] += 1
            s["I_sum"] += I
            s["U_sum"] += U
            s["giou_sum"] += I / (U + 1e-8)
        s["count"] += 1
    return _run(pairs, GSVA_FIELDS, step)


def dense_psalm(pairs: Iterable[Pair]) -> dict[str, State]:
    """METRICS.md §4 (LISA-style meters, IoU 1.0 when U == 0), literally."""
    def step(s: State, item: Item, prediction: Prediction) -> None:
        pred, gt, _ = _arrays(item, prediction)
        I = int(np.count_nonzero(pred & gt))  # noqa: E741
        U = int(np.count_nonzero(pred | gt))
        a = I / (U + 1e-5)
        if U == 0:
            a = 1.0
        s["I_sum"] += I
        s["U_sum"] += U
        s["iou_sum"] += a
        s["count"] += 1
    return _run(pairs, PSALM_FIELDS, step)


DENSE: dict[str, Callable[..., dict[str, State]]] = {
    "gres": dense_gres, "lisa": dense_lisa, "gsva": dense_gsva, "psalm": dense_psalm,
}


# -- dense final metrics (the official formulas, ×100, None where the official code divides by zero) -------------

def dense_metrics(protocol: str, s: State, **options: Any) -> dict[str, float | None]:
    """Final metrics in percent from one state, written from METRICS.md's formulas."""
    if protocol == "gres":
        if s["total"] == 0:
            return dict.fromkeys(["giou", "ciou", "n_acc", "t_acc", *(f"pr@{t}" for t in PR_THRESHOLDS)])
        out: dict[str, float | None] = {
            "giou": 100.0 * (s["acc_iou"] / s["total"]),
            "ciou": s["acc_I"] * 100.0 / s["acc_U"] if s["acc_U"] != 0 else None,
        }
        if s["empty"] > 0:
            out["t_acc"] = 100.0 * (s["TN"] / (s["TN"] + s["FP"])) if s["TN"] + s["FP"] > 0 else None
            out["n_acc"] = 100.0 * (s["TP"] / (s["TP"] + s["FN"]))
        else:
            out["t_acc"] = out["n_acc"] = 0.0
        for t in PR_THRESHOLDS:
            out[f"pr@{t}"] = s[f"pr_{t}"] * 100.0 / s["not_empty"] if s["not_empty"] > 0 else None
        return out
    if protocol == "lisa":
        if s["n_masks"] == 0:
            return {"giou": None, "ciou": None}
        if options.get("epsilons", True):
            return {"giou": 100.0 * (s["iou_sum"] / (s["n_masks"] + 1e-5)),
                    "ciou": 100.0 * (s["I_sum"] / (s["U_sum"] + 1e-10))}
        return {"giou": 100.0 * (s["iou_sum"] / s["n_masks"]),
                "ciou": 100.0 * (s["I_sum"] / s["U_sum"]) if s["U_sum"] > 0 else None}
    if protocol == "gsva":
        out = {"giou": None, "ciou": None}
        if s["count"] > 0:
            out = {"giou": 100.0 * (s["giou_sum"] / (s["count"] + 1e-5)),
                   "ciou": 100.0 * (s["I_sum"] / (s["U_sum"] + 1e-10))}
        out["n_acc"] = 100.0 * (s["TP"] / (s["TP"] + s["FN"])) if s["TP"] + s["FN"] > 0 else None
        out["t_acc"] = 100.0 * (s["TN"] / (s["TN"] + s["FP"])) if s["TN"] + s["FP"] > 0 else None
        return out
    if protocol == "psalm":
        if s["count"] == 0:
            return {"giou": None, "ciou": None}
        return {"giou": 100.0 * (s["iou_sum"] / s["count"]), "ciou": 100.0 * (s["I_sum"] / (s["U_sum"] + 1e-10))}
    raise KeyError(protocol)
