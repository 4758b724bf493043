"""``groundv export``: a dataset in the formats training codebases read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from groundv.cli._app import _check_out, _handles_errors, app, err, out
from groundv.errors import ConfigError


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
    _check_out(out_dir, "folder")
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
