"""The dataset directory: sample and rejection shards, the completion log and the manifest.

Layout of a dataset directory::

    DIR/manifest.json            settings (source, categories, seed, teacher, plans per unit), counts per
                                 category and subtype, rejections per reason, unsupported categories with
                                 the reason, acceptance rate per category, groundv version; sorted keys
    DIR/samples-00000.jsonl      accepted samples (DESIGN §3.1), one JSON object a line; shard k holds
                                 the scenes with source index in [k·SHARD_SCENES, (k+1)·SHARD_SCENES)
    DIR/rejections-00000.jsonl   rejected plans: reason code, detail, raw teacher output, plan, image, category
    DIR/completed.log            one JSON line per finished work unit (image, category) with its counts
    DIR/toyworld/                (only with ``groundv generate --scenes N``) the toy world it was made from

A **work unit** is one (image, category). Its samples and rejections are appended and flushed, and only
then is its line appended to ``completed.log``: the marker is the unit's last write. On reopening, a
unit without a marker never happened — its lines (and a torn last line, e.g. after SIGKILL) are removed
by rewriting the shard under a temporary name and renaming it — and units with a marker are skipped. As
units are written in a fixed order, a resumed run writes the same bytes as an uninterrupted one.

The manifest is written when a run starts (``"status": "running"``, settings only) and rewritten from
``completed.log`` when it ends (``"status": "complete"``), is stopped on purpose (``"status":
"stopped"`` with ``"stopped": why`` — a budget cap), is interrupted (``"status": "interrupted"``,
Ctrl-C) or fails after writing units (``"status": "failed"`` with ``"failed": why``), always through a
temporary file and a rename; the same command resumes a stopped, interrupted or failed run. A
folder where nothing was written (no completed unit, no sample: a run that failed on bad input at
once) is not a dataset yet, and a run with other settings simply starts in it.
It holds no timestamps, so the same input and seed give byte-identical files. Keys other stages add to
it (``test_split`` from ``groundv split``, ``verified``, ...) are kept when a run is resumed; only the
keys in :data:`OWNED_KEYS` are rewritten (``force`` starts over without them).

Starting over (``force``, :func:`clear_dataset`) never loses people's or a verifier's work: when the
folder holds what other stages derived from its samples (:data:`DERIVED_FILES`: reviews, verdicts,
the reviewed test split), the old dataset (manifest, completion log, shards) moves together with them
into ``DIR/replaced-<UTC time>/``; otherwise the old files are deleted. The review pictures
(``.review-cache/``) and ``groundv show``'s pictures of old samples (``show/<id>.png``) are deleted
either way. The teacher cache and spend ledgers stay: they are keyed by request content and count the
folder's spend across runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from groundv import __version__
from groundv.errors import ConfigError, GroundvWarning, InputError
from groundv.scene import Scene

__all__ = [
    "COMPLETED",
    "DATASET_FORMAT",
    "DERIVED_FILES",
    "MANIFEST",
    "OWNED_KEYS",
    "SHARD_SCENES",
    "Dataset",
    "Manifest",
    "UnitResult",
    "append_line",
    "clear_dataset",
    "iter_samples",
    "read_lenient",
    "read_manifest",
    "sample_scene",
    "write_atomic",
]

MANIFEST = "manifest.json"
COMPLETED = "completed.log"
DATASET_FORMAT = "groundv-dataset/1"
#: scenes per shard (by source index), so that no file grows without bound and a resume rewrites little
SHARD_SCENES = 1000
#: the manifest keys a generation run writes; a resume keeps every other key another stage added
OWNED_KEYS = frozenset({"format", "groundv_version", "settings", "status", "images", "units", "samples", "rejected",
                        "by_category", "rejections", "unsupported", "files", "stopped", "failed"})
#: entries a dataset directory may hold besides its own files before it has a manifest
_ALLOWED_EXTRA = frozenset({"toyworld"})
#: what other stages derive from a dataset's samples: the review log (groundv.review.reviews.REVIEWS_FILE),
#: the reviewed test split (groundv.split.TEST_FILE) and the verdicts (groundv.verify.VERDICTS_FILE);
#: named here because those modules import this one
DERIVED_FILES: tuple[str, ...] = ("reviews.jsonl", "test.jsonl", "verdicts.jsonl")
#: the review pictures (groundv.review.pictures.CACHE_DIR): a cache, drawn again on demand
_REVIEW_CACHE = ".review-cache"
_SHOW = "show"
_SAMPLE_ID = re.compile(r"[0-9a-f]{16}")
#: a generation run's own files
_OWN_FILES = ("samples-*.jsonl", "rejections-*.jsonl", COMPLETED, MANIFEST)

UnitKey = tuple[int | str, str]


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS, default=_fallback)


def _fallback(obj: Any) -> Any:
    # Raw teacher output may hold anything (tuples become lists natively; sets, paths, objects here).
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=str)
    return str(obj)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` through a synced temporary file and a rename: never half written."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass
class UnitResult:
    """What one work unit (image, category) produced, ready to be written.

    Attributes:
        image_id: the scene's image id.
        category: the unit's category.
        samples: accepted samples as JSON-ready dicts (DESIGN §3.1), in plan order.
        rejections: rejection records as JSON-ready dicts, in plan order.
        unsupported: why the category cannot be planned for this scene, or None.
        subtypes: accepted samples per subtype.
    """

    image_id: int | str
    category: str
    samples: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    unsupported: str | None = None
    subtypes: Counter[str] = field(default_factory=Counter)

    def marker(self, shard: int) -> dict[str, Any]:
        reasons = Counter(str(r.get("reason")) for r in self.rejections)
        return {"image_id": self.image_id, "category": self.category, "shard": shard,
                "samples": len(self.samples), "subtypes": dict(sorted(self.subtypes.items())),
                "rejected": len(self.rejections), "reasons": dict(sorted(reasons.items())),
                "unsupported": self.unsupported}


@dataclass(frozen=True)
class Manifest:
    """The parsed ``manifest.json`` of a dataset directory (:attr:`data` is the JSON object itself)."""

    data: dict[str, Any]

    @property
    def settings(self) -> dict[str, Any]:
        return self.data["settings"]

    @property
    def complete(self) -> bool:
        return self.data.get("status") == "complete"

    @property
    def samples(self) -> int:
        return int(self.data.get("samples", 0))

    @property
    def rejected(self) -> int:
        return int(self.data.get("rejected", 0))

    @property
    def by_category(self) -> dict[str, dict[str, Any]]:
        return self.data.get("by_category", {})

    @property
    def unsupported(self) -> dict[str, dict[str, int]]:
        return self.data.get("unsupported", {})

    @property
    def rejections(self) -> dict[str, int]:
        return self.data.get("rejections", {})

    def to_json(self) -> dict[str, Any]:
        return self.data


def read_manifest(directory: str | Path) -> Manifest:
    """The manifest of a dataset directory.

    Raises:
        InputError: the folder holds no ``manifest.json`` or it is not valid JSON.
    """
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise InputError("not a groundv dataset: manifest.json is missing", file=directory,
                         hint="pass a folder written by `groundv generate`")
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=path) from None
    if not isinstance(data, dict) or data.get("format") != DATASET_FORMAT:
        raise InputError(f"not a {DATASET_FORMAT} manifest", file=path)
    return Manifest(data)


def iter_samples(directory: str | Path, kind: str = "samples") -> Iterator[dict[str, Any]]:
    """Every record of a dataset directory's ``samples-*`` (or ``rejections-*``) shards, in shard order."""
    for path in sorted(Path(directory).glob(f"{kind}-*.jsonl")):
        with path.open("rb") as f:
            for n, line in enumerate(f, 1):
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise InputError(f"not valid JSON: {exc.msg}", file=path, where=f"line {n}") from None


def append_line(path: Path, line: bytes, *, sync: bool = True) -> None:
    """Append one JSON line to a file that several processes may append to.

    The write is one ``O_APPEND`` write under an exclusive ``fcntl`` lock. A last line torn by a crash
    (no final newline) is closed first, so it stays one corrupt line that readers report and skip,
    instead of swallowing the new line. ``sync`` also fsyncs (a crash then loses at most this line).
    """
    data = line if line.endswith(b"\n") else line + b"\n"
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data
            os.write(fd, data)
            if sync:
                os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def clear_dataset(directory: str | Path) -> Path | None:
    """Remove a dataset's files so that a new one can be written in ``directory`` (``--force``).

    What other stages derived from the old samples is never lost: when any of :data:`DERIVED_FILES` is
    there, the old dataset and those files move to ``directory/replaced-<UTC time>/`` (a folder that keeps
    the samples the reviews and verdicts are about); otherwise the old dataset's files are deleted. The
    review pictures (a cache) are deleted; files groundv did not write are left alone.

    Returns:
        The ``replaced-*`` folder the old files went to, or None when they were deleted.
    """
    directory = Path(directory)
    derived = [directory / name for name in DERIVED_FILES if (directory / name).is_file()]
    own = [p for pattern in _OWN_FILES for p in sorted(directory.glob(pattern))]
    moved_to = None
    if derived:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        moved_to = directory / f"replaced-{stamp}"
        n = 1
        while moved_to.exists():  # two starts over within a second
            n += 1
            moved_to = directory / f"replaced-{stamp}-{n}"
        moved_to.mkdir()
        for path in own + derived:
            os.replace(path, moved_to / path.name)
    else:
        for path in own:
            path.unlink()
    for path in directory.glob(".*.tmp"):
        path.unlink()
    shutil.rmtree(directory / _REVIEW_CACHE, ignore_errors=True)
    # `groundv show` draws DIR/show/<sample id>.png: those pictures are of the old samples.
    for picture in (directory / _SHOW).glob("*.png"):
        if _SAMPLE_ID.fullmatch(picture.stem):
            picture.unlink()
    with contextlib.suppress(OSError):
        (directory / _SHOW).rmdir()  # only when nothing else is in it
    return moved_to


def _nothing_written(directory: Path) -> bool:
    """Whether a dataset folder holds no completed unit, no shard line and nothing derived from it."""
    log = directory / COMPLETED
    if log.is_file() and b"\n" in log.read_bytes():
        return False
    if any((directory / name).exists() for name in DERIVED_FILES):
        return False
    return all(p.stat().st_size == 0 for pattern in ("samples-*.jsonl", "rejections-*.jsonl")
               for p in directory.glob(pattern))


def read_lenient(path: Path, on_corrupt: Callable[[str, str], None]) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """``(line, record)`` of every line of a JSON-lines file that holds an object with a string ``id``.

    Tools that read a dataset to export or verify it must not stop at one torn line: every other line
    (not JSON, not such an object) is reported as ``on_corrupt(where, why)`` and skipped. Each yielded
    line ends with a newline, so it can be written out again as it is.
    """
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}: line {number}"
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                on_corrupt(where, f"not valid JSON ({exc.msg})")
                continue
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                on_corrupt(where, "not a record with an id")
                continue
            yield line if line.endswith(b"\n") else line + b"\n", record


def _unit_of(record: Mapping[str, Any]) -> UnitKey:
    return (record["image"]["id"], record["category"])


def _diff(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += _diff(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} → {b!r}")
    return out


class Dataset:
    """A dataset directory opened for writing (see the module docstring for the layout).

    Opening checks the folder: an empty or missing one is started; one written with the same
    ``settings`` is resumed (unfinished units removed); ``force`` starts a groundv dataset over.

    Args:
        directory: the dataset folder.
        settings: JSON-ready settings that must match to resume (source, categories, seed, teacher, ...).
        force: delete an existing dataset's files and start over.

    Raises:
        ConfigError: the folder is not empty and not a groundv dataset, or was made with other settings.
    """

    def __init__(self, directory: str | Path, settings: Mapping[str, Any], *, force: bool = False) -> None:
        self.dir = Path(directory)
        self.settings = orjson.loads(_dumps(settings))  # canonical JSON types (tuples → lists)
        self.completed: dict[UnitKey, dict[str, Any]] = {}
        self.resumed = False
        self._kept: dict[str, Any] = {}  # manifest keys of other stages, carried over on resume
        self._shard: int | None = None
        self._files: tuple[IO[bytes], IO[bytes]] | None = None
        self._log: IO[bytes] | None = None
        self._open(force)

    # -- opening ---------------------------------------------------------------------------------

    def _open(self, force: bool) -> None:
        if self.dir.exists() and not self.dir.is_dir():
            raise ConfigError(f"{self.dir} is a file, not a folder", hint="choose another --out")
        self.dir.mkdir(parents=True, exist_ok=True)
        manifest = self.dir / MANIFEST
        if not manifest.is_file():
            others = sorted(p.name for p in self.dir.iterdir() if p.name not in _ALLOWED_EXTRA)
            if others:
                raise ConfigError(f"{self.dir} is not empty and is not a groundv dataset "
                                  f"(it holds {', '.join(others[:3])}{', …' if len(others) > 3 else ''})",
                                  hint="choose an empty or new folder for --out")
        else:
            old = read_manifest(self.dir)
            if force:
                self._clear()
            elif old.settings != self.settings and _nothing_written(self.dir):
                # A run that failed before writing anything (bad input): nothing to resume or to keep.
                self._clear()
            elif old.settings != self.settings:
                changes = _diff(old.settings, self.settings)
                raise ConfigError(f"{self.dir} holds a dataset made with other settings: {'; '.join(changes)}",
                                  hint="run with the same settings to resume it, --force to start over, "
                                       "or choose another --out")
            else:
                self.resumed = True
                self._kept = {k: v for k, v in old.data.items() if k not in OWNED_KEYS}
                self._recover()
        self._write_manifest({"status": "running"})
        self._log = (self.dir / COMPLETED).open("ab")

    def _clear(self) -> None:
        moved_to = clear_dataset(self.dir)
        if moved_to is not None:
            warnings.warn(f"{self.dir} held reviews, verdicts or a test split of the dataset it replaces: they "
                          f"were moved, with that dataset, to {moved_to}", GroundvWarning, stacklevel=4)

    def _recover(self) -> None:
        """Read completed.log and drop every shard line of a unit without a completion marker."""
        log = self.dir / COMPLETED
        if log.is_file():
            data = log.read_bytes()
            keep = data[: data.rfind(b"\n") + 1]  # a torn last line is no marker
            if len(keep) != len(data):
                write_atomic(log, keep)
            for line in keep.splitlines():
                entry = orjson.loads(line)
                self.completed[(entry["image_id"], entry["category"])] = entry
        for kind in ("samples", "rejections"):
            for path in sorted(self.dir.glob(f"{kind}-*.jsonl")):
                self._prune(path)
        for path in self.dir.glob(".*.tmp"):
            path.unlink()

    def _prune(self, path: Path) -> None:
        kept: list[bytes] = []
        dropped = False
        with path.open("rb") as f:
            for line in f:
                if line.endswith(b"\n"):
                    try:
                        if _unit_of(orjson.loads(line)) in self.completed:
                            kept.append(line)
                            continue
                    except (orjson.JSONDecodeError, KeyError, TypeError):
                        pass
                dropped = True
        if dropped:
            write_atomic(path, b"".join(kept))

    def instructions(self, image_id: int | str) -> list[str]:
        """Instructions of the accepted samples of one image already in the dataset (to seed dedup)."""
        return [s["instruction"] for s in iter_samples(self.dir) if s["image"]["id"] == image_id]

    # -- writing ---------------------------------------------------------------------------------

    def done(self, image_id: int | str, category: str) -> bool:
        """Whether the unit (image, category) has its completion marker."""
        return (image_id, category) in self.completed

    def write(self, index: int, unit: UnitResult) -> None:
        """Append a unit's samples and rejections to the shard of scene ``index``, then its marker."""
        shard = index // SHARD_SCENES
        samples, rejections = self._shard_files(shard)
        if unit.samples:
            samples.write(b"".join(_dumps(s) + b"\n" for s in unit.samples))
        if unit.rejections:
            rejections.write(b"".join(_dumps(r) + b"\n" for r in unit.rejections))
        samples.flush()
        rejections.flush()
        marker = unit.marker(shard)
        if self._log is None:
            raise ValueError("the dataset is closed")
        self._log.write(_dumps(marker) + b"\n")  # the unit's last write
        self._log.flush()
        self.completed[(unit.image_id, unit.category)] = marker

    def _shard_files(self, shard: int) -> tuple[IO[bytes], IO[bytes]]:
        if self._shard != shard or self._files is None:
            self._close_shard()
            self._files = (self.dir.joinpath(f"samples-{shard:05d}.jsonl").open("ab"),
                           self.dir.joinpath(f"rejections-{shard:05d}.jsonl").open("ab"))
            self._shard = shard
        return self._files

    def _close_shard(self) -> None:
        if self._files is not None:
            for f in self._files:
                f.close()
            self._files = None

    def close(self) -> None:
        self._close_shard()
        if self._log is not None:
            self._log.close()
            self._log = None

    def finish(self) -> Manifest:
        """Close the files and write the final manifest, counted from ``completed.log``."""
        self.close()
        return self._write_manifest({"status": "complete", **self._counts()})

    def stop(self, why: str) -> Manifest:
        """Close the files and write the manifest of a run stopped on purpose: counts so far and ``why``.

        A later run with the same settings resumes it like any unfinished run.
        """
        self.close()
        return self._write_manifest({"status": "stopped", "stopped": why, **self._counts()})

    def interrupt(self) -> Manifest:
        """Close the files and write the manifest of an interrupted run (Ctrl-C): ``interrupted``, counts so far.

        A later run with the same settings resumes it like any unfinished run.
        """
        self.close()
        return self._write_manifest({"status": "interrupted", **self._counts()})

    def fail(self, why: str) -> Manifest | None:
        """After a run that failed: :meth:`abandon` it when it wrote nothing, else close the files and
        write the manifest of a failed run (``failed``, counts so far and ``why``); a later run with the
        same settings resumes it. Returns the manifest written, or None when nothing was kept."""
        if self.abandon():
            return None
        return self._write_manifest({"status": "failed", "failed": why, **self._counts()})

    def abandon(self) -> bool:
        """After a run that failed before completing any unit: remove what it wrote (the manifest, an
        empty completion log and empty shards), and the folder itself if that leaves it empty, so the
        failure leaves nothing behind. A folder that holds anything else (a unit, a sample, a teacher
        cache or ledger, derived files) is kept as it is; a later run still starts over in it.
        Returns whether the run's files were removed.
        """
        self.close()
        own = {p for pattern in _OWN_FILES for p in self.dir.glob(pattern)}
        if not _nothing_written(self.dir) or any(p not in own and p.name not in _ALLOWED_EXTRA
                                                 for p in self.dir.iterdir()):
            return False
        for path in own:
            path.unlink()
        if not any(self.dir.iterdir()):
            self.dir.rmdir()
        return True

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- manifest --------------------------------------------------------------------------------

    def _counts(self) -> dict[str, Any]:
        categories = list(self.settings.get("categories", []))
        by_cat: dict[str, dict[str, Any]] = {
            c: {"units": 0, "samples": 0, "subtypes": Counter(), "rejected": 0, "reasons": Counter(),
                "unsupported": 0} for c in categories}
        reasons: Counter[str] = Counter()
        unsupported: dict[str, Counter[str]] = {}
        images: set[Any] = set()
        for (image_id, category), m in self.completed.items():
            images.add(image_id)
            c = by_cat.setdefault(category, {"units": 0, "samples": 0, "subtypes": Counter(), "rejected": 0,
                                             "reasons": Counter(), "unsupported": 0})
            c["units"] += 1
            c["samples"] += m["samples"]
            c["subtypes"].update(m["subtypes"])
            c["rejected"] += m["rejected"]
            c["reasons"].update(m["reasons"])
            reasons.update(m["reasons"])
            if m["unsupported"] is not None:
                c["unsupported"] += 1
                unsupported.setdefault(category, Counter())[m["unsupported"]] += 1
        for c in by_cat.values():
            tried = c["samples"] + c["rejected"]
            c["acceptance_rate"] = round(c["samples"] / tried, 6) if tried else None
            c["subtypes"] = dict(c["subtypes"])
            c["reasons"] = dict(c["reasons"])
        shards = sorted({m["shard"] for m in self.completed.values()})
        return {"images": len(images), "units": len(self.completed),
                "samples": sum(c["samples"] for c in by_cat.values()),
                "rejected": sum(c["rejected"] for c in by_cat.values()),
                "by_category": by_cat, "rejections": dict(reasons),
                "unsupported": {k: dict(v) for k, v in unsupported.items()},
                "files": {"samples": [f"samples-{s:05d}.jsonl" for s in shards],
                          "rejections": [f"rejections-{s:05d}.jsonl" for s in shards],
                          "completed": COMPLETED}}

    def _write_manifest(self, extra: Mapping[str, Any]) -> Manifest:
        data = {**self._kept, "format": DATASET_FORMAT, "groundv_version": __version__, "settings": self.settings,
                **extra}
        write_atomic(self.dir / MANIFEST, orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2,
                                                        default=_fallback) + b"\n")
        return Manifest(orjson.loads(_dumps(data)))


def sample_scene(sample: dict[str, Any], manifest: Manifest, directory: Path) -> Scene:
    """A region-less :class:`Scene` for a sample's image, its file found in the images folder the
    manifest records (``path`` None when it cannot be found, so pictures fall back to a grey canvas)."""
    image = sample["image"]
    source = manifest.settings["source"]
    folder = source.get("images")
    if not folder and source.get("format") == "toyworld" and source.get("path"):
        folder = str(Path(source["path"]) / "images")  # a toy world keeps its images there (--source toyworld)
    path = None
    if folder:
        root = Path(folder) if Path(folder).is_absolute() else directory / folder
        path = next((c for c in (root / image["file_name"], root / Path(image["file_name"]).name) if c.is_file()),
                    None)
    return Scene(image_id=image["id"], file_name=image["file_name"], width=image["width"], height=image["height"],
                 source=image.get("source", "?"), path=path)
