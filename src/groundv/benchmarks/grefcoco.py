"""gRefCOCO: ``grefs(unc).json`` + ``instances.json`` → evaluation items with multi- and no-target refs.

Files (FORMATS.md §8): ``grefs(unc).json`` (or the ``.p`` pickle that ``G_REFER`` tries first), read
by :func:`groundv.sources.refs.read_refs`, and the COCO 2014-style ``instances.json`` beside it.

How a ref becomes items, following ReLA's loader (``gres_model/data/datasets/grefcoco.py``,
METRICS.md §1.5) where it differs from RefCOCO:

* ``ann_id`` is a list of target annotations; a scalar is wrapped in a list.
* ``ann_id == [-1]`` is the only authority for "no target": the item has ``no_target=True`` and an
  all-zero mask of the image's size. ``-1`` mixed with real ids is an error, as is a ``no_target``
  field that disagrees with ``ann_id`` (no official loader reads that field; FORMATS.md §8.1 asks
  that the two agree).
* The targets' masks are OR-ed. Crowd targets are dropped; a ref whose targets are all crowd keeps
  an empty mask but stays a targeted item (``no_target=False``), as ReLA decides ``empty`` from
  ``ann_id`` and not from the mask (METRICS.md §13.4).
* Splits match exactly, and must be one the file uses (``G_REFER.getRefIds`` raises
  ``ValueError('Invalid split name')`` otherwise): ``train``, ``val``, ``testA``, ``testB``.

Ids, expressions, ``category`` (``"grefcoco"``) and ``image`` are as for RefCOCO
(:mod:`groundv.benchmarks.refcoco`): ``"<ref_id>:<sent_id>"`` with ``sentence['raw']``, or with
``group="ref"`` ``"<ref_id>"`` with PSALM's ``" s1. s2."`` concatenation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from groundv.benchmarks._refer import Group, Instances, build_refs, load_refs, ref_items
from groundv.errors import InputError
from groundv.eval.records import Item

__all__ = ["read_grefcoco"]


def _exact_split(split: str, available: list[str]) -> Callable[[str], bool] | None:
    return (lambda s: s == split) if split in available else None


def _ann_id_list(refs_path: Path) -> Callable[[dict[str, Any], str], tuple[tuple[int, ...], bool]]:
    def ann_ids_of(ref: dict[str, Any], where: str) -> tuple[tuple[int, ...], bool]:
        raw = ref.get("ann_id")
        ann_ids = raw if isinstance(raw, list) else [raw]  # ReLA wraps a scalar
        if not ann_ids or not all(isinstance(a, int) and not isinstance(a, bool) for a in ann_ids):
            raise InputError(f"'ann_id' must be an integer or a non-empty list of integers, got {raw!r}",
                             file=refs_path, where=where)
        no_target = ann_ids == [-1]
        if not no_target and -1 in ann_ids:
            raise InputError(f"'ann_id' {raw!r} mixes -1 (no target) with targets", file=refs_path, where=where)
        flag = ref.get("no_target")
        if flag is not None and bool(flag) != no_target:
            raise InputError(f"'no_target' is {flag!r} but 'ann_id' is {raw!r}", file=refs_path, where=where,
                             hint="ann_id == [-1] means no target; the no_target field must agree with it")
        return (() if no_target else tuple(ann_ids)), no_target

    return ann_ids_of


def read_grefcoco(
    refs: str | Path,
    instances: str | Path,
    *,
    split: str,
    group: Group = "sentence",
) -> Iterator[Item]:
    """Evaluation items of one gRefCOCO split.

    The files are read and every selected ref is checked when this is called; masks are built as
    the items are consumed.

    Args:
        refs: ``grefs(unc).json`` (or ``grefs(unc).p``).
        instances: the ``instances.json`` holding the refs' images and annotations.
        split: ``train``, ``val``, ``testA`` or ``testB`` (exact match).
        group: ``"sentence"`` (one item per sentence) or ``"ref"`` (one per ref, PSALM).

    Raises:
        InputError: a file is unreadable, or a ref is malformed, contradicts itself, or names an image
            or annotation that ``instances`` lacks (the message names the file and the ref).
        ConfigError: the split is not one the file uses.

    Example:
        >>> items = read_grefcoco("grefcoco/grefs(unc).json", "grefcoco/instances.json", split="val")  # doctest: +SKIP
        >>> [i.no_target for i in items][:3]  # doctest: +SKIP
        [False, False, True]
    """
    refs_path = Path(refs)
    selected = load_refs(refs_path, split=split, matcher=_exact_split, benchmark="grefcoco")
    index = Instances(instances)
    checked = build_refs(selected, index, refs_path=refs_path, ann_ids_of=_ann_id_list(refs_path))
    return ref_items(checked, index, name="grefcoco", group=group, refs_path=refs_path)
