"""What every source format shares: the :class:`Source` base, bad-input handling, JSON reading.

A source streams :class:`~groundv.scene.Scene` objects, one per image, and knows how many images it
will yield (for progress bars). Bad input either raises an :class:`~groundv.errors.InputError` that
names the file and the record, or, with ``skip_bad=True``, is counted and recorded in
:class:`Problems` so that the caller can report every skip — never a silent drop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from PIL import Image

from groundv.errors import InputError
from groundv.scene import Scene

__all__ = ["Problem", "Problems", "Source", "read_bytes", "read_json", "resolve_image"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One skipped record or one repair, with where it happened."""

    file: str | None
    where: str | None
    message: str
    skipped: bool

    def __str__(self) -> str:
        return ": ".join(p for p in (self.file, self.where, self.message) if p)


@dataclass
class Problems:
    """Collects bad input. Raises at once unless ``skip_bad`` is set.

    Attributes:
        skip_bad: record and count bad records instead of raising.
        items: every skipped record and every repair (e.g. a dropped degenerate polygon).
    """

    skip_bad: bool = False
    items: list[Problem] = field(default_factory=list)

    def fail(self, error: InputError) -> None:
        """Raise ``error``, or record it as a skip when ``skip_bad`` is set."""
        if not self.skip_bad:
            raise error
        self.items.append(Problem(error.file, error.where, error.reason, skipped=True))

    def repaired(self, message: str, *, file: str | Path | None = None, where: str | None = None) -> None:
        """Record something that was fixed up and kept (always recorded, never raised)."""
        self.items.append(Problem(str(file) if file else None, where, message, skipped=False))

    @property
    def skipped(self) -> int:
        return sum(p.skipped for p in self.items)

    @property
    def repairs(self) -> int:
        return sum(not p.skipped for p in self.items)

    def counts(self) -> Counter[str]:
        """How many problems of each kind (message without numbers), for a summary table."""
        return Counter(("skipped: " if p.skipped else "repaired: ") + _kind(p.message) for p in self.items)


def _kind(message: str) -> str:
    return "".join("#" if c.isdigit() else c for c in message).split(" (")[0]


class Source(ABC):
    """Base of every source: iterate it for scenes, ``len()`` it for the image count.

    Subclasses implement :meth:`__len__` and :meth:`_scenes`, and call :meth:`_keep` with each image
    id before building its scene, so that images in ``exclude`` (the leakage guard's benchmark
    images) are skipped before their masks are decoded and counted in :attr:`excluded`.

    Args:
        skip_bad: count and record bad records in :attr:`problems` instead of raising.
        exclude: image ids never to yield.
    """

    #: format name, as listed by ``groundv sources``
    name: str = "source"

    def __init__(self, *, skip_bad: bool = False, exclude: Collection[int | str] = ()) -> None:
        self.problems = Problems(skip_bad=skip_bad)
        self.exclude = frozenset(exclude)
        self.excluded = 0
        self._opening_problems: int | None = None

    def __iter__(self) -> Iterator[Scene]:
        # Problems found while opening stay; those found while reading scenes are counted once per pass.
        if self._opening_problems is None:
            self._opening_problems = len(self.problems.items)
        del self.problems.items[self._opening_problems:]
        self.excluded = 0
        for scene in self._scenes():
            # Second line of defence: a benchmark image must never get through, whatever a subclass does.
            if scene.image_id not in self.exclude:
                yield scene

    @abstractmethod
    def __len__(self) -> int:
        """Number of images the source holds (before exclusion), for progress bars."""

    @abstractmethod
    def _scenes(self) -> Iterator[Scene]:
        """Yield the scenes, calling :meth:`_keep` first for each image."""

    def _keep(self, image_id: int | str) -> bool:
        """False for an excluded image (counted); lets subclasses skip decoding its masks at all."""
        if image_id in self.exclude:
            self.excluded += 1
            return False
        return True


def read_bytes(path: Path) -> bytes:
    """A file's bytes; a missing file or a folder in its place is an :class:`InputError`."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("expected a file, got a directory", file=path) from None


def read_json(path: str | Path) -> Any:
    """Read a JSON file, turning a missing file or a syntax error into an :class:`InputError`.

    The error names the line and column, so a user can open the file at the mistake.
    """
    path = Path(path)
    data = read_bytes(path)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=path, where=f"line {exc.lineno} column {exc.colno}",
                         hint="the file may be truncated; download or write it again") from None


def resolve_image(images: Path | None, file_name: str, *, file: Path, where: str,
                  size: tuple[int, int] | None = None,
                  missing_hint: str = "pass the folder that holds the images with --images") -> Path | None:
    """The image path under ``images``; None when no image folder was given.

    Args:
        size: ``(width, height)`` the annotations give the image; when set, the file's header is
            read (no pixels decoded) and must say the same, since every mask is drawn at that size.

        missing_hint: the hint of the error for a missing image (a source whose images are its own says
            how to get them back).

    Raises:
        InputError: the folder was given but the image is not in it, cannot be read, or is another size.
    """
    if images is None:
        return None
    path = images / file_name
    if not path.is_file():
        # COCO 2017 folders hold bare file names while some records carry "train2017/..." prefixes.
        alt = images / Path(file_name).name
        if not alt.is_file():
            raise InputError(f"image file {path} not found", file=file, where=where, hint=missing_hint)
        path = alt
    if size is not None:
        try:
            with Image.open(path) as im:  # reads the header only
                actual = im.size
        except (OSError, ValueError) as exc:
            raise InputError(f"image file {path} cannot be read ({exc})", file=file, where=where,
                             hint="the file may be truncated or not an image; copy it again") from None
        if actual != size:
            raise InputError(f"image file {path} is {actual[0]}×{actual[1]} but the record says "
                             f"{size[0]}×{size[1]}", file=file, where=where,
                             hint="fix the record's width and height, or check that --images is the folder "
                                  "these annotations were made for")
    return path
