"""What every exporter shares: the output folder rules, reading a dataset's samples, its source regions.

Exporters never overwrite a non-empty folder unless ``force`` is set, never write outside it, and
report (never crash on) a corrupt line of the dataset: the line is skipped and listed in the
:class:`ExportReport`.

Every export lists the files it wrote in ``OUT/.groundv-export.json`` (:data:`EXPORT_RECORD`; a dot
file, so loaders that glob a folder never see it). ``force`` into a folder holding such a record
first deletes the files the record lists — and nothing else: files groundv did not write stay —
so no file of an earlier export is left to be read with the new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from groundv.errors import ConfigError, InputError
from groundv.sample import Sample
from groundv.scene import Region, Scene
from groundv.sources import Source, open_source
from groundv.store import read_lenient, read_manifest

__all__ = ["EXPORT_RECORD", "ExportReport", "Target", "checked_samples", "inside", "open_dataset_source",
           "prepare_out", "read_samples", "record_export", "resolve_targets", "scenes_for"]

#: the export's own list of the files it wrote, inside the output folder
EXPORT_RECORD = ".groundv-export.json"


@dataclass
class ExportReport:
    """What an export wrote and what it left out.

    Attributes:
        format: the export format.
        out: the output folder.
        written: samples written.
        skipped: ``(reason, where)`` of every sample left out (a corrupt line, a format that cannot
            represent it, e.g. a no-target sample in MUSE).
        files: the files written, relative to ``out``.
    """

    format: str
    out: Path
    written: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def prepare_out(out: str | Path, *, force: bool = False, dataset: str | Path | None = None) -> Path:
    """Create ``out``; refuse a non-empty folder unless ``force``, and the input ``dataset`` folder itself.

    With ``force``, the files an earlier export listed in :data:`EXPORT_RECORD` are deleted first;
    other files are left alone.

    Raises:
        ConfigError: ``out`` is a file, the dataset folder itself, or a non-empty folder and ``force``
            is not set.
        InputError: the earlier export's record is unreadable.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file, not a folder", hint="choose another --out")
    if dataset is not None and out.resolve() == Path(dataset).resolve():
        raise ConfigError(f"{out} is the dataset being read: writing there would replace its samples",
                          hint="choose another --out")
    if dataset is not None and out.resolve().is_relative_to(Path(dataset).resolve()):
        # Inside the dataset an export is mixed with its samples (and moved or lost by generate --force).
        raise ConfigError(f"{out} is inside the dataset being read", hint="choose an --out outside the dataset folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise ConfigError(f"{out} is not empty",
                              hint="choose an empty --out, or pass --force to write into it")
        _remove_earlier_export(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _remove_earlier_export(out: Path) -> None:
    """Delete the files an earlier export wrote into ``out`` (as its record lists them), then the record."""
    record = out / EXPORT_RECORD
    if not record.is_file():
        return
    try:
        data = orjson.loads(record.read_bytes())
        names = [str(n) for n in data["files"]]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"not a readable export record ({exc})", file=record,
                         hint="delete the earlier export's files (or the whole folder) by hand, or choose "
                              "another --out") from None
    root = out.resolve()
    for name in names:
        path = out / name
        # only what the export wrote, inside the folder: never follow a listed name elsewhere
        if (path.is_symlink() or path.is_file()) and path.parent.resolve().is_relative_to(root):
            path.unlink()
    record.unlink()


def record_export(report: ExportReport) -> None:
    """Write :data:`EXPORT_RECORD`: the export's format and the files it wrote (``report.files``)."""
    data = {"format": report.format, "written": report.written, "files": sorted(set(report.files))}
    (report.out / EXPORT_RECORD).write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


def inside(out: Path, name: str) -> Path:
    """``out / name``, refusing a name that would land outside ``out`` (``..``, an absolute path).

    Raises:
        InputError: the name escapes the output folder.
    """
    path = (out / name).resolve()
    if not path.is_relative_to(out.resolve()):
        raise InputError(f"refusing to write {name!r}: it is outside the output folder {out}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def read_samples(dataset: str | Path, report: ExportReport, *, split: str | None = None) -> Iterator[dict[str, Any]]:
    """The dataset's samples (``samples-*.jsonl``, shard order), keeping those of ``split`` when given
    (a sample's ``split`` field); a corrupt line is listed in ``report.skipped`` and left out.

    ``split="test"`` on a folder holding ``test.jsonl`` (the reviewed split of ``groundv split``, with
    the reviewers' edits) reads that file alone, as ``groundv items --split test`` does.

    Raises:
        InputError: the folder holds no samples.
        ConfigError: no sample is in ``split`` (raised once the files are read, as ``groundv items`` does).
    """
    from groundv.split import TEST_FILE

    reviewed = Path(dataset) / TEST_FILE
    files = [reviewed] if split == "test" and reviewed.is_file() else sorted(Path(dataset).glob("samples-*.jsonl"))
    if not files:
        raise InputError("no samples-*.jsonl here", file=dataset, hint="pass a folder written by groundv generate")
    found = 0
    splits: set[str] = set()
    for path in files:
        for _, sample in read_lenient(path, lambda where, why: report.skipped.append((why, where))):
            if not isinstance(sample.get("image"), dict):
                report.skipped.append(("not a sample record", f"{path}: sample {sample['id']}"))
                continue
            splits.add(str(sample.get("split")) if sample.get("split") is not None else "(none)")
            if split is None or sample.get("split") == split:
                found += 1
                yield sample
    if split is not None and not found:
        hint = f"splits found: {', '.join(sorted(splits)) or '(no sample)'}; leave out --split for every sample"
        if split == "test" and not reviewed.is_file():
            hint = (f"{dataset} has no {TEST_FILE}: make the reviewed test split first with "
                    f"`groundv split {dataset} --test-from-reviews`")
        raise ConfigError(f"no sample is in split {split!r}", hint=hint)


def open_dataset_source(dataset: str | Path) -> Source:
    """Open the source a dataset was generated from exactly as it was opened, as its manifest records it.

    Exporters that write the targets' own annotations (PSALM, gRefCOCO, MUSE), the verifier and the
    review app need the source's regions, not only each sample's union mask. The recorded open options
    are applied again: ``skip_bad`` (a source with a bad record was read past it), ``exclude_refs``
    (the RefCOCO-style files whose val/test images were left out) or ``exclude`` (image ids), so the
    source yields the same scenes as when the samples were made.

    Raises:
        ConfigError: the manifest names no source that can be opened again.
        InputError: the source's files (or a recorded refs file) cannot be read.
    """
    dataset = Path(dataset)
    source = read_manifest(dataset).settings.get("source") or {}
    fmt, path = source.get("format"), source.get("path")
    if not fmt or not path:
        raise ConfigError(f"{dataset}/manifest.json records no source to read the annotations from")

    def here(p: str | None) -> Path | None:
        return None if p is None else (Path(p) if Path(p).is_absolute() else dataset / p)

    options: dict[str, Any] = {"skip_bad": bool(source.get("skip_bad", False))}
    if fmt != "toyworld":
        options["images"] = here(source.get("images"))
        options["parts"] = [here(p) for p in source.get("parts") or []] or None
        options["masks"] = here(source.get("masks"))
    exclude: set[int | str] = set(source.get("exclude") or ())
    if source.get("exclude_refs"):
        from groundv.sources.refs import LeakageGuard

        exclude |= LeakageGuard.from_files([here(p) for p in source["exclude_refs"]]).image_ids
    if exclude:
        options["exclude"] = frozenset(exclude)
    return open_source(fmt, here(path), **options)  # type: ignore[arg-type]


def scenes_for(source: Source, image_ids: Iterable[int | str]) -> dict[int | str, Scene]:
    """The scenes of the given images (one pass over the source)."""
    wanted = set(image_ids)
    return {scene.image_id: scene for scene in source if scene.image_id in wanted}


@dataclass(frozen=True)
class Target:
    """A sample ready for an export that writes its targets' own annotations.

    Attributes:
        record: the sample as read (keeps extra fields such as ``split``).
        sample: the checked sample.
        scene: its image in the source.
        regions: the target regions, in ``target_ids`` order (empty for no target).
        ann_ids: the COCO annotation id written for each region.
    """

    record: dict[str, Any]
    sample: Sample
    scene: Scene
    regions: tuple[Region, ...]
    ann_ids: tuple[int, ...]


def _checked(records: Iterable[dict[str, Any]], report: ExportReport) -> list[tuple[dict[str, Any], Sample]]:
    kept = []
    for record in records:
        try:
            kept.append((record, Sample.from_json(record)))
        except InputError as exc:
            report.skipped.append((f"not a valid sample ({exc.reason})", f"sample {record.get('id')}"))
    return kept


def checked_samples(dataset: str | Path, report: ExportReport, *, split: str | None = None
                    ) -> list[tuple[dict[str, Any], Sample]]:
    """The dataset's samples of ``split`` that pass the sample contract; the others go to ``report.skipped``."""
    return _checked(read_samples(dataset, report, split=split), report)


def resolve_targets(dataset: str | Path, report: ExportReport, *, split: str | None = None) -> list[Target]:
    """Each sample of ``split`` with its image and target regions from the dataset's source.

    A sample is left out (and listed in ``report.skipped``) when its line is corrupt, it breaks the
    sample contract, its image or a target region is not in the source, or the union of its targets
    is not its mask. A region keeps its source id as annotation id unless another image uses the
    same id (panoptic segment ids, for one); those get fresh ids above every source id.

    Raises:
        InputError: the folder holds no samples.
        ConfigError: the manifest names no source that can be opened again.
    """
    samples = checked_samples(dataset, report, split=split)
    source = open_dataset_source(dataset)
    scenes = scenes_for(source, {sample.image["id"] for _, sample in samples})
    found: list[tuple[dict[str, Any], Sample, Scene, tuple[Region, ...]]] = []
    for record, sample in samples:
        where = f"sample {sample.id}"
        scene = scenes.get(sample.image["id"])
        if scene is None:
            report.skipped.append((f"image {sample.image['id']} is not in the source", where))
            continue
        missing = [i for i in sample.target_ids if i not in scene]
        if missing:
            report.skipped.append((f"target region(s) {missing} not in image {scene.image_id} of the source",
                                   where))
            continue
        regions = tuple(scene.region(i) for i in sample.target_ids)
        if regions and scene.union_mask(sample.target_ids)["counts"] != sample.mask["counts"]:
            report.skipped.append(("the union of the target regions is not the sample's mask", where))
            continue
        found.append((record, sample, scene, regions))

    images_of: dict[int, set[int | str]] = {}
    for _, _, scene, regions in found:
        for region in regions:
            images_of.setdefault(region.id, set()).add(scene.image_id)
    shared = {rid for rid, images in images_of.items() if len(images) > 1}
    fresh = max((abs(rid) for rid in images_of), default=0) + 1
    ids: dict[tuple[int | str, int], int] = {}
    for _, _, scene, regions in found:
        for region in regions:
            key = (scene.image_id, region.id)
            if key not in ids:
                if region.id in shared or region.id < 0:
                    ids[key], fresh = fresh, fresh + 1
                else:
                    ids[key] = region.id
    return [Target(record, sample, scene, regions, tuple(ids[(scene.image_id, r.id)] for r in regions))
            for record, sample, scene, regions in found]
