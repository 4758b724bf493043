"""The leakage guard: COCO image ids of the referring-segmentation benchmarks, to keep out of training.

RefCOCO, RefCOCO+, RefCOCOg and gRefCOCO images all come from COCO train2014, and COCO train2017
contains every one of them, including the val and test images. Data generated from COCO train2017
(or LVIS, PACO-LVIS, COCO panoptic) would put evaluation images into training unless they are
excluded (PAPER.md §8). This module reads the benchmarks' ref files and collects the ``image_id`` of
every ref in an evaluation split; pass the result as ``exclude=`` to any source.

Files read (the format is told from the content, not the name):

* ``refs(unc).p``, ``refs(umd).p``, ``refs(google).p``: a Python pickle of a list of ref dicts
  ``{ref_id, ann_id, image_id, split, sentences, ...}``, written by Python 2;
* gRefCOCO ``grefs(unc).json`` (or ``.p``): the same list, ``ann_id`` being a list;
* JSON lists of refs, and MAttNet-style ``data.json`` objects holding a ``refs`` list.

Evaluation splits: ``val`` and every split containing ``test`` (``test``, ``testA``, ``testB``,
``testC`` and RefCLEF's combined values such as ``testAB``). ``train`` is never excluded. Image ids
are taken from ``image_id`` only, never from ``file_name``, which in RefCOCO carries a ``_<n>`` suffix.

Security: unpickling runs whatever code a pickle names, so a downloaded ``.p`` file is read with a
restricted unpickler that only builds plain containers, strings and numbers; a pickle that names
anything else is refused with an :class:`~groundv.errors.InputError`.
"""

from __future__ import annotations

import pickle
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groundv.errors import ConfigError, InputError
from groundv.sources.base import read_json

__all__ = ["LeakageGuard", "RefsFile", "benchmark_image_ids", "is_eval_split", "read_refs"]

# What a refs pickle may build. Python 2 pickles name "__builtin__" (mapped to builtins by pickle's
# fix_imports), Python 3 ones "builtins"; protocol-2 bytes objects are rebuilt through "_codecs.encode".
_PLAIN = ("dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray", "int", "float", "bool",
          "complex")
_SAFE_CLASSES = frozenset(
    {("builtins", name) for name in _PLAIN}
    | {("__builtin__", name) for name in (*_PLAIN, "unicode", "long")}
    | {("_codecs", "encode")}
)


class _SafeUnpickler(pickle.Unpickler):
    """Builds only plain data; refuses every other class or function a pickle names."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_CLASSES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def is_eval_split(split: str) -> bool:
    """True for an evaluation split: ``val`` or anything containing ``test``.

    Example:
        >>> [is_eval_split(s) for s in ("train", "val", "testA", "testAB")]
        [False, True, True, True]
    """
    return split == "val" or "test" in split


def _split_matcher(splits: Collection[str] | None) -> Any:
    """A predicate on a ref's split. Named splits follow REFER's ``getRefIds``: ``test`` matches
    every split containing it, ``testA``/``testB``/``testC`` also match combined values such as
    ``testAB``, any other name matches exactly."""
    if splits is None:
        return is_eval_split
    if isinstance(splits, str) or not splits:
        raise ConfigError(f"splits must be a non-empty collection of split names, got {splits!r}",
                          hint="e.g. splits=('val', 'testA', 'testB')")
    wanted = frozenset(splits)

    def match(split: str) -> bool:
        for name in wanted:
            if name == split or (name == "test" and "test" in split):
                return True
            if name in ("testA", "testB", "testC") and split.startswith("test") and name[-1] in split[4:]:
                return True
        return False

    return match


def read_refs(path: str | Path) -> list[dict[str, Any]]:
    """The list of ref records in a RefCOCO-family refs file (pickle or JSON).

    Raises:
        InputError: the file is missing, unreadable, not a list of refs, or a pickle that names a
            class other than plain data.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("expected a refs file, got a directory", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", file=path) from None
    data = read_json(path) if head.lstrip()[:1] in (b"[", b"{") else _read_pickle(path)
    if isinstance(data, dict) and isinstance(data.get("refs"), list):  # MAttNet data.json
        data = data["refs"]
    if not isinstance(data, list):
        raise InputError(f"expected a list of refs, got {type(data).__name__}", file=path,
                         hint="pass a refs(unc).p / grefs(unc).json file")
    return data


def _read_pickle(path: Path) -> Any:
    # The official files come from Python 2: text is decoded as UTF-8, and as Latin-1 when it is not
    # valid UTF-8 (Latin-1 decodes any byte string, as pickle's docs advise for Python 2 data).
    for encoding in ("utf-8", "latin1"):
        try:
            with path.open("rb") as fh:
                return _SafeUnpickler(fh, encoding=encoding).load()
        except UnicodeDecodeError:
            continue
        except pickle.UnpicklingError as exc:
            if str(exc).startswith("refused"):
                raise InputError(f"{exc}: a refs pickle holds only lists, dicts, strings and numbers, and "
                                 f"loading anything else could run code", file=path,
                                 hint="convert the file to JSON with a trusted tool") from None
            raise InputError(f"not a readable pickle ({exc})", file=path,
                             hint="the file may be truncated; download it again") from None
        # A corrupt pickle raises almost anything (EOFError, ValueError, KeyError, ...).
        except Exception as exc:
            raise InputError(f"not a readable pickle ({type(exc).__name__}: {exc})", file=path,
                             hint="the file may be truncated; download it again") from None
    raise AssertionError("unreachable: Latin-1 decodes every byte string")


@dataclass(frozen=True, slots=True)
class RefsFile:
    """What one refs file contributed to the guard.

    Attributes:
        path: the file.
        refs: ref records in it.
        eval_refs: refs in an evaluation split.
        image_ids: COCO image ids of those refs.
    """

    path: Path
    refs: int
    eval_refs: int
    image_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class LeakageGuard:
    """Benchmark image ids to exclude from generation, with per-file counts for the report.

    Example:
        >>> guard = LeakageGuard.from_files(["refs(unc).p", "grefs(unc).json"])  # doctest: +SKIP
        >>> CocoSource("instances_train2017.json", exclude=guard.image_ids)  # doctest: +SKIP
        >>> guard.summary()  # doctest: +SKIP
        'excluded 4,950 images from 2 files (13,412 evaluation refs)'
    """

    files: tuple[RefsFile, ...] = ()

    @classmethod
    def from_files(
        cls, paths: Iterable[str | Path], *, splits: Collection[str] | None = None
    ) -> LeakageGuard:
        """Read every refs file.

        Args:
            paths: refs files (pickle or JSON, see the module docstring).
            splits: split names to exclude; default every evaluation split (:func:`is_eval_split`).

        Raises:
            InputError: a file is unreadable, or a record lacks an integer ``image_id`` or a string
                ``split`` (the message names the file and the ref).
            ConfigError: ``splits`` is empty.
        """
        matches = _split_matcher(splits)
        return cls(tuple(_scan(Path(p), matches) for p in paths))

    @property
    def image_ids(self) -> frozenset[int]:
        """Every excluded image id, over all files."""
        return frozenset().union(*(f.image_ids for f in self.files))

    def __contains__(self, image_id: object) -> bool:
        return any(image_id in f.image_ids for f in self.files)

    def summary(self) -> str:
        """One line for the CLI: ``excluded N images from M files (R evaluation refs)``."""
        n, m = len(self.image_ids), len(self.files)
        refs = sum(f.eval_refs for f in self.files)
        return (f"excluded {n:,} image{'s' * (n != 1)} from {m} file{'s' * (m != 1)} "
                f"({refs:,} evaluation ref{'s' * (refs != 1)})")


def _scan(path: Path, matches: Any) -> RefsFile:
    records = read_refs(path)
    ids: set[int] = set()
    eval_refs = 0
    for i, ref in enumerate(records):
        ref_id = ref.get("ref_id") if isinstance(ref, dict) else None
        named = isinstance(ref_id, int | str) and not isinstance(ref_id, bool)
        where = f"ref {ref_id}" if named else f"record #{i}"
        if not isinstance(ref, dict):
            raise InputError(f"expected a ref dict, got {type(ref).__name__}", file=path, where=where)
        image_id, split = ref.get("image_id"), ref.get("split")
        if not isinstance(image_id, int) or isinstance(image_id, bool):
            what = ("has no 'image_id'" if image_id is None
                    else f"'image_id' must be an integer, got {image_id!r}")
            raise InputError(what, file=path, where=where)
        if not isinstance(split, str):
            what = "has no 'split'" if split is None else f"'split' must be a string, got {split!r}"
            raise InputError(what, file=path, where=where)
        if matches(split):
            eval_refs += 1
            ids.add(image_id)
    return RefsFile(path=path, refs=len(records), eval_refs=eval_refs, image_ids=frozenset(ids))


def benchmark_image_ids(
    paths: Iterable[str | Path], *, splits: Collection[str] | None = None
) -> frozenset[int]:
    """COCO image ids of the evaluation refs in these files: the set to pass as ``exclude=``.

    Args:
        paths: RefCOCO/RefCOCO+/RefCOCOg ``refs(*).p``, gRefCOCO ``grefs(unc).json``, or JSON lists
            of refs.
        splits: split names to exclude; default ``val`` and every split containing ``test``.

    Raises:
        InputError: see :meth:`LeakageGuard.from_files`.

    Example:
        >>> ids = benchmark_image_ids(["refcoco/refs(unc).p", "refcoco+/refs(unc).p"])  # doctest: +SKIP
        >>> src = CocoSource("instances_train2017.json", exclude=ids)  # doctest: +SKIP
    """
    return LeakageGuard.from_files(paths, splits=splits).image_ids
