"""``groundv predict``, ``train`` and ``reproduce``: the grounding student and the paper's experiment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from groundv.cli._app import _check_out, _command, _handles_errors, _parent, _progress, app, out
from groundv.errors import ConfigError


def _step_bar(bar: Progress) -> Callable[[str, int, int], None]:
    """A ``progress(task, done, total)`` callback drawing one rich bar per task."""
    tasks: dict[str, Any] = {}

    def step(task: str, done: int, total: int) -> None:
        if task not in tasks:
            tasks[task] = bar.add_task(task, total=total)
        bar.update(tasks[task], completed=done, total=total)

    return step


@app.command("predict")
@_handles_errors(interrupted="no predictions were written ({out_path} is unchanged); run the command again")
def predict_cmd(
    model: Annotated[str, typer.Option(
        "--model", help="empty, largest, oracle-category, or a model folder from 'groundv train'.")],
    items: Annotated[Path, typer.Option("--items", help="Items file (JSON lines), e.g. from 'groundv items'.")],
    out_path: Annotated[Path, typer.Option("--out", help="Predictions file to write (JSON lines).")],
    dataset: Annotated[Path | None, typer.Option(
        "--dataset", help="The groundv dataset the items come from: its images, and the regions the "
                          "annotation-reading baselines need.")] = None,
    images: Annotated[Path | None, typer.Option("--images", help="Folder of the items' images.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Questions per model call.")] = 32,
) -> None:
    """Run a model over an items file and write its predictions ({id, mask, no_target} lines) for 'groundv eval'.

    Example: groundv predict --model largest --items test.jsonl --dataset ds --out preds.jsonl
    """
    from groundv.eval import read_items
    from groundv.predict import ImageLookup, load_predictor, predict_items, write_predictions

    _check_out(out_path, "file")
    if dataset is not None and images is not None:
        raise ConfigError("--dataset and --images both say where the images are",
                          hint="pass one of them: --dataset DIR for a groundv dataset, else --images DIR")
    predictor = load_predictor(model)
    if predictor.needs_scene and dataset is None:
        raise ConfigError(f"the {predictor.name!r} baseline reads the images' annotations, which only a groundv "
                          "dataset gives", hint="pass --dataset DIR (the dataset the items were made from)")
    # The baselines never read pixels, so `empty` needs neither.
    if predictor.needs_image and dataset is None and images is None:
        raise ConfigError("say where the images are", hint="pass --dataset DIR or --images DIR")
    lookup = ImageLookup.from_dataset(dataset) if dataset is not None else ImageLookup(images)
    questions = list(read_items(items))
    with _progress() as bar:
        task = bar.add_task(f"{predictor.name}: predicting", total=len(questions))
        answers = predict_items(predictor, questions, lookup, batch_size=batch_size,
                                progress=lambda done: bar.update(task, completed=done))
        count = write_predictions(answers, _parent(out_path))
    out.print(f"wrote {count:,} predictions to [bold]{escape(str(out_path))}[/]; score them with "
              f"{_command('groundv', 'eval', '--items', items, '--predictions', out_path, '--protocol', 'gres')}",
              highlight=False, soft_wrap=True)


@app.command("train")
@_handles_errors(interrupted="the last checkpoint in {out_dir} is kept; run the same command to resume from it")
def train_cmd(
    data: Annotated[list[Path], typer.Option(
        "--data", help="A groundv dataset folder or an items file; repeat for more.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
    images: Annotated[Path | None, typer.Option("--images", help="Images folder of items files.")] = None,
    steps: Annotated[int, typer.Option(min=1, help="Optimiser steps.")] = 1500,
    batch_size: Annotated[int, typer.Option(min=1, help="Samples per step.")] = 32,
    seed: Annotated[int, typer.Option(help="Seed of the weights and the data order.")] = 0,
    width: Annotated[int, typer.Option(min=1, help="Channels of the network's first stage.")] = 16,
    text: Annotated[str, typer.Option(help="Text encoder: auto (minilm if installed), minilm or hashed.")] = "auto",
    pretrain_steps: Annotated[int, typer.Option(
        min=0, help="First pre-train the image network on the datasets' annotations (object and part class of "
                    "every pixel) for this many steps.")] = 0,
    threads: Annotated[int, typer.Option(min=1, help="CPU threads.")] = 2,
    force: Annotated[bool, typer.Option("--force", help="Start over instead of resuming.")] = False,
) -> None:
    """Train the grounding student (needs the 'student' extra); a stopped run resumes from its checkpoint.

    Example: groundv train --data ds --out model --steps 1500 --pretrain-steps 400
    """
    from groundv.student.data import TrainingSet, read_records
    from groundv.student.pretrain import PretrainConfig, labels_from_datasets, pretrain
    from groundv.student.text import resolve_text_encoder
    from groundv.student.train import TrainConfig, train

    _check_out(out_dir, "folder")
    encoder = resolve_text_encoder(text)
    config = TrainConfig(steps=steps, batch_size=batch_size, seed=seed, width=width, threads=threads)
    records = read_records(data, images=images)
    with _progress() as bar:
        step = _step_bar(bar)
        prepared = TrainingSet(records, height=72, width=96, text=encoder, text_cache=out_dir / "text-cache",
                               progress=lambda done: step("loading images", done, len(records)))
        init = None
        if pretrain_steps:
            init = out_dir / "pretrained"
            if force or not (init / "pretrain.json").is_file():
                ids = {r.image_id for r in records}
                labels = labels_from_datasets([p for p in data if p.is_dir()], ids, height=72, width=96,
                                              progress=lambda done: step("labelling pixels", done, len(ids)))
                pretrain(labels, init, PretrainConfig(steps=pretrain_steps, batch_size=batch_size, seed=seed,
                                                      width=width, threads=threads),
                         progress=lambda done, total, _loss: step("pre-training", done, total))
        train(prepared, out_dir, config, init=init, resume=not force,
              progress=lambda done, total, _loss: step(f"training ({encoder} text)", done, total),
              on_resume=lambda done, total: bar.console.print(
                  f"resuming from step {done:,} of {total:,} ({escape(str(out_dir / 'checkpoint.pt'))}; "
                  "--force starts over)", highlight=False, soft_wrap=True))
    out.print(f"model: [bold]{escape(str(out_dir))}[/] ({len(records):,} samples, {steps:,} steps, seed {seed}); "
              f"use it with {_command('groundv', 'predict', '--model', out_dir)}", highlight=False, soft_wrap=True)


@app.command("reproduce")
@_handles_errors(interrupted="every finished step is kept in {out_dir}; run the same command to continue from there")
def reproduce_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for everything it makes.")] = Path("out/reproduce"),
    quick: Annotated[bool, typer.Option(
        "--quick", help="A small smoke run: 240 scenes, one seed, no leave-one-out runs (1–3 minutes).")] = False,
    scenes: Annotated[int | None, typer.Option(min=2, help="Toy-world scenes in all.")] = None,
    test_scenes: Annotated[int | None, typer.Option(min=1, help="The last scenes, held out for testing.")] = None,
    seeds: Annotated[str | None, typer.Option(help="Comma-separated training seeds, e.g. 0,1,2.")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Fine-tuning steps per run.")] = None,
    pretrain_steps: Annotated[int | None, typer.Option(min=0, help="Pre-training steps per seed.")] = None,
    text: Annotated[str, typer.Option(help="Text encoder: auto (minilm if installed), minilm or hashed.")] = "auto",
    leave_one_out: Annotated[bool | None, typer.Option(
        "--leave-one-out/--no-leave-one-out", help="Also train the five runs without one category.")] = None,
    text_cache: Annotated[Path | None, typer.Option(
        "--text-cache", help="Folder of cached MiniLM vectors, to share between reproductions "
                             "(default OUT/text-cache).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Start over in a folder of another reproduction.")] = False,
) -> None:
    """Generate → train → evaluate → ablate on the toy world: does Ground-V data help, category by category?

    Trains the student on plain referring data (baseline), on it plus all five Ground-V categories, and on
    it plus four of them (leave-one-out), per seed; scores every run with gres on held-out scenes; writes
    results.json, table.md and chart.png with mean ± sd over seeds and the expected patterns checked.

    Example: groundv reproduce --quick --out out/reproduce-quick
    """
    from dataclasses import replace

    from groundv.reproduce import QUICK, ReproduceConfig, reproduce
    from groundv.reproduce.report import tables

    config = QUICK if quick else ReproduceConfig()
    changes: dict[str, Any] = {"text": text}
    for key, value in (("scenes", scenes), ("test_scenes", test_scenes), ("steps", steps),
                       ("pretrain_steps", pretrain_steps), ("leave_one_out", leave_one_out)):
        if value is not None:
            changes[key] = value
    if seeds is not None:
        try:
            changes["seeds"] = tuple(int(s) for s in seeds.split(",") if s.strip())
        except ValueError:
            raise ConfigError(f"--seeds must be comma-separated integers, got {seeds!r}") from None
    config = replace(config, **changes)
    _check_out(out_dir, "folder")
    if text_cache is not None:
        _check_out(text_cache, "folder", "--text-cache")
    with _progress() as bar:
        results = reproduce(out_dir, config, force=force, text_cache=text_cache, progress=_step_bar(bar))
    for title, header, rows in tables(results):
        table = Table(title=title)
        for i, column in enumerate(header):
            table.add_column(column.replace("`", ""), justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*(escape(cell.replace("`", "").replace("**", "")) for cell in row))
        out.print(table)
    out.print(f"results ({results['seconds']:.0f} s): [bold]{escape(str(out_dir))}[/]/results.json, table.md, "
              "chart.png", highlight=False, soft_wrap=True)
