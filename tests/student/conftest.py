"""A tiny generated dataset and prepared training set for the student tests (torch required)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the student needs the 'student' extra (torch)")

from groundv.generate import generate
from groundv.sources.toyworld import ToyWorldSource, write_toyworld
from groundv.student.data import TrainingSet, read_records


@pytest.fixture(scope="package")
def toy_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All five categories generated from 5 toy-world scenes (the world beside it)."""
    root = tmp_path_factory.mktemp("student")
    world = write_toyworld(root / "world", scenes=5, seed=4)
    info = {"format": "toyworld", "path": str(world.resolve()), "images": str((world / "images").resolve())}
    generate(ToyWorldSource(world), root / "ds", seed=4, source_info=info)
    return root / "ds"


@pytest.fixture(scope="package")
def training_set(toy_dataset: Path) -> TrainingSet:
    """The dataset's records at a small input size, with the trainable hashed text encoder."""
    return TrainingSet(read_records([toy_dataset]), height=24, width=32, text="hashed")
