"""Reproduction in miniature: the Ground-V effect measured end to end on the toy world.

:func:`reproduce` (``groundv reproduce``) generates data, trains the student on each training mix,
evaluates every run with the ``gres`` protocol per category and reports mean ± spread over seeds with
the paper's expected patterns checked (:mod:`groundv.reproduce.report`).
"""

from __future__ import annotations

from groundv.reproduce.run import BASELINE, BASELINES, FULL, QUICK, ReproduceConfig, reproduce, run_names

__all__ = ["BASELINE", "BASELINES", "FULL", "QUICK", "ReproduceConfig", "reproduce", "run_names"]
