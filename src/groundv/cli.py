"""The ``groundv`` command. Thin: it parses options, calls the library and prints.

Only this module turns :class:`~groundv.errors.GroundvError` into a message and an exit code:
2 for bad input or usage, 1 for anything else; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from groundv import __version__
from groundv.errors import ConfigError, GroundvError, InputError
from groundv.sources import FORMATS, Source, open_source
from groundv.summary import SourceSummary, summarize

app = typer.Typer(
    name="groundv",
    help="Ground-V: turn pixel annotations into instruction→mask grounding data, and evaluate grounding models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)
_state = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])


def _handles_errors(fn: F) -> F:
    """Turn groundv errors into ``error:``/``hint:`` lines and an exit code (the traceback with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GroundvError as exc:
            if _state["debug"]:
                raise
            # soft_wrap: a long path stays on one line, so the message can be grepped and copied.
            err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
            if exc.hint:
                err.print(f"[bold]hint:[/] {escape(exc.hint)}", highlight=False, soft_wrap=True)
            raise typer.Exit(2 if isinstance(exc, InputError | ConfigError) else 1) from None

    return wrapper  # type: ignore[return-value]


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, transient=True)


def _version(value: bool) -> None:
    if value:
        out.print(f"groundv {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    _state["debug"] = debug


@app.command("sources")
def sources_cmd() -> None:
    """List the annotation formats groundv reads.

    Example: groundv sources
    """
    table = Table(title="Source formats")
    table.add_column("format", style="bold")
    table.add_column("path")
    table.add_column("what it reads")
    for spec in FORMATS.values():
        table.add_row(spec.name, spec.path, spec.summary)
    out.print(table)


def _open(fmt: str, path: Path, images: Path | None, parts: list[Path] | None, masks: Path | None,
          exclude_refs: list[Path] | None, skip_bad: bool) -> Source:
    exclude: frozenset[int] = frozenset()
    if exclude_refs:
        from groundv.sources.refs import LeakageGuard

        guard = LeakageGuard.from_files(exclude_refs)
        err.print(f"leakage guard: {guard.summary()}", highlight=False)
        exclude = guard.image_ids
    return open_source(fmt, path, images=images, parts=parts, masks=masks, skip_bad=skip_bad, exclude=exclude)


def _summary_table(title: str, summary: SourceSummary, source: Source) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("images", f"{summary.images:,}")
    for kind in ("object", "part", "stuff"):
        table.add_row(f"{kind} regions", f"{summary.regions[kind]:,}")
    table.add_row("crowd regions", f"{summary.crowd:,}")
    table.add_row("images with parts", f"{summary.images_with_parts:,}")
    table.add_row("categories", f"{len(summary.categories):,}")
    top = ", ".join(f"{name} {n}" for name, n in summary.object_categories.most_common(5))
    table.add_row("most objects", top or "-")
    table.add_row("absence facts", f"{summary.absence_facts:,} on {summary.images_with_absence:,} images")
    table.add_row("not exhaustive", f"{summary.not_exhaustive:,}")
    table.add_row("excluded (leakage guard)", f"{source.excluded:,}")
    table.add_row("skipped (bad input)", f"{source.problems.skipped:,}")
    table.add_row("repaired", f"{source.problems.repairs:,}")
    return table


def _problems_table(source: Source, limit: int = 10) -> Table | None:
    if not source.problems.items:
        return None
    table = Table(title=f"Problems ({len(source.problems.items)}; first {limit} shown)")
    table.add_column("kind")
    table.add_column("where")
    for p in source.problems.items[:limit]:
        table.add_row("skipped" if p.skipped else "repaired", str(p))
    return table


@app.command("inspect")
@_handles_errors
def inspect_cmd(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="A format from 'groundv sources'.")],
    path: Annotated[Path, typer.Argument(help="The format's annotation file or folder.")],
    images: Annotated[Path | None, typer.Option(help="Folder holding the images.")] = None,
    parts: Annotated[list[Path] | None, typer.Option(help="PACO-style part file(s) to attach (coco, custom).")] = None,
    masks: Annotated[Path | None, typer.Option(help="Folder of panoptic PNGs (panoptic).")] = None,
    exclude_refs: Annotated[list[Path] | None, typer.Option(
        help="RefCOCO/+/g refs(*).p or gRefCOCO grefs(unc).json: leave out their val/test images.")] = None,
    skip_bad: Annotated[bool, typer.Option(help="Skip and count bad records instead of stopping.")] = False,
    render: Annotated[list[str] | None, typer.Option(
        help="Image id to draw with every region outlined and labelled (repeatable).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Where --render writes PNGs.")] = Path("renders"),
) -> None:
    """Summarise a source: images, regions, parts, categories, absence facts, problems.

    Example: groundv inspect coco instances_val2017.json --images val2017 --render 139
    """
    source = _open(fmt, path, images, parts, masks, exclude_refs, skip_bad)
    wanted = {str(r) for r in render or ()}
    found: dict[str, Path] = {}

    from groundv.render import save_render

    with _progress() as bar:
        task = bar.add_task(f"reading {fmt}", total=len(source))

        def step(scene: Any) -> None:
            bar.advance(task)
            if str(scene.image_id) in wanted:
                found[str(scene.image_id)] = save_render(scene, out_dir / f"{fmt}-{scene.image_id}.png")

        summary = summarize(source, progress=step)
    out.print(_summary_table(f"{fmt}: {path}", summary, source))
    problems = _problems_table(source)
    if problems is not None:
        out.print(problems)
    missing = wanted - set(found)
    for p in found.values():
        out.print(f"rendered [bold]{p}[/]")
    if missing:
        raise ConfigError(f"no image with id {', '.join(sorted(missing))} in this source",
                          hint="ids are the source's image ids, as listed in its images[] records")


@app.command("toyworld")
@_handles_errors
def toyworld_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write (images/, instances.json, parts.json).")],
    scenes: Annotated[int, typer.Option(min=1, help="How many scenes.")] = 200,
    seed: Annotated[int, typer.Option(help="Same seed, same world.")] = 0,
) -> None:
    """Render the built-in toy world: photo-like 2D scenes with objects, parts and exhaustive labels.

    Example: groundv toyworld --scenes 500 --seed 1 --out toy
    """
    path = _write_toyworld(out_dir, scenes, seed)
    out.print(f"wrote {scenes} scenes to [bold]{path}[/] (read it with: groundv inspect toyworld {path})")


def _write_toyworld(out_dir: Path, scenes: int, seed: int) -> Path:
    from groundv.sources.toyworld import write_toyworld

    with _progress() as bar:
        task = bar.add_task("rendering toy world", total=scenes)
        return write_toyworld(out_dir, scenes, seed, progress=lambda n: bar.update(task, completed=n))


@app.command("demo")
@_handles_errors
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Where results go.")] = Path("out/demo"),
    scenes: Annotated[int, typer.Option(min=1, help="Toy-world scenes to generate.")] = 60,
    seed: Annotated[int, typer.Option(help="Seed of the toy world and of generation.")] = 0,
) -> None:
    """Run the whole pipeline that exists so far on the built-in toy world and say where results are.

    Render the toy world, read it back as COCO + PACO-style annotations, summarise it, show what the
    offline teacher knows about the busiest scene, generate a dataset of all five categories with the
    rules teacher, print its statistics and draw one sample of each category.

    Example: groundv demo --out out/demo
    """
    from groundv.generate import generate
    from groundv.render import draw_sample, load_image, save_render
    from groundv.sources.toyworld import ToyWorldSource
    from groundv.store import iter_samples, sample_scene

    world = _write_toyworld(out_dir / "toyworld", scenes, seed)
    source = ToyWorldSource(world)
    busiest: list[Any] = []
    with _progress() as bar:
        task = bar.add_task("reading toy world", total=len(source))

        def step(scene: Any) -> None:
            bar.advance(task)
            if not busiest or len(scene.objects) > len(busiest[0].objects):
                busiest[:] = [scene]

        summary = summarize(source, progress=step)
    scene = busiest[0]
    overlay = save_render(scene, out_dir / "renders" / f"scene-{scene.image_id}.png")
    out.print(_summary_table(f"toy world ({scenes} scenes, seed {seed})", summary, source))
    out.print(_facts_table(scene))

    dataset = out_dir / "dataset"
    info = {"format": "toyworld", "path": str(world.resolve()), "images": str((world / "images").resolve()),
            "scenes": scenes, "world_seed": seed}
    with _progress() as bar:
        task = bar.add_task("generating (rules teacher)", total=len(source))
        manifest = generate(source, dataset, seed=seed, source_info=info, force=True,
                            progress=lambda done, total: bar.update(task, completed=done, total=total))
    for table in _stats_tables(manifest, dataset):
        out.print(table)
    first: dict[str, dict[str, Any]] = {}
    for sample in iter_samples(dataset):
        first.setdefault(sample["category"], sample)
    drawn = []
    for category, sample in first.items():
        path = out_dir / "samples" / f"{category}.png"
        draw_sample(sample, load_image(sample_scene(sample, manifest, dataset))).save(_parent(path))
        drawn.append((category, sample["id"], path))

    items, baseline = _demo_evaluation(dataset, out_dir / "eval")

    out.print(f"\n[bold]Results[/] in {out_dir}/")
    out.print(f"  toy world (images, instances.json, parts.json): {world}")
    out.print(f"  image {scene.image_id}, every region outlined and labelled: {overlay}")
    out.print(f"  dataset ({manifest.samples:,} samples, {manifest.rejected:,} rejections): {dataset}")
    for category, sample_id, path in drawn:
        out.print(f"  a {category} sample ({sample_id}): {path}", soft_wrap=True)
    out.print(f"  evaluation items from the dataset: {items}; the 'always no target' baseline: {baseline}")
    out.print(f"  look again with: groundv stats {dataset}")
    out.print("Next:", soft_wrap=True)
    out.print(f"  check it by hand in the browser: groundv review {dataset}   (the 'review' extra)", soft_wrap=True)
    out.print(f"  have a model word it: groundv generate --world {world} --out ds "
              "--teacher openai --model M --base-url URL --dry-run", soft_wrap=True)
    out.print("  see the paper's effect on a laptop: groundv reproduce --quick   (the 'student' extra)", soft_wrap=True)


def _demo_evaluation(dataset: Path, eval_dir: Path) -> tuple[Path, Path]:
    """Score the simplest model, one that always answers "no target", on the dataset's samples."""
    from groundv import masks
    from groundv.benchmarks import read_benchmark
    from groundv.eval import read_items, write_jsonl
    from groundv.eval.run import evaluate

    items = _parent(eval_dir / "items.jsonl")
    write_jsonl(read_benchmark("groundv", [dataset], split="all"), items)
    baseline = eval_dir / "always-no-target.jsonl"
    write_jsonl(({"id": item.id, "mask": masks.empty(*item.size), "no_target": True} for item in read_items(items)),
                baseline)
    result = evaluate(items, baseline, "gres")
    out.print(_metrics_table("gres: a model that always answers 'no target', per Ground-V category",
                             result.metrics))
    return items, baseline


def _parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _facts_table(scene: Any) -> Table:
    """What the offline teacher knows about each object of a scene, from the knowledge files and pixels."""
    import numpy as np

    from groundv import knowledge
    from groundv.render import load_image

    pixels = np.asarray(load_image(scene))
    table = Table(title=f"What the offline teacher knows about image {scene.image_id}")
    for column in ("region", "object", "colour (pixels)", "is a", "used", "parts", "singled out as"):
        table.add_column(column)
    for region in scene.objects:
        parts = sorted({knowledge.display_name(p.part_name or p.category) for p in scene.children(region.id)})
        table.add_row(str(region.id), knowledge.display_name(region.category),
                      knowledge.colour_name(pixels, region.rle) or "-",
                      " → ".join(knowledge.hypernyms(region.category)[:2]) or "-",
                      (knowledge.affordances(region.category) or ("-",))[0], ", ".join(parts) or "-",
                      knowledge.distinguish(scene, region.id) or "-")
    return table


@app.command("items")
@_handles_errors
def items_cmd(
    paths: Annotated[list[Path], typer.Argument(
        metavar="PATH...", help="The benchmark's files: refs file and instances.json (RefCOCO family, gRefCOCO), "
                                "ReasonSeg folders / .json files, or groundv dataset folders / samples*.jsonl.")],
    benchmark: Annotated[str, typer.Option(
        "--benchmark", help="refcoco, refcoco+, refcocog, grefcoco, reasonseg or groundv.")],
    split: Annotated[str, typer.Option(help="The split to read, e.g. val, testA, test ('all' for groundv).")],
    out_path: Annotated[Path, typer.Option("--out", help="Items file to write (JSON lines).")],
    group: Annotated[str, typer.Option(
        help="sentence: one item per expression (ReLA, LISA, GSVA); ref: one per ref, sentences joined (PSALM).")
    ] = "sentence",
    image_size: Annotated[str | None, typer.Option(
        help="HxW, e.g. 480x640: ReasonSeg only, the size of JSONs that have no image beside them.")] = None,
) -> None:
    """Turn one split of a referring-segmentation benchmark into an evaluation items file (JSON lines).

    Example: groundv items --benchmark refcoco 'refs(unc).p' instances.json --split val --out refcoco-val.jsonl
    """
    from groundv.benchmarks import read_benchmark
    from groundv.eval import write_jsonl

    size = _parse_size(image_size) if image_size is not None else None
    items = read_benchmark(benchmark, paths, split=split, group=group, image_size=size)  # type: ignore[arg-type]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with _progress() as bar:
        task = bar.add_task(f"reading {benchmark} {split}", total=None)

        def counted() -> Any:
            for item in items:
                bar.advance(task)
                yield item

        count = write_jsonl(counted(), out_path)
    out.print(f"wrote {count:,} {benchmark} {split} items to [bold]{out_path}[/]")


def _parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ConfigError(f"--image-size must be HEIGHTxWIDTH, e.g. 480x640, got {text!r}")
    return int(parts[0]), int(parts[1])


#: protocol flag → (option name, value it sets)
_PROTOCOL_FLAGS = {"--refzom": ("refzom", True), "--no-epsilons": ("epsilons", False),
                   "--nt-from-mask": ("nt_from_mask", True)}


def _protocol_options(protocol: str, flags: dict[str, bool]) -> dict[str, Any]:
    from groundv.eval import PROTOCOLS
    from groundv.eval.run import protocol_options

    accepted = protocol_options(protocol)
    options: dict[str, Any] = {}
    for flag, given in flags.items():
        if not given:
            continue
        name, value = _PROTOCOL_FLAGS[flag]
        if name not in accepted:
            takers = [p for p in PROTOCOLS if name in protocol_options(p)]
            raise ConfigError(f"protocol {protocol!r} does not take {flag}",
                              hint=f"{flag} is an option of: {', '.join(takers) or 'no protocol'}")
        options[name] = value
    return options


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}"


def _metrics_table(title: str, metrics: dict[str, Any]) -> Table:
    """One row per metric, one column per group (all, then each category): narrow enough for a terminal."""
    from groundv.eval.report import metric_label
    from groundv.eval.run import metric_names

    groups = [("all", metrics), *metrics.get("by_category", {}).items()]
    table = Table(title=title)
    table.add_column("metric (%)", style="bold")
    for name, _ in groups:
        table.add_column(name, justify="right")
    for key in metric_names(metrics):
        table.add_row(metric_label(key), *(_pct(res.get(key)) for _, res in groups))
    table.add_row("count", *(f"{res.get('count', 0):,}" for _, res in groups), end_section=True)
    return table


@app.command("eval")
@_handles_errors
def eval_cmd(
    items: Annotated[Path, typer.Option("--items", help="Items file (JSON lines), e.g. from 'groundv items'.")],
    predictions: Annotated[Path, typer.Option(
        "--predictions", help="Predictions: JSON lines of {id, mask, no_target?}, or a folder of <id>.png masks.")],
    protocol: Annotated[str, typer.Option(help="gres, lisa, gsva or psalm (METRICS.md).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout and nothing else.")] = False,
    allow_missing: Annotated[bool, typer.Option(
        "--allow-missing", help="Score an item without a prediction as an empty mask, and report how many.")] = False,
    processes: Annotated[int, typer.Option(min=1, help="Worker processes (same result for any number).")] = 1,
    blind_predictions: Annotated[Path | None, typer.Option(
        "--blind-predictions", help="Predictions made without the image: the language-prior probe.")] = None,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Folder for report.md, by_category.png and the worst samples.")] = None,
    images: Annotated[Path | None, typer.Option(
        "--images", help="Folder the items' image file names are relative to (for --report pictures).")] = None,
    refzom: Annotated[bool, typer.Option("--refzom", help="gsva: R-RefCOCO/refzom rule (no FN union).")] = False,
    no_epsilons: Annotated[bool, typer.Option("--no-epsilons", help="lisa: exact ratios, no 1e-5 epsilons.")] = False,
    nt_from_mask: Annotated[bool, typer.Option(
        "--nt-from-mask", help="gres: decide 'no target' from an empty mask, ignoring the flag.")] = False,
) -> None:
    """Score a model's predictions on an items file with gres, lisa, gsva or psalm (metrics in percent).

    --blind-predictions: also score predictions made without the image; "retained" = blind / full per metric.

    Example: groundv eval --items refcoco-val.jsonl --predictions preds.jsonl --protocol gres --report report/
    """
    import orjson

    from groundv.eval.run import evaluate

    options = _protocol_options(protocol, {"--refzom": refzom, "--no-epsilons": no_epsilons,
                                           "--nt-from-mask": nt_from_mask})
    if images is not None and report is None:
        raise ConfigError("--images only draws the --report pictures", hint="add --report DIR")
    say = err if as_json else out
    with _progress() as bar:
        tasks: dict[str, Any] = {}

        def step(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = evaluate(items, predictions, protocol, options=options, allow_missing=allow_missing,
                          processes=processes, progress=step, blind_predictions_path=blind_predictions)
        written = None
        if report is not None:
            from groundv.eval.report import write_report

            bar.add_task("writing the report", total=None)
            written = write_report(result, report, items_path=items, predictions_path=predictions,
                                   images_root=images)
    if as_json:
        typer.echo(orjson.dumps(result.to_json()).decode())
    else:
        out.print(_metrics_table(f"{protocol} on {items} ({result.items:,} items)", result.metrics))
        for line in _undefined(result.metrics):
            out.print(line, highlight=False)
        if result.blind is not None:
            out.print(_retained_table(result))
    if result.missing:
        say.print(f"missing predictions: {len(result.missing):,} (scored as empty masks), first: "
                  f"{', '.join(result.missing[:5])}", highlight=False)
    if result.blind_missing:
        say.print(f"missing blind predictions: {len(result.blind_missing):,} (scored as empty masks)",
                  highlight=False)
    if written is not None:
        say.print(f"report: [bold]{written}[/]")


def _undefined(metrics: dict[str, Any]) -> list[str]:
    from groundv.eval.report import metric_label

    lines = []
    for name, res in [("all", metrics), *metrics.get("by_category", {}).items()]:
        for key, why in res.get("undefined", {}).items():
            lines.append(f"undefined {metric_label(key)} ({name}): {why}")
    return lines


def _retained_table(result: Any) -> Table:
    from groundv.eval.report import metric_label
    from groundv.eval.run import metric_names

    retained = result.retained or {}
    table = Table(title="Language-prior probe: blind = predictions made without the image")
    for column in ("metric", "full %", "blind %", "retained (blind / full)"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for key in metric_names(result.metrics):
        value = retained.get(key)
        table.add_row(metric_label(key), _pct(result.metrics.get(key)), _pct(result.blind.get(key)),
                      "–" if value is None else f"{value:.3f}")
    return table


def _dataset_source(source: str | None, path: Path | None, world: Path | None, scenes: int | None,
                    out_dir: Path, seed: int, images: Path | None, parts: list[Path] | None,
                    masks: Path | None, exclude_refs: list[Path] | None,
                    skip_bad: bool) -> tuple[Source, dict[str, Any]]:
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
    from groundv.sources.toyworld import ToyWorldSource

    if world is not None:
        return ToyWorldSource(world), {"format": "toyworld", "path": str(world.resolve()),
                                       "images": str((world / "images").resolve())}
    if scenes is not None:
        # Checked before the world is rendered into it, so a wrong --out is refused at once.
        _check_out(out_dir)
        folder = out_dir / "toyworld"
        if not (folder / "instances.json").is_file():
            _write_toyworld(folder, scenes, seed)
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


def _check_out(out_dir: Path) -> None:
    from groundv.store import MANIFEST

    if out_dir.is_dir() and not (out_dir / MANIFEST).is_file():
        others = sorted(p.name for p in out_dir.iterdir() if p.name != "toyworld")
        if others:
            raise ConfigError(f"{out_dir} is not empty and is not a groundv dataset",
                              hint="choose an empty or new folder for --out")


# The LLM options `generate` and `verify` share, declared once.
_LLM = "LLM teachers and verifiers"
ModelOption = Annotated[str | None, typer.Option(help="The model name.", rich_help_panel=_LLM)]
BaseUrlOption = Annotated[str | None, typer.Option(
    help="The endpoint (default OpenAI's or Anthropic's API).", rich_help_panel=_LLM)]
ApiKeyEnvOption = Annotated[str | None, typer.Option(
    help="The environment variable holding the API key (default OPENAI_API_KEY / ANTHROPIC_API_KEY when "
         "set; a local server needs none).", rich_help_panel=_LLM)]
VisionOption = Annotated[bool, typer.Option("--vision", help="Send the image with numbered region marks.",
                                            rich_help_panel=_LLM)]
ImageSizeOption = Annotated[int, typer.Option(min=64, help="--vision: the image's longer side, in pixels.",
                                              rich_help_panel=_LLM)]
TemperatureOption = Annotated[float | None, typer.Option(min=0.0, help="Sampling temperature.", rich_help_panel=_LLM)]
MaxTokensOption = Annotated[int | None, typer.Option(min=1, help="The longest answer, in tokens.",
                                                     rich_help_panel=_LLM)]
ConcurrencyOption = Annotated[int, typer.Option(min=1, help="The most requests in flight.", rich_help_panel=_LLM)]
PricePromptOption = Annotated[float, typer.Option(min=0.0, help="Price per million prompt tokens.",
                                                  rich_help_panel=_LLM)]
PriceCompletionOption = Annotated[float, typer.Option(min=0.0, help="Price per million completion tokens.",
                                                      rich_help_panel=_LLM)]


@app.command("generate")
@_handles_errors
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
    batch: Annotated[bool, typer.Option("--batch", help="One request per image and category for all its plans.",
                                        rich_help_panel=_LLM)] = False,
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
                                      ("--api-key-env", api_key_env), ("--vision", vision), ("--batch", batch),
                                      ("--max-cost", max_cost), ("--max-requests", max_requests),
                                      ("--cache", cache), ("--temperature", temperature),
                                      ("--max-tokens", max_tokens),
                                      ("--executor", None if executor == "local" else executor),
                                      ("--actors", None if actors == 2 else actors)) if value not in (None, False)]
    if teacher not in LLM_TEACHERS and given:
        raise ConfigError(f"{', '.join(given)} go with an LLM teacher, not --teacher {teacher}",
                          hint=f"add --teacher {' | '.join(LLM_TEACHERS)}")
    if teacher in LLM_TEACHERS:
        params = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
        llm = {"model": model, "api": api, "base_url": base_url, "api_key_env": api_key_env, "vision": vision,
               "image_size": image_size, "batch": batch, "params": params, "concurrency": concurrency,
               "max_cost": max_cost, "max_requests": max_requests, "prices": (price_prompt, price_completion),
               **({"cache": cache} if cache is not None else {})}
    src, info = _dataset_source(source, path, world, scenes, out_dir, seed, images, parts, masks,
                                exclude_refs, skip_bad)
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
    out.print(f"wrote {manifest.samples:,} samples and {manifest.rejected:,} rejections to [bold]{out_dir}[/]")


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


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _stats_tables(manifest: Any, directory: Path) -> list[Table]:
    data = manifest.to_json()
    settings = data["settings"]
    overview = Table(title=f"Dataset {directory}", show_header=False)
    overview.add_column(style="bold")
    overview.add_column()
    src = settings["source"]
    overview.add_row("source", f"{src.get('format')}: {src.get('path') or ', '.join(src.get('files', []))}")
    teacher = settings["teacher"]
    overview.add_row("teacher", f"{teacher['name']}" + (f" ({teacher['model']})" if teacher.get("model") else ""))
    overview.add_row("seed", str(settings["seed"]))
    overview.add_row("status", str(data.get("status")) + (f": {data['stopped']}" if data.get("stopped") else ""))
    overview.add_row("images", f"{data.get('images', 0):,}")
    overview.add_row("samples", f"{data.get('samples', 0):,}")
    overview.add_row("rejections", f"{data.get('rejected', 0):,}")
    overview.add_row("groundv", str(data.get("groundv_version")))
    tables = [overview]

    prompts = teacher.get("prompt_versions", {})
    overview.add_row("prompts", ", ".join(f"{c} {v}" for c, v in prompts.items()) or "-")
    per = Table(title="By category")
    for column in ("category", "samples", "rejected", "accepted", "not planned"):
        per.add_column(column, justify="left" if column == "category" else "right")
    sub = Table(title="Samples by subtype")
    for column in ("category", "subtype", "samples"):
        sub.add_column(column, justify="right" if column == "samples" else "left")
    by_category = data.get("by_category", {})
    order = [c for c in settings.get("categories", []) if c in by_category]
    for name in order + sorted(set(by_category) - set(order)):
        c = by_category[name]
        per.add_row(name, f"{c['samples']:,}", f"{c['rejected']:,}", _rate(c["acceptance_rate"]),
                    f"{c['unsupported']:,}")
        for i, (subtype, n) in enumerate(sorted(c["subtypes"].items())):
            sub.add_row(name if i == 0 else "", subtype, f"{n:,}", end_section=i == len(c["subtypes"]) - 1)
    tables += [per, sub]
    if data.get("rejections"):
        rej = Table(title="Rejections by reason")
        rej.add_column("reason")
        rej.add_column("count", justify="right")
        for reason, n in sorted(data["rejections"].items(), key=lambda kv: (-kv[1], kv[0])):
            rej.add_row(reason, f"{n:,}")
        tables.append(rej)
    if data.get("unsupported"):
        uns = Table(title="Categories not planned, and why")
        for column in ("category", "reason", "images"):
            uns.add_column(column, justify="right" if column == "images" else "left")
        for category, reasons in data["unsupported"].items():
            for reason, n in sorted(reasons.items()):
                uns.add_row(category, reason, f"{n:,}")
        tables.append(uns)
    return tables


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

    manifest = read_manifest(directory)
    found = next((s for s in iter_samples(directory) if s["id"] == sample_id), None)
    if found is None:
        raise ConfigError(f"no sample with id {sample_id!r} in {directory}",
                          hint=f"ids are the 'id' fields of {directory}/samples-*.jsonl")
    from groundv.render import draw_sample, load_image

    target = out_path or directory / "show" / f"{sample_id}.png"
    draw_sample(found, load_image(sample_scene(found, manifest, directory))).save(_parent(target))
    out.print(f"{found['category']}: {escape(found['instruction'])}", highlight=False)
    out.print(f"drew [bold]{target}[/]")


@app.command("export")
@_handles_errors
def export_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A dataset folder from 'groundv generate'.")],
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="Export format (psalm, grefcoco, "
                                     "parquet, lisa, muse, ...: every format groundv.export lists).")],
    out_dir: Annotated[Path, typer.Option("--out", help="The folder to write (must be empty, or --force).")],
    split: Annotated[str | None, typer.Option(
        help="Only the samples whose 'split' field is this; 'test' reads DIR/test.jsonl (groundv split) if any.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty --out.")] = False,
    copy_images: Annotated[bool, typer.Option(
        "--copy-images", help="Copy the images next to the export (formats that take it, e.g. lisa).")] = False,
) -> None:
    """Export a dataset to what a training codebase reads (PSALM, gRefCOCO, Hugging Face parquet, ...).

    Example: groundv export ds --format grefcoco --out grefcoco
    """
    import inspect as _inspect

    from groundv.export import get_exporter

    exporter = get_exporter(fmt)
    options: dict[str, Any] = {}
    if copy_images:
        if "copy_images" not in _inspect.signature(exporter).parameters:
            raise ConfigError(f"--copy-images does not apply to the {fmt} export",
                              hint="leave it out; this format refers to the source's images by file name")
        options["copy_images"] = True
    report = exporter(directory, out_dir, split=split, force=force, **options)
    for name in report.files:
        out.print(f"wrote [bold]{escape(str(report.out / name))}[/]", highlight=False)
    out.print(f"{report.format}: {report.written:,} samples written, {len(report.skipped):,} skipped",
              highlight=False)
    limit = 10
    for reason, where in report.skipped[:limit]:
        err.print(f"skipped: {escape(where)}: {escape(reason)}", highlight=False, soft_wrap=True)
    if len(report.skipped) > limit:
        err.print(f"... and {len(report.skipped) - limit:,} more skipped", highlight=False)



@app.command("verify")
@_handles_errors
def verify_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A dataset folder from 'groundv generate'.")],
    teacher: Annotated[str, typer.Option(
        "--teacher", help="The second teacher: rules (offline, re-derives the targets from the recorded facts), "
                          "openai or anthropic (a model names the targets).")] = "rules",
    drop_disagreeing: Annotated[Path | None, typer.Option(
        "--drop-disagreeing", metavar="OUT",
        help="Write OUT/samples-00000.jsonl with only the samples the verifier agrees with.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty OUT.")] = False,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    api_key_env: ApiKeyEnvOption = None,
    vision: VisionOption = False,
    image_size: ImageSizeOption = 768,
    temperature: TemperatureOption = None,
    max_tokens: MaxTokensOption = None,
    concurrency: ConcurrencyOption = 16,
    max_cost: Annotated[float | None, typer.Option(
        min=0.0, help="Stop once verification's spend on this dataset reaches this (resumable).",
        rich_help_panel=_LLM)] = None,
    max_requests: Annotated[int | None, typer.Option(
        min=0, help="Stop after this many paid verifier requests for the dataset (resumable).",
        rich_help_panel=_LLM)] = None,
    price_prompt: PricePromptOption = 0.0,
    price_completion: PriceCompletionOption = 0.0,
    cache: Annotated[Path | None, typer.Option(
        help="The response cache (default DIR/teacher-cache.sqlite, the one generation uses).",
        rich_help_panel=_LLM)] = None,
) -> None:
    """Check every sample's targets with a second teacher; write the verdicts to DIR/verdicts.jsonl.

    Verdicts: agree, disagree (the verifier's targets are kept) or unsure. --teacher rules re-derives the
    targets from the sample's recorded plan and the scene; --teacher openai|anthropic --model M asks a model
    to name the regions the instruction means (cached; spend counted in DIR/verifier-ledger.jsonl; at
    --max-cost or --max-requests it stops with exit code 3). Resumable: samples this verifier already
    verdicted are skipped.

    Example: groundv verify ds --teacher openai --model gpt-4o-mini --drop-disagreeing ds-agreed
    """
    from groundv.engine.ledger import BudgetExhausted
    from groundv.verify import VERDICTS, verify

    given = [flag for flag, value in (("--model", model), ("--base-url", base_url), ("--api-key-env", api_key_env),
                                      ("--vision", vision), ("--max-cost", max_cost),
                                      ("--max-requests", max_requests), ("--cache", cache),
                                      ("--temperature", temperature), ("--max-tokens", max_tokens))
             if value not in (None, False)]
    llm: dict[str, Any] | None = None
    if teacher == "rules" and given:
        raise ConfigError(f"{', '.join(given)} go with an LLM verifier, not --teacher rules",
                          hint="add --teacher openai | anthropic")
    if teacher != "rules":
        params = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
        llm = {"model": model, "base_url": base_url, "api_key_env": api_key_env, "vision": vision,
               "image_size": image_size, "params": params, "concurrency": concurrency, "max_cost": max_cost,
               "max_requests": max_requests, "prices": (price_prompt, price_completion), "cache": cache}
    with _progress() as bar:
        task = bar.add_task(f"verifying ({teacher})", total=None)
        try:
            summary = verify(directory, teacher=teacher, llm=llm, drop_disagreeing=drop_disagreeing, force=force,
                             progress=lambda done, total: bar.update(task, completed=done, total=total))
        except BudgetExhausted as stop:
            bar.stop()
            err.print(f"[bold yellow]stopped:[/] {escape(stop.message)}", highlight=False, soft_wrap=True)
            err.print(f"verdicts so far are saved in {escape(str(directory / 'verdicts.jsonl'))}; run the same "
                      "command with a higher cap to resume (answers already received are cached)", soft_wrap=True)
            raise typer.Exit(3) from None
    table = Table(title=f"Verdicts ({teacher}{f' {model}' if model and teacher != 'rules' else ''})")
    table.add_column("category", style="bold")
    for verdict in VERDICTS:
        table.add_column(verdict, justify="right")
    for category, counts in sorted(summary.by_category.items()):
        table.add_row(category, *(f"{counts[v]:,}" for v in VERDICTS))
    table.add_row("all", *(f"{summary.total[v]:,}" for v in VERDICTS), style="bold")
    out.print(table)
    new = ", ".join(f"{summary.new[v]:,} {v}" for v in VERDICTS)
    out.print(f"verdicted {sum(summary.new.values()):,} samples ({new}); {summary.skipped_existing:,} already "
              f"verdicted; wrote [bold]{escape(str(summary.verdicts))}[/]", highlight=False)
    for where, why in summary.corrupt[:10]:
        err.print(f"skipped: {escape(where)}: {escape(why)}", highlight=False, soft_wrap=True)
    if len(summary.corrupt) > 10:
        err.print(f"... and {len(summary.corrupt) - 10:,} more corrupt lines", highlight=False)
    if summary.out is not None:
        out.print(f"kept {summary.kept:,} agreeing samples in "
                  f"[bold]{escape(str(summary.out / 'samples-00000.jsonl'))}[/]", highlight=False)


@app.command("review")
@_handles_errors
def review_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A dataset folder from 'groundv generate'.")],
    host: Annotated[str, typer.Option(help="Address to bind; any non-loopback address needs the printed token.")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    reviewers: Annotated[int, typer.Option(
        min=1, max=2, help="Verdicts per sample: 2 shows each sample to two reviewers, blind.")] = 1,
    reviewer: Annotated[str | None, typer.Option(
        help="Your name, stored with every verdict (else the page asks for it).")] = None,
    seed: Annotated[int, typer.Option(help="Fixes the order of the stratified queue.")] = 0,
) -> None:
    """Review samples in a local web page: accept, reject, edit, toggle targets; verdicts go to DIR/reviews.jsonl.

    Example: groundv review ds --reviewers 2
    """
    from groundv.review.app import serve
    from groundv.review.session import ReviewError, ReviewSession, check_reviewer

    session = ReviewSession(directory, reviewers=reviewers, seed=seed)
    if reviewer is not None:
        try:
            reviewer = check_reviewer(reviewer)
        except ReviewError as exc:
            raise ConfigError(f"--reviewer: {exc.message}") from None
    for where, why in session.problems[:10]:
        err.print(f"skipped: {escape(where)}: {escape(why)}", highlight=False, soft_wrap=True)
    out.print(f"reviewing {len(session.samples):,} samples of [bold]{escape(str(directory))}[/] "
              f"({'two reviewers, blind' if reviewers == 2 else 'one reviewer'}); verdicts go to "
              f"[bold]{escape(str(session.log.path))}[/]", highlight=False, soft_wrap=True)
    serve(session, host=host, port=port, reviewer=reviewer,
          announce=lambda url: out.print(f"open [bold cyan]{escape(url)}[/]  (Ctrl+C stops)", highlight=False,
                                         soft_wrap=True))


@app.command("split")
@_handles_errors
def split_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A reviewed dataset folder.")],
    test_from_reviews: Annotated[bool, typer.Option(
        "--test-from-reviews", help="Make DIR/test.jsonl from the samples every reviewer accepted.")] = False,
    reviewers: Annotated[int, typer.Option(
        min=1, max=2, help="Verdicts a sample needs: 2 (accepted by both reviewers) or 1.")] = 2,
) -> None:
    """Write the Ground-V test split: samples accepted by both reviewers, edits applied, to DIR/test.jsonl.

    The manifest's test_split records the discard rate per category and Cohen's κ. Read it back with
    groundv items --benchmark groundv DIR --split test.

    Example: groundv split ds --test-from-reviews
    """
    from groundv.split import make_test_split

    if not test_from_reviews:
        raise ConfigError("say where the split comes from", hint="pass --test-from-reviews")
    report = make_test_split(directory, reviewers=reviewers)
    table = Table(title=f"Test split (accepted by {reviewers} reviewer{'s' if reviewers > 1 else ''})")
    for column in ("category", "reviewed", "kept", "discarded", "discard rate", "Cohen's κ", "pending"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for category, row in report.by_category.items():
        kappa = "—" if row["kappa"] is None else f"{row['kappa']:.3f}"
        table.add_row(category, f"{row['reviewed']:,}", f"{row['kept']:,}", f"{row['discarded']:,}",
                      _rate(row["discard_rate"]), kappa, f"{row['pending']:,}")
    table.add_row("all", f"{report.reviewed:,}", f"{report.kept:,}", f"{report.discarded:,}",
                  _rate(report.discard_rate), "", f"{report.pending:,}", style="bold")
    out.print(table)
    for where, why in report.corrupt[:10]:
        err.print(f"skipped: {escape(where)}: {escape(why)}", highlight=False, soft_wrap=True)
    out.print(f"wrote {report.kept:,} test samples ({report.edited:,} edited by a reviewer) to "
              f"[bold]{escape(str(report.path))}[/]", highlight=False)


def _step_bar(bar: Progress) -> Callable[[str, int, int], None]:
    """A ``progress(task, done, total)`` callback drawing one rich bar per task."""
    tasks: dict[str, Any] = {}

    def step(task: str, done: int, total: int) -> None:
        if task not in tasks:
            tasks[task] = bar.add_task(task, total=total)
        bar.update(tasks[task], completed=done, total=total)

    return step


@app.command("predict")
@_handles_errors
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
    from groundv.eval import read_items, write_jsonl
    from groundv.predict import ImageLookup, load_predictor, predict_items

    if (dataset is None) == (images is None):
        raise ConfigError("say where the images are", hint="pass exactly one of --dataset DIR or --images DIR")
    lookup = ImageLookup.from_dataset(dataset) if dataset is not None else ImageLookup(images)
    predictor = load_predictor(model)
    questions = list(read_items(items))
    with _progress() as bar:
        task = bar.add_task(f"{predictor.name}: predicting", total=len(questions))
        count = write_jsonl(predict_items(predictor, questions, lookup, batch_size=batch_size,
                                          progress=lambda done: bar.update(task, completed=done)), _parent(out_path))
    out.print(f"wrote {count:,} predictions to [bold]{escape(str(out_path))}[/]; score them with "
              f"groundv eval --items {escape(str(items))} --predictions {escape(str(out_path))} --protocol gres",
              highlight=False, soft_wrap=True)


@app.command("train")
@_handles_errors
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
              progress=lambda done, total, _loss: step(f"training ({encoder} text)", done, total))
    out.print(f"model: [bold]{escape(str(out_dir))}[/] ({len(records):,} samples, {steps:,} steps, seed {seed}); "
              f"use it with groundv predict --model {escape(str(out_dir))}", highlight=False, soft_wrap=True)


@app.command("reproduce")
@_handles_errors
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


def main() -> None:
    """Console-script entry point."""
    app()
