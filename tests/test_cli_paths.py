"""The CLI's output paths, OS errors, Ctrl+C, warnings and entry points.

A user's mistake is ``error:`` + ``hint:`` and exit code 2, never a traceback.
"""

from __future__ import annotations

import errno
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from groundv.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A demo run in a folder whose name has a space; its output."""
    out = tmp_path_factory.mktemp("paths") / "my demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--scenes", "3"])
    assert result.exit_code == 0, result.output
    return out, result.output


def _commands(ds: Path, tmp: Path) -> dict[str, list[str]]:
    """Every command that writes, with a placeholder OUT for its output path."""
    items, preds = ds.parent / "eval" / "items.jsonl", ds.parent / "eval" / "always-no-target.jsonl"
    sample = ds / "show" / "x"  # an id is needed only after the path checks
    return {
        "toyworld": ["toyworld", "--scenes", "2", "--out", "OUT"],
        "demo": ["demo", "--scenes", "2", "--out", "OUT"],
        "generate": ["generate", "--scenes", "2", "--out", "OUT"],
        "inspect": ["inspect", "toyworld", str(ds.parent / "toyworld"), "--render", "1", "--out", "OUT"],
        "eval": ["eval", "--items", str(items), "--predictions", str(preds), "--protocol", "gres", "--report", "OUT"],
        "export": ["export", str(ds), "--format", "grefcoco", "--out", "OUT"],
        "verify": ["verify", str(ds), "--drop-disagreeing", "OUT"],
        "train": ["train", "--data", str(ds), "--out", "OUT", "--steps", "1", "--text", "hashed"],
        "reproduce": ["reproduce", "--quick", "--out", "OUT"],
        "items": ["items", "--benchmark", "groundv", str(ds), "--split", "all", "--out", "OUT"],
        "predict": ["predict", "--model", "empty", "--items", str(items), "--out", "OUT"],
        "show": ["show", str(ds), "--id", sample.name, "--out", "OUT"],
    }


FOLDER_OUT = ["toyworld", "demo", "generate", "inspect", "eval", "export", "verify", "train", "reproduce"]
FILE_OUT = ["items", "predict", "show"]


def _run(args: list[str], out: Path) -> object:
    return runner.invoke(app, [str(out) if a == "OUT" else a for a in args])


def _assert_usage_error(result: object, *words: str) -> None:
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    output = result.output  # type: ignore[attr-defined]
    assert "error:" in output and "hint:" in output and "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # type: ignore[attr-defined]
    for word in words:
        assert word in output, output


@pytest.mark.parametrize("command", FOLDER_OUT)
def test_a_file_where_a_folder_is_needed(command: str, demo: tuple[Path, str], tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine")
    _assert_usage_error(_run(_commands(demo[0] / "dataset", tmp_path)[command], afile), "is a file, not a folder")
    assert afile.read_text() == "mine"


@pytest.mark.parametrize("command", FILE_OUT)
def test_a_folder_where_a_file_is_needed(command: str, demo: tuple[Path, str], tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    _assert_usage_error(_run(_commands(demo[0] / "dataset", tmp_path)[command], folder), "is a folder, not a file")
    assert not any(folder.iterdir())


@pytest.mark.parametrize("command", FOLDER_OUT + FILE_OUT)
def test_a_parent_that_is_a_file(command: str, demo: tuple[Path, str], tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine")
    _assert_usage_error(_run(_commands(demo[0] / "dataset", tmp_path)[command], afile / "x" / "y.png"),
                        f"{afile} is a file, not a folder")


@pytest.mark.parametrize("name", ["shows", "picture.txt"])
def test_show_needs_a_picture_extension(name: str, demo: tuple[Path, str], tmp_path: Path) -> None:
    args = _commands(demo[0] / "dataset", tmp_path)["show"]
    _assert_usage_error(_run(args, tmp_path / name), "cannot tell the picture format", ".png")


def test_os_errors_on_user_paths_are_error_and_hint(demo: tuple[Path, str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import groundv.eval

    target = tmp_path / "items.jsonl"

    def denied(records: object, path: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(groundv.eval, "write_jsonl", denied)
    args = ["items", "--benchmark", "groundv", str(demo[0] / "dataset"), "--split", "all", "--out", str(target)]
    result = runner.invoke(app, args)
    _assert_usage_error(result, f"{target}: Permission denied", "permissions")

    def full(records: object, path: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(groundv.eval, "write_jsonl", full)
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "error: No space left on device" in result.output
    assert "disk is full" in result.output

    debug = runner.invoke(app, ["--debug", *args])  # --debug still shows the traceback
    assert isinstance(debug.exception, OSError) and debug.exception.errno == errno.ENOSPC


def test_os_errors_that_are_bugs_keep_their_traceback(demo: tuple[Path, str], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import groundv
    import groundv.eval

    own = str(Path(groundv.__file__).parent / "knowledge" / "data" / "missing.json")
    args = ["items", "--benchmark", "groundv", str(demo[0] / "dataset"), "--split", "all",
            "--out", str(tmp_path / "i.jsonl")]
    for exc in (FileNotFoundError(errno.ENOENT, "No such file or directory", own),  # groundv's own file
                ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")):  # not about a path

        def broken(records: object, path: object, exc: OSError = exc) -> int:
            raise exc

        monkeypatch.setattr(groundv.eval, "write_jsonl", broken)
        result = runner.invoke(app, args)
        assert result.exception is exc and "error:" not in result.output


@pytest.mark.parametrize(("command", "kept"), [
    (["generate", "--scenes", "2", "--out", "OUT"],
     "the finished units are kept in OUT; run the same command to resume"),
    (["verify", "OUT"], "the verdicts so far are kept in OUT/verdicts.jsonl; run the same command to resume"),
])
def test_ctrl_c_says_what_is_kept_and_how_to_resume(command: list[str], kept: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import groundv.generate
    import groundv.verify

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(groundv.generate, "generate", interrupted)
    monkeypatch.setattr(groundv.verify, "verify", interrupted)
    out = tmp_path / "ds"
    result = runner.invoke(app, [str(out) if a == "OUT" else a for a in command])
    assert result.exit_code == 130
    assert "interrupted: " + kept.replace("OUT", str(out)) in result.output.replace("\n", " ").replace("  ", " ")


def test_ctrl_c_elsewhere_says_interrupted(demo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import groundv.store

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(groundv.store, "read_manifest", interrupted)
    result = runner.invoke(app, ["stats", str(demo[0] / "dataset")])
    assert result.exit_code == 130 and "interrupted" in result.output


@pytest.mark.parametrize(("samples", "rejected", "warned"), [(0, 148, True), (3, 97, True), (30, 70, False)])
def test_generate_warns_when_almost_every_plan_is_rejected(samples: int, rejected: int, warned: bool, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import groundv.generate
    from groundv.cli import generate as cli_generate
    from groundv.store import Manifest

    def generated(source: object, out: Path, **kwargs: object) -> Manifest:
        return Manifest({"samples": samples, "rejected": rejected, "settings": {}})

    monkeypatch.setattr(groundv.generate, "generate", generated)
    monkeypatch.setattr(cli_generate, "_stats_tables", lambda manifest, out: [])
    out = tmp_path / "my ds"
    result = runner.invoke(app, ["generate", "--scenes", "2", "--out", str(out), "--teacher", "openai",
                                 "--model", "m", "--base-url", "http://127.0.0.1:9/v1"])
    assert result.exit_code == 0, result.output
    text = result.output.replace("\n", " ")
    assert ("warning:" in text) is warned
    if warned:
        assert f"only {samples} of {samples + rejected} plans were accepted" in text
        assert "--model and --base-url" in text and f"groundv stats {shlex.quote(str(out))}" in text


def test_next_steps_quote_paths_with_spaces(demo: tuple[Path, str]) -> None:
    out, output = demo
    text = output.replace("\n", "")
    assert f"groundv stats {shlex.quote(str(out / 'dataset'))}" in text
    assert f"groundv review {shlex.quote(str(out / 'dataset'))}" in text
    assert f"--world {shlex.quote(str(out / 'toyworld'))}" in text


@pytest.mark.parametrize("module", ["groundv", "groundv.cli"])
def test_python_dash_m_runs_the_command(module: str) -> None:
    result = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("groundv "), result.stderr
    usage = subprocess.run([sys.executable, "-m", module, "stats"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "Usage: groundv stats" in usage.stderr


def test_data_warnings_print_as_one_warning_line(shared_data, tmp_path):
    # The console script prints a repair in a user's data as "warning: …", not Python's source-line format.
    done = subprocess.run([sys.executable, "-m", "groundv", "items", "--benchmark", "reasonseg",
                           str(shared_data / "reasonseg"), "--split", "val", "--image-size", "480x640",
                           "--out", str(tmp_path / "items.jsonl")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "outside the 640×480 image" in line]
    assert lines and all(line.startswith("warning: ") for line in lines)
    assert "GroundvWarning" not in done.stderr
