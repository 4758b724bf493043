"""One generated toy-world dataset shared by the export tests (they copy it before changing anything)."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundv.generate import generate
from groundv.sources.toyworld import ToyWorldSource, write_toyworld


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 toy-world scenes, all five categories; the manifest records how to reopen the world."""
    root = tmp_path_factory.mktemp("export")
    world = write_toyworld(root / "world", 8, seed=3)
    generate(ToyWorldSource(world), root / "ds", seed=1)
    return root / "ds"
