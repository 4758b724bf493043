"""Generate a dataset: scenes → plans → teacher → validator → the dataset directory.

For each scene (in source order) and each requested category — one **work unit** — the category's
planner says whether it can plan the scene at all (``unsupported``: counted in the manifest with its
reason), then chooses up to ``plans_per_unit`` plans; the teacher words each plan and the validator
checks the wording against the scene. Accepted plans become samples with stable ids, rejected ones
rejection records with their reason code. :mod:`groundv.store` writes both and makes the run resumable.

Determinism: a unit's random generator is seeded from ``(seed, image_id, category)`` through SHA-256
(never Python's ``hash``), so a unit plans the same whatever ran before it, in any process. With
``workers > 1`` scenes are planned in a pool of spawned processes and written by the parent in source
order: the files are byte-identical to ``workers=1``.

LLM teachers (``openai``, ``anthropic``, ``paraphrase``) take the same units through
:class:`groundv.engine.runner.SceneRunner` on the local asyncio executor (:mod:`groundv.engine.local`):
the requests of many scenes run concurrently, results are written in source order, so a resumed run
writes the same bytes as an uninterrupted one. Their answers are cached (``teacher-cache.sqlite`` in
the dataset folder by default) and paid for in ``ledger.jsonl`` there: ``max_cost``/``max_requests`` cap
the dataset's total spend across resumes, and are not dataset settings (raising them resumes).
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from groundv.errors import ConfigError
from groundv.scene import Scene
from groundv.sources import Source
from groundv.store import Dataset, Manifest, UnitResult
from groundv.tasks.plan import CATEGORIES, Plan, Planner
from groundv.teachers.base import Teacher

__all__ = ["EXECUTORS", "LLM_TEACHERS", "TEACHERS", "estimate", "generate", "make_teacher", "parse_categories",
           "rejection_record", "unit_rng"]

#: teachers that send requests through :mod:`groundv.engine`
LLM_TEACHERS: tuple[str, ...] = ("openai", "anthropic", "paraphrase")
#: teacher names ``generate`` accepts
TEACHERS: tuple[str, ...] = ("rules", *LLM_TEACHERS)
#: where LLM teachers' requests run: one asyncio loop here, or Ray actors (same files)
EXECUTORS: tuple[str, ...] = ("local", "ray")
#: where an LLM teacher is asked when no base URL is given
DEFAULT_BASE_URLS = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}


def unit_rng(seed: int, image_id: int | str, category: str) -> np.random.Generator:
    """The work unit's generator: same (seed, image id, category) ⇒ same stream, in any process.

    Example:
        >>> unit_rng(0, 7, "part").integers(1000) == unit_rng(0, 7, "part").integers(1000)
        True
    """
    key = f"{type(image_id).__name__}:{image_id}\x00{category}".encode()
    words = np.frombuffer(hashlib.sha256(key).digest()[:16], dtype="<u4")
    return np.random.default_rng([int(seed), *(int(w) for w in words)])


def parse_categories(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"all"`` or comma-separated category names → the categories, in the paper's order.

    Raises:
        ConfigError: an unknown category or none at all.
    """
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if names == ["all"]:
        return tuple(CATEGORIES)
    unknown = [n for n in names if n not in CATEGORIES]
    if unknown or not names:
        raise ConfigError(f"unknown categories: {', '.join(unknown) or '(none given)'}",
                          hint=f"use 'all' or a comma-separated list of: {', '.join(CATEGORIES)}")
    return tuple(c for c in CATEGORIES if c in names)


def make_teacher(name: str, config: Any = None, *, api: str | None = None, engine: Any = None) -> Teacher:
    """The teacher called ``name``.

    Args:
        name: one of :data:`TEACHERS`.
        config: an LLM teacher's :class:`~groundv.teachers.llm.TeacherConfig` (required for those).
        api: the paraphrase teacher's endpoint API, ``openai`` (default) or ``anthropic``.
        engine: the :class:`~groundv.engine.engine.Engine` an LLM teacher's ``respond`` sends through.

    Raises:
        ConfigError: an unknown teacher name, or an LLM teacher without a model.
    """
    if name == "rules":
        from groundv.teachers.rules import RulesTeacher

        return RulesTeacher()
    if name in LLM_TEACHERS:
        if config is None or not getattr(config, "model", None):
            raise ConfigError(f"the {name} teacher needs a model", hint="pass --model NAME")
        if name == "paraphrase":
            from groundv.teachers.paraphrase import ParaphraseTeacher

            if (api or "openai") not in DEFAULT_BASE_URLS:
                raise ConfigError(f"unknown teacher API {api!r}", hint="use openai or anthropic")
            return ParaphraseTeacher(config, engine, api=api or "openai")
        from groundv.teachers.anthropic import AnthropicTeacher
        from groundv.teachers.openai import OpenAITeacher

        return (OpenAITeacher if name == "openai" else AnthropicTeacher)(config, engine)
    raise ConfigError(f"unknown teacher {name!r}", hint=f"choose one of: {', '.join(TEACHERS)}")


@dataclass
class _Worker:
    """Everything a process needs to turn a scene into unit results."""

    teacher: Teacher
    planners: dict[str, Planner]
    seed: int
    plans_per_unit: int

    @classmethod
    def build(cls, teacher: str, categories: Sequence[str], seed: int, plans_per_unit: int) -> _Worker:
        from groundv.tasks.registry import get_planner

        return cls(make_teacher(teacher), {c: get_planner(c) for c in categories}, seed, plans_per_unit)

    def teacher_info(self, category: str) -> dict[str, Any]:
        return {"name": self.teacher.name, "model": self.teacher.model,
                "prompt_version": self.planners[category].prompt_version}

    def run(self, scene: Scene, categories: Sequence[str], seen: Iterable[str] = ()) -> list[UnitResult]:
        """The unit results of ``scene`` for ``categories`` (in that order), dedup shared per image."""
        from groundv.render import load_image
        from groundv.tasks.facts import SceneFacts
        from groundv.tasks.validate import normalise, validate

        pixels = np.asarray(load_image(scene)) if scene.path is not None else None
        # One SceneFacts per image: the five planners share it, and the validator checks colours named
        # from the pixels against the very values the planners used.
        facts = SceneFacts(scene, pixels)
        # validate's duplicate key; ``seen`` holds instructions accepted before a resume
        seen_set = {f"{scene.source}\x00{scene.image_id}\x00{normalise(text)}" for text in seen}
        results = []
        for category in categories:
            planner = self.planners[category]
            unit = UnitResult(scene.image_id, category)
            results.append(unit)
            why = planner.unsupported(scene)
            if why is not None:
                unit.unsupported = why
                continue
            rng = unit_rng(self.seed, scene.image_id, category)
            plans = planner.plan(scene, rng, limit=self.plans_per_unit, facts=facts)
            teacher = self.teacher_info(category)
            for index, plan in enumerate(plans):
                output = self.teacher.respond(scene, plan, rng)
                verdict = validate(scene, plan, output, teacher=teacher, seen=seen_set, index=index,
                                   provenance={"seed": self.seed}, scene_facts=facts)
                if verdict.ok and verdict.sample is not None:
                    unit.samples.append(verdict.sample.to_json())
                    unit.subtypes[plan.subtype] += 1
                else:
                    unit.rejections.append(rejection_record(scene, plan, output, verdict))
        return results


def rejection_record(scene: Scene, plan: Plan, output: Any, verdict: Any) -> dict[str, Any]:
    """The rejection line of a plan: reason, detail, image, category, plan and what the teacher said."""
    return {"reason": verdict.reason, "detail": verdict.detail,
            "image": {"id": scene.image_id, "file_name": scene.file_name, "width": scene.width,
                      "height": scene.height, "source": scene.source},
            "category": plan.category, "subtype": plan.subtype, "plan": plan.to_json(),
            "instruction": getattr(output, "instruction", None), "response": getattr(output, "response", None),
            "target_ids": list(getattr(output, "target_ids", ()) or ()), "raw": getattr(output, "raw", None)}


# -- process pool -----------------------------------------------------------------------------------

_WORKER: _Worker | None = None


def _init_worker(teacher: str, categories: Sequence[str], seed: int, plans_per_unit: int) -> None:
    global _WORKER
    _WORKER = _Worker.build(teacher, categories, seed, plans_per_unit)


def _run_in_worker(scene: Scene, categories: Sequence[str], seen: Sequence[str]) -> list[UnitResult]:
    if _WORKER is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker not initialised")
    return _WORKER.run(scene, categories, seen)


def _source_info(source: Source) -> dict[str, Any]:
    """How to open ``source`` again (``open_source(format, path, ...)``), for the manifest and exporters
    (:func:`groundv.export.base.open_dataset_source` reads it back)."""

    def resolved(path: Any) -> str | None:
        return str(Path(path).resolve()) if path is not None else None

    files = list(getattr(source, "files", ()))
    info: dict[str, Any] = {"format": source.name, "images": resolved(getattr(source, "images", None))}
    if source.name == "toyworld":
        info["path"] = resolved(Path(files[0]).parent)
    elif source.name == "panoptic":
        info.update(path=resolved(getattr(source, "file", None)), masks=resolved(getattr(source, "masks", None)))
    elif source.name == "pascal-part":
        info["path"] = resolved(getattr(source, "path", None))
    else:
        info.update(path=resolved(files[0]) if files else None, parts=[resolved(f) for f in files[1:]])
    # Open options change which scenes the source yields; recorded only when set, so the settings of
    # datasets made without them stay as they were (and still resume).
    problems = getattr(source, "problems", None)
    if getattr(problems, "skip_bad", False):
        info["skip_bad"] = True
    exclude = getattr(source, "exclude", None)
    if exclude:
        info["exclude"] = sorted(exclude, key=lambda i: (isinstance(i, str), i))
    return info


def generate(
    source: Source,
    out_dir: str | Path,
    *,
    teacher: str = "rules",
    categories: Sequence[str] = CATEGORIES,
    seed: int = 0,
    limit: int | None = None,
    workers: int = 1,
    plans_per_unit: int = 3,
    force: bool = False,
    source_info: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    llm: Mapping[str, Any] | None = None,
    on_stats: Callable[[Mapping[str, Any]], None] | None = None,
    executor: str = "local",
    actors: int = 2,
) -> Manifest:
    """Generate grounding samples from ``source`` into the dataset directory ``out_dir``.

    A folder written with the same settings is resumed: finished units are skipped, unfinished ones
    redone. The same input and seed give byte-identical files, for any ``workers``.

    Args:
        source: the scenes.
        out_dir: the dataset directory (see :mod:`groundv.store`).
        teacher: a name from :data:`TEACHERS`.
        categories: categories to generate, any of :data:`~groundv.tasks.plan.CATEGORIES`.
        seed: seeds every unit's generator together with its image id and category.
        limit: only the first ``limit`` scenes of the source.
        workers: processes planning scenes (1: in this process).
        plans_per_unit: the most plans per (image, category).
        force: start an existing dataset in ``out_dir`` over (:func:`groundv.store.clear_dataset`: its
            reviews, verdicts and test split move, with the old samples, to ``out_dir/replaced-<time>/``).
        source_info: how the source was opened (format, paths, options), recorded in the manifest and
            compared on resume; default: its format and files.
        progress: called after each scene with (scenes done, scenes in total).
        llm: an LLM teacher's options — the keyword arguments of
            :func:`groundv.engine.runner.llm_settings` after ``plans_per_unit`` (``model`` required;
            ``base_url``, ``cache`` and ``ledger`` have defaults, see the module docstring).
        on_stats: LLM teachers only: called after each scene with the run's counters (``requests``,
            ``cached``, ``prompt_tokens``, ``completion_tokens``, ``accepted``, ``rejected``, ``spent``).
        executor: LLM teachers only: ``local`` (one asyncio loop in this process) or ``ray`` (scenes
            through ``ray.data``, requests from ``actors`` actors; :mod:`groundv.engine.ray_executor`).
            Both write the same files.
        actors: the Ray executor's actor pool size.

    Returns:
        The final manifest.

    Raises:
        ConfigError: bad settings, or ``out_dir`` holds something else (see :class:`~groundv.store.Dataset`).
        InputError: bad source data (from the source or an image file). A run that fails before it
            completed a unit leaves no dataset behind, so the corrected call starts afresh.
        KeyboardInterrupt: passed on after the manifest is left saying ``interrupted``, with the counts
            of the units on disk; the same call resumes.
        BudgetExhausted: an LLM run reached ``max_cost``/``max_requests``; every finished unit is
            written, the manifest says ``stopped`` (with the counts so far and why), and a run with a
            higher cap resumes.
        TeacherUnavailable, TeacherRefused: the endpoint failed; finished units are written and the
            manifest says ``stopped`` likewise.
    """
    categories = parse_categories(list(categories))
    if workers < 1:
        raise ConfigError(f"workers must be ≥ 1, got {workers}")
    if plans_per_unit < 1:
        raise ConfigError(f"plans per unit must be ≥ 1, got {plans_per_unit}")
    if limit is not None and limit < 0:
        raise ConfigError(f"limit must be ≥ 0, got {limit}")
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}", hint=f"choose one of: {', '.join(EXECUTORS)}")
    if executor != "local" and teacher not in LLM_TEACHERS:
        raise ConfigError(f"the {executor} executor runs LLM teachers; the {teacher} teacher uses --workers",
                          hint=f"use --teacher {' | '.join(LLM_TEACHERS)}, or leave out --executor")
    if actors < 1:
        raise ConfigError(f"actors must be ≥ 1, got {actors}")
    if teacher in LLM_TEACHERS:
        if workers != 1:
            raise ConfigError(f"the {teacher} teacher runs requests concurrently in one process",
                              hint="leave out --workers; use --concurrency for the number of requests in flight")
        run = _llm_run_settings(teacher, categories, seed, plans_per_unit, llm or {}, Path(out_dir))
        return _generate_llm(source, out_dir, run, force=force, limit=limit, source_info=source_info,
                             progress=progress, on_stats=on_stats, executor=executor, actors=actors)
    local = _Worker.build(teacher, categories, seed, plans_per_unit)
    settings = {
        "source": dict(source_info) if source_info is not None else _source_info(source),
        "categories": list(categories),
        "seed": int(seed),
        "teacher": {"name": local.teacher.name, "model": local.teacher.model,
                    "prompt_versions": {c: local.planners[c].prompt_version for c in categories}},
        "plans_per_unit": int(plans_per_unit),
    }
    total = len(source) if limit is None else min(limit, len(source))
    scenes: Iterable[Scene] = source if limit is None else islice(source, limit)
    dataset = Dataset(out_dir, settings, force=force)
    with _ending(dataset):
        jobs = _jobs(dataset, scenes, categories)
        if workers == 1:
            results: Iterator[tuple[int, list[UnitResult] | None]] = (
                (i, local.run(scene, todo, seen) if todo else None) for i, scene, todo, seen in jobs)
        else:
            results = _pooled(jobs, workers, (teacher, categories, seed, plans_per_unit))
        for done, (index, units) in enumerate(results, 1):
            for unit in units or ():
                dataset.write(index, unit)
            if progress is not None:
                progress(done, total)
        return dataset.finish()


@contextmanager
def _ending(dataset: Dataset, stops: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Leave the manifest saying how a run that did not finish ended, and close the files.

    ``stops`` (a budget cap, a failing endpoint): ``stopped`` with why; Ctrl-C: ``interrupted``; any
    other failure after units were written: ``failed`` with the error — each with the counts of what is
    on disk, and the same command resumes. A failure (bad input) before a unit was written leaves no
    half-made folder behind (:meth:`Dataset.fail`, :meth:`Dataset.abandon`).
    """
    try:
        yield
    except stops as stop:
        if (settle := getattr(stop, "settle", None)) is not None:
            settle()  # a budget stop: the answers in flight have landed, say what was paid in the end
        dataset.stop(getattr(stop, "message", str(stop)))  # `groundv stats` shows what was done and why
        raise
    except KeyboardInterrupt:
        dataset.interrupt()
        raise
    except Exception as error:
        dataset.fail(getattr(error, "message", None) or f"{type(error).__name__}: {error}")
        raise
    finally:
        dataset.close()


def _llm_run_settings(teacher: str, categories: Sequence[str], seed: int, plans_per_unit: int,
                      llm: Mapping[str, Any], out_dir: Path | None) -> dict[str, Any]:
    """:func:`~groundv.engine.runner.llm_settings` with the defaults filled in (base URL, key, cache, ledger)."""
    from groundv.engine.clients import default_key_env
    from groundv.engine.runner import llm_settings

    options = dict(llm)
    if not options.get("model"):
        raise ConfigError(f"the {teacher} teacher needs a model", hint="pass --model NAME")
    api = "anthropic" if teacher == "anthropic" else (options.get("api") or "openai")
    if api not in DEFAULT_BASE_URLS:
        raise ConfigError(f"unknown teacher API {api!r}", hint="use openai or anthropic")
    options["api"] = api if teacher == "paraphrase" else None
    options["base_url"] = options.get("base_url") or DEFAULT_BASE_URLS[api]
    options["api_key_env"] = options.get("api_key_env") or default_key_env(api)
    if out_dir is not None:
        options.setdefault("cache", out_dir / "teacher-cache.sqlite")
        options.setdefault("ledger", out_dir / "ledger.jsonl")
    try:
        return llm_settings(teacher, categories, seed, plans_per_unit, **options)
    except TypeError as exc:  # an option llm_settings does not know
        raise ConfigError(f"bad LLM teacher options: {exc}") from None


def _generate_llm(source: Source, out_dir: str | Path, run: dict[str, Any], *, force: bool, limit: int | None,
                  source_info: Mapping[str, Any] | None, progress: Callable[[int, int], None] | None,
                  on_stats: Callable[[Mapping[str, Any]], None] | None, executor: str, actors: int) -> Manifest:
    from groundv.engine.failures import TeacherRefused, TeacherUnavailable
    from groundv.engine.ledger import BudgetExhausted
    from groundv.engine.local import run_local
    from groundv.engine.ray_executor import run_ray
    from groundv.engine.runner import SceneRunner

    runner = SceneRunner.build(run)
    categories = run["categories"]
    record = runner.teacher.record(categories[0])
    settings = {
        "source": dict(source_info) if source_info is not None else _source_info(source),
        "categories": list(categories),
        "seed": run["seed"],
        "teacher": {**{k: v for k, v in record.items() if k != "prompt_version"},
                    "prompt_versions": {c: runner.teacher.prompt_version(c) for c in categories}},
        "plans_per_unit": run["plans_per_unit"],
    }
    total = len(source) if limit is None else min(limit, len(source))
    scenes: Iterable[Scene] = source if limit is None else islice(source, limit)
    dataset = Dataset(out_dir, settings, force=force)
    with _ending(dataset, (BudgetExhausted, TeacherUnavailable, TeacherRefused)):
        jobs = _jobs(dataset, scenes, categories)
        if executor == "ray":
            run_ray(run, dataset, jobs, total=total, actors=actors, progress=progress, on_stats=on_stats)
        else:
            run_local(runner, dataset, jobs, total=total, progress=progress, on_stats=on_stats)
        return dataset.finish()


def estimate(source: Source, *, teacher: str, categories: Sequence[str] = CATEGORIES, seed: int = 0,
             limit: int | None = None, plans_per_unit: int = 3, llm: Mapping[str, Any] | None = None,
             out_dir: str | Path | None = None,
             progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """What an LLM run would send, without sending anything or writing the dataset (``--dry-run``).

    Every scene is planned and every first request built — one per plan, per unit or per image, as the
    ``batch`` option says (feedback retries cannot be foreseen); prompt tokens are
    :func:`groundv.engine.estimate.estimate_tokens`'s estimate. Requests already in the response cache
    (``out_dir``'s by default) are counted apart: they cost nothing.

    Returns:
        ``{"scenes", "units", "plans", "requests", "images", "prompt_tokens", "cached_requests",
        "cached_prompt_tokens", "prompt_cost", "max_completion_cost"}`` (``plans``: those the requests
        ask about, cached or not; ``images``: the set-of-marks images they carry) — costs for the requests not
        cached, from the prices in ``llm`` (``max_completion_cost``: with ``params.max_tokens`` as
        each answer's length; None without it).

    Raises:
        ConfigError: as :func:`generate`, or a teacher that sends no requests.
    """
    from groundv.engine.estimate import estimate_tokens
    from groundv.engine.runner import SceneRunner

    if teacher not in LLM_TEACHERS:
        raise ConfigError(f"the {teacher} teacher sends no requests: there is nothing to estimate",
                          hint=f"--dry-run goes with --teacher {' | '.join(LLM_TEACHERS)}")
    categories = parse_categories(list(categories))
    run = _llm_run_settings(teacher, categories, seed, plans_per_unit, llm or {},
                            Path(out_dir) if out_dir is not None else None)
    runner = SceneRunner.build(run)
    cache_path = run["engine"]["cache"]
    cache = None
    if cache_path and Path(cache_path).is_file():
        from groundv.engine.cache import ResponseCache

        cache = ResponseCache(cache_path)
    total = len(source) if limit is None else min(limit, len(source))
    counts = dict.fromkeys(("scenes", "units", "plans", "requests", "images", "prompt_tokens", "cached_requests",
                            "cached_prompt_tokens"), 0)
    try:
        for done, scene in enumerate(source if limit is None else islice(source, limit), 1):
            counts["scenes"] += 1
            counts["units"] += len(categories)
            for request in runner.asks(scene, categories):
                tokens = estimate_tokens(request)
                cached = cache is not None and request.key() in cache
                counts["cached_requests" if cached else "requests"] += 1
                counts["cached_prompt_tokens" if cached else "prompt_tokens"] += tokens
                counts["images"] += request.images()
                counts["plans"] += len(request.tag.get("plans", ()))
            if progress is not None:
                progress(done, total)
    finally:
        if cache is not None:
            cache.close()
    price_prompt, price_completion = run["engine"]["prices"]
    max_tokens = run["config"]["params"].get("max_tokens")
    counts["prompt_cost"] = counts["prompt_tokens"] * price_prompt / 1e6
    counts["max_completion_cost"] = (counts["requests"] * int(max_tokens) * price_completion / 1e6
                                     if max_tokens else None)
    return counts


_Job = tuple[int, Scene, list[str], list[str]]


def _jobs(dataset: Dataset, scenes: Iterable[Scene], categories: Sequence[str]) -> Iterator[_Job]:
    """(source index, scene, categories still to do, instructions already accepted for its image)."""
    for index, scene in enumerate(scenes):
        todo = [c for c in categories if not dataset.done(scene.image_id, c)]
        seen = dataset.instructions(scene.image_id) if todo and len(todo) < len(categories) else []
        yield index, scene, todo, seen


def _pooled(jobs: Iterator[_Job], workers: int, init: tuple[Any, ...]) -> Iterator[tuple[int, list[UnitResult] | None]]:
    """Run jobs in spawned processes, at most a few per worker in flight, yielding in source order."""
    context = multiprocessing.get_context("spawn")
    window: deque[tuple[int, Future[list[UnitResult]] | None]] = deque()
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=init) as pool:
        for index, scene, todo, seen in jobs:
            window.append((index, pool.submit(_run_in_worker, scene, todo, seen) if todo else None))
            while len(window) > 4 * workers:
                i, fut = window.popleft()
                yield i, fut.result() if fut is not None else None
        while window:
            i, fut = window.popleft()
            yield i, fut.result() if fut is not None else None
