"""The evaluation report: report.md with its tables and links, the per-category chart, the worst-sample gallery."""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from groundv import masks
from groundv.eval.records import Item, Prediction, write_jsonl
from groundv.eval.report import draw_category_chart, draw_sample, write_report
from groundv.eval.run import evaluate
from tests.conftest import box_mask

H, W = 30, 40


def make_files(tmp_path, with_blind=False):
    items, preds = [], []
    for i in range(9):
        category = ("multi_object", "negative", "part")[i % 3]
        no_target = category == "negative" and i > 3
        mask = masks.empty(H, W) if no_target else box_mask(H, W, 5, 5, 20 + i, 20)
        image = {"id": i, "file_name": f"img{i % 2}.png", "width": W, "height": H, "source": "test"}
        items.append(Item(str(i), image, f"the {category} thing number {i}", mask, no_target, category))
        if i != 8:  # item 8 has no prediction
            preds.append(Prediction(str(i), box_mask(H, W, 8, 2 + i, 30, 25)))
    write_jsonl(items, tmp_path / "items.jsonl")
    write_jsonl(preds, tmp_path / "preds.jsonl")
    if with_blind:
        write_jsonl([Prediction(str(i), box_mask(H, W, 0, 0, 10, 10)) for i in range(9)], tmp_path / "blind.jsonl")
    return tmp_path / "items.jsonl", tmp_path / "preds.jsonl"


def test_report_files_tables_and_links(tmp_path):
    items, preds = make_files(tmp_path, with_blind=True)
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (W, H), (10, 200, 240)).save(images / "img0.png")  # img1.png is absent: grey canvas
    result = evaluate(items, preds, "gres", allow_missing=True, worst=4,
                      blind_predictions_path=tmp_path / "blind.jsonl")
    out = tmp_path / "report"
    report = write_report(result, out, items_path=items, predictions_path=preds, images_root=images)
    text = report.read_text()
    assert report == out / "report.md"
    for heading in ("## Metrics", "## Per category", "## Undefined metrics", "## Counts", "## Language-prior probe",
                    "## Worst samples"):
        assert heading in text
    assert "| gIoU |" in text and "| multi_object | 3 |" in text
    assert "![gres results per category](by_category.png)" in text
    assert "missing predictions | 1 (scored as empty masks)" in text and "`8`" in text
    links = re.findall(r"\]\((worst/[^)]+\.png)\)", text)
    assert len(set(links)) == 4 and all((out / link).is_file() for link in links)
    assert sorted(p.name for p in (out / "worst").iterdir()) == sorted({link.split("/")[1] for link in links})
    # the real image is used where found, a grey canvas elsewhere
    corners = set()
    for link in set(links):
        with Image.open(out / link) as im:
            corners.add(im.convert("RGB").getpixel((im.width // 2, 2)))
    assert corners <= {(10, 200, 240), (128, 128, 128)}


def test_undefined_metrics_are_listed_with_their_reason(tmp_path):
    write_jsonl([Item("1", {"file_name": "x.png"}, "nothing", masks.empty(4, 4), True, "negative")],
                tmp_path / "i.jsonl")
    write_jsonl([Prediction("1", masks.empty(4, 4))], tmp_path / "p.jsonl")
    result = evaluate(tmp_path / "i.jsonl", tmp_path / "p.jsonl", "gres")
    text = write_report(result, tmp_path / "r").read_text()
    assert "- **cIoU** (all): acc_U == 0" in text and "- **Pr@0.7** (negative): no targeted samples" in text


def test_the_chart_has_the_right_size_and_is_not_blank(tmp_path):
    items, preds = make_files(tmp_path)
    result = evaluate(items, preds, "gres", allow_missing=True)
    write_report(result, tmp_path / "r")
    with Image.open(tmp_path / "r" / "by_category.png") as im:
        # all + 3 categories, 3 bars each (N-Acc: some no-target samples) of 40 px + 34 px gap, 98 px margins
        assert im.size == (max(640, 98 + 4 * (3 * 40 + 34)), 468)
        pixels = np.asarray(im.convert("RGB"))
    colours = {tuple(c) for c in pixels.reshape(-1, 3)}
    assert len(colours) > 20
    for bar in ((76, 114, 176), (221, 132, 82), (85, 168, 104)):
        assert (pixels == bar).all(axis=2).sum() > 200


def test_the_chart_grows_with_categories_and_skips_undefined_n_acc():
    by_category = {f"category {i}": {"giou": 50.0, "ciou": 40.0, "n_acc": 0.0, "count": 2} for i in range(9)}
    state = {name: {"TP": 0, "FN": 0} for name in ["all", *by_category]}
    metrics = {"protocol": "gres", "giou": 50.0, "ciou": 40.0, "n_acc": 0.0, "count": 18,
               "by_category": by_category, "state": state}
    chart = draw_category_chart(metrics)
    assert chart.size == (98 + 10 * (2 * 40 + 34), 468)  # no N-Acc bars: no group has a no-target sample
    assert not (np.asarray(chart) == (85, 168, 104)).all(axis=2).any()


def test_a_sample_picture_shows_gt_outline_prediction_fill_and_caption():
    item = Item("7", {"file_name": "none.jpg"}, "the mug on the left " * 8, box_mask(H, W, 5, 5, 20, 20), False, "part")
    picture = draw_sample(item, Prediction("7", box_mask(H, W, 10, 10, 35, 25)), rank=1, size=160)
    pixels = np.asarray(picture)
    assert picture.width == 360 and picture.height > 4 * H  # enlarged 4× and a caption below
    assert (np.abs(pixels.astype(int) - (40, 220, 60)).sum(axis=2) < 30).sum() > 100  # green outline
    assert (pixels[: 4 * H, :, 0] > 180).sum() > 200  # orange fill over the grey canvas
    no_target = Item("8", {}, "nothing here", masks.empty(H, W), True, None)
    assert draw_sample(no_target, Prediction("8", masks.empty(H, W)), missing=True).height > H
