"""LVIS v1 and v0.5 instance annotations.

LVIS is federated: a category is *verified absent* from an image only when it is in the image's
``neg_category_ids``. A category that is merely not annotated is unknown, and a category in
``not_exhaustive_category_ids`` is present but not every instance has a mask (so "all the X" must
never be asked about it). Both lists become absence facts of the scene; nothing else does.

Images: v1 records may lack ``file_name`` and are found through ``coco_url``
(``train2017/000000155379.jpg``); v0.5 records name the 2014 release (``COCO_val2014_%012d.jpg``) and
are found in a COCO 2017 folder by their id, since both releases share image ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from groundv.errors import InputError
from groundv.scene import Scene
from groundv.sources.coco import CocoSource, _File, _Image, _use_format

__all__ = ["LvisSource", "read_lvis"]


class LvisSource(CocoSource):
    """LVIS annotations (v1 or v0.5). Same options as :class:`~groundv.sources.coco.CocoSource`."""

    name = "lvis"
    exhaustive_default = False

    def _check_format(self, parsed: _File, path: Path) -> None:
        """Refuse a file with nothing of LVIS in it: read as LVIS it would yield no absence facts at all."""
        if not self._looks_right(parsed):
            raise InputError(f"does not look like {self.name.upper()}: no category has 'frequency' or "
                             f"'synonyms' and no image lists 'neg_category_ids' or "
                             f"'not_exhaustive_category_ids'", file=path,
                             hint=f"COCO instances (every class labelled) are {_use_format('coco')}; "
                                  f"your own COCO-format data is format 'custom'")

    @staticmethod
    def _looks_right(parsed: _File) -> bool:
        return (any(c.frequency is not None or c.synonyms is not None for c in parsed.categories)
                or any(i.neg_category_ids is not None or i.not_exhaustive_category_ids is not None
                       for i in parsed.images))

    def _file_name(self, img: _Image) -> str:
        name = super()._file_name(img)
        if self.images is not None and name.startswith("COCO_") and not (self.images / name).is_file():
            return f"{img.id:012d}.jpg"
        return name


def read_lvis(annotations: str | Path, **options: Any) -> Iterator[Scene]:
    """Stream the scenes of an LVIS file; see :class:`LvisSource`."""
    return iter(LvisSource(annotations, **options))
