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
    seed: Annotated[int, typer.Option(help="Seed of the toy world.")] = 0,
) -> None:
    """Run the whole pipeline that exists so far on the built-in toy world and say where results are.

    Today: render the toy world, read it back as COCO + PACO-style annotations, summarise it, show
    what the offline teacher knows about the busiest scene and draw it with every region outlined.

    Example: groundv demo --out out/demo
    """
    from groundv.render import save_render
    from groundv.sources.toyworld import ToyWorldSource

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
    out.print(f"\n[bold]Results[/] in {out_dir}/")
    out.print(f"  toy world (images, instances.json, parts.json): {world}")
    out.print(f"  image {scene.image_id}, every region outlined and labelled: {overlay}")


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


def main() -> None:
    """Console-script entry point."""
    app()
