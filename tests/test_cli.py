from __future__ import annotations

import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from groundv.cli import app
from groundv.errors import InputError

runner = CliRunner()


def test_every_command_has_help_with_an_example():
    for command in app.registered_commands:
        doc = command.callback.__doc__ or ""
        assert doc.strip(), f"{command.name} has no help"
        assert "Example: groundv " in doc, f"{command.name} help has no example"


def test_sources_lists_every_format():
    result = runner.invoke(app, ["sources"])
    assert result.exit_code == 0
    for name in ("coco", "custom", "lvis", "paco", "panoptic", "pascal-part", "toyworld"):
        assert name in result.output


def test_inspect_coco_with_render(shared_data, tmp_path):
    result = runner.invoke(app, [
        "inspect", "coco", str(shared_data / "coco/annotations/instances_train2017_subset.json"),
        "--images", str(shared_data / "coco/train2017"), "--render", "98304", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "45" in result.output  # object regions
    png = tmp_path / "coco-98304.png"
    assert png.is_file()
    with Image.open(png) as im:
        assert im.size == (1280, 848)  # enlarged 2× for readable ids


def test_inspect_unknown_render_id_is_a_usage_error(shared_data, tmp_path):
    result = runner.invoke(app, [
        "inspect", "coco", str(shared_data / "coco/annotations/instances_train2017_subset.json"),
        "--render", "12345", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "no image with id 12345" in result.output


def test_bad_input_gives_one_error_line_and_exit_2(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{")
    result = runner.invoke(app, ["inspect", "coco", str(path)])
    assert result.exit_code == 2
    assert "error:" in result.output and "broken.json" in result.output
    assert "Traceback" not in result.output


def test_debug_shows_the_exception(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{")
    result = runner.invoke(app, ["--debug", "inspect", "coco", str(path)])
    assert isinstance(result.exception, InputError)


def test_skip_bad_reports_the_skips(tmp_path):
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
            "categories": [{"id": 1, "name": "mug"}],
            "annotations": [{"id": 5, "image_id": 1, "category_id": 9, "segmentation": [[0, 0, 2, 0, 2, 2]]}]}
    path = tmp_path / "a.json"
    path.write_text(json.dumps(data))
    assert runner.invoke(app, ["inspect", "custom", str(path)]).exit_code == 2
    result = runner.invoke(app, ["inspect", "custom", str(path), "--skip-bad"])
    assert result.exit_code == 0
    assert "annotation 5: unknown category id 9" in result.output


def test_option_a_format_does_not_take(shared_data):
    result = runner.invoke(app, ["inspect", "lvis", str(shared_data / "lvis/lvis_val_100.json"), "--masks", "x"])
    assert result.exit_code == 2
    assert "does not take --masks" in result.output


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert "groundv" in result.output


def test_inspect_with_the_leakage_guard(shared_data, tmp_path):
    refs = tmp_path / "grefs(unc).json"
    refs.write_text(json.dumps([{"ref_id": 1, "image_id": 98304, "split": "val", "ann_id": [116865]},
                                {"ref_id": 2, "image_id": 131074, "split": "train", "ann_id": [318235]}]))
    result = runner.invoke(app, [
        "inspect", "coco", str(shared_data / "coco/annotations/instances_train2017_subset.json"),
        "--exclude-refs", str(refs), "--exclude-refs", str(shared_data / "refcoco/refs(unc)_DERIVED_img98304.p")])
    assert result.exit_code == 0, result.output
    assert "excluded 1 image" in result.output
    row = next(line for line in result.output.splitlines() if "excluded (leakage guard)" in line)
    assert row.split()[-2] == "1"


def test_demo_writes_the_toy_world_and_overlays(tmp_path):
    result = runner.invoke(app, ["demo", "--scenes", "4", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "toyworld/instances.json").is_file()
    assert (tmp_path / "toyworld/parts.json").is_file()
    overlays = sorted((tmp_path / "renders").glob("*.png"))
    assert len(overlays) == 1
    assert str(overlays[0]) in result.output.replace("\n", "")
    assert "What the offline teacher knows" in result.output
    # The demo ends by scoring an always-"no target" model: it gets every negative right and nothing else.
    items = [json.loads(line) for line in (tmp_path / "eval/items.jsonl").read_text().splitlines()]
    negatives = sum(item["no_target"] for item in items)
    assert 0 < negatives < len(items)
    row = next(line for line in result.output.splitlines() if line.lstrip("│ ").startswith("gIoU"))
    assert float(row.split("│")[2]) == pytest.approx(100 * negatives / len(items), abs=0.01)


def test_toyworld_then_inspect(tmp_path):
    assert runner.invoke(app, ["toyworld", "--scenes", "3", "--seed", "5", "--out", str(tmp_path)]).exit_code == 0
    result = runner.invoke(app, ["inspect", "toyworld", str(tmp_path), "--render", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "toyworld-2.png").is_file()


@pytest.mark.parametrize(("fmt", "path", "images"), [
    ("panoptic", "coco_panoptic/panoptic_examples.json", "coco_panoptic/val2017"),
    ("pascal-part", "pascal_part", None),  # a format name with a dash, image ids with underscores
    ("lvis", "lvis/lvis_val_100.json", None),
])
def test_inspect_real_samples(shared_data, tmp_path, fmt, path, images):
    first_id = {"panoptic": "142238", "pascal-part": "2008_000652", "lvis": "266409"}[fmt]
    args = ["inspect", fmt, str(shared_data / path), "--render", first_id, "--out", str(tmp_path)]
    if fmt == "panoptic":
        args += ["--masks", str(shared_data / "coco_panoptic/panoptic_val2017")]
    if images:
        args += ["--images", str(shared_data / images)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    images_row = next(line for line in result.output.splitlines() if "│ images " in line)
    assert int(images_row.split()[-2].replace(",", "")) == {"panoptic": 2, "pascal-part": 5, "lvis": 100}[fmt]
    assert (tmp_path / f"{fmt}-{first_id}.png").is_file()


def test_error_text_with_brackets_is_printed_verbatim(tmp_path):
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
            "categories": [{"id": 1, "name": "mug"}],
            "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "segmentation": {"size": "4x4", "counts": "0"}}]}
    path = tmp_path / "a.json"
    path.write_text(json.dumps(data))
    result = runner.invoke(app, ["inspect", "custom", str(path)])
    assert result.exit_code == 2
    assert "RLE 'size' must be [height, width]" in result.output
