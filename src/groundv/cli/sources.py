"""``groundv sources``, ``inspect`` and ``toyworld``: the annotation sources groundv reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from groundv.cli._app import _check_out, _command, _handles_errors, _progress, app, err, out
from groundv.cli._tables import _summary_table
from groundv.errors import ConfigError
from groundv.sources import FORMATS, Source, open_source
from groundv.summary import summarize


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
    if render:
        _check_out(out_dir, "folder")
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
    path = _write_toyworld(_check_out(out_dir, "folder"), scenes, seed)
    out.print(f"wrote {scenes} scenes to [bold]{escape(str(path))}[/] (read it with: "
              f"{_command('groundv', 'inspect', 'toyworld', path)})", highlight=False, soft_wrap=True)


def _write_toyworld(out_dir: Path, scenes: int, seed: int) -> Path:
    from groundv.sources.toyworld import write_toyworld

    with _progress() as bar:
        task = bar.add_task("rendering toy world", total=scenes)
        return write_toyworld(out_dir, scenes, seed, progress=lambda n: bar.update(task, completed=n))
