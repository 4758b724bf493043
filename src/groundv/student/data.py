"""Training data for the student: records from groundv datasets or item files, shrunk once into memory.

A :class:`Record` is what training needs of a sample — the image file, the instruction, the target
mask (COCO RLE at the image's size) and the no-target flag. :func:`read_records` takes groundv
dataset folders (``samples-*.jsonl`` + ``manifest.json``, whose source says where the images are;
every sample checked against the contract) and evaluation-item files (DESIGN §3.2, any category —
the plain referring data of ``groundv reproduce`` is one), whose images come from ``images``.

:class:`TrainingSet` loads every distinct image once, shrunk to the network's input size (BOX
filter) into one ``uint8`` array, and encodes every distinct instruction once. Masks stay RLEs and are
decoded and shrunk per batch (area average: a soft target, the fraction of each input pixel covered).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from groundv import masks
from groundv.errors import ConfigError, InputError
from groundv.masks import RLE
from groundv.student.text import encode_texts

__all__ = ["Record", "TrainingSet", "read_records"]


@dataclass(frozen=True, slots=True)
class Record:
    """One training example.

    Attributes:
        id: the sample's or item's id.
        image_id: the image's id in its source.
        image_path: the picture.
        image_size: ``(height, width)`` of the picture and the mask.
        instruction: the text.
        mask: the target (all zero when ``no_target``).
        no_target: nothing is referred to.
        category: Ground-V category (or ``referring``), for counts.
    """

    id: str
    image_id: int | str
    image_path: Path
    image_size: tuple[int, int]
    instruction: str
    mask: RLE
    no_target: bool
    category: str | None


def _find(folder: Path, image: dict[str, Any], where: str) -> Path:
    name = str(image.get("file_name", ""))
    for path in (folder / name, folder / Path(name).name):
        if path.is_file():
            return path
    raise InputError(f"image {name!r} not found in {folder}", where=where)


def _from_dataset(folder: Path) -> list[Record]:
    from groundv.eval.records import read_jsonl
    from groundv.sample import Sample
    from groundv.store import read_manifest

    images = read_manifest(folder).settings.get("source", {}).get("images")
    if not images:
        raise ConfigError(f"{folder}/manifest.json records no images folder")
    root = Path(images) if Path(images).is_absolute() else folder / images
    out = []
    for file in sorted(folder.glob("samples-*.jsonl")):
        for number, obj in read_jsonl(file):
            sample = Sample.from_json(obj, file=file, where=f"line {number}")
            path = _find(root, dict(sample.image), f"{file}: line {number}")
            out.append(Record(sample.id, sample.image["id"], path, masks.size(sample.mask), sample.instruction,
                              sample.mask, sample.no_target, sample.category))
    return out


def _from_items(file: Path, images: Path | None) -> list[Record]:
    from groundv.eval.records import read_items

    if images is None:
        raise ConfigError(f"{file} is an items file: its images folder is needed", hint="pass --images DIR")
    return [Record(item.id, item.image.get("id", item.id), _find(images, item.image, f"{file}: item {item.id}"),
                   item.size, item.expression, item.mask, item.no_target, item.category) for item in read_items(file)]


def read_records(paths: Sequence[Path], *, images: Path | None = None) -> list[Record]:
    """Training records from groundv dataset folders and item files, in the order given.

    Raises:
        InputError: a missing path, a malformed sample or item (file, line and id named), a missing image,
            or a repeated id.
        ConfigError: an items file without ``images``, or no record at all.
    """
    records: list[Record] = []
    for path in paths:
        if path.is_dir():
            records.extend(_from_dataset(path))
        elif path.is_file():
            records.extend(_from_items(path, images))
        else:
            raise InputError("not found", file=path, hint="pass groundv dataset folders or items .jsonl files")
    seen: set[str] = set()
    for record in records:
        if record.id in seen:
            raise InputError(f"id {record.id!r} occurs twice in the training data")
        seen.add(record.id)
    if not records:
        raise ConfigError("no training records", hint="the datasets and item files given are empty")
    return records


def shrink_image(image: Image.Image, height: int, width: int) -> np.ndarray:
    """``uint8 [3, height, width]``: the RGB picture shrunk (or stretched) to the network's input."""
    return np.asarray(image.convert("RGB").resize((width, height), Image.Resampling.BOX)).transpose(2, 0, 1).copy()


def shrink_mask(rle: RLE, height: int, width: int) -> np.ndarray:
    """``float32 [height, width]``: the fraction of each input pixel the mask covers."""
    bitmap = Image.fromarray(masks.decode(rle) * np.uint8(255))
    return np.asarray(bitmap.resize((width, height), Image.Resampling.BOX), dtype=np.float32) / 255.0


class TrainingSet:
    """Records with their images and texts prepared once, shared by every run that trains on them.

    Args:
        records: the examples.
        height, width: the network's input size.
        text: ``hashed`` or ``minilm``.
        text_cache: folder for cached MiniLM vectors.
        progress: called with the number of images loaded so far.
    """

    def __init__(self, records: Sequence[Record], *, height: int, width: int, text: str,
                 text_cache: Path | None = None, progress: Callable[[int], None] | None = None) -> None:
        self.records = list(records)
        self.height, self.width, self.text = height, width, text
        paths = list(dict.fromkeys(r.image_path for r in self.records))
        index = {p: i for i, p in enumerate(paths)}
        self.images = np.zeros((len(paths), 3, height, width), dtype=np.uint8)
        for i, path in enumerate(paths):
            try:
                with Image.open(path) as im:
                    self.images[i] = shrink_image(im, height, width)
            except OSError as exc:
                raise InputError(f"cannot open image ({exc})", file=path) from None
            if progress is not None:
                progress(i + 1)
        self.image_of = np.array([index[r.image_path] for r in self.records], dtype=np.int64)
        texts = list(dict.fromkeys(r.instruction for r in self.records))
        rows = {t: i for i, t in enumerate(texts)}
        self.texts = encode_texts(texts, text, cache=text_cache)
        self.text_of = np.array([rows[r.instruction] for r in self.records], dtype=np.int64)
        self.no_target = np.array([r.no_target for r in self.records], dtype=np.float32)

    def __len__(self) -> int:
        return len(self.records)

    def batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(images uint8 [B,3,H,W], text input [B,…], soft masks float32 [B,H,W], no-target float32 [B])``."""
        targets = np.stack([shrink_mask(self.records[i].mask, self.height, self.width) for i in indices])
        return (self.images[self.image_of[indices]], self.texts[self.text_of[indices]], targets,
                self.no_target[indices])
