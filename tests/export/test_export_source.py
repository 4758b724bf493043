"""A dataset's source is reopened exactly as it was opened: --skip-bad and the leakage guard included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from groundv.cli import app
from groundv.export.base import open_dataset_source
from groundv.export.psalm import write_psalm
from groundv.generate import generate
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.store import iter_samples, read_manifest
from groundv.verify import verify

runner = CliRunner()


@pytest.fixture
def broken_world(tmp_path: Path) -> Path:
    """A toy world of 4 scenes whose image 2 is missing: only readable with skip_bad."""
    world = write_toyworld(tmp_path / "world", 4, seed=2)
    (world / "images" / "000000000002.jpg").unlink()
    return world


def test_library_records_skip_bad_and_exclude(broken_world: Path, tmp_path: Path) -> None:
    source = ToyWorldSource(broken_world, skip_bad=True, exclude={3})
    generate(source, tmp_path / "ds", seed=1, categories=["negative", "multi_object"])
    recorded = read_manifest(tmp_path / "ds").settings["source"]
    assert recorded["skip_bad"] is True and recorded["exclude"] == [3]
    assert [scene.image_id for scene in open_dataset_source(tmp_path / "ds")] == [1, 4]
    report = write_psalm(tmp_path / "ds", tmp_path / "psalm")
    assert report.written == len(list(iter_samples(tmp_path / "ds"))) > 0 and not report.skipped


def test_library_settings_without_options_are_unchanged(tmp_path: Path) -> None:
    # datasets made without the options keep their settings (so they still resume)
    world = write_toyworld(tmp_path / "world", 2, seed=2)
    generate(ToyWorldSource(world), tmp_path / "ds", categories=["negative"])
    assert not {"skip_bad", "exclude"} & set(read_manifest(tmp_path / "ds").settings["source"])


def test_cli_dataset_with_skip_bad_and_exclude_refs_exports_and_verifies(broken_world: Path,
                                                                         tmp_path: Path) -> None:
    refs = tmp_path / "refs.json"
    refs.write_text(json.dumps([{"image_id": 4, "split": "val", "ref_id": 1, "ann_id": 1}]))
    ds = tmp_path / "ds"
    result = runner.invoke(app, ["generate", "--source", "toyworld", str(broken_world), "--skip-bad",
                                 "--exclude-refs", str(refs), "--categories", "negative,multi_object",
                                 "--out", str(ds)])
    assert result.exit_code == 0, result.output
    assert [scene.image_id for scene in open_dataset_source(ds)] == [1, 3]
    for fmt in ("psalm", "grefcoco", "lisa"):
        result = runner.invoke(app, ["export", str(ds), "--format", fmt, "--out", str(tmp_path / fmt)])
        assert result.exit_code == 0, result.output
        assert " 0 skipped" in result.output
    summary = verify(ds)
    assert sum(summary.new.values()) == len(list(iter_samples(ds))) and summary.new["unsure"] == 0
