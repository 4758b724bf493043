"""groundv export through the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from groundv.cli import app
from groundv.store import iter_samples

runner = CliRunner()




def test_export_grefcoco_then_refuse_non_empty_out(dataset, tmp_path):
    out = tmp_path / "g"
    result = runner.invoke(app, ["export", str(dataset), "--format", "grefcoco", "--out", str(out)])
    assert result.exit_code == 0, result.output
    n = len(list(iter_samples(dataset)))
    assert f"{n} samples written, 0 skipped" in result.output
    assert "instances.json" in result.output
    assert len(json.loads((out / "grefs(unc).json").read_text())) == n

    again = runner.invoke(app, ["export", str(dataset), "--format", "grefcoco", "--out", str(out)])
    assert again.exit_code == 2 and "not empty" in again.output
    forced = runner.invoke(app, ["export", str(dataset), "--format", "psalm", "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (out / "psalm.json").is_file()


def test_export_reports_skipped_lines(dataset, tmp_path):
    copy = tmp_path / "ds"
    copy.mkdir()
    for path in dataset.iterdir():
        if path.is_file():
            (copy / path.name).write_bytes(path.read_bytes())
    with (copy / "samples-00000.jsonl").open("a") as handle:
        handle.write("not json\n")
    result = runner.invoke(app, ["export", str(copy), "--format", "parquet", "--out", str(tmp_path / "hf")])
    assert result.exit_code == 0, result.output
    assert "1 skipped" in result.output and "not valid JSON" in result.output


def test_unknown_format_and_copy_images_where_not_taken(dataset, tmp_path):
    bad = runner.invoke(app, ["export", str(dataset), "--format", "nope", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown export format" in bad.output
    copy = runner.invoke(app, ["export", str(dataset), "--format", "psalm", "--out", str(tmp_path / "y"),
                               "--copy-images"])
    assert copy.exit_code == 2 and "--copy-images" in copy.output
    assert not (tmp_path / "y").exists()
