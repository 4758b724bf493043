"""Evaluate a predictions file against an items file with one protocol, in one process or many.

:func:`evaluate` is what ``groundv eval`` calls. It works in three steps:

1. **index**: read the items file once (only each line's ``id``: offsets, line numbers, duplicate
   ids) and the predictions (:class:`~groundv.eval.predictions.Predictions`), pair them by id, and
   refuse unknown, duplicate or (unless ``allow_missing``) missing ids before anything is scored;
2. **score** fixed chunks of :data:`CHUNK` consecutive items, each into a fresh protocol, in this
   process or in ``processes`` spawned worker processes that read the files themselves;
3. **merge** the chunks' states in chunk order with :meth:`Protocol.merge`.

Because the chunks do not depend on ``processes`` and are merged in order, every number — the float
IoU sums included — is bit-identical whatever ``processes`` is. Memory stays bounded: no mask is kept,
the per-item IoUs feed a bounded heap of the ``worst`` items (lowest IoU first, for the report), and
the index costs about a hundred bytes per item.

**Language-prior probe.** ``blind_predictions_path`` is a second predictions file made by the same
model *without the image* (a blank or noise image, or the text alone). It is scored on the same
items with the same protocol, and :attr:`EvalResult.retained` gives, per metric, the fraction of the
full score that the blind model keeps (``blind / full``). A model that grounds in pixels keeps little
gIoU and cIoU (the blind masks can only follow dataset priors such as "centre of the image"); a high
retained fraction means the benchmark or the model leans on language priors. On N-Acc a blind model
that always rejects keeps everything or more (a ratio above 1): read N-Acc together with T-Acc.

Example:
    >>> result = evaluate("items.jsonl", "preds.jsonl", "gres", processes=8)  # doctest: +SKIP
    >>> result.metrics["giou"], len(result.missing)  # doctest: +SKIP
    (68.2, 0)
"""

from __future__ import annotations

import heapq
import importlib
import inspect
import multiprocessing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from groundv import masks
from groundv.errors import ConfigError, InputError
from groundv.eval import PROTOCOLS, get_protocol
from groundv.eval.predictions import Locator, PredictionLoader, Predictions, missing_prediction, prediction_error
from groundv.eval.protocol import Protocol
from groundv.eval.records import Item, Prediction, record_id, scan_jsonl

__all__ = ["CHUNK", "EvalResult", "ItemScore", "evaluate", "item_iou", "metric_names", "protocol_options", "retained"]

#: items per scoring chunk; fixed, so that results do not depend on the number of processes
CHUNK = 256

#: keys of :meth:`Protocol.compute` that are not metrics
_NOT_METRICS = frozenset({"protocol", "unit", "count", "undefined", "by_category", "state", "options"})

#: per-item IoU increments of the protocols that do not declare ``ITEM_IOU`` (METRICS.md §12)
_IOU_FIELDS = ("acc_iou", "iou_sum", "giou_sum")

#: ``progress(stage, done, total)``: stage is "indexing", "scoring" or "scoring blind"
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True, slots=True, order=True)
class ItemScore:
    """One item's IoU as its protocol counts it (a fraction, epsilons included where the protocol has them).

    Ordered by ``(iou, index)``: the worst first, ties in file order.

    Attributes:
        iou: the per-item IoU the protocol adds to its gIoU sum (GRES: 0 for a wrong rejection, 1 for a right one).
        index: position of the item in the items file (0-based, blank lines not counted).
        id: the item's id.
        category: the item's category, or None.
    """

    iou: float
    index: int
    id: str = field(compare=False)
    category: str | None = field(compare=False, default=None)


@dataclass
class EvalResult:
    """What :func:`evaluate` returns.

    Attributes:
        protocol: the protocol's name.
        options: the protocol options used.
        metrics: :meth:`Protocol.compute` of the predictions (percent).
        items: how many items were scored.
        missing: ids of items without a prediction, scored as an empty mask (``allow_missing``).
        worst: the items with the lowest IoU, worst first (at most ``worst`` of them).
        scores: every item's score in file order, when asked for (``per_item=True``), else None.
        blind: :meth:`Protocol.compute` of the blind predictions, when probing.
        blind_missing: ids missing from the blind predictions.
        items_path, predictions_path, blind_predictions_path: the files read.
    """

    protocol: str
    options: dict[str, Any]
    metrics: dict[str, Any]
    items: int
    missing: list[str]
    worst: list[ItemScore]
    scores: list[ItemScore] | None = None
    blind: dict[str, Any] | None = None
    blind_missing: list[str] = field(default_factory=list)
    items_path: Path | None = None
    predictions_path: Path | None = None
    blind_predictions_path: Path | None = None

    @property
    def retained(self) -> dict[str, Any] | None:
        """Per metric, blind / full as a fraction (None where undefined), or None without a probe."""
        return retained(self.metrics, self.blind) if self.blind is not None else None

    def to_json(self) -> dict[str, Any]:
        """The compute() result plus ``"missing"`` (a count) and, when probing, ``"blind"`` and ``"retained"``."""
        out = dict(self.metrics)
        out["missing"] = len(self.missing)
        if self.blind is not None:
            out["blind"] = {**self.blind, "missing": len(self.blind_missing)}
            out["retained"] = self.retained
        return out


def metric_names(result: Mapping[str, Any]) -> list[str]:
    """The metric keys of a compute() result, in its order (``giou``, ``ciou``, …)."""
    return [k for k, v in result.items()
            if k not in _NOT_METRICS and (v is None or (isinstance(v, int | float) and not isinstance(v, bool)))]


def retained(full: Mapping[str, Any], blind: Mapping[str, Any]) -> dict[str, Any]:
    """Per metric, the fraction of the full score a blind model keeps: ``blind / full``.

    None where either is undefined or the full score is 0. The result carries ``"unit": "fraction"``
    and the same per category under ``"by_category"``.

    Example:
        >>> retained({"giou": 80.0, "ciou": None}, {"giou": 20.0, "ciou": 5.0})
        {'unit': 'fraction', 'giou': 0.25, 'ciou': None, 'by_category': {}}
    """
    def ratios(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for key in metric_names(a):
            x, y = a.get(key), b.get(key)
            out[key] = y / x if isinstance(x, int | float) and isinstance(y, int | float) and x else None
        return out

    by_full, by_blind = full.get("by_category", {}), blind.get("by_category", {})
    return {"unit": "fraction", **ratios(full, blind),
            "by_category": {name: ratios(by_full[name], by_blind[name]) for name in by_full if name in by_blind}}


def protocol_options(name: str) -> set[str]:
    """The keyword options a protocol's constructor accepts, e.g. ``{"nt_from_mask"}`` for gres.

    Raises:
        ConfigError: unknown protocol.
    """
    if name not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {name!r}", hint=f"choose one of: {', '.join(PROTOCOLS)}")
    module, cls = PROTOCOLS[name].split(":")
    params = inspect.signature(getattr(importlib.import_module(module), cls)).parameters
    return {p.name for p in params.values() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def item_iou(protocol: Protocol, increments: Mapping[str, int | float]) -> float | None:
    """The per-item IoU inside one item's increments, where the protocol exposes it; else None.

    A protocol may say how with an ``item_iou(increments)`` method or an ``ITEM_IOU`` field name;
    otherwise the gIoU sum field of METRICS.md §12 (``acc_iou``, ``iou_sum``, ``giou_sum``) is used.
    """
    getter = getattr(protocol, "item_iou", None)
    if callable(getter):
        return getter(increments)
    name = getattr(protocol, "ITEM_IOU", None) or next((f for f in _IOU_FIELDS if f in protocol.FIELDS), None)
    return float(increments[name]) if name is not None else None


# -- indexing ------------------------------------------------------------------------------------


@dataclass
class _Index:
    """The items file's lines, in order: byte offset, line number, id (ids only for error messages)."""

    path: Path
    offsets: list[int]
    lines: list[int]
    ids: list[str]


def _index_items(path: Path) -> _Index:
    offsets: list[int] = []
    lines: list[int] = []
    ids: list[str] = []
    first: dict[str, int] = {}
    for number, start, obj in scan_jsonl(path, "items"):
        where = f"line {number}"
        item_id = record_id(obj, file=path, where=where, what="item")
        if item_id in first:
            raise InputError(f"duplicate item id {item_id!r} (first on line {first[item_id]})", file=path,
                             where=where)
        first[item_id] = number
        offsets.append(start)
        lines.append(number)
        ids.append(item_id)
    return _Index(path, offsets, lines, ids)


def _pair(index: _Index, preds: Predictions, allow_missing: bool) -> tuple[list[Locator | None], list[str]]:
    """Each item's prediction locator (None: missing), and the missing ids; refuses unknown ids."""
    locators = [preds.locate(item_id) for item_id in index.ids]
    missing = [item_id for item_id, loc in zip(index.ids, locators, strict=True) if loc is None]
    if len(index.ids) - len(missing) < len(preds):
        known = set(index.ids)
        unknown = next(pred_id for pred_id in preds if pred_id not in known)
        raise preds.error(unknown, f"no item has the id {unknown!r} (items: {index.path})",
                          hint="predictions must use the ids of the items file")
    if missing and not allow_missing:
        first = index.ids.index(missing[0])
        more = f" ({len(missing) - 1} more items have none)" if len(missing) > 1 else ""
        raise InputError(f"item {missing[0]!r} has no prediction in {preds.path}{more}", file=index.path,
                         where=f"line {index.lines[first]}",
                         hint="pass --allow-missing (allow_missing=True) to score a missing prediction as an "
                              "empty mask")
    return locators, missing


# -- scoring (in this process or in a worker) ----------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """What a worker needs to score chunks; picklable, so the same code runs under spawn."""

    items_path: Path
    predictions_path: Path
    predictions_kind: str
    protocol: str
    options: dict[str, Any]
    worst: int
    per_item: bool


@dataclass(frozen=True)
class _Chunk:
    start: int
    entries: Sequence[tuple[int, int, Locator | None]]  # (item offset, item line, prediction locator)


@dataclass(frozen=True)
class _ChunkResult:
    state: dict[str, dict[str, int | float]]
    worst: list[ItemScore]
    scores: list[ItemScore] | None


_worker_job: _Job | None = None


def _init_worker(job: _Job) -> None:
    global _worker_job
    _worker_job = job


def _score_in_worker(chunk: _Chunk) -> _ChunkResult:
    if _worker_job is None:  # pragma: no cover - set by the pool initializer
        raise RuntimeError("worker started without a job")
    return _score_chunk(_worker_job, chunk)


def _score_chunk(job: _Job, chunk: _Chunk) -> _ChunkResult:
    protocol = get_protocol(job.protocol, **job.options)
    worst: list[tuple[float, int, str, str | None]] = []  # max-heap on (iou, index) by negation
    scores: list[ItemScore] | None = [] if job.per_item else None
    with job.items_path.open("rb") as items, PredictionLoader(job.predictions_path, job.predictions_kind) as loader:
        pairs = []
        for offset, number, locator in chunk.entries:
            items.seek(offset)
            item = Item.from_json(orjson.loads(items.readline()), file=job.items_path, where=f"line {number}",
                                  check_runs=False)
            prediction = (missing_prediction(item) if locator is None
                          else loader.load(item.id, locator, item.size, check_runs=False))
            pairs.append((item, prediction))
        _check_chunk_runs(job, chunk, pairs)
        for position, (item, prediction) in enumerate(pairs):
            increments = protocol.update(item, prediction)
            iou = item_iou(protocol, increments)
            if iou is None:
                continue
            index = chunk.start + position
            if scores is not None:
                scores.append(ItemScore(iou, index, item.id, item.category))
            key = (-iou, -index, item.id, item.category)
            if len(worst) < job.worst:
                heapq.heappush(worst, key)
            elif job.worst and key > worst[0]:
                heapq.heapreplace(worst, key)
    kept = sorted(ItemScore(-neg_iou, -neg_index, item_id, category) for neg_iou, neg_index, item_id, category in worst)
    return _ChunkResult(protocol.state, kept, scores)


def _check_chunk_runs(job: _Job, chunk: _Chunk, pairs: list[tuple[Item, Prediction]]) -> None:
    """Check every compressed mask of a chunk in one vectorised pass (a corrupt RLE would hang pycocotools)."""
    rles = [rle for item, prediction in pairs for rle in (item.mask, item.ignore, prediction.mask) if rle is not None]
    problems = masks.check_runs(rles)
    if not any(problems):
        return
    found = iter(problems)
    for (item, prediction), (_, number, locator) in zip(pairs, chunk.entries, strict=True):
        for name, rle in (("mask", item.mask), ("ignore", item.ignore)):
            if rle is not None and (problem := next(found)):
                raise InputError(f"'{name}': compressed RLE counts are corrupt: {problem}", file=job.items_path,
                                 where=f"line {number}: item {item.id}")
        if (problem := next(found)) and locator is not None:
            raise prediction_error(job.predictions_path, locator, prediction.id,
                                   f"'mask': compressed RLE counts are corrupt: {problem}")


def _chunks(index: _Index, locators: list[Locator | None]) -> Iterator[_Chunk]:
    for start in range(0, len(locators), CHUNK):
        stop = start + CHUNK
        yield _Chunk(start, list(zip(index.offsets[start:stop], index.lines[start:stop], locators[start:stop],
                                     strict=True)))


def _score(job: _Job, index: _Index, locators: list[Locator | None], processes: int, stage: str,
           progress: Progress | None) -> tuple[dict[str, Any], list[ItemScore], list[ItemScore] | None]:
    total = get_protocol(job.protocol, **job.options)
    worst: list[ItemScore] = []
    scores: list[ItemScore] | None = [] if job.per_item else None
    done = 0
    n = len(locators)

    def add(result: _ChunkResult) -> None:
        nonlocal worst, done
        total.merge(result.state)
        worst = heapq.nsmallest(job.worst, worst + result.worst)
        if scores is not None and result.scores is not None:
            scores.extend(result.scores)
        done = min(n, done + CHUNK)
        if progress is not None:
            progress(stage, done, n)

    if progress is not None:
        progress(stage, 0, n)
    if processes <= 1 or n <= CHUNK:
        for chunk in _chunks(index, locators):
            add(_score_chunk(job, chunk))
    else:
        # spawn, not fork: the caller may run threads (rich's progress bar), which fork would copy mid-lock.
        context = multiprocessing.get_context("spawn")
        with context.Pool(min(processes, -(-n // CHUNK)), initializer=_init_worker, initargs=(job,)) as pool:
            for result in pool.imap(_score_in_worker, _chunks(index, locators)):
                add(result)
    return total.compute(), worst, scores


def evaluate(
    items_path: str | Path,
    predictions_path: str | Path,
    protocol_name: str,
    *,
    options: Mapping[str, Any] | None = None,
    allow_missing: bool = False,
    processes: int = 1,
    progress: Progress | None = None,
    blind_predictions_path: str | Path | None = None,
    worst: int = 12,
    per_item: bool = False,
) -> EvalResult:
    """Score a model's predictions on an items file with one protocol.

    Args:
        items_path: JSON lines of :class:`~groundv.eval.records.Item`.
        predictions_path: JSON lines of :class:`~groundv.eval.records.Prediction`, or a folder of
            ``<item id>.png`` masks (:mod:`groundv.eval.predictions`).
        protocol_name: ``gres``, ``lisa``, ``gsva`` or ``psalm``.
        options: the protocol's options, e.g. ``{"nt_from_mask": True}`` (see :func:`protocol_options`).
        allow_missing: score an item without a prediction as an empty mask (its id goes to ``missing``)
            instead of failing.
        processes: worker processes; the result is identical for any value.
        progress: called as ``progress(stage, done, total)``.
        blind_predictions_path: predictions made without the image, for the language-prior probe
            (module docstring); scored on the same items, reported as ``blind`` and ``retained``.
        worst: how many of the lowest-IoU items to keep for the report.
        per_item: also keep every item's score (memory grows with the items).

    Returns:
        The metrics and what the report needs.

    Raises:
        ConfigError: unknown protocol or option, or ``processes`` < 1.
        InputError: a malformed file, or an unknown, missing or duplicate id, or a mask of the wrong size;
            named by file, line and id.

    Example:
        >>> result = evaluate("items.jsonl", "p.jsonl", "gres", blind_predictions_path="b.jsonl")  # doctest: +SKIP
        >>> result.retained["giou"]  # doctest: +SKIP
        0.21
    """
    options = dict(options or {})
    if processes < 1:
        raise ConfigError(f"processes must be at least 1, got {processes}")
    probe = get_protocol(protocol_name, **options)  # unknown names and options fail before any reading
    resolved = dict(getattr(probe, "options", options))
    items_path, predictions_path = Path(items_path), Path(predictions_path)

    if progress is not None:
        progress("indexing", 0, None)
    index = _index_items(items_path)
    runs = [predictions_path] if blind_predictions_path is None else [predictions_path, Path(blind_predictions_path)]
    paired = []
    for path in runs:  # both files are checked before anything is scored; their id indexes are dropped after
        preds = Predictions(path)
        locators, missing = _pair(index, preds, allow_missing)
        paired.append((preds.path, preds.kind, locators, missing))
        del preds

    outcomes = []
    for (path, kind, locators, missing), stage in zip(paired, ("scoring", "scoring blind"), strict=False):
        job = _Job(items_path, path, kind, protocol_name, options, max(0, worst), per_item and stage == "scoring")
        outcomes.append((_score(job, index, locators, processes, stage, progress), missing))

    (metrics, worst_items, scores), missing = outcomes[0]
    result = EvalResult(protocol_name, resolved, metrics, len(index.ids), missing, worst_items, scores,
                        items_path=items_path, predictions_path=predictions_path)
    if len(outcomes) > 1:
        (blind, _, _), blind_missing = outcomes[1]
        result.blind = blind
        result.blind_missing = blind_missing
        result.blind_predictions_path = Path(blind_predictions_path)  # type: ignore[arg-type]
    return result
