"""The reproduction's results: mean ± spread over seeds, the expected patterns checked, table and chart.

:func:`summarise` turns every run's ``gres`` metrics (one per seed) into mean, sample standard
deviation and the per-seed values, overall and per category, and checks the paper's claims as
**paired comparisons** — the two runs of one seed share initial weights and batch order where their
data allows, so a difference is the effect of the data:

============================  ===========================================  =====================================
check                         compares                                     on
============================  ===========================================  =====================================
Ground-V lifts gIoU            ``groundv`` vs ``baseline``                  overall gIoU
negatives teach rejection      ``groundv`` vs ``baseline``                  overall N-Acc
removing negatives hurts N-Acc ``groundv`` vs ``without-negative``         overall N-Acc
<category> helps its subset    ``groundv`` vs ``without-<category>``       gIoU on that category's test items
referring is not hurt          ``groundv`` vs ``baseline``                  gIoU on the plain referring items
============================  ===========================================  =====================================

A check **holds** when the difference is positive for every seed, is **mixed** when its mean is
positive but some seed disagrees, and **does not hold** otherwise. Nothing is assumed: the verdicts
are computed from the numbers and written next to them.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from PIL import Image, ImageDraw

from groundv.render import font
from groundv.tasks.plan import CATEGORIES
from groundv.tasks.referring import REFERRING

__all__ = ["METRICS", "draw_chart", "markdown", "summarise", "tables", "write_report"]

#: overall metrics reported per run
METRICS: tuple[str, ...] = ("giou", "ciou", "n_acc", "t_acc")
_LABELS = {"giou": "gIoU", "ciou": "cIoU", "n_acc": "N-Acc", "t_acc": "T-Acc"}
_SUBSETS = (REFERRING, *CATEGORIES)
_PER_SUBSET = ("giou", "ciou", "n_acc")


def _stats(values: Sequence[float | None]) -> dict[str, Any]:
    known = [v for v in values if v is not None]
    if not known:
        return {"mean": None, "sd": None, "values": list(values)}
    return {"mean": statistics.fmean(known), "sd": statistics.stdev(known) if len(known) > 1 else 0.0,
            "values": list(values)}


def _metric(metrics: Mapping[str, Any], key: str, category: str | None) -> float | None:
    group = metrics if category is None else metrics.get("by_category", {}).get(category, {})
    value = group.get(key)
    return float(value) if isinstance(value, int | float) else None


def _check(name: str, runs: Mapping[str, Mapping[int, Mapping[str, Any]]], better: str, worse: str, key: str,
           category: str | None) -> dict[str, Any] | None:
    if better not in runs or worse not in runs:
        return None
    seeds = sorted(set(runs[better]) & set(runs[worse]))
    diffs = []
    for seed in seeds:
        a, b = _metric(runs[better][seed], key, category), _metric(runs[worse][seed], key, category)
        if a is not None and b is not None:
            diffs.append(a - b)
    if not diffs:
        return None
    mean = statistics.fmean(diffs)
    positive = sum(d > 0 for d in diffs)
    verdict = "holds" if positive == len(diffs) else "mixed" if mean > 0 else "does not hold"
    return {"check": name, "better": better, "worse": worse, "metric": key, "subset": category or "all",
            "differences": diffs, "mean_difference": mean, "seeds_positive": positive, "seeds": len(diffs),
            "verdict": verdict}


def summarise(runs: Mapping[str, Mapping[int, Mapping[str, Any]]], baselines: Mapping[str, Mapping[str, Any]], *,
              settings: Mapping[str, Any], counts: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """Mean ± sd per run (overall and per category), the baselines, and the checks.

    Args:
        runs: run name → seed → ``gres`` metrics (:meth:`Protocol.compute` without ``state``).
        baselines: predictor name → ``gres`` metrics.
        settings: the reproduction's settings, recorded as they are.
        counts: items per category in the training and test data.
        seconds: wall time of the reproduction.
    """
    table: dict[str, Any] = {}
    for run, by_seed in runs.items():
        seeds = sorted(by_seed)
        table[run] = {
            "seeds": seeds,
            "overall": {k: _stats([_metric(by_seed[s], k, None) for s in seeds]) for k in METRICS},
            "by_category": {c: {k: _stats([_metric(by_seed[s], k, c) for s in seeds]) for k in _PER_SUBSET}
                            for c in _SUBSETS},
        }
    fixed = {name: {"overall": {k: _metric(m, k, None) for k in METRICS},
                    "by_category": {c: {k: _metric(m, k, c) for k in _PER_SUBSET} for c in _SUBSETS}}
             for name, m in baselines.items()}
    checks = [
        _check("Ground-V lifts overall gIoU", runs, "groundv", "baseline", "giou", None),
        _check("negatives teach rejection (N-Acc)", runs, "groundv", "baseline", "n_acc", None),
        _check("removing negatives hurts N-Acc", runs, "groundv", "without-negative", "n_acc", None),
        *(_check(f"{c} helps its own subset", runs, "groundv", f"without-{c}", "giou", c) for c in CATEGORIES),
        _check("plain referring is not hurt", runs, "groundv", "baseline", "giou", REFERRING),
    ]
    return {"settings": dict(settings), "counts": dict(counts), "seconds": seconds, "runs": table,
            "baselines": fixed, "checks": [c for c in checks if c is not None]}


def _fmt(stat: Mapping[str, Any] | float | None) -> str:
    if isinstance(stat, Mapping):
        if stat.get("mean") is None:
            return "–"
        return f"{stat['mean']:.1f} ± {stat['sd']:.1f}" if len(stat["values"]) > 1 else f"{stat['mean']:.1f}"
    return "–" if stat is None else f"{stat:.1f}"


def _rows(results: Mapping[str, Any], pick: Any) -> list[list[str]]:
    rows = [[f"`{run}`", *(_fmt(v) for v in pick(entry))] for run, entry in results["runs"].items()]
    rows += [[f"`{name}` (no training)", *(_fmt(v) for v in pick(entry))]
             for name, entry in results["baselines"].items()]
    return rows


def _md(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def tables(results: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """``(title, header, rows)`` of the overall, per-category gIoU and per-category cIoU tables, and the checks."""
    seeds = len(results["settings"].get("seeds", [])) or 1
    spread = f" (mean ± sd over {seeds} seeds)" if seeds > 1 else " (one seed)"
    out = [
        (f"Overall, gres protocol{spread}", ["run", *(_LABELS[k] for k in METRICS)],
         _rows(results, lambda e: [e["overall"][k] for k in METRICS])),
        (f"gIoU per test subset{spread}", ["run", *_SUBSETS],
         _rows(results, lambda e: [e["by_category"][c]["giou"] for c in _SUBSETS])),
        (f"cIoU per test subset{spread}", ["run", *_SUBSETS],
         _rows(results, lambda e: [e["by_category"][c]["ciou"] for c in _SUBSETS])),
    ]
    checks = [[c["check"], f"`{c['better']}` − `{c['worse']}`", f"{_LABELS[c['metric']]} on {c['subset']}",
               f"{c['mean_difference']:+.1f}", f"{c['seeds_positive']}/{c['seeds']}", f"**{c['verdict']}**"]
              for c in results["checks"]]
    out.append(("Expected patterns, checked (paired by seed)",
                ["claim", "runs", "metric", "mean difference", "seeds better", "verdict"], checks))
    return out


def markdown(results: Mapping[str, Any]) -> str:
    """The tables as Markdown (what ``table.md`` holds)."""
    lines: list[str] = []
    for title, header, rows in tables(results):
        lines += [f"**{title}**", "", *_md(header, rows), ""]
    counts = results["counts"]
    lines.append("Items per subset — train: " + ", ".join(f"{k} {v:,}" for k, v in counts["train"].items())
                 + "; test: " + ", ".join(f"{k} {v:,}" for k, v in counts["test"].items()) + ".")
    return "\n".join(lines) + "\n"


_BARS = (("baseline", "baseline (referring only)", (150, 150, 150)),
         ("groundv", "+ all five Ground-V categories", (45, 105, 190)),
         ("without", "+ Ground-V without this category", (230, 140, 40)))


def draw_chart(results: Mapping[str, Any]) -> Image.Image:
    """Per test subset, gIoU of the baseline, of ``groundv`` and of the run without that subset's category;
    the last group is overall N-Acc (the ``without`` bar there is ``without-negative``). Whiskers: ± sd."""
    runs = results["runs"]
    groups: list[tuple[str, list[dict[str, Any] | None]]] = []
    for subset in _SUBSETS:
        groups.append((subset, [runs.get("baseline", {}).get("by_category", {}).get(subset, {}).get("giou"),
                                runs.get("groundv", {}).get("by_category", {}).get(subset, {}).get("giou"),
                                runs.get(f"without-{subset}", {}).get("by_category", {}).get(subset, {}).get("giou")]))
    groups.append(("N-Acc (all)", [runs.get(r, {}).get("overall", {}).get("n_acc")
                                   for r in ("baseline", "groundv", "without-negative")]))
    bar, gap, left, right, top, plot_h, bottom = 30, 34, 70, 24, 90, 320, 60
    group_w = 3 * bar + gap
    width = left + right + group_w * len(groups)
    image = Image.new("RGB", (width, top + plot_h + bottom), "white")
    draw = ImageDraw.Draw(image)
    ink, grid = (30, 30, 30), (225, 225, 225)
    y0 = top + plot_h

    def y_of(value: float) -> float:
        return y0 - plot_h * max(0.0, min(100.0, value)) / 100.0

    seeds = len(results["settings"].get("seeds", [])) or 1
    draw.text((left, 12), f"groundv reproduce: gIoU per test subset, and N-Acc (%, {seeds} seed"
              f"{'s, mean ± sd' if seeds > 1 else ''})", fill=ink, font=font(16, True))
    lx = left
    for b, (_, label, colour) in enumerate(_BARS):
        if not any(stats[b] for _, stats in groups):  # e.g. no leave-one-out runs (--quick)
            continue
        draw.rectangle((lx, 46, lx + 12, 58), fill=colour)
        draw.text((lx + 18, 52), label, fill=ink, font=font(13), anchor="lm")
        lx += 30 + draw.textlength(label, font=font(13))
    for tick in range(0, 101, 20):
        draw.line((left, y_of(tick), width - right, y_of(tick)), fill=grid if tick else ink)
        draw.text((left - 8, y_of(tick)), str(tick), fill=ink, font=font(12), anchor="rm")
    for g, (name, stats) in enumerate(groups):
        gx = left + gap / 2 + g * group_w
        for b, stat in enumerate(stats):
            bx = gx + b * bar
            if not stat or stat.get("mean") is None:
                continue
            mean, sd = stat["mean"], stat["sd"]
            draw.rectangle((bx + 3, y_of(mean), bx + bar - 3, y0), fill=_BARS[b][2])
            if sd:
                cx = bx + bar / 2
                draw.line((cx, y_of(mean - sd), cx, y_of(mean + sd)), fill=ink, width=1)
                draw.line((cx - 4, y_of(mean + sd), cx + 4, y_of(mean + sd)), fill=ink)
                draw.line((cx - 4, y_of(mean - sd), cx + 4, y_of(mean - sd)), fill=ink)
            draw.text((bx + bar / 2, y_of(mean + sd) - 3), f"{mean:.0f}", fill=ink, font=font(11), anchor="mb")
        draw.text((gx + 1.5 * bar, y0 + 10), name.replace("_", " "), fill=ink, font=font(12), anchor="mt")
    return image


def write_report(results: Mapping[str, Any], out: str | Path) -> dict[str, Path]:
    """Write ``results.json``, ``table.md`` and ``chart.png`` into ``out``; returns their paths."""
    out = Path(out)
    paths = {"results": out / "results.json", "table": out / "table.md", "chart": out / "chart.png"}
    paths["results"].write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    paths["table"].write_text(markdown(results), encoding="utf-8")
    draw_chart(results).save(paths["chart"])
    return paths
