"""Grounding models behind one interface: :class:`Predictor` (image + instruction → mask, no-target).

Built-in baselines (``empty``, ``largest``, ``oracle-category``), the trained student
(:mod:`groundv.student`) and any real model wrapped in a :class:`Predictor` subclass are run over
evaluation items by :func:`predict_items`; :func:`write_predictions` (``groundv predict``) writes the predictions file.
"""

from __future__ import annotations

from groundv.predict.base import PREDICTORS, Answer, Predictor, Query, load_predictor
from groundv.predict.run import ImageLookup, predict_items, write_predictions

__all__ = ["PREDICTORS", "Answer", "ImageLookup", "Predictor", "Query", "load_predictor", "predict_items",
           "write_predictions"]
