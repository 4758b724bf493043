"""Annotation formats, one module each, every one streaming :class:`~groundv.scene.Scene` objects.

:data:`FORMATS` lists them (``groundv sources`` prints it); :func:`open_source` opens one by name
with the options the CLI collects. Modules are imported only when their format is used, so an
optional dependency of one format never slows or breaks the others.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groundv.errors import ConfigError
from groundv.sources.base import Problem, Problems, Source

__all__ = ["FORMATS", "Format", "Problem", "Problems", "Source", "open_source"]


@dataclass(frozen=True)
class Format:
    """A source format: its name, what it reads, and the class that reads it."""

    name: str
    summary: str
    path: str
    target: str  # "module:Class"

    def load(self) -> type[Source]:
        module, cls = self.target.split(":")
        return getattr(importlib.import_module(module), cls)


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("coco", "COCO 2017 instances: polygons, RLE, crowd; its 80 classes are exhaustive, so the "
           "rest are absent", "instances_*.json", "groundv.sources.coco:CocoSource"),
    Format("custom", "your own COCO-format dataset; absence only where images list neg_category_ids",
           "instances JSON", "groundv.sources.coco:CustomCocoSource"),
    Format("lvis", "LVIS v1 / v0.5: federated labels, neg_category_ids are the absence facts",
           "lvis_v1_*.json", "groundv.sources.lvis:LvisSource"),
    Format("paco", "PACO-LVIS: objects and object:part regions linked by obj_ann_id",
           "paco_lvis_v1_*.json", "groundv.sources.paco:PacoSource"),
    Format("panoptic", "COCO panoptic: PNG segment maps + JSON, things and stuff",
           "panoptic_*.json", "groundv.sources.panoptic:PanopticSource"),
    Format("pascal-part", "Pascal-Part .mat files: objects with overlapping part masks",
           "folder of .mat (or one .mat)", "groundv.sources.pascal_part:PascalPartSource"),
    Format("toyworld", "groundv's built-in world: instances.json + parts.json + images/",
           "folder written by 'groundv toyworld'", "groundv.sources.toyworld:ToyWorldSource"),
)}


def open_source(format: str, path: str | Path, **options: Any) -> Source:
    """Open a source by format name.

    Args:
        format: a key of :data:`FORMATS`.
        path: the format's main file or folder.
        **options: passed to the format's class (``images``, ``parts``, ``skip_bad``, ``exclude``,
            ...); options left as None are not passed.

    Raises:
        ConfigError: unknown format, or an option that format does not take.
        InputError: the files are wrong (from the format's reader).
    """
    spec = FORMATS.get(format)
    if spec is None:
        raise ConfigError(f"unknown source format {format!r}", hint=f"choose one of: {', '.join(FORMATS)}")
    cls = spec.load()
    accepted = inspect.signature(cls.__init__).parameters
    given = {k: v for k, v in options.items() if v not in (None, (), [])}
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
        raise ConfigError(f"format {format!r} does not take {flags}")
    return cls(path, **given)
