"""The GSVA protocol: ``solver.py::eval_gres`` (METRICS.md §3), GSVA's evaluation of gRefCOCO and R-RefCOCO (refzom).

A sample is one expression. Unlike ReLA:

* an empty GT is detected from the mask sum (``gt.sum() < 1``), not from ``item.no_target``;
* the rejection is ``prediction.rejects`` (GSVA's ``[REJ]`` token: the flag, else an empty mask);
* a rejected targeted sample (FP) keeps its mask's real I and U (ReLA zeroes I);
* a missed no-target sample (FN) adds U = |P| to the cIoU union only on gRefCOCO, not on refzom;
* ignore pixels become GT foreground (GSVA's ``ValDataset`` casts the GT with ``.bool().byte()``);
* the epsilons are I/(U+1e-8), giou_sum/(count+1e-5), I_sum/(U_sum+1e-10).

Metrics, in percent (GSVA prints fractions): ``giou``, ``ciou``, ``n_acc``, ``t_acc``. No Pr@X.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from groundv.eval.counts import item_counts
from groundv.eval.protocol import Metrics, Protocol, State
from groundv.eval.records import Item, Prediction

__all__ = ["FIELDS", "GsvaProtocol", "gsva_increments"]

#: additive accumulators (METRICS.md §12)
FIELDS: tuple[str, ...] = ("I_sum", "U_sum", "giou_sum", "count", "TP", "TN", "FP", "FN")


def gsva_increments(item: Item, prediction: Prediction, *, refzom: bool = False) -> State:
    """What one expression adds to each GSVA accumulator (a pure function).

    Args:
        item: the expression's ground truth; its ``no_target`` flag is not read, its ``ignore`` pixels count as GT.
        prediction: the answer; ``prediction.rejects`` is GSVA's ``[REJ]``.
        refzom: score as GSVA does R-RefCOCO (``ds == 'refzom'``): a missed no-target sample adds nothing to U_sum.

    Returns:
        One value per field of :data:`FIELDS`.

    Example:
        >>> import numpy as np
        >>> from groundv import masks
        >>> gt = np.zeros((2, 5), dtype=bool); gt[0] = True
        >>> inc = gsva_increments(Item("1", {}, "x", masks.encode(gt), False),
        ...                       Prediction("1", masks.encode(gt), no_target=True))
        >>> inc["FP"], inc["I_sum"], inc["U_sum"]  # a false rejection keeps the mask's real I and U
        (1, 5, 5)
    """
    counts = item_counts(item, prediction, "foreground")
    rejects = prediction.rejects
    inc: State = dict.fromkeys(FIELDS, 0)
    inc["giou_sum"] = 0.0
    inc["count"] = 1
    if counts.gt == 0:
        # solver.py::eval_gres: ``if gt.sum() < 1.0: # empty target`` — from the mask, not a flag.
        if rejects:
            inc["TP"] = 1
            inc["giou_sum"] = 1.0  # ``g_iou_meter.update(1.0)``, the mask is not looked at
        else:
            # ``g_iou_meter.update(0.0)`` even for an empty mask; ``if is_grefcoco: union_meter.update(union_i)``
            inc["FN"] = 1
            if not refzom:
                inc["U_sum"] = counts.union
        return inc
    # solver.py::eval_gres: FP or TN, then the real I and U of the mask either way (not zeroed for FP).
    inc["FP" if rejects else "TN"] = 1
    inc["I_sum"] = counts.inter
    inc["U_sum"] = counts.union
    inc["giou_sum"] = counts.inter / (counts.union + 1e-8)  # ``this_giou = inter_i / (union_i + 1e-8)``
    return inc


class GsvaProtocol(Protocol):
    """GSVA's ``solver.py::eval_gres`` (used for ``grefcoco`` and ``refzom``).

    Args:
        refzom: R-RefCOCO scoring: a no-target sample that was not rejected adds nothing to the cIoU union
            (GSVA adds it only when ``ds == 'grefcoco'``). Default False (gRefCOCO).

    Metrics (percent): ``giou`` = 100·giou_sum/(count+1e-5), ``ciou`` = 100·I_sum/(U_sum+1e-10),
    ``n_acc`` = 100·TP/(TP+FN), ``t_acc`` = 100·TN/(TN+FP); None where GSVA divides by zero.

    Example:
        >>> import numpy as np
        >>> from groundv import masks
        >>> gt = np.zeros((2, 5), dtype=bool); gt[0] = True
        >>> gsva = GsvaProtocol()
        >>> _ = gsva.update(Item("1", {}, "x", masks.encode(gt), False), Prediction("1", masks.encode(gt)))
        >>> result = gsva.compute()
        >>> round(result["giou"], 4), result["t_acc"], result["n_acc"], list(result["undefined"])
        (99.999, 100.0, None, ['n_acc'])
    """

    name = "gsva"
    FIELDS = FIELDS
    COUNT = "count"
    increments = staticmethod(gsva_increments)
    UNDEFINED: ClassVar[Mapping[str, str]] = {
        "giou": "no samples (GSVA's meters would hold a scalar and fail on avg[1])",
        "ciou": "no samples (GSVA's meters would hold a scalar and fail on [1])",
        "n_acc": "no no-target samples: TP + FN == 0 (GSVA raises ZeroDivisionError)",
        "t_acc": "no targeted samples: TN + FP == 0 (GSVA raises ZeroDivisionError)",
    }

    def __init__(self, *, refzom: bool = False) -> None:
        super().__init__(refzom=refzom)

    def metrics(self, state: Mapping[str, int | float]) -> Metrics:
        """GSVA's final ratios in percent; None where GSVA would crash."""
        count = state["count"]
        tp, tn, fp, fn = state["TP"], state["TN"], state["FP"], state["FN"]
        out: Metrics = {"giou": None, "ciou": None}
        if count:
            # solver.py::eval_gres: ``g_iou = g_iou_meter.avg[1]`` (sum / (count + 1e-5) after all_reduce),
            # ``c_iou = (inter_meter.sum / (union_meter.sum + 1e-10))[1]``.
            out["giou"] = 100.0 * (state["giou_sum"] / (count + 1e-5))
            out["ciou"] = 100.0 * (state["I_sum"] / (state["U_sum"] + 1e-10))
        out["n_acc"] = 100.0 * (tp / (tp + fn)) if tp + fn else None
        out["t_acc"] = 100.0 * (tn / (tn + fp)) if tn + fp else None
        return out


