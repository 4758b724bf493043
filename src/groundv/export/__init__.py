"""Exports of a dataset directory to what the training codebases read: one module per format.

:data:`EXPORTERS` maps each format to ``"module:function"``; every function is
``write_<format>(dataset, out, *, split=None, force=False, **options) -> ExportReport``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from groundv.errors import ConfigError
from groundv.export.base import ExportReport

__all__ = ["EXPORTERS", "ExportReport", "get_exporter"]

#: format → "module:function" (imported only when used)
EXPORTERS: dict[str, str] = {
    "lisa": "groundv.export.lisa:write_lisa",
    "muse": "groundv.export.muse:write_muse",
    "psalm": "groundv.export.psalm:write_psalm",
    "psalm_train": "groundv.export.psalm_train:write_psalm_train",
    "grefcoco": "groundv.export.grefcoco:write_grefcoco",
    "parquet": "groundv.export.parquet:write_parquet",
}


def get_exporter(name: str) -> Callable[..., ExportReport]:
    """The ``write_<format>`` function of an export format.

    Raises:
        ConfigError: unknown format.
    """
    target = EXPORTERS.get(name)
    if target is None:
        raise ConfigError(f"unknown export format {name!r}", hint=f"choose one of: {', '.join(EXPORTERS)}")
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)
