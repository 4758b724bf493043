"""``groundv generate``, ``stats`` and ``show``: making a dataset and looking at it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from groundv.cli._app import (
    _LLM,
    ApiKeyEnvOption,
    BaseUrlOption,
    ConcurrencyOption,
    ImageSizeOption,
    MaxTokensOption,
    ModelOption,
    PriceCompletionOption,
    PricePromptOption,
    TemperatureOption,
    VisionOption,
    _check_out,
    _command,
    _handles_errors,
    _parent,
    _progress,
    app,
    err,
    out,
)
from groundv.cli._tables import _stats_tables
from groundv.cli.sources import _open, _write_toyworld
from groundv.errors import ConfigError
from groundv.sources import Source


def _dataset_source(source: str | None, path: Path | None, world: Path | None, scenes: int | None,
                    out_dir: Path, seed: int, images: Path | None, parts: list[Path] | None,
                    masks: Path | None, exclude_refs: list[Path] | None,
                    skip_bad: bool, force: bool = False) -> tuple[Source, dict[str, Any]]:
    """Open the source that --source / --world / --scenes names, and describe it for the manifest."""
    given = [flag for flag, value in (("--source", source), ("--world", world), ("--scenes", scenes))
             if value is not None]
    if len(given) != 1:
        raise ConfigError("name exactly one source: --source FORMAT PATH, --world DIR or --scenes N"
                          + (f" (got {' and '.join(given)})" if given else ""),
                          hint="e.g. groundv generate --scenes 200 --out ds, or --source coco instances.json "
                               "--images train2017 --out ds")
    if source is None and (images or parts or masks or exclude_refs or skip_bad or path):
        raise ConfigError("PATH, --images, --parts, --masks, --exclude-refs and --skip-bad go with --source",
                          hint="use --source FORMAT PATH for a source in another format")
    from groundv.sources.toyworld import ToyWorldSource, world_info
    from groundv.store import MANIFEST

    if world is not None:
        return ToyWorldSource(world), {"format": "toyworld", "path": str(world.resolve()),
                                       "images": str((world / "images").resolve())}
    if scenes is not None:
        # Checked before the world is rendered into it, so a wrong --out is refused at once.
        _check_empty_out(out_dir)
        folder = out_dir / "toyworld"
        rendered = world_info(folder)
        if rendered is None or (rendered["scenes"], rendered["seed"]) != (scenes, seed):
            if rendered is not None and (out_dir / MANIFEST).is_file() and not force:
                raise ConfigError(f"{out_dir} holds a dataset made with other settings: another toy world "
                                  f"({rendered['scenes']} scenes, seed {rendered['seed']})",
                                  hint="pass the same --scenes and --seed to resume it, --force to replace it, "
                                       "or choose another --out")
            _write_toyworld(folder, scenes, seed)  # replaces the earlier world's files, stale pictures too
        # Relative to the dataset: the dataset and its world move together.
        return ToyWorldSource(folder), {"format": "toyworld", "path": "toyworld", "images": "toyworld/images",
                                        "scenes": scenes, "world_seed": seed}
    if path is None:
        raise ConfigError(f"--source {source} needs the PATH of its annotations",
                          hint=f"e.g. groundv generate --source {source} ANNOTATIONS --images IMAGES --out DIR")
    opened = _open(str(source), path, images, parts, masks, exclude_refs, skip_bad)

    def resolved(p: Path | None) -> str | None:
        return str(p.resolve()) if p is not None else None

    info: dict[str, Any] = {"format": source, "path": resolved(path), "images": resolved(images),
                            "parts": [resolved(p) for p in parts or ()], "masks": resolved(masks),
                            "exclude_refs": [resolved(p) for p in exclude_refs or ()], "skip_bad": skip_bad}
    return opened, info


def _check_empty_out(out_dir: Path) -> None:
    from groundv.store import MANIFEST

    if out_dir.is_dir() and not (out_dir / MANIFEST).is_file():
        others = sorted(p.name for p in out_dir.iterdir() if p.name != "toyworld")
        if others:
            raise ConfigError(f"{out_dir} is not empty and is not a groundv dataset",
                              hint="choose an empty or new folder for --out")


@app.command("generate")
@_handles_errors(interrupted="the finished units are kept in {out_dir}; run the same command to resume")
def generate_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="The dataset folder to write (or resume).")],
    path: Annotated[Path | None, typer.Argument(help="With --source: the format's annotation file or folder.")
                    ] = None,
    source: Annotated[str | None, typer.Option("--source", metavar="FORMAT",
                                               help="A format from 'groundv sources'.")] = None,
    annotations: Annotated[Path | None, typer.Option(
        "--annotations", help="The source's annotation file or folder (the same as PATH).")] = None,
    world: Annotated[Path | None, typer.Option("--world", help="A toy world written by 'groundv toyworld'.")
                     ] = None,
    scenes: Annotated[int | None, typer.Option("--scenes", min=1,
                                               help="Render a toy world of N scenes into OUT/toyworld/.")] = None,
    images: Annotated[Path | None, typer.Option(help="Folder holding the images.")] = None,
    parts: Annotated[list[Path] | None, typer.Option(help="PACO-style part file(s) to attach (coco, custom).")
                     ] = None,
    masks: Annotated[Path | None, typer.Option(help="Folder of panoptic PNGs (panoptic).")] = None,
    exclude_refs: Annotated[list[Path] | None, typer.Option(
        help="RefCOCO/+/g refs(*).p or gRefCOCO grefs(unc).json: leave out their val/test images.")] = None,
    skip_bad: Annotated[bool, typer.Option(help="Skip and count bad records instead of stopping.")] = False,
    teacher: Annotated[str, typer.Option(
        help="Who words the plans: rules (offline), openai, anthropic, paraphrase (rules targets, LLM words).")
    ] = "rules",
    categories: Annotated[str, typer.Option(
        help="'all' or a comma-separated list of negative, multi_object, reasoning, multi_granularity, part.")
    ] = "all",
    limit: Annotated[int | None, typer.Option(min=0, help="Only the first N scenes.")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Same seed and input, same files.")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="Processes (same files for any number).")] = 1,
    plans_per_unit: Annotated[int, typer.Option(min=1, help="The most samples per image and category.")] = 3,
    force: Annotated[bool, typer.Option("--force", help="Start an existing dataset in --out over.")] = False,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    api: Annotated[str | None, typer.Option(help="paraphrase: the endpoint's API, openai or anthropic.",
                                            rich_help_panel=_LLM)] = None,
    api_key_env: ApiKeyEnvOption = None,
    vision: VisionOption = False,
    image_size: ImageSizeOption = 768,
    batch: Annotated[str, typer.Option(
        "--batch", help="Requests: plan (one per plan), unit (one per image and category) or image (one per "
                        "image for every category: the image and examples are paid once).",
        rich_help_panel=_LLM)] = "plan",
    temperature: TemperatureOption = None,
    max_tokens: MaxTokensOption = None,
    concurrency: ConcurrencyOption = 16,
    max_cost: Annotated[float | None, typer.Option(
        min=0.0, help="Stop once the dataset's teacher spend reaches this (resumable).",
        rich_help_panel=_LLM)] = None,
    max_requests: Annotated[int | None, typer.Option(
        min=0, help="Stop after this many paid requests for the dataset (resumable).",
        rich_help_panel=_LLM)] = None,
    price_prompt: PricePromptOption = 0.0,
    price_completion: PriceCompletionOption = 0.0,
    cache: Annotated[Path | None, typer.Option(
        help="The response cache (default OUT/teacher-cache.sqlite).", rich_help_panel=_LLM)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Estimate requests, tokens and cost; send nothing.",
                                          rich_help_panel=_LLM)] = False,
    executor: Annotated[str, typer.Option(help="LLM teachers: local (asyncio here) or ray (ray.data + actors; "
                                               "the same files).", rich_help_panel=_LLM)] = "local",
    actors: Annotated[int, typer.Option(min=1, help="--executor ray: the actor pool size.",
                                        rich_help_panel=_LLM)] = 2,
) -> None:
    """Generate instruction→mask samples: plan targets, word them with a teacher, validate, write a dataset.

    A folder made with the same settings is resumed (finished images are skipped); --force starts over.
    LLM teachers (--teacher openai|anthropic|paraphrase --model M) cache every answer and count spend in
    OUT/ledger.jsonl; at --max-cost or --max-requests the run stops cleanly with exit code 3, and the same
    command with a higher cap resumes it.

    Example: groundv generate --source coco --annotations instances_train2017.json --images train2017 --out ds
    """
    from groundv.generate import LLM_TEACHERS, estimate, generate, parse_categories

    if annotations is not None and path is not None and annotations != path:
        raise ConfigError("give the annotation file once: as PATH or as --annotations")
    path = path or annotations
    cats = parse_categories(categories)
    llm: dict[str, Any] | None = None
    given = [flag for flag, value in (("--model", model), ("--base-url", base_url), ("--api", api),
                                      ("--api-key-env", api_key_env), ("--vision", vision),
                                      ("--batch", None if batch == "plan" else batch),
                                      ("--max-cost", max_cost), ("--max-requests", max_requests),
                                      ("--cache", cache), ("--temperature", temperature),
                                      ("--max-tokens", max_tokens),
                                      ("--executor", None if executor == "local" else executor),
                                      ("--actors", None if actors == 2 else actors)) if value not in (None, False)]
    if teacher not in LLM_TEACHERS and given:
        raise ConfigError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} with an LLM teacher, "
                          f"not --teacher {teacher}",
                          hint=f"add --teacher {' | '.join(LLM_TEACHERS)}")
    if teacher in LLM_TEACHERS:
        params = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
        llm = {"model": model, "api": api, "base_url": base_url, "api_key_env": api_key_env, "vision": vision,
               "image_size": image_size, "batch": batch, "params": params, "concurrency": concurrency,
               "max_cost": max_cost, "max_requests": max_requests, "prices": (price_prompt, price_completion),
               **({"cache": cache} if cache is not None else {})}
    _check_out(out_dir, "folder")
    if cache is not None:
        _check_out(cache, "file", "--cache")
    src, info = _dataset_source(source, path, world, scenes, out_dir, seed, images, parts, masks,
                                exclude_refs, skip_bad, force)
    if dry_run:
        with _progress() as bar:
            task = bar.add_task("planning (dry run)", total=len(src))
            guess = estimate(src, teacher=teacher, categories=cats, seed=seed, limit=limit,
                             plans_per_unit=plans_per_unit, llm=llm, out_dir=out_dir,
                             progress=lambda done, total: bar.update(task, completed=done, total=total))
        out.print(_estimate_table(guess))
        return
    from groundv.engine.ledger import BudgetExhausted

    with _llm_progress() as bar:
        task = bar.add_task(f"generating ({teacher} teacher)", total=len(src), stats="")
        try:
            manifest = generate(src, out_dir, teacher=teacher, categories=cats, seed=seed, limit=limit,
                                workers=workers, plans_per_unit=plans_per_unit, force=force, source_info=info,
                                progress=lambda done, total: bar.update(task, completed=done, total=total),
                                llm=llm, on_stats=lambda s: bar.update(task, stats=_spend_line(s, bar, task)),
                                executor=executor, actors=actors)
        except BudgetExhausted as stop:
            bar.stop()
            err.print(f"[bold yellow]stopped:[/] {escape(stop.message)}", highlight=False, soft_wrap=True)
            err.print(f"finished units are saved in {escape(str(out_dir))}; run the same command with a higher "
                      "cap to resume (answers already received are cached and not paid again)", soft_wrap=True)
            raise typer.Exit(3) from None
    for table in _stats_tables(manifest, out_dir):
        out.print(table)
    out.print(f"wrote {manifest.samples:,} samples and {manifest.rejected:,} rejections to "
              f"[bold]{escape(str(out_dir))}[/]", highlight=False)
    _warn_low_acceptance(manifest.samples, manifest.rejected, out_dir, llm=teacher in LLM_TEACHERS)


#: below this share of accepted plans a run is almost surely misconfigured (wrong model, wrong endpoint)
_LOW_ACCEPTANCE = 0.1


def _warn_low_acceptance(samples: int, rejected: int, out_dir: Path, *, llm: bool) -> None:
    """Warn when (almost) every plan was rejected: the exit code stays 0, but the dataset is (nearly) empty."""
    tried = samples + rejected
    if not tried or samples / tried >= _LOW_ACCEPTANCE:
        return
    err.print(f"[bold yellow]warning:[/] only {samples:,} of {tried:,} plans were accepted "
              f"({100 * samples / tried:.0f}%)", highlight=False, soft_wrap=True)
    check = "check --model and --base-url (does that server run that model?); " if llm else ""
    err.print(f"[bold]hint:[/] {check}the rejection reasons: {_command('groundv', 'stats', out_dir)}, and the "
              f"teacher's raw answers in {escape(str(out_dir / 'rejections-*.jsonl'))}", highlight=False,
              soft_wrap=True)


def _llm_progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[stats]}"), TimeRemainingColumn(), console=err, transient=True)


def _spend_line(stats: Any, bar: Progress, task: Any) -> str:
    """Requests per second, acceptance and spend, for the progress line."""
    elapsed = bar.tasks[task].elapsed or 0.0
    paid = stats.get("requests", 0) - stats.get("cached", 0)
    tried = stats.get("accepted", 0) + stats.get("rejected", 0)
    accepted = f"{100 * stats.get('accepted', 0) / tried:.0f}% accepted" if tried else "–"
    return (f"{stats.get('requests', 0) / elapsed if elapsed else 0:.1f} req/s ({paid} paid, "
            f"{stats.get('cached', 0)} cached) · {accepted} · spent {stats.get('spent', 0.0):.4f}")


def _estimate_table(guess: dict[str, Any]) -> Table:
    table = Table(title="dry run: what the teacher would be sent (nothing was sent)")
    table.add_column("")
    table.add_column("value", justify="right")
    for label, key in (("scenes", "scenes"), ("work units", "units"), ("plans", "plans"),
                       ("requests to send", "requests"), ("prompt tokens (estimate)", "prompt_tokens"),
                       ("images", "images"), ("requests already cached", "cached_requests")):
        table.add_row(label, f"{guess[key]:,}")
    table.add_row("prompt cost (estimate)", f"{guess['prompt_cost']:.4f}")
    bound = guess["max_completion_cost"]
    table.add_row("completion cost (at most)", "– (set --max-tokens)" if bound is None else f"{bound:.4f}")
    return table


@app.command("stats")
@_handles_errors
def stats_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A dataset folder from 'groundv generate'.")],
) -> None:
    """Print a dataset's manifest: samples per category and subtype, rejections, unsupported categories.

    Example: groundv stats ds
    """
    from groundv.store import read_manifest

    for table in _stats_tables(read_manifest(directory), directory):
        out.print(table)


@app.command("show")
@_handles_errors
def show_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A dataset folder from 'groundv generate'.")],
    sample_id: Annotated[str, typer.Option("--id", help="The sample's id (the 'id' field of samples-*.jsonl).")],
    out_path: Annotated[Path | None, typer.Option(
        "--out", help="PNG to write (default DIR/show/<id>.png).")] = None,
) -> None:
    """Draw one sample: its image with the target mask filled and outlined, and its words below.

    Example: groundv show ds --id a1b2c3d4e5f6 --out sample.png
    """
    from groundv.store import iter_samples, read_manifest, sample_scene

    if out_path is not None:
        _check_out(out_path, "image")
    manifest = read_manifest(directory)
    found = next((s for s in iter_samples(directory) if s["id"] == sample_id), None)
    if found is None:
        raise ConfigError(f"no sample with id {sample_id!r} in {directory}",
                          hint=f"ids are the 'id' fields of {directory}/samples-*.jsonl")
    from groundv.render import draw_sample, load_image

    target = out_path or directory / "show" / f"{sample_id}.png"
    draw_sample(found, load_image(sample_scene(found, manifest, directory))).save(_parent(target))
    out.print(f"{found['category']}: {escape(found['instruction'])}", highlight=False)
    out.print(f"drew [bold]{escape(str(target))}[/]", highlight=False)
