"""Exact per-item pixel counts from RLE masks, without decoding them.

Every protocol scores an item from four numbers: I = |P ∧ G|, U = |P ∨ G|, |P| and |G|,
after the item's ``ignore`` pixels (ReasonSeg's 255 regions) are handled the protocol's way:

==============  ===================================================================================
mode            what happens to the ignore pixels
==============  ===================================================================================
``exclude``     removed from P and G, so from I, U, |P| and |G| (LISA
                ``utils/utils.py::intersectionAndUnionGPU``: ``output[target == 255] = 255``, then
                value 255 falls out of the {0, 1} histograms)
``foreground``  added to G (GSVA ``data/dataset.py::ValDataset`` casts the GT with
                ``.bool().byte()``, so 255 becomes 1)
``none``        not looked at: G is the item's mask as it is (ReLA and PSALM have binary GT)
==============  ===================================================================================

Only :mod:`groundv.masks`' RLE operations are used (pycocotools merge and area on compressed
runs), so the cost grows with the number of runs, not with the number of pixels. With an ignore
mask Ig the counts come from unions only, by inclusion–exclusion:

* exclude:    |P'| = |P ∪ Ig| − |Ig|, |G'| = |G ∪ Ig| − |Ig|, U' = |P ∪ G ∪ Ig| − |Ig|;
* foreground: |G'| = |G ∪ Ig|, U' = |P ∪ G ∪ Ig|;

and always I = |P| + |G| − U.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from groundv import masks
from groundv.errors import ConfigError, InputError
from groundv.eval.records import Item, Prediction
from groundv.masks import RLE

__all__ = ["IGNORE_MODES", "Counts", "IgnoreMode", "item_counts", "pixel_counts"]

IgnoreMode = Literal["exclude", "foreground", "none"]

#: the ways a protocol may treat an item's ignore pixels
IGNORE_MODES: tuple[str, ...] = ("exclude", "foreground", "none")


@dataclass(frozen=True, slots=True)
class Counts:
    """Exact pixel counts of one (prediction, ground truth) pair, after the ignore rule.

    Attributes:
        inter: I = |P ∧ G|.
        union: U = |P ∨ G|.
        pred: |P|.
        gt: |G|.

    Example:
        >>> import numpy as np
        >>> p = np.zeros((2, 4), dtype=bool); p[0, :3] = True
        >>> g = np.zeros((2, 4), dtype=bool); g[0, 1:] = True
        >>> pixel_counts(masks.encode(p), masks.encode(g))
        Counts(inter=2, union=4, pred=3, gt=3)
    """

    inter: int
    union: int
    pred: int
    gt: int


def pixel_counts(pred: RLE, gt: RLE, ignore: RLE | None = None, mode: IgnoreMode = "none") -> Counts:
    """Count I, U, |P| and |G| of two masks exactly, straight from their RLEs.

    Args:
        pred: the predicted mask.
        gt: the ground-truth mask, the same size.
        ignore: pixels to treat by ``mode``, or None (then every mode gives the same counts).
        mode: ``"exclude"`` (LISA), ``"foreground"`` (GSVA) or ``"none"``; see the module docstring.

    Returns:
        The counts, as Python ints.

    Raises:
        MaskError: the masks differ in size.
        ConfigError: unknown ``mode``.

    Example:
        >>> import numpy as np
        >>> p = masks.encode(np.array([[1, 1, 0, 0]]))
        >>> g = masks.encode(np.array([[0, 1, 1, 0]]))
        >>> ig = masks.encode(np.array([[1, 0, 0, 0]]))
        >>> pixel_counts(p, g, ig, "exclude")
        Counts(inter=1, union=2, pred=1, gt=2)
        >>> pixel_counts(p, g, ig, "foreground")
        Counts(inter=2, union=3, pred=2, gt=3)
    """
    if mode not in IGNORE_MODES:
        raise ConfigError(f"unknown ignore mode {mode!r}", hint=f"choose one of: {', '.join(IGNORE_MODES)}")
    if ignore is None or mode == "none":
        return Counts(*masks.overlap(pred, gt))
    n_ignore = masks.area(ignore)
    everything = masks.area(masks.union([pred, gt, ignore]))
    _, gt_or_ignore = masks.intersection_union(gt, ignore)
    if mode == "exclude":
        # LISA utils/utils.py::intersectionAndUnionGPU: pixels where the GT is 255 are set to 255 in the
        # prediction too, and 255 falls outside the histogram over {0, 1}: they leave P, G, I and U.
        _, pred_or_ignore = masks.intersection_union(pred, ignore)
        n_pred = pred_or_ignore - n_ignore
        n_gt = gt_or_ignore - n_ignore
        union = everything - n_ignore
    else:
        # GSVA data/dataset.py::ValDataset: ``.bool().byte()`` makes 255 foreground; P is untouched.
        n_pred = masks.area(pred)
        n_gt = gt_or_ignore
        union = everything
    return Counts(n_pred + n_gt - union, union, n_pred, n_gt)


def item_counts(item: Item, prediction: Prediction, mode: IgnoreMode) -> Counts:
    """:func:`pixel_counts` of a prediction against its item, the item's ``ignore`` handled by ``mode``.

    Raises:
        InputError: the prediction's mask is not the item's size (names the item).
    """
    hw, pred_hw = masks.size(item.mask), masks.size(prediction.mask)
    if pred_hw != hw:
        raise InputError(f"the predicted mask is {pred_hw[0]}×{pred_hw[1]} but the item's mask is {hw[0]}×{hw[1]}",
                         where=f"item {item.id}", hint="predict at the item's resolution (image height × width)")
    return pixel_counts(prediction.mask, item.mask, item.ignore, mode)
