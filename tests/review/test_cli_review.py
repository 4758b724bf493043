"""The `groundv review` command and `serve`: the URL it prints, the token off loopback, bad input."""

from __future__ import annotations

import re
import socket
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
    """Stands in for uvicorn's blocking run: records the config it would have served (on the socket bound first)."""
    configs: list[Any] = []

    def run(self: Any, sockets: list[socket.socket] | None = None) -> None:
        assert sockets, "serve binds the port itself, before it prints any URL"
        configs.append(self.config)

    monkeypatch.setattr(uvicorn.Server, "run", run)
    return configs


def test_loopback_needs_no_token_and_prints_its_url(dataset: Path, started: list[Any]) -> None:
    urls: list[str] = []
    review_app.serve(ReviewSession(dataset), port=8799, announce=lambda url, who: urls.append(url))
    assert urls == ["http://127.0.0.1:8799/"]
    client = make_client(started[0].app, base_url="http://127.0.0.1:8799")
    assert client.get("/api/config").status_code == 200


@pytest.mark.parametrize(("host", "shown"), [
    ("0.0.0.0", ["http://127.0.0.1:8799/", f"http://{socket.gethostname()}:8799/"]),
    ("::", ["http://[::1]:8799/", f"http://{socket.gethostname()}:8799/"]),
    ("192.168.7.9", ["http://192.168.7.9:8799/"]),
])
def test_any_other_address_needs_the_random_token(dataset: Path, started: list[Any], monkeypatch: pytest.MonkeyPatch,
                                                  host: str, shown: list[str]) -> None:
    # The address need not be this machine's: what is tested is the token and the URLs, not the bind.
    def listen(_host: str, _port: int) -> socket.socket:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        return sock

    monkeypatch.setattr(review_app, "_listen", listen)
    urls: list[tuple[str, str]] = []
    review_app.serve(ReviewSession(dataset), host=host, port=8799, announce=lambda url, who: urls.append((url, who)))
    assert [url.split("?token=")[0] for url, _ in urls] == shown
    token = urls[0][0].split("?token=")[1]
    assert len(token) >= 30 and all(url.endswith(f"?token={token}") for url, _ in urls)
    if len(shown) == 2:  # bound to every address: say which URL works from where
        assert [who for _, who in urls] == ["on this machine", "from other machines"]
    client = make_client(started[0].app)
    assert client.get("/api/config").status_code == 401
    assert client.get("/api/config", params={"token": token}).status_code == 200
    urls.clear()
    review_app.serve(ReviewSession(dataset), host=host, port=8799, announce=lambda url, who: urls.append((url, who)))
    assert urls[0][0].split("?token=")[1] != token  # a new token every start


def test_a_busy_port_is_an_error_before_any_url(dataset: Path, started: list[Any]) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = runner.invoke(app, ["review", str(dataset), "--port", str(port)])
        suggested = int(re.search(r"e\.g\. --port (\d+)", result.output).group(1))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", suggested))  # the port the hint suggests is free
    assert result.exit_code == 2, result.output
    assert f"port {port} on 127.0.0.1 is in use" in result.output and suggested != port
    assert "http://" not in result.output and not started


def test_wildcard_host_prints_urls_for_this_machine_and_others(dataset: Path, started: list[Any]) -> None:
    result = runner.invoke(app, ["review", str(dataset), "--host", "0.0.0.0", "--port", "8797"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8797/?token=" in result.output and "on this machine" in result.output
    assert f"http://{socket.gethostname()}:8797/?token=" in result.output and "from other machines" in result.output
    assert "http://0.0.0.0" not in result.output


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
