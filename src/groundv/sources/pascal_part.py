"""Pascal-Part (Chen et al., CVPR 2014) in its original MATLAB format: one ``.mat`` file per image.

Each file holds a struct ``anno`` with ``imname`` (the VOC image id, e.g. ``2008_000652``) and
``objects``, a 1×K struct array of ``{class, class_ind, mask, parts}``; ``parts`` is a 1×M struct
array of ``{part_name, mask}``, or an empty 0×0 array when the object has no parts. Masks are H×W
``uint8`` bitmaps of the image's size.

What becomes of it:

* each object is an ``object`` region; ``category`` is the VOC class name (``person``,
  ``aeroplane``), ``category_id`` its 1-based VOC index (``class_ind``);
* each part is a ``part`` region whose parent is its object; ``category`` is written
  ``object:part`` with Pascal-Part's raw abbreviation kept (``person:lear``, ``aeroplane:wheel_3``),
  and ``category_id`` is 0, since Pascal-Part gives parts no ids;
* part masks are kept as they are: they overlap one another (the sample person's parts share
  thousands of pixels), so they are **not** a partition of the object;
* ``bbox`` is the tight box of the mask; an all-zero mask is left out and recorded as a repair.

Ids. ``image_id`` is the ``imname`` string (``"2008_000652"``), as VOC names its images. Pascal-Part
has no annotation ids, so region ids are derived from the image name and the positions in the file,
which makes them unique across the whole dataset and stable between runs::

    region id = YYYYNNNNNN · 100 000 + object · 1 000 + part
    2008_000652, object 1          → 200800065201000
    2008_000652, object 1, part 3  → 200800065201003

``object`` counts from 1 (MATLAB's ``anno.objects(1)``) up to 99, ``part`` from 1 up to 999 (0 is the
object itself). The largest id stays below 2⁵³, so it survives a round trip through JSON numbers.

Absence: VOC labels its 20 classes exhaustively in every image and Pascal-Part annotates every VOC
object, so each of the 20 classes without an object in the image is verified absent. A class whose
object was skipped or left out is never listed as absent.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
from PIL import Image

from groundv import masks
from groundv.errors import InputError
from groundv.scene import Region, Scene
from groundv.sources.base import Source, resolve_image

__all__ = ["VOC_CLASSES", "PascalPartSource", "read_pascal_part", "region_id"]

#: The 20 PASCAL VOC classes, in VOC index order (``class_ind`` 1..20).
VOC_CLASSES: tuple[str, ...] = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor",
)

_IMNAME = re.compile(r"(\d{4})_(\d{6})")
_MAX_OBJECTS = 99
_MAX_PARTS = 999


def region_id(imname: str, obj: int, part: int = 0) -> int:
    """The region id of object ``obj`` (from 1) or of its part ``part`` (from 1) in image ``imname``.

    Raises:
        ValueError: ``imname`` is not a VOC name ``YYYY_NNNNNN``, or an index is out of range.

    Example:
        >>> region_id("2008_000652", 1, 3)
        200800065201003
    """
    match = _IMNAME.fullmatch(imname)
    if match is None:
        raise ValueError(f"image name {imname!r} is not a VOC name like 2008_000652")
    if not 1 <= obj <= _MAX_OBJECTS or not 0 <= part <= _MAX_PARTS:
        raise ValueError(f"object {obj} / part {part} out of range (at most {_MAX_OBJECTS} objects "
                         f"of {_MAX_PARTS} parts each)")
    image_number = int(match[1]) * 1_000_000 + int(match[2])
    return image_number * 100_000 + obj * 1_000 + part


class PascalPartSource(Source):
    """Pascal-Part ``.mat`` annotations.

    Args:
        path: a folder of ``.mat`` files (read in name order) or one ``.mat`` file.
        images: folder holding the VOC jpgs (``<imname>.jpg``); when given, every image must exist.
            Default: the folder of the ``.mat`` files, used only where the jpg is there.
        skip_bad: count and record bad files, objects and parts instead of raising.
        exclude: image names to leave out (the leakage guard).

    Raises:
        InputError: the path does not exist or holds no ``.mat`` file. Problems inside a file are
            raised (or skipped) while iterating.

    Example:
        >>> src = PascalPartSource("Annotations_Part/")  # doctest: +SKIP
        >>> [r.category for r in next(iter(src)).parts][:2]  # doctest: +SKIP
        ['person:head', 'person:lear']
    """

    name = "pascal-part"

    def __init__(
        self,
        path: str | Path,
        *,
        images: str | Path | None = None,
        skip_bad: bool = False,
        exclude: Sequence[int | str] | frozenset[int | str] = (),
    ) -> None:
        super().__init__(skip_bad=skip_bad, exclude=exclude)
        self.path = Path(path)
        self.images = Path(images) if images is not None else None
        if self.path.is_dir():
            self.files = sorted(self.path.glob("*.mat"))
            if not self.files:
                raise InputError("holds no .mat files", file=self.path,
                                 hint="pass the folder of Pascal-Part annotations (Annotations_Part/)")
        elif self.path.is_file():
            self.files = [self.path]
        else:
            raise InputError("file not found", file=self.path)

    def __len__(self) -> int:
        return len(self.files)

    @property
    def categories(self) -> list[str]:
        """The 20 VOC object classes (part names are open-ended)."""
        return list(VOC_CLASSES)

    # -- scenes --------------------------------------------------------------------------------

    def _scenes(self) -> Iterator[Scene]:
        seen: dict[str, Path] = {}
        for file in self.files:
            try:
                anno = self._load(file)
                imname = _string(_field(anno, "imname", file, None), "imname", file, None)
                if _IMNAME.fullmatch(imname) is None:  # the region id scheme needs it
                    raise InputError(f"{imname!r} is not a VOC image name like 2008_000652",
                                     file=file, where="imname")
                if imname in seen:
                    raise InputError(f"image {imname} is also annotated in {seen[imname]}", file=file,
                                     hint="each image must have one .mat file")
            except InputError as err:
                self.problems.fail(err)
                continue
            seen[imname] = file
            if not self._keep(imname):
                continue
            scene = self._scene(file, anno, imname)
            if scene is not None:
                yield scene

    def _load(self, file: Path) -> Any:
        """``loadmat(file)['anno'][0, 0]``, with scipy's errors and warnings turned into ours."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with file.open("rb") as fh:
                    data = scipy.io.loadmat(fh)
            except NotImplementedError as exc:  # MATLAB v7.3 files are HDF5
                raise InputError(f"cannot be read by scipy ({exc})", file=file,
                                 hint="save it again in MATLAB with -v7") from None
            # loadmat raises whatever its parser hits on a corrupt file (IndexError, OSError,
            # MatReadError, ValueError, ...): all of them mean "not a readable .mat file".
            except Exception as exc:
                raise InputError(f"not a readable .mat file ({type(exc).__name__}: {exc})", file=file,
                                 hint="the file may be truncated; download it again") from None
        for w in caught:
            self.problems.repaired(f"scipy: {w.message}", file=file)
        anno = data.get("anno")
        if not isinstance(anno, np.ndarray) or anno.dtype.names is None or anno.size != 1:
            raise InputError("has no 'anno' struct", file=file,
                             hint="expected a Pascal-Part annotation (anno.imname, anno.objects)")
        return anno.flat[0]

    def _image_size(self, file: Path, imname: str, objects: Sequence[Any]) -> tuple[Path | None, int, int]:
        where = f"image {imname}"
        jpg = f"{imname}.jpg"
        if self.images is not None:
            path = resolve_image(self.images, jpg, file=file, where=where)
        else:
            path = file.parent / jpg if (file.parent / jpg).is_file() else None
        if path is not None:
            try:
                with Image.open(path) as im:
                    width, height = im.size
            except (OSError, ValueError, SyntaxError) as exc:
                raise InputError(f"image {path} cannot be read ({exc})", file=file, where=where) from None
            return path, height, width
        for obj in objects:  # no jpg: the first object mask gives the size, the others are checked
            mask = obj["mask"] if "mask" in (obj.dtype.names or ()) else None
            if isinstance(mask, np.ndarray) and mask.ndim == 2:
                return None, int(mask.shape[0]), int(mask.shape[1])
        raise InputError("cannot tell the image size: no object mask and no image file", file=file,
                         where=where, hint="pass the folder of VOC jpgs with --images")

    def _scene(self, file: Path, anno: Any, imname: str) -> Scene | None:
        where = f"image {imname}"
        try:
            objects = _structs(_field(anno, "objects", file, where), file, where)
            path, height, width = self._image_size(file, imname, objects)
        except InputError as err:
            self.problems.fail(err)
            return None
        if len(objects) > _MAX_OBJECTS:
            self.problems.fail(InputError(f"{len(objects)} objects; the id scheme allows {_MAX_OBJECTS}",
                                          file=file, where=where))
            return None

        regions: list[Region] = []
        unsure: set[str] = set()  # classes of objects left out: never claimed absent
        for k, obj in enumerate(objects, start=1):
            obj_where = f"object #{k}"
            try:
                cls = _string(_field(obj, "class", file, obj_where), "class", file, obj_where)
                obj_where = f"object #{k} ({cls})"
                class_ind = _int(_field(obj, "class_ind", file, obj_where), "class_ind", file, obj_where)
                rle = _mask(_field(obj, "mask", file, obj_where), height, width, file, obj_where)
                parts = _structs(_field(obj, "parts", file, obj_where), file, obj_where)
            except InputError as err:
                self.problems.fail(err)
                if "class" in (obj.dtype.names or ()):
                    unsure.add(_maybe_string(obj["class"]))
                continue
            if masks.is_empty(rle):
                self.problems.repaired("object has an empty mask; left out with its parts",
                                       file=file, where=obj_where)
                unsure.add(cls)
                continue
            obj_id = region_id(imname, k)
            regions.append(Region(id=obj_id, kind="object", category=cls, category_id=class_ind, rle=rle,
                                  bbox=masks.bbox(rle)))
            if len(parts) > _MAX_PARTS:
                self.problems.fail(InputError(f"{len(parts)} parts; the id scheme allows {_MAX_PARTS}",
                                              file=file, where=obj_where))
                continue
            for j, part in enumerate(parts, start=1):
                part_where = f"{obj_where} part #{j}"
                try:
                    name = _string(_field(part, "part_name", file, part_where), "part_name", file, part_where)
                    part_where = f"{part_where} ({name})"
                    part_rle = _mask(_field(part, "mask", file, part_where), height, width, file, part_where)
                except InputError as err:
                    self.problems.fail(err)
                    continue
                if masks.is_empty(part_rle):
                    self.problems.repaired("part has an empty mask; left out", file=file,
                                           where=part_where)
                    continue
                regions.append(Region(id=region_id(imname, k, j), kind="part", category=f"{cls}:{name}",
                                      category_id=0, rle=part_rle, bbox=masks.bbox(part_rle),
                                      parent_id=obj_id))

        present = {r.category for r in regions if r.kind == "object"}
        absent = frozenset(c for c in VOC_CLASSES if c not in present and c not in unsure)
        try:
            return Scene(image_id=imname, file_name=f"{imname}.jpg", width=width, height=height,
                         source=self.name, regions=tuple(regions), absent=absent, path=path)
        except InputError as err:
            self.problems.fail(InputError(err.reason, file=file, where=err.where, hint=err.hint))
            return None


# -- MATLAB struct helpers ---------------------------------------------------------------------


def _field(struct: Any, name: str, file: Path, where: str | None) -> Any:
    names = getattr(getattr(struct, "dtype", None), "names", None) or ()
    if name not in names:
        raise InputError(f"has no field '{name}'", file=file, where=where)
    return struct[name]


def _structs(value: Any, file: Path, where: str) -> list[Any]:
    """The elements of a MATLAB struct array (1×K, or an empty 0×0 array when there are none)."""
    if isinstance(value, np.ndarray) and value.size == 0:
        return []
    if not isinstance(value, np.ndarray) or value.dtype.names is None:
        raise InputError(f"expected a struct array, got {getattr(value, 'dtype', type(value).__name__)}",
                         file=file, where=where)
    return list(value.flat)


def _string(value: Any, name: str, file: Path, where: str | None) -> str:
    text = _maybe_string(value)
    if not text:
        raise InputError(f"'{name}' must be a non-empty string", file=file, where=where)
    return text


def _maybe_string(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "U":
        return str(value.item()).strip()
    if isinstance(value, str):
        return value.strip()
    return ""


def _int(value: Any, name: str, file: Path, where: str) -> int:
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        number = value.item()
        if float(number).is_integer():
            return int(number)
    raise InputError(f"'{name}' must be one integer", file=file, where=where)


def _mask(value: Any, height: int, width: int, file: Path, where: str) -> masks.RLE:
    if not isinstance(value, np.ndarray) or value.ndim != 2 or value.dtype.kind not in "biuf":
        raise InputError("mask must be an H×W numeric array", file=file, where=where)
    if value.shape != (height, width):
        raise InputError(f"mask is {value.shape[0]}×{value.shape[1]} but the image is {height}×{width}",
                         file=file, where=where, hint="the .mat file may belong to another image")
    return masks.encode(value)


def read_pascal_part(path: str | Path, **options: Any) -> Iterator[Scene]:
    """Stream the scenes of Pascal-Part ``.mat`` files; see :class:`PascalPartSource`."""
    return iter(PascalPartSource(path, **options))
