"""The `groundv review` command and `serve`: the URL it prints, the token off loopback, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from groundv.cli import app
from groundv.review import app as review_app
from groundv.review.session import ReviewSession
from tests.review.conftest import make_client

uvicorn = pytest.importorskip("uvicorn")
runner = CliRunner()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Stands in for uvicorn's blocking run: records the config it would have served."""
    configs: list[Any] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: configs.append(self.config))
    return configs


def test_loopback_needs_no_token_and_prints_its_url(dataset: Path, started: list[Any]) -> None:
    urls: list[str] = []
    review_app.serve(ReviewSession(dataset), port=8799, announce=urls.append)
    assert urls == ["http://127.0.0.1:8799/"]
    client = make_client(started[0].app, base_url="http://127.0.0.1:8799")
    assert client.get("/api/config").status_code == 200


@pytest.mark.parametrize(("host", "shown"), [("0.0.0.0", "0.0.0.0"), ("::", "[::]"), ("192.168.7.9", "192.168.7.9")])
def test_any_other_address_needs_the_random_token(dataset: Path, started: list[Any], host: str, shown: str) -> None:
    urls: list[str] = []
    review_app.serve(ReviewSession(dataset), host=host, port=8799, announce=urls.append)
    prefix = f"http://{shown}:8799/?token="
    assert urls[0].startswith(prefix)
    token = urls[0][len(prefix):]
    assert len(token) >= 30
    client = make_client(started[0].app)
    assert client.get("/api/config").status_code == 401
    assert client.get("/api/config", params={"token": token}).status_code == 200
    urls.clear()
    review_app.serve(ReviewSession(dataset), host=host, port=8799, announce=urls.append)
    assert urls[0][len(prefix):] != token  # a new token every start


def test_cli_review_serves_the_dataset(dataset: Path, started: list[Any]) -> None:
    result = runner.invoke(app, ["review", str(dataset), "--reviewers", "2", "--reviewer", "ana", "--port", "8798"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8798/" in result.output and "two reviewers, blind" in result.output
    client = make_client(started[0].app, base_url="http://127.0.0.1:8798")
    assert client.get("/api/config").json()["reviewer"] == "ana"


def test_cli_review_bad_input(tmp_path: Path, dataset: Path, started: list[Any]) -> None:
    result = runner.invoke(app, ["review", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "manifest.json is missing" in result.output
    result = runner.invoke(app, ["review", str(dataset), "--reviewer", "a/b"])
    assert result.exit_code == 2 and "--reviewer" in result.output
    assert runner.invoke(app, ["review", str(dataset), "--reviewers", "3"]).exit_code == 2
    assert not started
