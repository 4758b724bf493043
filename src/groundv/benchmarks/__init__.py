"""Referring-segmentation benchmarks → evaluation items (:class:`~groundv.eval.records.Item`).

:data:`BENCHMARKS` lists them (name → one line); :func:`read_benchmark` reads one by name. Each
family has its module, which documents its files, ids and edge cases:

==========================  ==========================================  =============================
benchmark                   paths                                       item id
==========================  ==========================================  =============================
refcoco, refcoco+,          ``refs(unc|umd|google).p``, instances.json  ``<ref_id>:<sent_id>``, or
refcocog                    (:mod:`.refcoco`)                           ``<ref_id>`` with group="ref"
grefcoco                    ``grefs(unc).json``, instances.json         same
                            (:mod:`.grefcoco`)
reasonseg                   a folder, or ``.json`` files                ``<json stem>``
                            (:mod:`.reasonseg`)
groundv                     dataset folders or ``samples*.jsonl``       the sample's ``id``
                            (:mod:`.dataset`)
==========================  ==========================================  =============================

Expressions: RefCOCO-family items carry ``sentence['raw']`` (what ReLA feeds its model), and with
``group="ref"`` PSALM's per-ref concatenation ``" s1. s2."`` of the ``sent`` texts; ReasonSeg items
carry ``text[0]`` stripped (LISA's validation). Masks are rasterised as the official loaders do:
pycocotools for the COCO-based benchmarks (OR of the non-crowd targets), LISA's cv2 painting for
ReasonSeg (whose ``ignore`` shapes become the item's ``ignore`` mask).

Modules are imported only when their benchmark is read, so a missing optional dependency (cv2 for
ReasonSeg) never breaks the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

from groundv.errors import ConfigError
from groundv.eval.records import Item

__all__ = ["BENCHMARKS", "read_benchmark"]

#: benchmark name → one-line description (``groundv benchmarks`` prints it)
BENCHMARKS: dict[str, str] = {
    "refcoco": "RefCOCO (UNC: train/val/testA/testB): refs(unc).p + instances.json, one item per sentence",
    "refcoco+": "RefCOCO+ (UNC: train/val/testA/testB, no location words): refs(unc).p + instances.json",
    "refcocog": "RefCOCOg (umd: train/val/test; google: train/val): refs(umd|google).p + instances.json",
    "grefcoco": "gRefCOCO multi- and no-target refs (train/val/testA/testB): grefs(unc).json + instances.json",
    "reasonseg": "ReasonSeg (LISA; train/val/test folders of .json + .jpg): reasoning queries, ignore regions",
    "groundv": "a groundv dataset: samples*.jsonl files or folders; split from each sample's 'split', or 'all'",
}

_REFS_FILE = {"refcoco": "refs(unc).p", "refcoco+": "refs(unc).p", "refcocog": "refs(umd).p",
              "grefcoco": "grefs(unc).json"}


def read_benchmark(
    name: str,
    paths: Sequence[Path],
    *,
    split: str,
    group: Literal["sentence", "ref"] = "sentence",
    image_size: tuple[int, int] | None = None,
) -> Iterator[Item]:
    """Read one split of a benchmark as evaluation items.

    Files are read and checked when this is called (so a wrong split or file fails at once);
    masks are built as the items are consumed.

    Args:
        name: a key of :data:`BENCHMARKS`.
        paths: RefCOCO family and gRefCOCO: ``[refs file, instances.json]``. ReasonSeg: folders
            (the ReasonSeg root or a split folder) and/or ``.json`` files. groundv: dataset folders
            and/or ``samples*.jsonl`` files.
        split: the split to read. RefCOCO family: REFER's rule (``testA`` also selects
            ``testAB``, ``test`` every test split); gRefCOCO: exact; ReasonSeg: the folder, and
            ignored for ``.json`` paths; groundv: each sample's ``split`` field, or ``"all"``.
        group: ``"sentence"``: one item per expression (ReLA, LISA, GSVA); ``"ref"``: one item per
            ref with its sentences concatenated (PSALM). ReasonSeg has one query per file in
            validation, so both give the same items.
        image_size: ReasonSeg only: ``(height, width)`` for JSONs without a jpg beside them.

    Raises:
        ConfigError: unknown benchmark, group or split, wrong number of paths, or an option the
            benchmark does not take.
        InputError: a file is missing or malformed (the message names the file and the record).
        MissingDependency: ReasonSeg without opencv-python-headless.

    Example:
        >>> items = read_benchmark("refcoco", [Path("refs(unc).p"), Path("instances.json")],
        ...                        split="val")  # doctest: +SKIP
        >>> from groundv.eval import write_jsonl
        >>> write_jsonl(items, "refcoco_val.jsonl")  # doctest: +SKIP
        10834
    """
    key = name.lower()
    if key not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {name!r}", hint=f"choose one of: {', '.join(BENCHMARKS)}")
    if group not in ("sentence", "ref"):
        raise ConfigError(f"group must be 'sentence' or 'ref', got {group!r}")
    paths = [Path(p) for p in paths]
    if key == "groundv":
        if image_size is not None:
            raise ConfigError("groundv samples carry their image size; image_size is for reasonseg only")
        from groundv.benchmarks.dataset import read_dataset

        return read_dataset(paths, split=split)
    if key == "reasonseg":
        from groundv.benchmarks.reasonseg import read_reasonseg

        return read_reasonseg(paths, split=split, image_size=image_size)
    if image_size is not None:
        raise ConfigError(f"{name} takes image sizes from instances.json; image_size is for reasonseg only")
    if len(paths) != 2:
        raise ConfigError(f"{key} needs 2 paths, the refs file and instances.json, got {len(paths)}",
                          hint=f"pass {_REFS_FILE[key]} then instances.json")
    if key == "grefcoco":
        from groundv.benchmarks.grefcoco import read_grefcoco

        return read_grefcoco(paths[0], paths[1], split=split, group=group)
    from groundv.benchmarks.refcoco import read_refcoco

    return read_refcoco(paths[0], paths[1], split=split, group=group, name=key)
