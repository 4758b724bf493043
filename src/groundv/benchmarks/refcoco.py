"""RefCOCO, RefCOCO+ and RefCOCOg: ``refs(<splitBy>).p`` + ``instances.json`` → evaluation items.

Files (FORMATS.md §7): the refs file is a Python-2 pickle (or a JSON list of the same dicts, or a
MAttNet-style ``data.json``), read safely by :func:`groundv.sources.refs.read_refs`; ``instances.json``
is the COCO 2014-style file shipped beside it (any COCO instances file holding the images and
annotations works: image ids are the same in COCO 2014 and 2017).

What each item holds:

* ``image``: the ``images[]`` record found through the ref's ``image_id``. The ref's own
  ``file_name`` (``COCO_train2014_000000098304_3.jpg``) carries a suffix and is never used, as in
  LISA, ReLA and GSVA.
* ``mask``: the ref's annotation rasterised by pycocotools and binarised (see :mod:`._refer`: crowd
  and degenerate polygons dropped as ReLA does). ``no_target`` is always False.
* ``expression``: one item per sentence by default, id ``"<ref_id>:<sent_id>"``, text
  ``sentence['raw']`` (what ReLA feeds its model, METRICS.md §1.5), or ``sentence['sent']`` when a
  record has no ``raw``. With ``group="ref"``, one item per ref (PSALM's unit, METRICS.md §11), id
  ``"<ref_id>"``, text PSALM's concatenation of the normalised sentences, ``" s1. s2. s3."`` (leading
  space kept, as PSALM tokenises it).
* ``category`` and ``image.source``: the benchmark name (``refcoco``, ``refcoco+``, ``refcocog``).

Splits follow REFER's ``getRefIds`` (``lichengunc/refer`` ``refer.py``): ``testA``/``testB``/``testC``
also select combined values such as ``testAB``; ``test`` selects every split containing "test";
``train``, ``val``, ``testAB``, ``testBC``, ``testAC`` match exactly. Where REFER would exit on any
other name, a split name that the file itself uses is matched exactly, and anything else is a
:class:`~groundv.errors.ConfigError` listing the file's splits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from groundv.benchmarks._refer import Group, Instances, build_refs, load_refs, ref_items
from groundv.errors import InputError
from groundv.eval.records import Item

__all__ = ["read_refcoco", "refer_split"]


def refer_split(split: str, available: list[str]) -> Callable[[str], bool] | None:
    """REFER's split rule as a predicate on a ref's split; None for a name REFER refuses.

    Args:
        split: the requested split.
        available: the splits the refs file uses (a name among them is matched exactly).

    Example:
        >>> match = refer_split("testA", ["train", "testA", "testAB", "testB"])
        >>> [s for s in ["train", "testA", "testAB", "testB"] if match(s)]
        ['testA', 'testAB']
    """
    if split in ("testA", "testB", "testC"):
        return lambda s: split[-1] in s  # "we also consider testAB, testBC, ..."
    if split == "test":
        return lambda s: "test" in s
    if split in ("train", "val", "testAB", "testBC", "testAC") or split in available:
        return lambda s: s == split
    return None


def _scalar_ann_id(refs_path: Path) -> Callable[[dict[str, Any], str], tuple[tuple[int, ...], bool]]:
    def ann_ids_of(ref: dict[str, Any], where: str) -> tuple[tuple[int, ...], bool]:
        ann_id = ref.get("ann_id")
        if isinstance(ann_id, list):
            raise InputError(f"'ann_id' is a list {ann_id!r}: this looks like a gRefCOCO file", file=refs_path,
                             where=where, hint="read it as benchmark 'grefcoco'")
        if not isinstance(ann_id, int) or isinstance(ann_id, bool):
            raise InputError(f"'ann_id' must be an integer, got {ann_id!r}", file=refs_path, where=where)
        return (ann_id,), False

    return ann_ids_of


def read_refcoco(
    refs: str | Path,
    instances: str | Path,
    *,
    split: str,
    group: Group = "sentence",
    name: str = "refcoco",
) -> Iterator[Item]:
    """Evaluation items of one RefCOCO-family split.

    The files are read and every selected ref is checked when this is called; masks are built as
    the items are consumed.

    Args:
        refs: ``refs(unc).p``, ``refs(umd).p``, ``refs(google).p`` or a JSON list of refs.
        instances: the ``instances.json`` holding the refs' images and annotations.
        split: e.g. ``val``, ``testA``, ``test`` (REFER's rule, see the module docstring).
        group: ``"sentence"`` (one item per sentence) or ``"ref"`` (one per ref, PSALM).
        name: the benchmark name written to ``category`` and ``image.source``.

    Raises:
        InputError: a file is unreadable, or a ref is malformed or names an image or annotation
            that ``instances`` lacks (the message names the file and the ref).
        ConfigError: the split is unknown or selects nothing.

    Example:
        >>> items = read_refcoco("refcoco/refs(unc).p", "refcoco/instances.json", split="val")  # doctest: +SKIP
        >>> next(items).id  # doctest: +SKIP
        '0:0'
    """
    refs_path = Path(refs)
    selected = load_refs(refs_path, split=split, matcher=refer_split, benchmark=name)
    index = Instances(instances)
    checked = build_refs(selected, index, refs_path=refs_path, ann_ids_of=_scalar_ann_id(refs_path))
    return ref_items(checked, index, name=name, group=group, refs_path=refs_path)
