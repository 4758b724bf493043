"""A groundv dataset as a benchmark: Ground-V samples → evaluation items, one per sample.

Samples are read from the public sample contract (DESIGN §3.1, README "Contracts"): JSON lines with
``id``, ``image``, ``category`` (negative, multi_object, reasoning, multi_granularity, part),
``instruction``, ``response``, ``target_ids``, ``no_target``, ``mask`` and ``teacher``, checked with
:meth:`groundv.sample.Sample.from_json`. Each becomes an item whose expression is
the instruction, whose ground truth is the sample's mask and whose category is the sample's
category, so ``groundv eval`` reports the paper's per-category table.

Paths are ``samples*.jsonl`` files or folders holding them. The split is read from each sample's
``split`` field; ``split="all"`` takes every sample, with or without one. A folder holding
``test.jsonl`` (the reviewed test split written by ``groundv split DIR --test-from-reviews``) is read
from that file alone for ``split="test"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from groundv.errors import ConfigError, InputError
from groundv.eval.records import Item, read_jsonl
from groundv.sample import Sample

__all__ = ["read_dataset"]


def _sample_files(paths: Sequence[Path], split: str = "all") -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            reviewed = path / "test.jsonl"
            found = [reviewed] if split == "test" and reviewed.is_file() else sorted(path.glob("samples*.jsonl"))
            if not found:
                raise InputError("no samples*.jsonl in this folder", file=path,
                                 hint="pass a groundv dataset folder or its samples*.jsonl files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError("file not found", file=path)
    return files


def _item(record: object, file: Path, where: str) -> Item:
    # Sample.from_json enforces the contract (no_target ⇔ no targets ⇔ an all-zero mask, a valid RLE):
    # an item that broke it would be scored wrongly.
    sample = Sample.from_json(record, file=file, where=where)
    return Item(sample.id, dict(sample.image), sample.instruction, sample.mask, sample.no_target, sample.category)


def read_dataset(paths: Sequence[Path], *, split: str) -> Iterator[Item]:
    """Items of the samples in ``paths`` whose ``split`` field is ``split`` (every sample for ``"all"``).

    Missing paths fail at once; samples are checked as the items are consumed.

    Raises:
        InputError: a missing file, a malformed sample (file, line and id named) or a duplicate id.
        ConfigError: no sample is in the split (the splits found are listed).
    """
    return _items(_sample_files(paths, split), split)


def _items(files: list[Path], split: str) -> Iterator[Item]:
    seen: dict[str, str] = {}
    splits: set[str] = set()
    count = 0
    for file in files:
        for number, sample in read_jsonl(file):
            where = f"line {number}"
            sample_split = sample.get("split") if isinstance(sample, dict) else None
            splits.add(str(sample_split) if sample_split is not None else "(none)")
            if split != "all" and sample_split != split:
                continue
            item = _item(sample, file, where)
            if item.id in seen:
                raise InputError(f"duplicate sample id {item.id!r} (first at {seen[item.id]})", file=file,
                                 where=where)
            seen[item.id] = f"{file}:{number}"
            count += 1
            yield item
    if count == 0:
        raise ConfigError(f"no sample is in split {split!r}",
                          hint=f"splits found: {', '.join(sorted(splits))}; 'all' takes every sample")
