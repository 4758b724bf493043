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
            err.print(f"[bold red]error:[/] {exc.message}", highlight=False, markup=True)
            if exc.hint:
                err.print(f"[bold]hint:[/] {exc.hint}", highlight=False)
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


def main() -> None:
    """Console-script entry point."""
    app()
