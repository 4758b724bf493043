"""``groundv reproduce``: generate → train → evaluate → ablate on the built-in toy world.

The paper's claim is causal: adding Ground-V's five categories to a grounding model's training
data lifts gIoU and, above all, N-Acc, and removing any category hurts its own test subset. This
pipeline tests that claim in miniature, with one command:

1. **world**: render ``scenes`` toy-world scenes; the last ``test_scenes`` are held out for testing
   (split by image, so no test picture is ever trained on);
2. **data**: the rules teacher generates all five categories (:func:`groundv.generate.generate`);
   :func:`groundv.tasks.referring.referring_items` writes plain RefCOCO-style referring expressions
   (one object, a unique phrase) for every scene;
3. **train** the student (:mod:`groundv.student`): per seed, pre-train its encoder-decoder once on the
   training scenes' annotations (object and part class of every pixel, no text — the stand-in for
   the pretrained segmenters LISA and PSALM start from), then fine-tune a copy on each training mix —
   ``baseline`` (referring only), ``groundv`` (referring + all five) and, unless turned off,
   ``without-<category>`` (referring + the other four) — with the same step budget for every run,
   so the runs differ only in what the data says, not in how long they learn;
4. **evaluate** every run on the same test items (referring + all five categories) with the ``gres``
   protocol, per category; the ``empty``, ``largest`` and ``oracle-category`` baselines are scored on
   them too;
5. **report**: mean ± standard deviation over seeds, the expected patterns checked run against run
   (:mod:`groundv.reproduce.report`), written to ``results.json``, ``table.md`` and ``chart.png``.

Every step leaves its files under ``out`` and is skipped when they are already there with the same
settings, so an interrupted run continues where it stopped. Other settings in a used folder are
refused (``force`` starts over).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from groundv.errors import ConfigError
from groundv.eval.records import Item, read_items, write_jsonl
from groundv.tasks.plan import CATEGORIES
from groundv.tasks.referring import REFERRING

__all__ = ["BASELINE", "BASELINES", "FULL", "QUICK", "ReproduceConfig", "reproduce", "run_names"]

BASELINE = "baseline"
FULL = "groundv"
#: predictors scored without training
BASELINES: tuple[str, ...] = ("empty", "largest", "oracle-category")

#: ``progress(task, done, total)``
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ReproduceConfig:
    """Settings of a reproduction (all recorded in ``settings.json``).

    Attributes:
        scenes: toy-world scenes in all.
        test_scenes: the last scenes, held out for testing.
        seeds: training seeds; every run is trained once per seed.
        pretrain_steps: steps of the shared pre-training per seed (object and part classes per pixel of
            the training scenes, no text; :mod:`groundv.student.pretrain`); 0 trains from scratch.
        steps: optimiser steps per run (the same for every run).
        batch_size: samples per step.
        width: channels of the student's first stage.
        text: text encoder (``auto``, ``minilm``, ``hashed``; ``auto`` is resolved before it is recorded).
        world_seed: seed of the toy world, of generation and of the referring expressions.
        referring_per_scene: the most plain referring expressions per scene.
        leave_one_out: also train the five ``without-<category>`` runs.
        threads: torch CPU threads.
    """

    scenes: int = 1000
    test_scenes: int = 150
    seeds: tuple[int, ...] = (0, 1, 2)
    pretrain_steps: int = 300
    steps: int = 400
    batch_size: int = 32
    width: int = 16
    text: str = "auto"
    world_seed: int = 0
    referring_per_scene: int = 3
    leave_one_out: bool = True
    threads: int = 2

    def check(self) -> None:
        """Raises ConfigError for settings that cannot work."""
        if self.scenes < 2 or not 1 <= self.test_scenes < self.scenes:
            raise ConfigError(f"need 1 ≤ test scenes < scenes, got {self.test_scenes} of {self.scenes}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds must be distinct and at least one, got {list(self.seeds)}")
        for name in ("steps", "batch_size", "width", "referring_per_scene", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.pretrain_steps < 0:
            raise ConfigError(f"pretrain_steps must be ≥ 0, got {self.pretrain_steps}")


#: ``--quick``: one seed, a small world, no leave-one-out runs — a smoke run of the whole pipeline
QUICK = ReproduceConfig(scenes=240, test_scenes=60, seeds=(0,), pretrain_steps=150, steps=200, leave_one_out=False)


def run_names(leave_one_out: bool) -> dict[str, tuple[str, ...]]:
    """Run name → the training categories it uses (``referring`` plus Ground-V's)."""
    runs = {BASELINE: (REFERRING,), FULL: (REFERRING, *CATEGORIES)}
    if leave_one_out:
        runs.update({f"without-{c}": (REFERRING, *(o for o in CATEGORIES if o != c)) for c in CATEGORIES})
    return runs


def _prepare_out(out: Path, settings: dict[str, Any], force: bool) -> None:
    marker = out / "settings.json"
    if marker.is_file():
        if force:
            shutil.rmtree(out)
        elif orjson.loads(marker.read_bytes()) != settings:
            raise ConfigError(f"{out} holds a reproduction with other settings",
                              hint="pass --force to start over, or choose another --out")
    elif out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty and holds no reproduction", hint="choose an empty or new --out")
    out.mkdir(parents=True, exist_ok=True)
    marker.write_bytes(orjson.dumps(settings, option=orjson.OPT_INDENT_2))


def _world(out: Path, config: ReproduceConfig, progress: Progress | None) -> Path:
    from groundv.sources.toyworld import write_toyworld

    world = out / "world"
    if not (world / "instances.json").is_file():
        write_toyworld(world, config.scenes, config.world_seed,
                       progress=(lambda done: progress("rendering the toy world", done, config.scenes))
                       if progress else None)
    return world


def _groundv(out: Path, world: Path, config: ReproduceConfig, progress: Progress | None) -> Path:
    from groundv.generate import generate
    from groundv.sources.toyworld import ToyWorldSource

    dataset = out / "groundv"
    info = {"format": "toyworld", "path": str(world.resolve()), "images": str((world / "images").resolve())}
    generate(ToyWorldSource(world), dataset, seed=config.world_seed, source_info=info,
             progress=(lambda done, total: progress("generating Ground-V data (rules teacher)", done, total))
             if progress else None)
    return dataset


def _referring(out: Path, world: Path, config: ReproduceConfig) -> Path:
    from groundv.generate import unit_rng
    from groundv.sources.toyworld import ToyWorldSource
    from groundv.tasks.referring import referring_items

    path = out / "referring.jsonl"
    if not path.is_file():
        items = (item for scene in ToyWorldSource(world)
                 for item in referring_items(scene, unit_rng(config.world_seed, scene.image_id, REFERRING),
                                             limit=config.referring_per_scene))
        tmp = path.with_suffix(".tmp")
        write_jsonl(items, tmp)
        tmp.replace(path)
    return path


def _split(out: Path, referring: Path, dataset: Path, config: ReproduceConfig) -> tuple[list[Item], Path]:
    """Training items (referring + Ground-V, training scenes) and the test items file."""
    from groundv.benchmarks.dataset import read_dataset

    first_test = config.scenes - config.test_scenes + 1  # toy-world image ids are scene index + 1
    everything = [*read_items(referring), *read_dataset([dataset], split="all")]
    train = [i for i in everything if int(i.image["id"]) < first_test]
    test = sorted((i for i in everything if int(i.image["id"]) >= first_test),
                  key=lambda i: (int(i.image["id"]), i.id))
    path = out / "test-items.jsonl"
    if not path.is_file():
        tmp = path.with_suffix(".tmp")
        write_jsonl(test, tmp)
        tmp.replace(path)
    return train, path


def _evaluate(items: Path, predictions: Path, out: Path) -> dict[str, Any]:
    from groundv.eval.run import evaluate

    metrics = evaluate(items, predictions, "gres").metrics
    metrics.pop("state", None)
    out.write_bytes(orjson.dumps(metrics, option=orjson.OPT_INDENT_2))
    return metrics


def _predict(predictor: Any, items: Path, lookup: Any, out: Path, label: str, progress: Progress | None) -> Path:
    from groundv.predict import predict_items

    test = list(read_items(items))
    tmp = out.with_suffix(".tmp")
    write_jsonl(predict_items(predictor, test, lookup, batch_size=64,
                              progress=(lambda done: progress(label, done, len(test))) if progress else None), tmp)
    tmp.replace(out)
    return out


def reproduce(out: str | Path, config: ReproduceConfig = ReproduceConfig(), *, force: bool = False,
              text_cache: Path | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Run the whole reproduction into ``out`` and return its results (also in ``out/results.json``).

    ``text_cache`` is the folder of cached MiniLM vectors (default ``out/text-cache``); reproductions
    may share one, since a text's vector does not depend on anything else.

    Raises:
        ConfigError: bad settings, or ``out`` holds something else (see the module docstring).
        MissingDependency: torch is not installed (the ``student`` extra), or MiniLM was asked for and is missing.
    """
    from groundv.predict import ImageLookup, load_predictor
    from groundv.reproduce.report import summarise, write_report
    from groundv.sources.toyworld import ToyWorldSource
    from groundv.student import require_torch
    from groundv.student.data import Record, TrainingSet
    from groundv.student.predictor import StudentPredictor
    from groundv.student.pretrain import PretrainConfig, SceneLabels, pretrain
    from groundv.student.text import resolve_text_encoder
    from groundv.student.train import MODEL, TrainConfig, train

    require_torch("groundv reproduce")
    config.check()
    config = replace(config, text=resolve_text_encoder(config.text))
    out = Path(out)
    settings = {"reproduce": {**asdict(config), "seeds": list(config.seeds)}}
    _prepare_out(out, settings, force)
    began = time.monotonic()

    world = _world(out, config, progress)
    dataset = _groundv(out, world, config, progress)
    referring = _referring(out, world, config)
    train_items, test_path = _split(out, referring, dataset, config)
    images = world / "images"
    records = [Record(i.id, i.image["id"], images / i.image["file_name"], i.size, i.expression, i.mask, i.no_target,
                      i.category) for i in train_items]
    text_cache = text_cache if text_cache is not None else out / "text-cache"
    data = TrainingSet(records, height=72, width=96, text=config.text, text_cache=text_cache,
                       progress=(lambda done: progress("loading training images", done, len(records)))
                       if progress else None)

    first_test = config.scenes - config.test_scenes + 1
    scenes = list(ToyWorldSource(world))
    train_scenes = [s for s in scenes if int(s.image_id) < first_test]
    lookup = ImageLookup(images, scenes={s.image_id: s for s in scenes if int(s.image_id) >= first_test})
    labels = None
    baselines: dict[str, dict[str, Any]] = {}
    for name in BASELINES:
        folder = out / "baselines" / name
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "metrics.json").is_file():
            preds = _predict(load_predictor(name), test_path, lookup, folder / "predictions.jsonl",
                             f"baseline {name}: predicting", progress)
            _evaluate(test_path, preds, folder / "metrics.json")
        baselines[name] = orjson.loads((folder / "metrics.json").read_bytes())

    runs: dict[str, dict[int, dict[str, Any]]] = {}
    categories = [r.category for r in records]
    for seed in config.seeds:
        init = None
        if config.pretrain_steps:
            init = out / "pretrained" / f"seed-{seed}"
            if not (init / "pretrain.json").is_file():
                if labels is None:
                    labels = SceneLabels(train_scenes, [images / s.file_name for s in train_scenes], height=72,
                                         width=96, progress=(lambda done: progress("labelling pixels for pre-training",
                                                                                   done, len(train_scenes)))
                                         if progress else None)
                pretrain(labels, init, PretrainConfig(steps=config.pretrain_steps, batch_size=config.batch_size,
                                                      seed=seed, width=config.width, threads=config.threads),
                         progress=(lambda step, steps, _loss, seed=seed: progress(
                             f"pre-training (seed {seed})", step, steps)) if progress else None)
        for run, wanted in run_names(config.leave_one_out).items():
            folder = out / "runs" / run / f"seed-{seed}"
            if not (folder / "metrics.json").is_file():
                chosen = [i for i, c in enumerate(categories) if c in wanted]
                label = f"{run} (seed {seed})"
                if not (folder / "model" / MODEL).is_file():  # a run stopped after training is not trained again
                    train(data, folder / "model", TrainConfig(steps=config.steps, batch_size=config.batch_size,
                                                              seed=seed, width=config.width, threads=config.threads),
                          indices=chosen, init=init, resume=True,
                          progress=(lambda step, steps, _loss, label=label: progress(f"{label}: training", step,
                                                                                     steps)) if progress else None)
                student = StudentPredictor.load(folder / "model", text_cache=text_cache, threads=config.threads)
                preds = _predict(student, test_path, lookup, folder / "predictions.jsonl",
                                 f"{label}: predicting", progress)
                _evaluate(test_path, preds, folder / "metrics.json")
            runs.setdefault(run, {})[seed] = orjson.loads((folder / "metrics.json").read_bytes())

    counts = {"train": _count(train_items), "test": _count(list(read_items(test_path)))}
    results = summarise(runs, baselines, settings=settings["reproduce"], counts=counts,
                        seconds=round(time.monotonic() - began, 1))
    write_report(results, out)
    return results


def _count(items: list[Item]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        key = item.category or "(none)"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
