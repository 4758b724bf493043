"""A small generated toy-world dataset shared by the predictor tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundv.generate import generate
from groundv.sources.toyworld import ToyWorldSource, write_toyworld


@pytest.fixture(scope="package")
def toy_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset of all five categories generated from 6 toy-world scenes (its world beside it)."""
    root = tmp_path_factory.mktemp("toy")
    world = write_toyworld(root / "world", scenes=6, seed=3)
    info = {"format": "toyworld", "path": str(world.resolve()), "images": str((world / "images").resolve())}
    generate(ToyWorldSource(world), root / "ds", seed=3, source_info=info)
    return root / "ds"
