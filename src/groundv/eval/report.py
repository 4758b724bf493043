"""An evaluation report a person can read: ``report.md``, a per-category chart and the worst samples.

:func:`write_report` writes into one folder::

    report.md          files, protocol and options, the metrics table, the per-category table,
                       undefined metrics with their reasons, the raw counts, the language-prior probe
                       (when there is one) and the gallery of worst samples, all linked
    by_category.png    grouped bars of gIoU and cIoU per category (and N-Acc where the category has
                       no-target samples), with axes, a legend and the value on every bar
    worst/NN-<id>.png  one picture per worst sample: the image (or a grey canvas when it is not found),
                       the ground truth outlined in green, the prediction filled in orange, and a
                       caption with the expression, the IoU and the no-target decisions

Pictures are drawn with Pillow; masks are decoded through :mod:`groundv.masks` only.

Example:
    >>> result = evaluate("items.jsonl", "preds.jsonl", "gres")  # doctest: +SKIP
    >>> write_report(result, "report/", items_path="items.jsonl", predictions_path="preds.jsonl",
    ...              images_root="coco/")  # doctest: +SKIP
    PosixPath('report/report.md')
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from groundv import masks
from groundv.eval.predictions import Predictions
from groundv.eval.protocol import ALL
from groundv.eval.records import Item, Prediction, read_jsonl
from groundv.eval.run import EvalResult, ItemScore, metric_names
from groundv.render import font as _font

__all__ = ["draw_category_chart", "draw_sample", "metric_label", "write_report"]

#: how metric keys are written for people
_LABELS = {"giou": "gIoU", "ciou": "cIoU", "n_acc": "N-Acc", "t_acc": "T-Acc"}
#: what the chart draws, and in which colour
_CHART_METRICS = (("giou", (76, 114, 176)), ("ciou", (221, 132, 82)), ("n_acc", (85, 168, 104)))
_GT_COLOUR = (40, 220, 60)
_PRED_COLOUR = (255, 120, 0)
_INK = (40, 40, 40)
_GRID = (225, 225, 225)


def metric_label(key: str) -> str:
    """``giou`` → ``gIoU``, ``n_acc`` → ``N-Acc``, ``pr@0.7`` → ``Pr@0.7``."""
    return _LABELS.get(key, key[:1].upper() + key[1:])


def _fmt(value: Any, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


# -- the chart -----------------------------------------------------------------------------------


def _has_no_target(state: Mapping[str, Any] | None) -> bool:
    # N-Acc is a recall over no-target samples: meaningless (ReLA reports 0) where a group has none.
    if not state or "TP" not in state or "FN" not in state:
        return False
    return state["TP"] + state["FN"] > 0


def _chart_groups(metrics: Mapping[str, Any]) -> list[tuple[str, int, dict[str, float | None]]]:
    """``(name, count, {metric: value or None})`` for ``all`` and each category."""
    states = metrics.get("state", {})
    keys = [k for k, _ in _CHART_METRICS if k in metrics]
    groups = [(ALL, metrics, states.get(ALL))]
    groups += [(name, res, states.get(name)) for name, res in metrics.get("by_category", {}).items()]
    out = []
    for name, res, state in groups:
        values = {k: res.get(k) for k in keys}
        if "n_acc" in values and not _has_no_target(state):
            values["n_acc"] = None
        out.append((name, int(res.get("count", 0)), values))
    return out


def draw_category_chart(metrics: Mapping[str, Any], *, title: str | None = None) -> Image.Image:
    """Grouped bars per category (``all`` first) of gIoU and cIoU, and N-Acc where defined.

    Args:
        metrics: a :meth:`~groundv.eval.protocol.Protocol.compute` result (percent).
        title: the chart's title; default names the protocol.

    Returns:
        An RGB image, wider with more categories (at least 640 px).
    """
    groups = _chart_groups(metrics)
    keys = [k for k, _ in _CHART_METRICS if k in metrics]
    if not any(v["n_acc"] is not None for _, _, v in groups if "n_acc" in v):
        keys = [k for k in keys if k != "n_acc"]
    colours = dict(_CHART_METRICS)
    bar, gap = 40, 34
    group_w = bar * max(1, len(keys)) + gap
    left, right, top, plot_h, bottom = 74, 24, 78, 320, 70
    width = max(640, left + right + group_w * len(groups))
    height = top + plot_h + bottom
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    f_title, f_axis, f_value, f_label, f_small = _font(17, True), _font(13), _font(12), _font(13), _font(11)
    x0, y0, y1 = left, top + plot_h, top  # plot area: x from x0, y from y0 (0 %) up to y1 (100 %)

    def y_of(value: float) -> float:
        return y0 - plot_h * max(0.0, min(100.0, value)) / 100.0

    title = title or f"{metrics.get('protocol', '')} results per category (%)".strip()
    draw.text((left, 14), title, fill=_INK, font=f_title)
    # legend, top right
    lx = width - right
    for key in reversed(keys):
        text = metric_label(key)
        tw = draw.textlength(text, font=f_axis)
        lx -= tw + 4
        draw.text((lx, 50), text, fill=_INK, font=f_axis, anchor="lm")
        lx -= 18
        draw.rectangle((lx, 44, lx + 12, 56), fill=colours[key])
        lx -= 16
    # grid and y axis
    for tick in range(0, 101, 20):
        y = y_of(tick)
        draw.line((x0, y, width - right, y), fill=_GRID if tick else _INK, width=1)
        draw.text((x0 - 8, y), str(tick), fill=_INK, font=f_axis, anchor="rm")
    draw.line((x0, y1, x0, y0), fill=_INK, width=1)
    axis = Image.new("RGBA", (plot_h, 20), (255, 255, 255, 0))
    ImageDraw.Draw(axis).text((plot_h / 2, 10), "percent", fill=_INK, font=f_axis, anchor="mm")
    axis = axis.rotate(90, expand=True)
    image.paste(axis, (14, top), axis)
    # bars, centred when there are few groups
    start = x0 + (width - right - x0 - group_w * len(groups)) / 2
    for g, (name, count, values) in enumerate(groups):
        gx = start + gap / 2 + g * group_w
        for b, key in enumerate(keys):
            bx = gx + b * bar
            value = values.get(key)
            if value is None:
                draw.text((bx + bar / 2, y0 - 4), "n/a", fill=(150, 150, 150), font=f_small, anchor="mb")
                continue
            top_y = y_of(value)
            draw.rectangle((bx + 3, top_y, bx + bar - 3, y0), fill=colours[key])
            draw.text((bx + bar / 2, top_y - 3), f"{value:.1f}", fill=_INK, font=f_value, anchor="mb")
        centre = gx + bar * len(keys) / 2
        label = _ellipsize(draw, name, f_label, group_w - 6)
        draw.text((centre, y0 + 10), label, fill=_INK, font=f_label, anchor="mt")
        draw.text((centre, y0 + 30), f"n={count:,}", fill=(110, 110, 110), font=f_small, anchor="mt")
        if g == 0 and len(groups) > 1:  # "all" is not a category: set it apart
            sx = start + group_w
            draw.line((sx, y1, sx, y0 + 44), fill=(190, 190, 190), width=1)
    return image


def _ellipsize(draw: ImageDraw.ImageDraw, text: str, font: Any, width: float) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


# -- the gallery ---------------------------------------------------------------------------------


def _find_image(item: Item, images_root: Path | None) -> Path | None:
    if images_root is None:
        return None
    name = item.image.get("file_name")
    if not isinstance(name, str) or not name:
        return None
    for candidate in (images_root / name, images_root / Path(name).name):
        if candidate.is_file():
            return candidate
    return None


def _base_image(item: Item, images_root: Path | None) -> tuple[Image.Image, bool]:
    """The item's picture at its mask's size, and whether it is the real image (else a grey canvas)."""
    h, w = item.size
    path = _find_image(item, images_root)
    if path is not None:
        try:
            with Image.open(path) as im:
                image = im.convert("RGB")
        except OSError:
            image = None
        if image is not None:
            if image.size != (w, h):  # items at an evaluation resolution (ReLA's 480×480)
                image = image.resize((w, h), Image.Resampling.BILINEAR)
            return image, True
    return Image.new("RGB", (w, h), (128, 128, 128)), False


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> list[str]:
    # Average glyph width gives a first guess for textwrap; then shorten lines that still overflow.
    per = max(8, int(width / max(1.0, draw.textlength("abcdefghij", font=font) / 10)))
    lines = []
    for line in textwrap.wrap(text, per) or [""]:
        lines.append(_ellipsize(draw, line, font, width))
    return lines


def _decision(no_target: bool | None, empty: bool) -> str:
    if no_target is True:
        return "rejects (flag)"
    if no_target is False:
        return "answers (flag)" + (", empty mask" if empty else "")
    return "empty mask" if empty else "mask"


def draw_sample(item: Item, prediction: Prediction, *, score: ItemScore | None = None, rank: int | None = None,
                images_root: str | Path | None = None, missing: bool = False, size: int = 512) -> Image.Image:
    """One item with its ground truth outlined (green) and the prediction filled (orange), plus a caption.

    Args:
        item: the item (its image is looked up under ``images_root`` by ``image.file_name``).
        prediction: the model's answer (at the item's size).
        score: the item's IoU, shown in the caption.
        rank: its place among the worst samples.
        images_root: folder holding the images; without it, or when the file is missing, a grey canvas.
        missing: the model gave no prediction (scored as an empty mask).
        size: the longer side of the picture, in pixels (small images are enlarged up to 4×).

    Returns:
        An RGB image.
    """
    base, real = _base_image(item, Path(images_root) if images_root is not None else None)
    h, w = item.size
    scale = min(4.0, size / max(h, w))
    dw, dh = max(1, round(w * scale)), max(1, round(h * scale))
    base = base.resize((dw, dh), Image.Resampling.LANCZOS).convert("RGBA")

    def bitmap(rle: masks.RLE) -> np.ndarray:
        pixels = Image.fromarray(masks.decode(rle) * 255).resize((dw, dh), Image.Resampling.NEAREST)
        return np.asarray(pixels) > 0

    pred = bitmap(prediction.mask)
    gt = bitmap(item.mask)
    overlay = np.zeros((dh, dw, 4), dtype=np.uint8)
    overlay[pred] = (*_PRED_COLOUR, 120)
    if gt.any():
        edge = gt & ~ndimage.binary_erosion(gt, iterations=3, border_value=0)
        overlay[edge] = (*_GT_COLOUR, 255)
    if item.ignore is not None and not masks.is_empty(item.ignore):
        ignore = bitmap(item.ignore)
        overlay[ignore & ~pred] = (255, 255, 255, 90)
    picture = Image.alpha_composite(base, Image.fromarray(overlay, "RGBA")).convert("RGB")

    font, bold = _font(13), _font(13, True)
    text_w = max(dw, 360) - 20
    scratch = ImageDraw.Draw(picture)
    head = " · ".join(p for p in (f"#{rank}" if rank is not None else "", f"item {item.id}", item.category or "",
                                   f"IoU {100 * score.iou:.1f}%" if score is not None else "") if p)
    quoted = _wrap(scratch, f"“{item.expression.strip()}”", font, text_w)
    quoted = quoted[:4] + (["…"] if len(quoted) > 4 else [])
    answer = "missing, scored as an empty mask" if missing else _decision(prediction.no_target,
                                                                           masks.is_empty(prediction.mask))
    truth = "no target" if item.no_target else ("empty mask" if masks.is_empty(item.mask) else "target")
    facts = [f"ground truth: {truth}", f"prediction: {answer}"]
    if not real:
        facts.append("image not found: grey canvas")
    rows = [(_ellipsize(scratch, head, bold, text_w), bold, _INK), *((q, font, _INK) for q in quoted),
            *((line, font, (90, 90, 90)) for fact in facts for line in _wrap(scratch, fact, font, text_w))]
    line_h = 20
    legend_h = 22
    canvas_w = max(dw, 360)
    caption_h = 12 + line_h * len(rows) + legend_h + 8
    out = Image.new("RGB", (canvas_w, dh + caption_h), "white")
    out.paste(picture, ((canvas_w - dw) // 2, 0))
    draw = ImageDraw.Draw(out)
    y = dh + 10
    for text, f, colour in rows:
        draw.text((10, y), text, fill=colour, font=f)
        y += line_h
    # legend
    y += 4
    draw.rectangle((10, y + 2, 24, y + 14), outline=_GT_COLOUR, width=3)
    draw.text((30, y + 8), "ground truth", fill=_INK, font=font, anchor="lm")
    x = 30 + draw.textlength("ground truth", font=font) + 18
    draw.rectangle((x, y + 2, x + 14, y + 14), fill=_PRED_COLOUR)
    draw.text((x + 20, y + 8), "prediction", fill=_INK, font=font, anchor="lm")
    return out


# -- the report ----------------------------------------------------------------------------------


def _items_by_id(path: Path, wanted: set[str]) -> dict[str, Item]:
    found: dict[str, Item] = {}
    if not wanted:
        return found
    for number, obj in read_jsonl(path):
        if isinstance(obj, dict) and str(obj.get("id")) in wanted:
            item = Item.from_json(obj, file=path, where=f"line {number}")
            found[item.id] = item
            if len(found) == len(wanted):
                break
    return found


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:60] or "item"


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "r") -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + [("---:" if align == "r" else "---")] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return lines


def _undefined_lines(metrics: Mapping[str, Any]) -> list[str]:
    lines = []
    groups = [(ALL, metrics), *metrics.get("by_category", {}).items()]
    for name, res in groups:
        for key, why in res.get("undefined", {}).items():
            lines.append(f"- **{metric_label(key)}** ({name}): {why}")
    return lines


def write_report(result: EvalResult, out_dir: str | Path, *, items_path: str | Path | None = None,
                 predictions_path: str | Path | None = None, images_root: str | Path | None = None) -> Path:
    """Write ``report.md``, ``by_category.png`` and the worst-sample pictures into ``out_dir``.

    Args:
        result: what :func:`~groundv.eval.run.evaluate` returned.
        out_dir: the report folder (created).
        items_path: the items file (default: the one evaluated), read again for the worst samples only.
        predictions_path: the predictions (default: the ones evaluated).
        images_root: folder the items' ``image.file_name`` is relative to; grey canvases without it.

    Returns:
        The path of ``report.md``.

    Raises:
        InputError: the items or predictions cannot be read again.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    items_path = Path(items_path or result.items_path or "")
    predictions_path = Path(predictions_path or result.predictions_path or "")
    metrics = result.metrics
    keys = metric_names(metrics)

    chart = out_dir / "by_category.png"
    draw_category_chart(metrics).save(chart)

    md: list[str] = [f"# Evaluation report: {result.protocol}", ""]
    options = ", ".join(f"{k}={v}" for k, v in result.options.items()) or "defaults"
    md += _table(["what", "value"], [
        ("items", f"`{items_path}` ({result.items:,} items)"),
        ("predictions", f"`{predictions_path}`"),
        ("protocol", f"{result.protocol} ({options})"),
        ("missing predictions", f"{len(result.missing):,} (scored as empty masks)" if result.missing else "0"),
    ], align="l")
    if result.missing:
        shown = ", ".join(f"`{i}`" for i in result.missing[:10])
        md += ["", f"Missing ids: {shown}{' …' if len(result.missing) > 10 else ''}"]

    md += ["", "## Metrics", "", "All metrics in percent.", ""]
    md += _table(["metric", "value"], [(metric_label(k), _fmt(metrics.get(k))) for k in keys] +
                 [("count", f"{metrics.get('count', 0):,}")])

    by_cat = metrics.get("by_category", {})
    md += ["", "## Per category", ""]
    if by_cat:
        md += _table(["category", "count", *(metric_label(k) for k in keys)],
                     [(name, f"{res.get('count', 0):,}", *(_fmt(res.get(k)) for k in keys))
                      for name, res in by_cat.items()], align="r")
    else:
        md += ["No item has a category."]
    md += ["", f"![{result.protocol} results per category]({chart.name})"]

    undefined = _undefined_lines(metrics)
    md += ["", "## Undefined metrics", ""]
    md += undefined or ["None: every metric is defined."]

    state = metrics.get("state", {})
    if state:
        names = [ALL, *(n for n in state if n != ALL)]
        fields = list(next(iter(state.values())))
        md += ["", "## Counts", "", "The raw accumulators (METRICS.md §12); shards are merged by adding them.", ""]
        md += _table(["field", *names], [(f, *(_count(state.get(n, {}).get(f)) for n in names)) for f in fields])

    if result.blind is not None:
        retained = result.retained or {}
        md += ["", "## Language-prior probe", "",
               f"Blind predictions (made without the image): `{result.blind_predictions_path}`"
               + (f", {len(result.blind_missing):,} missing" if result.blind_missing else "") + ". "
               "*Retained* is blind / full: the share of the score a model keeps without seeing the image. "
               "Low gIoU/cIoU retention means the model grounds in pixels; a high one means it (or the "
               "benchmark) leans on language priors. A blind model that always rejects keeps all of N-Acc: "
               "read N-Acc with T-Acc.", ""]
        md += _table(["metric", "full", "blind", "retained"],
                     [(metric_label(k), _fmt(metrics.get(k)), _fmt(result.blind.get(k)),
                       _fmt(retained.get(k), 3)) for k in keys])

    md += ["", "## Worst samples", ""]
    md += _gallery(result, out_dir, items_path, predictions_path, images_root)
    report = out_dir / "report.md"
    report.write_text("\n".join(md) + "\n", encoding="utf-8")
    return report


def _count(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4f}"


def _gallery(result: EvalResult, out_dir: Path, items_path: Path, predictions_path: Path,
             images_root: str | Path | None) -> list[str]:
    if not result.worst:
        return ["No per-item IoU for this protocol, or no items."]
    items = _items_by_id(items_path, {s.id for s in result.worst})
    preds = Predictions(predictions_path)
    missing = set(result.missing)
    folder = out_dir / "worst"
    folder.mkdir(exist_ok=True)
    md = ["Lowest IoU first (ties in file order). Green outline: ground truth; orange fill: prediction.", ""]
    md += _table(["#", "item", "category", "IoU %", "expression", "picture"], [], align="l")
    pictures = []
    for rank, score in enumerate(result.worst, 1):
        item = items.get(score.id)
        if item is None:  # the items file changed since the evaluation
            continue
        if score.id in preds:
            prediction = preds.get(score.id, item)
        else:
            prediction = Prediction(item.id, masks.empty(*item.size), None)
        name = f"{rank:02d}-{_safe(item.id)}.png"
        draw_sample(item, prediction, score=score, rank=rank, images_root=images_root,
                    missing=score.id in missing).save(folder / name)
        expression = item.expression if len(item.expression) <= 80 else item.expression[:79] + "…"
        md.append("| " + " | ".join(_md_cell(c) for c in (
            rank, f"`{item.id}`", item.category or "–", f"{100 * score.iou:.1f}", expression,
            f"[{name}](worst/{name})")) + " |")
        pictures.append(f"![#{rank} item {_md_cell(item.id)}](worst/{name})")
    return [*md, *(line for picture in pictures for line in ("", picture))]
