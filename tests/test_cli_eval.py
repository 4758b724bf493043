"""`groundv items` and `groundv eval` end to end on the real RefCOCO excerpt, with the real gres and lisa protocols."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from groundv import masks
from groundv.cli import app
from groundv.eval.records import Prediction, read_items, write_jsonl

runner = CliRunner()


@pytest.fixture
def refcoco_items(shared_data, tmp_path):
    """The RefCOCO excerpt (image 98304, split train) as an items file."""
    out = tmp_path / "items.jsonl"
    result = runner.invoke(app, [
        "items", "--benchmark", "refcoco", str(shared_data / "refcoco/refs(unc)_DERIVED_img98304.p"),
        str(shared_data / "coco/annotations/instances_train2017_subset.json"), "--split", "train",
        "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote 6 refcoco train items to {out}" in " ".join(result.stdout.split())
    return out


def predictions(items_path, path, how):
    items = list(read_items(items_path))
    if how == "gt":
        preds = [Prediction(i.id, i.mask) for i in items]
    elif how == "empty":
        preds = [Prediction(i.id, masks.empty(*i.size)) for i in items]
    else:  # "half": the top half of each target
        preds = []
        for i in items:
            bitmap = masks.decode(i.mask)
            ys = np.nonzero(bitmap.any(axis=1))[0]
            bitmap[(ys[0] + ys[-1]) // 2:] = 0
            preds.append(Prediction(i.id, masks.encode(bitmap)))
    write_jsonl(preds, path)
    return path


def eval_json(*args):
    result = runner.invoke(app, ["eval", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # exactly one JSON object, nothing else on stdout


def test_items_writes_one_item_per_sentence(refcoco_items):
    items = list(read_items(refcoco_items))
    assert len(items) == 6 and {i.category for i in items} == {"refcoco"}
    assert all(i.size == (424, 640) and not i.no_target for i in items)


def test_eval_gt_masks_score_100_and_empty_masks_0(refcoco_items, tmp_path):
    gt = eval_json("--items", refcoco_items, "--predictions", predictions(refcoco_items, tmp_path / "gt.jsonl", "gt"),
                   "--protocol", "gres")
    assert gt["protocol"] == "gres" and gt["unit"] == "percent" and gt["count"] == 6 and gt["missing"] == 0
    assert gt["giou"] == 100.0 and gt["ciou"] == 100.0 and gt["pr@0.9"] == 100.0
    assert gt["by_category"]["refcoco"]["giou"] == 100.0 and gt["by_category"]["refcoco"]["count"] == 6
    assert "state" in gt
    empty = eval_json("--items", refcoco_items, "--predictions",
                      predictions(refcoco_items, tmp_path / "empty.jsonl", "empty"), "--protocol", "gres")
    # an empty mask without a flag rejects: every target is a false positive (I = 0, U = |G|)
    assert empty["giou"] == 0.0 and empty["ciou"] == 0.0 and empty["by_category"]["refcoco"]["giou"] == 0.0
    assert empty["state"]["all"]["FP"] == 6 and empty["undefined"] == {}


def test_eval_a_png_folder_with_lisa(refcoco_items, tmp_path):
    folder = tmp_path / "pngs"
    folder.mkdir()
    for item in read_items(refcoco_items):
        Image.fromarray(masks.decode(item.mask) * 255).save(folder / f"{item.id}.png")
    out = eval_json("--items", refcoco_items, "--predictions", folder, "--protocol", "lisa", "--no-epsilons")
    assert out["giou"] == 100.0 and out["ciou"] == 100.0 and out["options"] == {"epsilons": False}


def test_eval_table_blind_probe_and_report(refcoco_items, tmp_path, shared_data):
    full = predictions(refcoco_items, tmp_path / "gt.jsonl", "gt")
    blind = predictions(refcoco_items, tmp_path / "half.jsonl", "half")
    args = ["eval", "--items", str(refcoco_items), "--predictions", str(full), "--protocol", "gres",
            "--blind-predictions", str(blind)]
    table = runner.invoke(app, [*args, "--report", str(tmp_path / "report"), "--images",
                                str(shared_data / "coco/train2017")])
    assert table.exit_code == 0, table.output
    assert "gIoU" in table.stdout and "100.00" in table.stdout and "Language-prior probe" in table.stdout
    assert (tmp_path / "report/report.md").is_file() and (tmp_path / "report/by_category.png").is_file()
    assert len(list((tmp_path / "report/worst").glob("*.png"))) == 6
    out = eval_json(*args[1:])
    assert 0 < out["blind"]["giou"] < 100 and out["retained"]["giou"] == pytest.approx(out["blind"]["giou"] / 100)
    assert out["retained"]["unit"] == "fraction"


def test_allow_missing_counts_and_reports(refcoco_items, tmp_path):
    path = predictions(refcoco_items, tmp_path / "gt.jsonl", "gt")
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:4]))
    args = ["eval", "--items", str(refcoco_items), "--predictions", str(path), "--protocol", "gres"]
    failed = runner.invoke(app, args)
    assert failed.exit_code == 2
    message = " ".join(failed.output.split())  # rich wraps long lines
    assert "items.jsonl: line 5: item '41413:117736' has no prediction" in message and "--allow-missing" in message
    out = eval_json("--items", refcoco_items, "--predictions", path, "--protocol", "gres", "--allow-missing")
    assert out["missing"] == 2 and out["giou"] == pytest.approx(400 / 6)
    shown = runner.invoke(app, [*args, "--allow-missing"])
    assert "missing predictions: 2" in shown.stdout


@pytest.mark.parametrize(("flag", "protocol", "takers"), [
    ("--refzom", "gres", "gsva"), ("--no-epsilons", "gres", "lisa"), ("--nt-from-mask", "lisa", "gres")])
def test_an_option_the_protocol_does_not_take_is_a_usage_error(refcoco_items, tmp_path, flag, protocol, takers):
    path = predictions(refcoco_items, tmp_path / "gt.jsonl", "gt")
    result = runner.invoke(app, ["eval", "--items", str(refcoco_items), "--predictions", str(path), "--protocol",
                                 protocol, flag])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert f"does not take {flag}" in message and f"option of: {takers}" in message


def test_items_rejects_a_bad_image_size(shared_data, tmp_path):
    result = runner.invoke(app, ["items", "--benchmark", "reasonseg", str(tmp_path), "--split", "val",
                                 "--out", str(tmp_path / "x.jsonl"), "--image-size", "480by640"])
    assert result.exit_code == 2 and "HEIGHTxWIDTH" in " ".join(result.output.split())


def test_items_from_a_groundv_dataset_then_eval_per_category(tmp_path):
    from groundv import masks as m
    from tests.conftest import box_mask

    image = {"id": 1, "file_name": "a.jpg", "width": 10, "height": 8, "source": "toyworld"}
    teacher = {"name": "rules", "model": None, "prompt_version": "v1"}
    samples = [
        {"id": "n1", "image": image, "category": "negative", "instruction": "the purple cow", "response": "none",
         "target_ids": [], "no_target": True, "mask": m.empty(8, 10), "split": "test", "teacher": teacher},
        {"id": "p1", "image": image, "category": "part", "instruction": "the handle", "response": "here",
         "target_ids": [3], "no_target": False, "mask": box_mask(8, 10, 0, 0, 4, 4), "split": "test",
         "teacher": teacher},
    ]
    (tmp_path / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    result = runner.invoke(app, ["items", "--benchmark", "groundv", str(tmp_path), "--split", "test",
                                 "--out", str(tmp_path / "items.jsonl")])
    assert result.exit_code == 0, result.output
    preds = [{"id": "n1", "mask": m.empty(8, 10), "no_target": True},
             {"id": "p1", "mask": box_mask(8, 10, 0, 0, 2, 4)}]
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))
    result = runner.invoke(app, ["eval", "--items", str(tmp_path / "items.jsonl"), "--predictions",
                                 str(tmp_path / "preds.jsonl"), "--protocol", "gres", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["by_category"]["negative"]["n_acc"] == 100.0
    assert out["by_category"]["part"]["giou"] == 50.0
    assert out["giou"] == 75.0
