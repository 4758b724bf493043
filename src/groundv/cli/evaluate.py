"""``groundv items`` and ``eval``: benchmark items files and scoring predictions on them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from groundv.cli._app import _check_out, _handles_errors, _progress, app, err, out
from groundv.cli._tables import _metrics_table, _pct
from groundv.errors import ConfigError


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

    _check_out(out_path, "file")
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
    if report is not None:
        _check_out(report, "folder", "--report")
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
