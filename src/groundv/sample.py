"""One generated sample: :class:`Sample`, the record of ``samples*.jsonl`` (DESIGN.md §3.1).

A sample is an instruction, the teacher's response and the target regions it refers to, with the
union of their masks. It is built only by the validator (:func:`groundv.tasks.validate.validate`),
so every sample on disk has passed the checks and can be re-checked from ``target_ids`` and ``plan``.

=================  ===========================================================================
field              meaning
=================  ===========================================================================
``id``             :func:`sample_id`: same source, image, category, index and instruction ⇒ same id
``image``          :meth:`Scene.image_record() <groundv.scene.Scene.image_record>`
``category``       one of the five categories (``negative``, ``multi_object``, ...)
``instruction``    the text a user would type
``response``       the teacher's natural-language answer (exporters add ``[SEG]`` tokens later)
``target_ids``     the source's region ids (objects, stuff or parts); ``[]`` for no target
``no_target``      ``target_ids == []``, and then ``mask`` is all zero
``mask``           COCO compressed RLE of the union of the targets (image size)
``teacher``        ``{"name", "model", "prompt_version"}``
``subtype``        extra: the plan's subtype (``object``, ``attribute``, ``one``, ...)
``level``          extra: multi_granularity's level (``instance``, ``category``, ``supercategory``)
``plan``           extra: :meth:`Plan.to_json() <groundv.tasks.plan.Plan.to_json>`, for re-checking
``provenance``     extra: where it was made (work unit, seed, ...); free-form, JSON-ready
=================  ===========================================================================

Example:
    >>> sample_id("coco", 139, "part", 0, "Segment the handle of the mug.") == sample_id(
    ...     "coco", 139, "part", 0, "Segment the handle of the mug.")
    True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from groundv import masks
from groundv.errors import InputError
from groundv.masks import RLE
from groundv.tasks.plan import CATEGORIES

__all__ = ["Sample", "sample_id"]

_IMAGE_KEYS = ("id", "file_name", "width", "height", "source")
_TEACHER_KEYS = ("name", "model", "prompt_version")


def sample_id(source: str, image_id: int | str, category: str, index: int, instruction: str) -> str:
    """A stable 16-hex-digit id for a sample.

    The id is the first 16 hex digits of the SHA-1 of the JSON list
    ``[source, str(image_id), category, index, instruction]`` (the instruction exactly as written).
    ``index`` is the plan's position among the image's plans of that category, so two plans that a
    teacher happens to word alike still get different ids. Nothing random goes in: rerunning the same
    input gives the same ids.

    Example:
        >>> len(sample_id("toyworld", 3, "negative", 0, "Segment the zebra."))
        16
    """
    payload = json.dumps([source, str(image_id), category, int(index), instruction], ensure_ascii=False)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Sample:
    """One instruction→mask sample (see the module table for the fields)."""

    id: str
    image: Mapping[str, Any]
    category: str
    instruction: str
    response: str
    target_ids: list[int]
    no_target: bool
    mask: RLE
    teacher: Mapping[str, Any]
    subtype: str | None = None
    level: str | None = None
    plan: Mapping[str, Any] | None = None
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready record (one line of ``samples*.jsonl``)."""
        return {
            "id": self.id,
            "image": dict(self.image),
            "category": self.category,
            "instruction": self.instruction,
            "response": self.response,
            "target_ids": list(self.target_ids),
            "no_target": self.no_target,
            "mask": {"size": list(self.mask["size"]), "counts": self.mask["counts"]},
            "teacher": dict(self.teacher),
            "subtype": self.subtype,
            "level": self.level,
            "plan": None if self.plan is None else dict(self.plan),
            "provenance": dict(self.provenance),
        }

    @classmethod
    def from_json(cls, obj: Any, *, file: str | Path | None = None, where: str | None = None) -> Sample:
        """Read a record written by :meth:`to_json`, checking the contract.

        Args:
            obj: the decoded JSON object.
            file: the file it came from, for error messages.
            where: the record inside it (``"line 17"``), for error messages.

        Raises:
            InputError: a missing or mistyped field, an unknown category, ``no_target`` that disagrees
                with ``target_ids``, or a mask that is corrupt, of the wrong size, or not empty
                exactly when there is no target. The message names the file, the line and the id.
        """
        def fail(problem: str, hint: str | None = None) -> InputError:
            sid = obj.get("id") if isinstance(obj, dict) else None
            at = ", ".join(p for p in (where, f"sample {sid}" if isinstance(sid, str) else None) if p)
            return InputError(problem, file=file, where=at or None, hint=hint)

        if not isinstance(obj, dict):
            raise fail(f"a sample must be a JSON object, got {type(obj).__name__}")
        for key, kind in (("id", str), ("image", dict), ("category", str), ("instruction", str),
                          ("response", str), ("target_ids", list), ("no_target", bool), ("mask", dict),
                          ("teacher", dict)):
            if key not in obj:
                raise fail(f"missing field {key!r}")
            if not isinstance(obj[key], kind):
                raise fail(f"field {key!r} must be {kind.__name__}, got {type(obj[key]).__name__}")
        image, teacher, mask = obj["image"], obj["teacher"], obj["mask"]
        missing = [k for k in _IMAGE_KEYS if k not in image]
        if missing:
            raise fail(f"image lacks {', '.join(missing)}")
        missing = [k for k in _TEACHER_KEYS if k not in teacher]
        if missing:
            raise fail(f"teacher lacks {', '.join(missing)}")
        if obj["category"] not in CATEGORIES:
            raise fail(f"unknown category {obj['category']!r}", hint=f"one of: {', '.join(CATEGORIES)}")
        ids = obj["target_ids"]
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise fail("target_ids must be a list of integers")
        if obj["no_target"] != (not ids):
            raise fail(f"no_target is {obj['no_target']} but target_ids has {len(ids)} ids")
        if not (isinstance(mask.get("counts"), str) and isinstance(mask.get("size"), list)
                and len(mask["size"]) == 2 and all(isinstance(v, int) for v in mask["size"])):
            raise fail("mask must be a compressed RLE {'size': [h, w], 'counts': str}")
        rle: RLE = {"size": [int(mask["size"][0]), int(mask["size"][1])], "counts": mask["counts"]}
        if rle["size"] != [image["height"], image["width"]]:
            raise fail(f"mask is {rle['size'][0]}×{rle['size'][1]} but the image is "
                       f"{image['height']}×{image['width']}")
        problem = masks.check_runs([rle])[0]
        if problem:
            raise fail(f"mask RLE is corrupt: {problem}")
        if masks.is_empty(rle) != (not ids):
            raise fail("the mask must be empty exactly when there is no target")
        for key in ("subtype", "level"):
            if obj.get(key) is not None and not isinstance(obj[key], str):
                raise fail(f"field {key!r} must be a string or null")
        for key in ("plan", "provenance"):
            if obj.get(key) is not None and not isinstance(obj[key], dict):
                raise fail(f"field {key!r} must be an object or null")
        return cls(id=obj["id"], image=dict(image), category=obj["category"], instruction=obj["instruction"],
                   response=obj["response"], target_ids=list(ids), no_target=obj["no_target"], mask=rle,
                   teacher=dict(teacher), subtype=obj.get("subtype"), level=obj.get("level"),
                   plan=obj.get("plan"), provenance=dict(obj.get("provenance") or {}))
