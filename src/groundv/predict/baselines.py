"""Baselines that need no training: ``empty``, ``largest`` and ``oracle-category``.

They bound what a trained model should reach on a groundv test split:

================== ==================================================================================
``empty``          always "no target" with an all-zero mask: perfect N-Acc, zero T-Acc and zero IoU on
                   every targeted item — the floor any model that grounds must beat on T-Acc
``largest``        the mask of the largest object in the image, never "no target": what "segment the
                   most salient thing" earns without reading the instruction
``oracle-category`` every object whose category word (a synonym or its plural) occurs in the
                   instruction, "no target" when none does: a reader of the annotations that knows
                   nouns but not colours, sizes, places, parts or affordances
================== ==================================================================================

``largest`` and ``oracle-category`` read the scene's regions (:attr:`Predictor.needs_scene`), which a
real model never sees; they are yardsticks, not models. None of them reads the pixels
(:attr:`Predictor.needs_image` is False), so no image file is needed to run them.
"""

from __future__ import annotations

import re
from functools import cache

from PIL import Image

from groundv import knowledge, masks
from groundv.errors import ConfigError
from groundv.predict.base import Answer, Predictor
from groundv.scene import Scene

__all__ = ["EmptyPredictor", "LargestPredictor", "OracleCategoryPredictor"]


def _need(scene: Scene | None, name: str) -> Scene:
    if scene is None:
        raise ConfigError(f"the {name!r} baseline reads the image's annotations, but none were given",
                          hint="predict items of a groundv dataset (pass --dataset DIR) so the regions can be read")
    return scene


def _empty(image: Image.Image) -> Answer:
    return Answer(masks.empty(image.height, image.width), True)


class EmptyPredictor(Predictor):
    """Always "no target"."""

    name = "empty"
    needs_image = False

    def predict(self, image: Image.Image, instruction: str, *, scene: Scene | None = None) -> Answer:
        """An all-zero mask flagged "no target", whatever is asked."""
        return _empty(image)


class LargestPredictor(Predictor):
    """The largest object's mask, whatever is asked."""

    name = "largest"
    needs_scene = True
    needs_image = False

    def predict(self, image: Image.Image, instruction: str, *, scene: Scene | None = None) -> Answer:
        """The visible mask of the object with the most pixels (crowd regions skipped); an empty mask that
        does not claim "no target" when the image has no object."""
        objects = [r for r in _need(scene, self.name).objects if not r.iscrowd]
        if not objects:
            return Answer(masks.empty(image.height, image.width), False)
        areas = masks.areas([r.rle for r in objects])
        return Answer(objects[int(areas.argmax())].rle, False)


@cache
def _pattern(category: str) -> re.Pattern[str]:
    words = {w.lower() for name in knowledge.synonyms(category) for w in (name, knowledge.plural(name))}
    # Longest first, so "coffee mug" is tried before "mug"; whole words only ("cart" is not "car").
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b")


class OracleCategoryPredictor(Predictor):
    """Every object whose category is named in the instruction."""

    name = "oracle-category"
    needs_scene = True
    needs_image = False

    def predict(self, image: Image.Image, instruction: str, *, scene: Scene | None = None) -> Answer:
        """The union of the non-crowd objects whose category word (any synonym, singular or plural) occurs
        in the instruction as a whole word; "no target" when none does."""
        text = instruction.lower()
        chosen = [r.rle for r in _need(scene, self.name).objects
                  if not r.iscrowd and _pattern(r.category).search(text)]
        if not chosen:
            return _empty(image)
        return Answer(masks.union(chosen, (image.height, image.width)), False)
