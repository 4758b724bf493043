"""The predictor interface: anything that turns (image, instruction) into (mask, no-target flag).

A grounding model — the small student of :mod:`groundv.student`, a baseline, or LISA/PSALM wrapped
on a GPU — implements :class:`Predictor`. It needs nothing but the picture and the text;
:meth:`Predictor.predict` returns an :class:`Answer` whose mask is a COCO RLE **at the image's size**
(DESIGN.md §3.2: predictions are scored at the items' resolution).

Baselines that read the annotations instead of the pixels (``largest``, ``oracle-category``) set
:attr:`Predictor.needs_scene`; the runner then hands them the item's :class:`~groundv.scene.Scene`
too. A real model leaves it False and never sees a region.

:data:`PREDICTORS` names the built-in ones; :func:`load_predictor` takes such a name or the folder of
a trained student (``groundv train --out MODEL``).

Example:
    >>> from groundv.predict import load_predictor
    >>> predictor = load_predictor("empty")
    >>> from PIL import Image
    >>> predictor.predict(Image.new("RGB", (4, 3)), "the red mug").no_target
    True
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from PIL import Image

from groundv.errors import ConfigError
from groundv.masks import RLE
from groundv.scene import Scene

__all__ = ["PREDICTORS", "Answer", "Predictor", "Query", "load_predictor"]

#: built-in predictor name → "module:Class" (a student is loaded from its folder instead)
PREDICTORS: dict[str, str] = {
    "empty": "groundv.predict.baselines:EmptyPredictor",
    "largest": "groundv.predict.baselines:LargestPredictor",
    "oracle-category": "groundv.predict.baselines:OracleCategoryPredictor",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """A model's answer to one instruction.

    Attributes:
        mask: COCO RLE at the image's size (all zero when ``no_target``).
        no_target: the model says nothing in the image is referred to.
    """

    mask: RLE
    no_target: bool


@dataclass(frozen=True, slots=True)
class Query:
    """One question for :meth:`Predictor.predict_batch`.

    Attributes:
        image: the RGB picture (blank, at the item's size, for predictors whose ``needs_image`` is False).
        instruction: the text.
        scene: the image's annotations, only for predictors with :attr:`Predictor.needs_scene`.
    """

    image: Image.Image
    instruction: str
    scene: Scene | None = None


class Predictor(ABC):
    """A grounding model: image + instruction → :class:`Answer`."""

    #: the name ``groundv predict --model`` knows it by
    name: ClassVar[str]
    #: True for annotation-reading baselines: the runner must pass the item's scene
    needs_scene: ClassVar[bool] = False
    #: False for predictors that never look at the pixels (the baselines): the runner then passes a blank
    #: picture of the item's size instead of reading the image file
    needs_image: ClassVar[bool] = True

    @abstractmethod
    def predict(self, image: Image.Image, instruction: str, *, scene: Scene | None = None) -> Answer:
        """Answer one instruction about one image; the mask has the image's size."""

    def predict_batch(self, queries: Sequence[Query]) -> list[Answer]:
        """Answer several queries; models that batch (the student) override this."""
        return [self.predict(q.image, q.instruction, scene=q.scene) for q in queries]


def load_predictor(spec: str | Path) -> Predictor:
    """A predictor by built-in name (:data:`PREDICTORS`) or the folder of a trained student.

    Raises:
        ConfigError: neither a known name nor a folder holding a student model.
        MissingDependency: a student folder, but torch is not installed.
    """
    target = PREDICTORS.get(str(spec))
    if target is not None:
        module, cls_name = target.split(":")
        return getattr(importlib.import_module(module), cls_name)()
    path = Path(spec)
    if path.is_dir():
        from groundv.student.predictor import StudentPredictor

        return StudentPredictor.load(path)
    raise ConfigError(f"unknown model {str(spec)!r}",
                      hint=f"use one of {', '.join(PREDICTORS)} or the folder written by `groundv train --out`")
