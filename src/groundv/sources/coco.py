"""COCO-format instance annotations, and the machinery the LVIS, PACO and toy-world sources share.

One reader serves the whole COCO family, because the formats differ only in a few fields:

* ``images[]``: ``file_name`` (COCO), or ``coco_url`` when ``file_name`` is absent (LVIS v1);
  optional ``neg_category_ids`` (verified absent) and ``not_exhaustive_category_ids`` (LVIS, PACO);
* ``annotations[]``: ``segmentation`` as polygons, uncompressed RLE (crowd) or compressed RLE;
  optional ``iscrowd`` (absent in LVIS), ``obj_ann_id`` (PACO: a part names its object; an object
  names itself), ``attribute_ids`` (PACO) or an ``attributes`` dict;
* ``categories[]`` (with ``isthing: 0`` marking stuff), ``part_categories[]`` and ``attributes[]`` (PACO).

Several files can be read as one source (e.g. COCO instances plus a PACO-style parts file): images
are merged by id, and annotation ids must be unique across all files.

Speed and memory: files are decoded with :mod:`msgspec` into typed records whose ``segmentation``
stays a raw slice of the file's bytes. Polygons become RLE only when the image's scene is built, so a
COCO-scale file (118k images, 860k polygons) is indexed in seconds with memory close to its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import orjson

from groundv import masks
from groundv.errors import InputError, MaskError
from groundv.scene import Region, Scene
from groundv.sources.base import Source, read_bytes, resolve_image

__all__ = ["CocoSource", "CustomCocoSource", "read_coco"]


class _Image(msgspec.Struct):
    id: int
    width: int
    height: int
    file_name: str | None = None
    coco_url: str | None = None
    # None (not []) when the key is absent: its presence tells an LVIS-family file apart.
    neg_category_ids: list[int] | None = None
    not_exhaustive_category_ids: list[int] | None = None


class _Annotation(msgspec.Struct):
    id: int
    image_id: int
    category_id: int
    segmentation: msgspec.Raw = msgspec.Raw(b"null")
    bbox: list[float] | None = None
    iscrowd: int = 0
    obj_ann_id: int | None = None
    attribute_ids: list[int] = []
    attributes: dict[str, Any] | None = None


class _Category(msgspec.Struct):
    id: int
    name: str
    supercategory: str | None = None
    isthing: int | None = None
    # Read only to recognise a file of another format: LVIS categories have these two ...
    frequency: Any = None
    synonyms: Any = None
    # ... and panopticapi's categories a colour.
    color: Any = None

    @property
    def thing(self) -> bool:
        """An object class (``isthing`` absent or 1), not stuff."""
        return self.isthing is None or bool(self.isthing)


class _Named(msgspec.Struct):
    id: int
    name: str


class _File(msgspec.Struct):
    images: list[_Image] = []
    annotations: list[_Annotation] = []
    categories: list[_Category] = []
    part_categories: list[_Named] = []
    attributes: list[_Named] = []


class _Loose(msgspec.Struct):
    """The same file with each record left raw: used only to name the record behind a schema error."""

    images: list[msgspec.Raw] = []
    annotations: list[msgspec.Raw] = []
    categories: list[msgspec.Raw] = []


@dataclass
class _Vocab:
    """Category and attribute names of one file."""

    path: Path
    categories: dict[int, _Category]
    part_categories: dict[int, str]
    attributes: dict[int, str]


@dataclass
class _Index:
    images: dict[int, tuple[_Image, Path]] = field(default_factory=dict)
    by_image: dict[int, list[tuple[_Annotation, _Vocab]]] = field(default_factory=lambda: defaultdict(list))
    # Every file's record of an image, with that file's vocabulary: category ids only mean
    # something within their own file, and a parts file may list its own negatives.
    records: dict[int, list[tuple[_Image, _Vocab]]] = field(default_factory=lambda: defaultdict(list))
    vocabs: list[_Vocab] = field(default_factory=list)
    buffers: list[bytes] = field(default_factory=list)  # raw segmentations point into these


_STUFF_SUFFIXES = ("-merged", "-other", "-stuff")
_WITH_MASKS = " with its PNG folder (--masks)"


def _use_format(name: str, how: str = "") -> str:
    """A hint naming the format to read a file with, as both commands spell it."""
    return f"format {name!r}{how} (groundv inspect {name} FILE, or generate --source {name})"


def _decode_file(path: Path) -> tuple[_File, bytes]:
    data = read_bytes(path)
    try:
        return msgspec.json.decode(data, type=_File, strict=False), data
    except msgspec.ValidationError as exc:
        if _is_panoptic(data):
            raise InputError("is a COCO panoptic file (its annotations hold 'segments_info')", file=path,
                             hint=f"read it as {_use_format('panoptic', _WITH_MASKS)}") from None
        raise _schema_error(path, data, str(exc)) from None
    except msgspec.DecodeError as exc:
        raise _syntax_error(path, data, str(exc)) from None


def _is_panoptic(data: bytes) -> bool:
    try:
        first = msgspec.json.decode(data, type=_Loose).annotations[:1]
        return bool(first) and "segments_info" in orjson.loads(bytes(first[0]))
    except (AttributeError, TypeError, msgspec.MsgspecError, orjson.JSONDecodeError):
        return False


def _syntax_error(path: Path, data: bytes, message: str) -> InputError:
    where = None
    if "(byte " in message:
        pos = int(message.rsplit("(byte ", 1)[1].rstrip(")"))
        line = data.count(b"\n", 0, pos) + 1
        col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
        where = f"line {line} column {col}"
        message = message.rsplit(" (byte ", 1)[0]
    return InputError(f"not valid JSON: {message}", file=path, where=where,
                      hint="the file may be truncated; download or write it again")


def _schema_error(path: Path, data: bytes, message: str) -> InputError:
    """Name the record (e.g. ``annotation 1234``) behind a msgspec error ending ``- at `$.annotations[7].bbox```."""
    where = None
    if "at `$." in message:
        location = message.rsplit("at `$.", 1)[1].rstrip("`")
        head = location.split(".", 1)[0]
        if "[" in head:
            key, idx = head.rstrip("]").split("[")
            record_id: Any = None
            try:
                loose = msgspec.json.decode(data, type=_Loose)
                record_id = orjson.loads(bytes(getattr(loose, key)[int(idx)])).get("id")
            except (AttributeError, IndexError, ValueError, msgspec.MsgspecError, orjson.JSONDecodeError):
                pass
            noun = {"images": "image", "annotations": "annotation", "categories": "category"}.get(key, key)
            where = f"{noun} {record_id}" if record_id is not None else f"{key}[{idx}]"
            if "." in location:
                where += f" field {location.split('.', 1)[1]!r}"
        message = message.rsplit(" - at ", 1)[0]
    return InputError(f"unexpected content: {message}", file=path, where=where, hint=_schema_hint(message))


def _schema_hint(message: str) -> str:
    """How to fix what msgspec found, e.g. ``Expected `int`, got `str``` → write the field as an int."""
    if message.startswith("Expected `"):
        expected = message.split("`")[1]
        if expected in ("int", "float"):
            return f"write that field as a number ({expected}), without quotes"
        return f"write that field as {expected}"
    if "missing required field `" in message:
        return f"add {message.split('`')[1]!r} to the record"
    return ("compare the record with the COCO format: images need id, width, height and file_name; "
            "annotations id, image_id, category_id and segmentation")


class CocoSource(Source):
    """COCO 2017 instances (and any COCO-family file set).

    Args:
        annotations: the instances JSON.
        images: folder holding the image files; when given, every image must exist.
        parts: extra PACO-style files whose part annotations (``obj_ann_id``) attach to the objects.
        skip_bad: count and record bad annotations/images instead of raising.
        exclude: image ids to leave out (the leakage guard).
        exhaustive: every category of the first file that has no region on an image is verified
            absent from it. True for COCO, whose 80 classes are labelled exhaustively.

    Example:
        >>> src = CocoSource("instances_val2017.json", images=Path("val2017"))  # doctest: +SKIP
        >>> for scene in src: ...  # doctest: +SKIP
    """

    name = "coco"
    exhaustive_default = True

    def __init__(
        self,
        annotations: str | Path,
        *,
        images: str | Path | None = None,
        parts: Sequence[str | Path] = (),
        skip_bad: bool = False,
        exclude: Collection[int | str] = (),
        exhaustive: bool | None = None,
    ) -> None:
        super().__init__(skip_bad=skip_bad, exclude=exclude)
        self.files = [Path(annotations), *(Path(p) for p in parts)]
        self.images = Path(images) if images is not None else None
        self.exhaustive = self.exhaustive_default if exhaustive is None else exhaustive
        self._index = self._build_index()

    # -- index ---------------------------------------------------------------------------------

    def _build_index(self) -> _Index:
        index = _Index()
        for n, path in enumerate(self.files):
            parsed, data = _decode_file(path)
            if n == 0:
                if not parsed.images:
                    raise InputError("no images in this file ('images' is missing or empty)", file=path,
                                     hint="pass a COCO-format annotation file: an object with 'images', "
                                          "'annotations' and 'categories' lists")
                self._check_format(parsed, path)
            index.buffers.append(data)
            vocab = _Vocab(
                path=path,
                categories={c.id: c for c in parsed.categories},
                part_categories={c.id: c.name for c in parsed.part_categories},
                attributes={a.id: a.name for a in parsed.attributes},
            )
            index.vocabs.append(vocab)
            for img in parsed.images:
                index.records[img.id].append((img, vocab))
                known = index.images.get(img.id)
                if known is None:
                    index.images[img.id] = (img, path)
                elif (known[0].width, known[0].height) != (img.width, img.height):
                    self.problems.fail(InputError(
                        f"is {img.width}×{img.height} here but {known[0].width}×{known[0].height} in "
                        f"{known[1]}", file=path, where=f"image {img.id}"))
            for ann in parsed.annotations:
                if n > 0 and ann.obj_ann_id is None:
                    # Read as an object, it would add a stray object and a false "all the X" answer.
                    self.problems.fail(InputError(
                        "annotation in a parts file names no object ('obj_ann_id' is missing)",
                        file=path, where=f"annotation {ann.id}",
                        hint="set 'obj_ann_id' to the id of the object annotation it is a part of "
                             "(an object annotation names its own id)"))
                    continue
                if ann.image_id not in index.images:
                    self.problems.fail(InputError(f"names image {ann.image_id}, which is not in 'images'",
                                                  file=path, where=f"annotation {ann.id}",
                                                  hint="fix its image_id, or add the image's record to 'images'"))
                    continue
                index.by_image[ann.image_id].append((ann, vocab))
        return index

    def _check_format(self, parsed: _File, path: Path) -> None:
        """Refuse a main file of another format, where reading it as this one would state wrong facts.

        COCO's exhaustive labels would make every one of LVIS's 1200 classes absent where it is merely
        not annotated; panopticapi's detection-format categories carry no ``isthing``, so their stuff
        classes would become objects.
        """
        lvis = next((c.name for c in parsed.categories if c.frequency is not None or c.synonyms is not None),
                    None)
        if self.exhaustive and lvis is not None:
            raise InputError(f"looks like an LVIS file (category {lvis!r} has 'frequency' or 'synonyms'), "
                             f"whose labels are not exhaustive", file=path, hint=f"read it as {_use_format('lvis')}")
        stuff = next((c.name for c in parsed.categories if c.name.endswith(_STUFF_SUFFIXES)), None)
        if stuff is not None and all(c.isthing is None for c in parsed.categories) and (
                any(c.color is not None for c in parsed.categories)):
            raise InputError(f"looks like COCO panoptic in detection format: categories such as {stuff!r} are "
                             f"stuff, but no category says 'isthing', so they would be read as objects",
                             file=path, hint=f"mark the categories with \"isthing\" (1 thing, 0 stuff), or read "
                                             f"the panoptic JSON as {_use_format('panoptic', _WITH_MASKS)}")

    def __len__(self) -> int:
        return len(self._index.images)

    @property
    def categories(self) -> list[str]:
        """Object and stuff category names of the first file, in id order."""
        cats = self._index.vocabs[0].categories
        return [cats[k].name for k in sorted(cats)]

    # -- scenes --------------------------------------------------------------------------------

    def _scenes(self) -> Iterator[Scene]:
        seen: set[int] = set()
        for image_id, (img, path) in self._index.images.items():
            if not self._keep(image_id):
                continue
            scene = self._scene(img, path, seen)
            if scene is not None:
                yield scene

    def _missing_image_hint(self) -> str:
        """How to fix a missing image file (the toy world says how to render its pictures again)."""
        return "pass the folder that holds the images with --images"

    def _file_name(self, img: _Image) -> str:
        if img.file_name:
            return img.file_name
        if img.coco_url:
            # LVIS v1: "http://images.cocodataset.org/train2017/000000155379.jpg" → "train2017/000000155379.jpg"
            return "/".join(img.coco_url.rstrip("/").split("/")[-2:])
        raise InputError("has neither 'file_name' nor 'coco_url'", where=f"image {img.id}")

    def _scene(self, img: _Image, path: Path, seen: set[int]) -> Scene | None:
        where = f"image {img.id}"
        try:
            if img.width <= 0 or img.height <= 0:
                raise InputError(f"size must be positive, got {img.width}×{img.height}", file=path, where=where)
            file_name = self._file_name(img)
            image_path = resolve_image(self.images, file_name, file=path, where=where,
                                       size=(img.width, img.height), missing_hint=self._missing_image_hint())
        except InputError as err:
            err = err if err.file else InputError(err.reason, file=path, where=err.where, hint=err.hint)
            self.problems.fail(err)
            return None

        anns = self._index.by_image.get(img.id, [])
        regions: dict[int, Region] = {}
        pending_parts: list[tuple[_Annotation, _Vocab, masks.RLE]] = []
        for ann, vocab in anns:
            region_where = f"annotation {ann.id}"
            if ann.id in seen:
                self.problems.fail(InputError("duplicate annotation id", file=vocab.path, where=region_where,
                                              hint="annotation ids must be unique across all files"))
                continue
            seen.add(ann.id)
            is_part = ann.obj_ann_id is not None and ann.obj_ann_id != ann.id
            category = vocab.categories.get(ann.category_id)
            if category is None and not (is_part and ann.category_id in vocab.part_categories):
                self.problems.fail(InputError(f"unknown category id {ann.category_id}", file=vocab.path,
                                              where=region_where,
                                              hint="add it to 'categories' or fix the annotation"))
                continue
            rle = self._mask(ann, vocab, img)
            if rle is None:
                continue
            if is_part or category is None:
                pending_parts.append((ann, vocab, rle))
                continue
            regions[ann.id] = Region(
                id=ann.id, kind="object" if category.thing else "stuff", category=category.name,
                category_id=ann.category_id, rle=rle, bbox=self._bbox(ann, rle), iscrowd=bool(ann.iscrowd),
                attributes=self._attributes(ann, vocab))

        for ann, vocab, rle in pending_parts:
            parent = regions.get(ann.obj_ann_id)  # type: ignore[arg-type]
            if parent is None or parent.kind != "object":
                what = "is not an object" if parent is not None else "does not exist in this image"
                self.problems.fail(InputError(f"part names parent object {ann.obj_ann_id}, which {what}",
                                              file=vocab.path, where=f"annotation {ann.id}"))
                continue
            regions[ann.id] = Region(
                id=ann.id, kind="part", category=self._part_category(ann, vocab, parent.category),
                category_id=ann.category_id, rle=rle, bbox=self._bbox(ann, rle), iscrowd=bool(ann.iscrowd),
                parent_id=parent.id, attributes=self._attributes(ann, vocab))

        ordered = tuple(sorted(regions.values(), key=lambda r: (r.kind == "part", r.id)))
        # An annotation left out (bad or mask-less) still says its category is present.
        dropped = [vocab.categories.get(ann.category_id) for ann, vocab in anns if ann.id not in regions]
        try:
            absent, not_exhaustive = self._absence(img, ordered, dropped)
            return Scene(image_id=img.id, file_name=file_name, width=img.width, height=img.height,
                         source=self.name, regions=ordered, absent=absent, not_exhaustive=not_exhaustive,
                         path=image_path)
        except InputError as err:
            self.problems.fail(InputError(err.reason, file=path, where=err.where, hint=err.hint))
            return None

    def _mask(self, ann: _Annotation, vocab: _Vocab, img: _Image) -> masks.RLE | None:
        where = f"annotation {ann.id}"
        try:
            seg = orjson.loads(bytes(ann.segmentation))
        except orjson.JSONDecodeError as exc:  # cannot happen for a file msgspec parsed; kept for safety
            self.problems.fail(InputError(f"segmentation is not JSON ({exc})", file=vocab.path, where=where))
            return None
        if seg is None or seg == [] or seg == {}:
            # PACO and LVIS loaders skip such annotations too; record it so nothing vanishes silently.
            self.problems.repaired("annotation has no segmentation; left out", file=vocab.path, where=where)
            return None
        if isinstance(seg, list):
            odd = [i for i, poly in enumerate(seg) if isinstance(poly, list) and len(poly) % 2]
            if odd:
                self.problems.fail(InputError(
                    f"polygon #{odd[0]} has an odd number of coordinates ({len(seg[odd[0]])})",
                    file=vocab.path, where=where, hint="polygons are flat lists x1, y1, x2, y2, ..."))
                return None
        try:
            return masks.from_segmentation(
                seg, img.height, img.width,
                on_drop=lambda msg: self.problems.repaired(msg, file=vocab.path, where=where))
        except MaskError as err:
            self.problems.fail(InputError(err.reason, file=vocab.path, where=where, hint=err.hint))
            return None

    @staticmethod
    def _bbox(ann: _Annotation, rle: masks.RLE) -> tuple[float, float, float, float]:
        if ann.bbox is not None and len(ann.bbox) == 4:
            x, y, w, h = ann.bbox
            return float(x), float(y), float(w), float(h)
        return masks.bbox(rle)

    @staticmethod
    def _attributes(ann: _Annotation, vocab: _Vocab) -> dict[str, Any]:
        attrs: dict[str, Any] = dict(ann.attributes or {})
        if ann.attribute_ids:
            attrs["attributes"] = [vocab.attributes.get(a, str(a)) for a in ann.attribute_ids]
        return attrs

    @staticmethod
    def _part_category(ann: _Annotation, vocab: _Vocab, parent_category: str) -> str:
        category = vocab.categories.get(ann.category_id)
        if category is not None and (":" in category.name or ann.category_id not in vocab.part_categories):
            return category.name
        # A part-category id (which may also be an object's id in 'categories', since the two lists
        # number independently): write it PACO's way, "object:part".
        return f"{parent_category}:{vocab.part_categories[ann.category_id]}"

    def _absence(self, img: _Image, regions: tuple[Region, ...],
                 dropped: list[_Category | None]) -> tuple[frozenset[str], frozenset[str]]:
        vocab = self._index.vocabs[0]
        present = {r.category for r in regions} | {c.name for c in dropped if c is not None}
        absent: set[str] = set()
        not_exhaustive: set[str] = set()
        for record, vocab_i in self._index.records[img.id]:
            for key, ids, into in (("neg_category_ids", record.neg_category_ids, absent),
                                   ("not_exhaustive_category_ids", record.not_exhaustive_category_ids,
                                    not_exhaustive)):
                for c in ids or ():
                    category = vocab_i.categories.get(c)
                    if category is not None:
                        into.add(category.name)
                    else:
                        # Leaving out an absence fact loses nothing that is true: a repair, not an error.
                        self.problems.repaired(f"{key} lists unknown category id {c}; ignored",
                                               file=vocab_i.path, where=f"image {img.id}")
        clash = absent & {r.category for r in regions}
        if clash:
            raise InputError(f"categories both annotated and listed as absent: {sorted(clash)}",
                             where=f"image {img.id}",
                             hint="remove them from the image's neg_category_ids, or remove their annotations")
        # A dropped annotation of unknown category could be of any class: claim no exhaustive absence.
        if self.exhaustive and None not in dropped:
            absent.update(c.name for c in vocab.categories.values() if c.thing and c.name not in present)
        return frozenset(absent), frozenset(not_exhaustive)


class CustomCocoSource(CocoSource):
    """A user's own COCO-format dataset.

    Same reader as :class:`CocoSource`, but nothing is assumed absent unless the file says so
    (per-image ``neg_category_ids``) or ``exhaustive=True`` is passed: a custom dataset may label
    only some of its categories.
    """

    name = "custom"
    exhaustive_default = False


def read_coco(annotations: str | Path, **options: Any) -> Iterator[Scene]:
    """Stream the scenes of a COCO instances file; see :class:`CocoSource` for the options."""
    return iter(CocoSource(annotations, **options))
