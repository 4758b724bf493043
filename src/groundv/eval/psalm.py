"""The PSALM protocol: ``psalm/eval/eval_grefcoco.py::compute_metric`` and ``evaluation`` (METRICS.md §4).

PSALM has no no-target flag: both the item's and the prediction's ``no_target`` are ignored, and "no prediction"
is an empty (fused) mask, which scores 1 against an empty GT (LISA's U == 0 rule). PSALM's unit is one ref with its
sentences concatenated (METRICS.md §11): build the items that way to reproduce its numbers. PSALM's GT is binary,
so an item's ``ignore`` pixels are not looked at (the GT mask is taken as it is).

Metrics, in percent (PSALM prints fractions): ``giou`` = 100·iou_sum/count (no epsilon: PSALM's meters are never
all-reduced, so ``avg`` is ``sum / count``), ``ciou`` = 100·I_sum/(U_sum+1e-10). No N-Acc, T-Acc or Pr@X.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from groundv.eval.counts import item_counts
from groundv.eval.protocol import Metrics, Protocol, State
from groundv.eval.records import Item, Prediction

__all__ = ["FIELDS", "PsalmProtocol", "psalm_increments"]

#: additive accumulators (METRICS.md §12)
FIELDS: tuple[str, ...] = ("I_sum", "U_sum", "iou_sum", "count")


def psalm_increments(item: Item, prediction: Prediction) -> State:
    """What one sample (one ref) adds to each PSALM accumulator (a pure function).

    Args:
        item: the ground truth (its flag and ignore pixels are not read).
        prediction: the fused predicted mask (its flag is not read).

    Returns:
        ``{"I_sum": I, "U_sum": U, "iou_sum": I / (U + 1e-5), or 1.0 when U == 0, "count": 1}``.

    Example:
        >>> import numpy as np
        >>> from groundv import masks
        >>> none = masks.encode(np.zeros((2, 5), dtype=bool))
        >>> psalm_increments(Item("1", {}, "x", none, True), Prediction("1", none))
        {'I_sum': 0, 'U_sum': 0, 'iou_sum': 1.0, 'count': 1}
    """
    counts = item_counts(item, prediction, "none")
    # eval_grefcoco.py::compute_metric: ``acc_iou = intersection / (union + 1e-5)``;
    # ``acc_iou[union == 0] = 1.0  # no-object target`` (an assignment; I is 0 there anyway).
    iou = 1.0 if counts.union == 0 else counts.inter / (counts.union + 1e-5)
    return {"I_sum": counts.inter, "U_sum": counts.union, "iou_sum": iou, "count": 1}


class PsalmProtocol(Protocol):
    """PSALM's gRefCOCO evaluation (``psalm/eval/eval_grefcoco.py``).

    It has no options. Metrics (percent): ``giou`` = 100·iou_sum/count, ``ciou`` = 100·I_sum/(U_sum+1e-10).

    Example:
        >>> import numpy as np
        >>> from groundv import masks
        >>> none = masks.encode(np.zeros((2, 5), dtype=bool))
        >>> psalm = PsalmProtocol()
        >>> _ = psalm.update(Item("1", {}, "x", none, True), Prediction("1", none, no_target=False))
        >>> psalm.compute()["giou"], psalm.compute()["ciou"]  # an empty mask is PSALM's "no target"
        (100.0, 0.0)
    """

    name = "psalm"
    FIELDS = FIELDS
    COUNT = "count"
    increments = staticmethod(psalm_increments)
    UNDEFINED: ClassVar[Mapping[str, str]] = {
        "giou": "no samples (PSALM divides by the meter's count)",
        "ciou": "no samples (PSALM's meters would hold a scalar and fail on [1])",
    }

    def metrics(self, state: Mapping[str, int | float]) -> Metrics:
        """PSALM's final ratios in percent; None with no samples."""
        count = state["count"]
        if count == 0:
            return {"giou": None, "ciou": None}
        # eval_grefcoco.py::evaluation: ``giou = acc_iou_meter.avg[1]`` (AverageMeter.update: sum / count, no
        # all_reduce); ``iou_class = intersection_meter.sum / (union_meter.sum + 1e-10)``.
        return {"giou": 100.0 * (state["iou_sum"] / count),
                "ciou": 100.0 * (state["I_sum"] / (state["U_sum"] + 1e-10))}

