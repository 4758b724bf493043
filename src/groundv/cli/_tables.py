"""The tables more than one command prints: a source's summary, metrics, a dataset's statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from groundv.sources import Source
from groundv.summary import SourceSummary


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
    why = data.get("stopped") or data.get("failed")
    overview.add_row("status", str(data.get("status")) + (f": {why}" if why else ""))
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
