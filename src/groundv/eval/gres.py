"""The canonical GRES protocol: ReLA's ``gres_model/evaluation/refer_evaluation.py`` (METRICS.md §1).

A sample is one expression. The no-target decision is a flag on both sides: ``item.no_target`` (gRefCOCO's
``ann_id == [-1]``) and the prediction's ``no_target`` (ReLA's ``nt_label`` head), falling back to "the
predicted mask is empty" where the model gave no flag (METRICS.md §13.2). I and U are exact integer pixel counts
and the per-sample IoU is the exact ratio I / U, so Pr@X can threshold it with an inclusive ``>=``.

Metrics, all in percent: ``giou``, ``ciou``, ``n_acc``, ``t_acc``, ``pr@0.5`` … ``pr@0.9``. ReLA itself reports
N-Acc and T-Acc as fractions and Pr@ only at 0.7, 0.8, 0.9; groundv reports every metric in percent and adds Pr@0.5
and Pr@0.6 (same rule, more thresholds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from groundv.eval.counts import item_counts
from groundv.eval.protocol import Metrics, Protocol, State
from groundv.eval.records import Item, Prediction

__all__ = ["FIELDS", "PR_THRESHOLDS", "GresProtocol", "gres_increments"]

#: Pr@X thresholds; ReLA's ``pr_thres = [.7, .8, .9]`` extended down to 0.5
PR_THRESHOLDS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)
_PR_FIELDS = tuple(f"pr_{t}" for t in PR_THRESHOLDS)
_PR_KEYS = tuple(f"pr@{t}" for t in PR_THRESHOLDS)

#: additive accumulators (METRICS.md §12), one state per group
FIELDS: tuple[str, ...] = ("acc_I", "acc_U", "acc_iou", "total", "not_empty", "empty", "TP", "TN", "FP", "FN",
                           *_PR_FIELDS)


def gres_increments(item: Item, prediction: Prediction, *, nt_from_mask: bool = False) -> State:
    """What one sample adds to each GRES accumulator (a pure function).

    Args:
        item: the sample; ``item.no_target`` is ReLA's ``gt_nt``.
        prediction: the model's answer; its no-target decision is ReLA's ``pred_nt``.
        nt_from_mask: decide ``pred_nt`` from the mask alone (empty mask = no target), even where the prediction
            carries a flag. By default the flag is used, and an empty mask only where there is no flag
            (:attr:`Prediction.rejects`).

    Returns:
        One value per field of :data:`FIELDS`: ``acc_I``/``acc_U`` ints, ``acc_iou`` a float, the rest 0 or 1.

    Example:
        >>> import numpy as np
        >>> from groundv import masks
        >>> gt = np.zeros((2, 5), dtype=bool); gt[0] = True
        >>> pred = np.zeros((2, 5), dtype=bool); pred[0, :4] = True
        >>> inc = gres_increments(Item("1", {}, "x", masks.encode(gt), False), Prediction("1", masks.encode(pred)))
        >>> inc["acc_I"], inc["acc_U"], inc["acc_iou"], inc["pr_0.8"], inc["pr_0.9"]
        (4, 5, 0.8, 1, 0)
    """
    counts = item_counts(item, prediction, "none")  # ReLA's GT is binary: no ignore label
    # METRICS.md §13.2. Without nt_from_mask this is Prediction.rejects, without counting the mask twice.
    from_mask = nt_from_mask or prediction.no_target is None
    pred_nt = counts.pred == 0 if from_mask else bool(prediction.no_target)
    inc: State = dict.fromkeys(FIELDS, 0)
    inc["acc_iou"] = 0.0
    inc["total"] = 1
    if item.no_target:
        # refer_evaluation.py::evaluate "No-target Samples": never touch not_empty or pr_count.
        inc["empty"] = 1
        if pred_nt:
            # "True Positive": IoU 1 whatever the mask is; nothing added to accum_I / accum_U.
            inc["TP"] = 1
            inc["acc_iou"] = 1.0
        else:
            # "False Negative": IoU 0 even for an empty mask; accum_U += U, which is |P| when the GT is empty.
            inc["FN"] = 1
            inc["acc_U"] = counts.union
        return inc
    inter = counts.inter
    if pred_nt:
        # refer_evaluation.py::evaluate "False Positive": I = 0, U keeps the real |P ∪ G|.
        inc["FP"] = 1
        inter = 0
    else:
        inc["TN"] = 1
    # refer_evaluation.py: ``this_iou = float(0) if U == 0 else float(I) / float(U)`` — exact, no epsilon.
    iou = 0.0 if counts.union == 0 else inter / counts.union
    inc["acc_iou"] = iou
    inc["acc_I"] = inter
    inc["acc_U"] = counts.union
    inc["not_empty"] = 1
    for field, threshold in zip(_PR_FIELDS, PR_THRESHOLDS, strict=True):
        if iou >= threshold:  # refer_evaluation.py: ``if this_iou >= thres`` — inclusive
            inc[field] = 1
    return inc


class GresProtocol(Protocol):
    """ReLA's GRES evaluation (``refer_evaluation.py``), the canonical protocol.

    Args:
        nt_from_mask: derive every prediction's no-target decision from its mask (empty = no target) and ignore
            its flag; for models without a no-target head (LISA, PSALM, Ground-V-trained MLLMs, METRICS.md §13.2).
            Default False: use the flag where given, the empty mask otherwise.

    Metrics (percent): ``giou`` = 100·acc_iou/total; ``ciou`` = 100·acc_I/acc_U; ``n_acc`` = 100·TP/(TP+FN);
    ``t_acc`` = 100·TN/(TN+FP), both 0 when there is no no-target sample (ReLA's rule); ``pr@X`` =
    100·pr_X/not_empty over targeted samples. None where ReLA divides by zero (see :attr:`UNDEFINED`).

    Example:
        >>> import numpy as np
        >>> from groundv import masks
        >>> gt = np.zeros((2, 5), dtype=bool); gt[0] = True
        >>> gres = GresProtocol()
        >>> _ = gres.update(Item("1", {}, "x", masks.encode(gt), False), Prediction("1", masks.encode(gt)))
        >>> _ = gres.update(Item("2", {}, "y", masks.encode(gt * 0), True), Prediction("2", masks.encode(gt * 0)))
        >>> result = gres.compute()
        >>> result["giou"], result["ciou"], result["n_acc"], result["t_acc"], result["pr@0.9"]
        (100.0, 100.0, 100.0, 100.0, 100.0)
    """

    name = "gres"
    FIELDS = FIELDS
    COUNT = "total"
    increments = staticmethod(gres_increments)
    UNDEFINED: ClassVar[Mapping[str, str]] = {
        "giou": "no samples (ReLA divides accum_IoU by total_count)",
        "ciou": "acc_U == 0: no samples, or every sample is a correctly rejected no-target one or has empty masks "
                "(ReLA's cIoU raises ZeroDivisionError)",
        "n_acc": "no samples",
        "t_acc": "no samples, or no targeted sample while there are no-target ones: TN + FP == 0 "
                 "(ReLA raises ZeroDivisionError)",
        **{key: "no targeted samples: not_empty == 0 (ReLA's Pr@ raises ZeroDivisionError)" for key in _PR_KEYS},
    }

    def __init__(self, *, nt_from_mask: bool = False) -> None:
        super().__init__(nt_from_mask=nt_from_mask)

    def metrics(self, state: Mapping[str, int | float]) -> Metrics:
        """ReLA's ``evaluate`` per-source formulas, in percent; None where ReLA would divide by zero."""
        total, empty, not_empty = state["total"], state["empty"], state["not_empty"]
        keys = ("giou", "ciou", "n_acc", "t_acc", *_PR_KEYS)
        if total == 0:  # ReLA reports only sources with total_count > 0
            return dict.fromkeys(keys)
        out: Metrics = {}
        # The operation order is ReLA's, so the floats match it to the last bit.
        out["giou"] = 100.0 * (state["acc_iou"] / total)
        out["ciou"] = state["acc_I"] * 100.0 / state["acc_U"] if state["acc_U"] else None
        if empty > 0:
            tn_fp = state["TN"] + state["FP"]
            out["n_acc"] = 100.0 * (state["TP"] / (state["TP"] + state["FN"]))
            out["t_acc"] = 100.0 * (state["TN"] / tn_fp) if tn_fp else None
        else:
            # refer_evaluation.py: ``else: res['T_acc'] = res['N_acc'] = 0`` when empty_count == 0.
            out["n_acc"] = out["t_acc"] = 0.0
        for key, field in zip(_PR_KEYS, _PR_FIELDS, strict=True):
            out[key] = state[field] * 100.0 / not_empty if not_empty else None
        return out


