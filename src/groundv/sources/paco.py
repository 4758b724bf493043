"""PACO (PACO-LVIS) object and part annotations.

A PACO file is LVIS-style JSON holding object *and* part annotations. An object annotation names
itself in ``obj_ann_id``; a part names its object, which becomes the part region's ``parent_id``.
Categories are ``object`` or ``object:part`` names (e.g. ``mug:handle``); where a part annotation's
``category_id`` is only in ``part_categories``, the region's category is still written
``object:part``. ``attribute_ids`` become the region's ``attributes["attributes"]`` names.
Absence facts come from ``neg_category_ids`` alone, as in LVIS.

The toy world's ``parts.json`` uses the same layout, so a COCO instances file plus PACO-style part
files can be read together with ``CocoSource(..., parts=[...])``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from groundv.scene import Scene
from groundv.sources.coco import _File
from groundv.sources.lvis import LvisSource

__all__ = ["PacoSource", "read_paco"]


class PacoSource(LvisSource):
    """PACO-LVIS annotations. Same options as :class:`~groundv.sources.coco.CocoSource`."""

    name = "paco"

    @staticmethod
    def _looks_right(parsed: _File) -> bool:
        return (LvisSource._looks_right(parsed) or bool(parsed.part_categories)
                or any(a.obj_ann_id is not None for a in parsed.annotations))


def read_paco(annotations: str | Path, **options: Any) -> Iterator[Scene]:
    """Stream the scenes of a PACO file; see :class:`PacoSource`."""
    return iter(PacoSource(annotations, **options))
