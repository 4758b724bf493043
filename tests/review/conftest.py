"""A verified toy-world dataset for the review tests; tests that write get their own copy."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from groundv.generate import generate
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.verify import verify


@pytest.fixture(scope="session")
def reviewed_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 toy-world scenes, all five categories, verdicted by the rules verifier (never written to)."""
    root = tmp_path_factory.mktemp("review")
    world = write_toyworld(root / "world", 6, seed=3)
    generate(ToyWorldSource(world), root / "ds", seed=1)
    verify(root / "ds")
    return root / "ds"


@pytest.fixture
def dataset(reviewed_source: Path, tmp_path: Path) -> Path:
    """A private copy of the dataset (and the world its manifest points to, by absolute path)."""
    out = tmp_path / "ds"
    shutil.copytree(reviewed_source, out)
    return out


def make_client(app: Any, **options: Any) -> Any:
    """Starlette's TestClient for ``app`` (it runs on httpx2, from the dev extra)."""
    from starlette.testclient import TestClient

    return TestClient(app, **options)
