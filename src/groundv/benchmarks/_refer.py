"""What RefCOCO/+/g and gRefCOCO share: the instances index and turning validated refs into items.

Both benchmarks ship a refs file (a list of ref dicts, read with :func:`groundv.sources.refs.read_refs`)
beside a COCO 2014-style ``instances.json``. A ref names its image by ``image_id`` and its targets by
``ann_id``; the items' ground truth is rebuilt from ``instances.json`` exactly as ReLA's loader does
(``gres_model/data/datasets/grefcoco.py::load_grefcoco_json``, METRICS.md §1.5):

* crowd annotations (``iscrowd``) are dropped from the targets;
* polygons with fewer than 6 numbers or an odd count are dropped (reported as a
  :class:`~groundv.errors.GroundvWarning` naming the annotation);
* the targets are OR-ed, never summed (REFER's and G_REFER's ``getMask`` sum and can yield 2).

Masks are rasterised by pycocotools (through :mod:`groundv.masks`) at the image's original size and
cached per annotation, so the sentences of a ref, and refs sharing an object, rasterise it once.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec
import orjson

from groundv import masks
from groundv.errors import ConfigError, GroundvWarning, InputError, MaskError
from groundv.eval.records import Item
from groundv.sources.base import read_bytes
from groundv.sources.refs import read_refs

Group = Literal["sentence", "ref"]


class _Image(msgspec.Struct):
    id: int
    width: int
    height: int
    file_name: str | None = None


class _Annotation(msgspec.Struct):
    id: int
    image_id: int
    segmentation: msgspec.Raw = msgspec.Raw(b"null")
    iscrowd: int | bool = 0


class _File(msgspec.Struct):
    images: list[_Image] = []
    annotations: list[_Annotation] = []


class Instances:
    """The images and annotations of an ``instances.json``, with masks built on demand.

    Segmentations stay raw slices of the file until a ref needs them, so the full RefCOCO file
    (about 20k images, 200k annotations) is indexed quickly with memory close to its size.

    Raises:
        InputError: the file is missing, not JSON, or a record has the wrong shape.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        data = read_bytes(self.path)
        try:
            parsed = msgspec.json.decode(data, type=_File, strict=False)
        except msgspec.ValidationError as exc:
            message, _, location = str(exc).partition(" - at ")
            raise InputError(f"unexpected content: {message}", file=self.path,
                             where=location.strip("`").removeprefix("$.") or None,
                             hint="pass the COCO-style instances.json shipped with the refs file") from None
        except msgspec.DecodeError as exc:
            raise InputError(f"not valid JSON: {exc}", file=self.path,
                             hint="the file may be truncated; download it again") from None
        self._buffer = data  # the Raw segmentations point into it
        self.images = {img.id: img for img in parsed.images}
        self.annotations = {ann.id: ann for ann in parsed.annotations}
        self._masks: dict[int, masks.RLE] = {}

    def image_record(self, image_id: int, source: str) -> dict[str, Any]:
        """The item's ``image`` dict, from ``images[]`` (never from the ref's ``file_name``)."""
        img = self.images[image_id]
        return {"id": img.id, "file_name": img.file_name, "width": img.width, "height": img.height,
                "source": source}

    def is_crowd(self, ann_id: int) -> bool:
        return bool(self.annotations[ann_id].iscrowd)

    def mask(self, ann_id: int, *, context: str) -> masks.RLE:
        """The annotation's mask at its image's size (cached).

        Args:
            context: the ref that asked, for messages (``"ref 41412"``).

        Raises:
            InputError: the segmentation is absent or cannot be rasterised.
        """
        cached = self._masks.get(ann_id)
        if cached is not None:
            return cached
        ann = self.annotations[ann_id]
        img = self.images[ann.image_id]
        where = f"annotation {ann_id} ({context})"
        seg = orjson.loads(bytes(ann.segmentation))
        if seg is None or seg == [] or seg == {}:
            # ReLA asserts a segmentation exists (``assert segm``); say which one is missing.
            raise InputError("annotation has no segmentation", file=self.path, where=where)

        def dropped(message: str) -> None:
            warnings.warn(f"{self.path}: {message}", GroundvWarning, stacklevel=2)

        try:
            rle = masks.from_segmentation(seg, img.height, img.width, where=where, on_drop=dropped)
        except MaskError as err:
            raise InputError(err.reason, file=self.path, where=where, hint=err.hint) from None
        self._masks[ann_id] = rle
        return rle


@dataclass(frozen=True, slots=True)
class Ref:
    """A ref checked against its instances file.

    Attributes:
        ref_id: the ref's id.
        image_id: its image.
        ann_ids: target annotation ids; empty for a no-target ref.
        no_target: gRefCOCO ``ann_id == [-1]``.
        sentences: ``(sent_id, raw or sent, sent or raw)`` per sentence, in file order.
    """

    ref_id: int | str
    image_id: int
    ann_ids: tuple[int, ...]
    no_target: bool
    sentences: tuple[tuple[int | str, str, str], ...]


def ref_label(ref: Any, index: int) -> str:
    """``"ref <ref_id>"`` when the record has a usable id, else ``"record #<index>"``."""
    ref_id = ref.get("ref_id") if isinstance(ref, dict) else None
    if isinstance(ref_id, int | str) and not isinstance(ref_id, bool):
        return f"ref {ref_id}"
    return f"record #{index}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def load_refs(path: Path, *, split: str, matcher: Callable[[str, list[str]], Callable[[str], bool] | None],
              benchmark: str) -> list[tuple[dict[str, Any], str]]:
    """Read a refs file, check the fields every ref needs, and keep the refs of ``split``.

    Args:
        path: the refs file (pickle or JSON).
        split: the requested split.
        matcher: ``(split, splits found in the file)`` → predicate on a ref's split, or None when
            the benchmark's loader would refuse the name.
        benchmark: the benchmark's name, for messages.

    Returns:
        ``(ref dict, "ref <ref_id>")`` for each selected ref, in file order.

    Raises:
        InputError: the file is unreadable, or a ref lacks ``ref_id``, an integer ``image_id`` or a
            string ``split``.
        ConfigError: the split is unknown, or selects no ref.
    """
    records = read_refs(path)
    checked: list[tuple[dict[str, Any], str]] = []
    for i, ref in enumerate(records):
        where = ref_label(ref, i)
        if not isinstance(ref, dict):
            raise InputError(f"expected a ref dict, got {type(ref).__name__}", file=path, where=where)
        if where.startswith("record"):
            raise InputError("has no integer or string 'ref_id'", file=path, where=where)
        if not _is_int(ref.get("image_id")):
            raise InputError(f"'image_id' must be an integer, got {ref.get('image_id')!r}", file=path, where=where)
        if not isinstance(ref.get("split"), str):
            raise InputError(f"'split' must be a string, got {ref.get('split')!r}", file=path, where=where)
        checked.append((ref, where))
    available = sorted({ref["split"] for ref, _ in checked})
    listing = ", ".join(available) or "none (the file holds no refs)"
    matches = matcher(split, available)
    if matches is None:
        raise ConfigError(f"unknown {benchmark} split {split!r}; {path} has: {listing}",
                          hint=f"choose one of: {listing}")
    selected = [(ref, where) for ref, where in checked if matches(ref["split"])]
    if not selected:
        raise ConfigError(f"{benchmark} split {split!r} selects no ref in {path}; it has: {listing}",
                          hint=f"choose one of: {listing}")
    return selected


def build_refs(
    selected: list[tuple[dict[str, Any], str]],
    instances: Instances,
    *,
    refs_path: Path,
    ann_ids_of: Callable[[dict[str, Any], str], tuple[tuple[int, ...], bool]],
) -> list[Ref]:
    """Check each selected ref against ``instances`` (image and annotations exist and agree)."""
    out = []
    for ref, where in selected:
        image_id = ref["image_id"]
        if image_id not in instances.images:
            raise InputError(f"names image {image_id}, which is not in {instances.path}", file=refs_path,
                             where=where, hint="pass the instances.json that belongs to this refs file")
        if not instances.images[image_id].file_name:
            raise InputError(f"image {image_id} has no 'file_name'", file=instances.path,
                             hint="pass the instances.json that belongs to this refs file")
        ann_ids, no_target = ann_ids_of(ref, where)
        for ann_id in ann_ids:
            ann = instances.annotations.get(ann_id)
            if ann is None:
                raise InputError(f"names annotation {ann_id}, which is not in {instances.path}", file=refs_path,
                                 where=where, hint="pass the instances.json that belongs to this refs file")
            if ann.image_id != image_id:
                raise InputError(f"names annotation {ann_id}, which belongs to image {ann.image_id}, not to "
                                 f"image {image_id}", file=refs_path, where=where)
        out.append(Ref(ref["ref_id"], image_id, ann_ids, no_target, _sentences(ref, where, refs_path)))
    return out


def _sentences(ref: dict[str, Any], where: str, path: Path) -> tuple[tuple[int | str, str, str], ...]:
    sentences = ref.get("sentences")
    if not isinstance(sentences, list):
        raise InputError(f"'sentences' must be a list, got {type(sentences).__name__}", file=path, where=where)
    out = []
    for j, sent in enumerate(sentences):
        if not isinstance(sent, dict):
            raise InputError(f"sentence #{j} is not a dict", file=path, where=where)
        sent_id = sent.get("sent_id")
        if not (_is_int(sent_id) or isinstance(sent_id, str)):
            raise InputError(f"sentence #{j} has no integer 'sent_id'", file=path, where=where)
        raw, normal = sent.get("raw"), sent.get("sent")
        if not isinstance(raw, str) and not isinstance(normal, str):
            raise InputError(f"sentence {sent_id} has neither 'raw' nor 'sent' text", file=path, where=where)
        # ReLA feeds 'raw' (what the annotator typed); PSALM concatenates 'sent' (normalised).
        out.append((sent_id, raw if isinstance(raw, str) else normal, normal if isinstance(normal, str) else raw))
    return tuple(out)


def psalm_instruction(sents: Sequence[str]) -> str:
    """PSALM's per-ref text: ``instruction += ' {}.'.format(sent['sent'])`` for each sentence.

    Reproduces ``psalm/train/train_datasets.py::RefCOCO_dataset`` and ``eval_grefcoco.py`` verbatim,
    leading space included.

    Example:
        >>> psalm_instruction(["middle chair", "tan chair center"])
        ' middle chair. tan chair center.'
    """
    return "".join(f" {s}." for s in sents)


def ref_items(refs: Sequence[Ref], instances: Instances, *, name: str, group: Group,
              refs_path: Path) -> Iterator[Item]:
    """Items for the refs: one per sentence (ReLA, LISA, GSVA) or one per ref (PSALM)."""
    seen: dict[str, int | str] = {}
    for ref in refs:
        context = f"ref {ref.ref_id}"
        image = instances.image_record(ref.image_id, name)
        size = (image["height"], image["width"])
        targets = [masks.empty(*size)] if ref.no_target else [
            instances.mask(a, context=context) for a in ref.ann_ids if not instances.is_crowd(a)]
        try:
            mask = masks.union(targets, size)
        except MaskError as err:  # an RLE segmentation of another size slipped through
            raise InputError(err.reason, file=instances.path, where=context) from None
        if group == "ref":
            if not ref.sentences:
                raise InputError("has no sentences to concatenate", file=refs_path, where=context)
            units = [(str(ref.ref_id), psalm_instruction([normal for _, _, normal in ref.sentences]))]
        else:
            units = [(f"{ref.ref_id}:{sent_id}", raw) for sent_id, raw, _ in ref.sentences]
        for item_id, text in units:
            if item_id in seen:
                raise InputError(f"item id {item_id!r} is used twice (also by ref {seen[item_id]})",
                                 file=refs_path, where=context, hint="sentence ids must be unique")
            seen[item_id] = ref.ref_id
            yield Item(id=item_id, image=dict(image), expression=text, mask=mask, no_target=ref.no_target,
                       category=name)
