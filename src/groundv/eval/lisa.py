"""The LISA protocol: ``train_ds.py::validate`` with ``utils/utils.py::intersectionAndUnionGPU`` (METRICS.md §2).

One item is one mask (one expression): LISA averages per mask, not per image, so scoring the masks of an image one
by one gives LISA's numbers. There is no rejection: the prediction's ``no_target`` flag is not read, and a
"no target" answer scores only through an empty mask. Ignore pixels (ReasonSeg's 255) are removed from P, G, I and
U. There is no N-Acc, T-Acc or Pr@X (never threshold these epsilon-smoothed IoUs: 7/(10+1e-5) < 0.7).

Metrics, in percent (LISA prints fractions): ``giou``, ``ciou``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from groundv.eval.counts import item_counts
from groundv.eval.protocol import Metrics, Protocol, State
from groundv.eval.records import Item, Prediction

__all__ = ["FIELDS", "LisaProtocol", "lisa_increments"]

#: additive accumulators (METRICS.md §12)
FIELDS: tuple[str, ...] = ("I_sum", "U_sum", "iou_sum", "n_masks")


def lisa_increments(item: Item, prediction: Prediction, *, epsilons: bool = True) -> State:
    """What one mask adds to each LISA accumulator (a pure function).

    Args:
        item: the expression's ground truth; ``item.ignore`` pixels are excluded.
        prediction: the predicted mask (its flag is not read).
        epsilons: reproduce LISA's ``I / (U + 1e-5)``; False gives the exact ratio I / U. Either way a mask with
            U == 0 (empty prediction and empty GT) scores 1.

    Returns:
        ``{"I_sum": I, "U_sum": U, "iou_sum": a, "n_masks": 1}``.

    Example:
        >>> import numpy as np
        >>> from groundv import masks
        >>> one = masks.encode(np.ones((1, 1), dtype=bool))
        >>> lisa_increments(Item("1", {}, "x", one, False), Prediction("1", one))["iou_sum"]
        0.9999900000999989
    """
    counts = item_counts(item, prediction, "exclude")
    exact = counts.inter / counts.union if counts.union else 0.0
    # train_ds.py::validate: ``acc_iou += intersection_i / (union_i + 1e-5)``
    iou = counts.inter / (counts.union + 1e-5) if epsilons else exact
    if counts.union == 0:
        # train_ds.py::validate: ``acc_iou[union_i == 0] += 1.0  # no-object target`` (I is 0 there)
        iou += 1.0
    return {"I_sum": counts.inter, "U_sum": counts.union, "iou_sum": iou, "n_masks": 1}


class LisaProtocol(Protocol):
    """LISA's validation (``train_ds.py::validate``); GSVA's ``validate`` is the same.

    Args:
        epsilons: reproduce LISA's epsilons exactly (default): per-mask I/(U+1e-5), gIoU = iou_sum/(n_masks+1e-5),
            cIoU = I_sum/(U_sum+1e-10). False: exact ratios I/U, iou_sum/n_masks and I_sum/U_sum, with cIoU None
            when U_sum == 0 (the +1 for U == 0 stays: it is a rule, not an epsilon).

    Example:
        >>> import numpy as np
        >>> from groundv import masks
        >>> gt = np.zeros((2, 5), dtype=bool); gt[0] = True
        >>> item, pred = Item("1", {}, "x", masks.encode(gt), False), Prediction("1", masks.encode(gt))
        >>> lisa, exact = LisaProtocol(), LisaProtocol(epsilons=False)
        >>> _ = lisa.update(item, pred), exact.update(item, pred)
        >>> round(lisa.compute()["giou"], 5), exact.compute()["giou"]
        (99.9988, 100.0)
    """

    name = "lisa"
    FIELDS = FIELDS
    COUNT = "n_masks"
    increments = staticmethod(lisa_increments)
    UNDEFINED: ClassVar[Mapping[str, str]] = {
        "giou": "no masks (LISA's meters would hold a scalar and fail on avg[1])",
        "ciou": "no masks, or U_sum == 0 with epsilons=False",
    }

    def __init__(self, *, epsilons: bool = True) -> None:
        super().__init__(epsilons=epsilons)

    def metrics(self, state: Mapping[str, int | float]) -> Metrics:
        """LISA's final ratios in percent; None with no masks (LISA crashes there)."""
        n, i_sum, u_sum = state["n_masks"], state["I_sum"], state["U_sum"]
        if n == 0:
            return {"giou": None, "ciou": None}
        if self.options["epsilons"]:
            # train_ds.py::validate: ``giou = acc_iou_meter.avg[1]`` with avg = sum / (count + 1e-5) after
            # AverageMeter.all_reduce; ``ciou = (intersection_meter.sum / (union_meter.sum + 1e-10))[1]``.
            return {"giou": 100.0 * (state["iou_sum"] / (n + 1e-5)), "ciou": 100.0 * (i_sum / (u_sum + 1e-10))}
        return {"giou": 100.0 * (state["iou_sum"] / n), "ciou": 100.0 * (i_sum / u_sum) if u_sum else None}


