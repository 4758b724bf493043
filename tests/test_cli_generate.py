"""`groundv generate`, `stats`, `show`, and a real SIGKILL in the middle of a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from PIL import Image
from typer.testing import CliRunner

from groundv.cli import app
from groundv.store import COMPLETED, MANIFEST

runner = CliRunner()


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_generate_stats_show_on_the_toy_world(tmp_path):
    out = tmp_path / "ds"
    result = runner.invoke(app, ["generate", "--scenes", "6", "--out", str(out), "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert (out / "toyworld/instances.json").is_file() and (out / MANIFEST).is_file()
    assert "samples" in result.output and "By category" in result.output

    stats = runner.invoke(app, ["stats", str(out)])
    assert stats.exit_code == 0, stats.output
    for word in ("negative", "multi_object", "reasoning", "multi_granularity", "part", "Samples by subtype"):
        assert word in stats.output

    first = orjson.loads((out / "samples-00000.jsonl").read_bytes().splitlines()[0])
    png = tmp_path / "one.png"
    shown = runner.invoke(app, ["show", str(out), "--id", first["id"], "--out", str(png)])
    assert shown.exit_code == 0, shown.output
    with Image.open(png) as im:
        assert im.width >= 640 and im.height > first["image"]["height"]

    # the same command again resumes: nothing to do, same files
    before = files(out)
    again = runner.invoke(app, ["generate", "--scenes", "6", "--out", str(out), "--seed", "2"])
    assert again.exit_code == 0, again.output
    assert files(out) == before


def test_generate_from_a_world_folder_and_a_category_list(tmp_path):
    assert runner.invoke(app, ["toyworld", "--scenes", "3", "--out", str(tmp_path / "w")]).exit_code == 0
    result = runner.invoke(app, ["generate", "--world", str(tmp_path / "w"), "--categories", "negative,part",
                                 "--out", str(tmp_path / "ds"), "--limit", "2"])
    assert result.exit_code == 0, result.output
    manifest = orjson.loads((tmp_path / "ds" / MANIFEST).read_bytes())
    assert manifest["settings"]["categories"] == ["negative", "part"] and manifest["images"] == 2


def test_generate_on_real_coco(shared_data, tmp_path):
    result = runner.invoke(app, [
        "generate", "--source", "coco", str(shared_data / "coco/annotations/instances_train2017_subset.json"),
        "--images", str(shared_data / "coco/train2017"), "--out", str(tmp_path), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "no part regions" in result.output
    manifest = orjson.loads((tmp_path / MANIFEST).read_bytes())
    assert manifest["unsupported"]["part"] == {"no part regions": 5}
    line = (tmp_path / "samples-00000.jsonl").read_bytes().splitlines()[0]
    shown = runner.invoke(app, ["show", str(tmp_path), "--id", orjson.loads(line)["id"]])
    assert shown.exit_code == 0, shown.output
    assert list((tmp_path / "show").glob("*.png"))


@pytest.mark.parametrize(("args", "message"), [
    (["--scenes", "3", "--world", "w"], "exactly one source"),
    ([], "exactly one source"),
    (["--source", "coco"], "needs the PATH"),
    (["--scenes", "3", "--images", "x"], "go with --source"),
    (["--scenes", "3", "--categories", "parts"], "unknown categories"),
    (["--scenes", "3", "--teacher", "gpt"], "unknown teacher"),
])
def test_generate_usage_errors(tmp_path, args, message):
    result = runner.invoke(app, ["generate", "--out", str(tmp_path / "ds"), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_refuses_foreign_folders_and_other_settings(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    result = runner.invoke(app, ["generate", "--scenes", "2", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "not a groundv dataset" in result.output
    assert not (tmp_path / "toyworld").exists()  # refused before rendering anything into it

    ds = tmp_path / "ds"
    assert runner.invoke(app, ["generate", "--scenes", "2", "--out", str(ds)]).exit_code == 0
    other = runner.invoke(app, ["generate", "--scenes", "2", "--out", str(ds), "--seed", "1"])
    assert other.exit_code == 2
    assert "other settings" in other.output and "--force" in other.output
    forced = runner.invoke(app, ["generate", "--scenes", "2", "--out", str(ds), "--seed", "1", "--force"])
    assert forced.exit_code == 0, forced.output


def test_show_and_stats_errors(tmp_path):
    assert runner.invoke(app, ["stats", str(tmp_path)]).exit_code == 2
    assert runner.invoke(app, ["generate", "--scenes", "1", "--out", str(tmp_path / "ds")]).exit_code == 0
    result = runner.invoke(app, ["show", str(tmp_path / "ds"), "--id", "nope"])
    assert result.exit_code == 2 and "no sample with id" in result.output


# -- a real SIGKILL -----------------------------------------------------------------------------------

# Runs the real command in a child process, slowed (each scene sleeps) or stopped dead between a unit's
# flushed samples and its completion marker, so that the kill lands inside a run.
CHILD = """
import sys, time
from groundv import generate, store

mode, hang_at = sys.argv[1], int(sys.argv[2])
if mode == "slow":
    run = generate._Worker.run
    def slow(self, *a, **k):
        time.sleep(0.03)
        return run(self, *a, **k)
    generate._Worker.run = slow
else:
    class Log:
        def __init__(self, f):
            self.f, self.n = f, 0
        def write(self, b):
            self.n += 1
            if self.n == hang_at:
                time.sleep(3600)  # the unit's samples are flushed, its marker never comes
            return self.f.write(b)
        def flush(self):
            self.f.flush()
        def close(self):
            self.f.close()
    init = store.Dataset.__init__
    def patched(self, *a, **k):
        init(self, *a, **k)
        self._log = Log(self._log)
    store.Dataset.__init__ = patched
from groundv.cli import main
sys.argv = ["groundv", *sys.argv[3:]]
main()
"""


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.is_file() else 0


@pytest.mark.parametrize(("mode", "kill_after"), [("slow", 30), ("hang", 16)])
def test_sigkill_then_resume_gives_the_same_files(tmp_path, mode, kill_after):
    args = ["generate", "--scenes", "40", "--seed", "4"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    done = subprocess.run([sys.executable, "-c", "from groundv.cli import main; main()", *args,
                           "--out", str(whole)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    child = subprocess.Popen([sys.executable, "-c", CHILD, mode, str(kill_after), *args, "--out", str(killed)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = killed / COMPLETED
    deadline = time.monotonic() + 120
    while _lines(log) < kill_after - 1 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    if mode == "hang":
        time.sleep(0.3)  # let it reach the hang: samples flushed, marker not written
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    child.stderr.close() if child.stderr else None
    units = 40 * 5
    assert 0 < _lines(log) < units  # really killed in the middle
    if mode == "hang":
        marked = {(e["image_id"], e["category"]) for e in map(orjson.loads, log.read_bytes().splitlines())}
        shard = (killed / "samples-00000.jsonl").read_bytes().splitlines()
        orphans = [s for s in map(orjson.loads, shard) if (s["image"]["id"], s["category"]) not in marked]
        assert orphans  # a unit's samples are on disk without its marker

    resumed = subprocess.run([sys.executable, "-c", "from groundv.cli import main; main()", *args,
                              "--out", str(killed)], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert files(killed) == files(whole)
    assert (killed / "toyworld/instances.json").read_bytes() == (whole / "toyworld/instances.json").read_bytes()


def test_generate_takes_the_annotations_as_an_option(shared_data, tmp_path):
    from typer.testing import CliRunner

    from groundv.cli import app

    ann = shared_data / "coco/annotations/instances_val2017_subset.json"
    result = CliRunner().invoke(app, ["generate", "--source", "coco", "--annotations", str(ann), "--images",
                                      str(shared_data / "coco/val2017"), "--categories", "negative",
                                      "--limit", "2", "--out", str(tmp_path / "ds")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ds/manifest.json").is_file()
    twice = CliRunner().invoke(app, ["generate", "--source", "coco", str(ann), "--annotations",
                                     str(tmp_path / "x.json"), "--out", str(tmp_path / "ds2")])
    assert twice.exit_code == 2 and "give the annotation file once" in twice.output


def test_scenes_or_seed_changed_rerenders_the_world_only_with_force(tmp_path):
    from groundv.sources.toyworld import world_info

    runner = CliRunner()
    out = tmp_path / "ds"
    assert runner.invoke(app, ["generate", "--scenes", "3", "--out", str(out)]).exit_code == 0
    refused = runner.invoke(app, ["generate", "--scenes", "2", "--seed", "5", "--out", str(out)])
    assert refused.exit_code == 2 and "another toy world" in refused.output
    assert world_info(out / "toyworld")["scenes"] == 3  # the dataset's world is untouched
    done = runner.invoke(app, ["generate", "--scenes", "2", "--seed", "5", "--out", str(out), "--force"])
    assert done.exit_code == 0, done.output
    info = world_info(out / "toyworld")
    assert (info["scenes"], info["seed"]) == (2, 5)
    assert len(list((out / "toyworld" / "images").iterdir())) == 2
    samples = [orjson.loads(line) for p in out.glob("samples-*.jsonl") for line in p.read_text().splitlines()]
    assert samples and {s["image"]["file_name"] for s in samples} <= set(info["file_names"])
