"""Tiny RefCOCO-style files for the benchmark tests: an instances.json and a refs list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def rect(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    """A rectangle polygon; pycocotools fills exactly [x0, x1) × [y0, y1) for integer corners."""
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def ann(ann_id: int, image_id: int, *polygons: list[float], iscrowd: int = 0, segmentation: Any = None) -> dict:
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": iscrowd, "bbox": [0, 0, 1, 1],
            "area": 1.0, "segmentation": segmentation if segmentation is not None else list(polygons)}


def write_instances(tmp_path: Path, annotations: list[dict], *, images: list[dict] | None = None,
                    name: str = "instances.json") -> Path:
    """An instances.json holding image 1 (40×60, COCO 2014 file name) unless ``images`` is given."""
    images = images if images is not None else [
        {"id": 1, "width": 60, "height": 40, "file_name": "COCO_train2014_000000000001.jpg"}]
    path = tmp_path / name
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": [
        {"id": 1, "name": "thing", "supercategory": "thing"}]}))
    return path


def make_ref(ref_id: int, ann_id: Any, *, split: str = "val", image_id: int = 1, sentences: int | list = 1,
             **extra: Any) -> dict:
    """A ref with ``sentences`` sentences whose ids are ``ref_id * 10 + i``."""
    if isinstance(sentences, int):
        sentences = [{"sent_id": ref_id * 10 + i, "raw": f"Raw {ref_id}.{i}", "sent": f"sent {ref_id}.{i}",
                      "tokens": ["sent"]} for i in range(sentences)]
    return {"ref_id": ref_id, "ann_id": ann_id, "image_id": image_id, "split": split, "category_id": 1,
            "file_name": f"COCO_train2014_{image_id:012d}_{ref_id}.jpg",
            "sent_ids": [s.get("sent_id") for s in sentences if isinstance(s, dict)], "sentences": sentences,
            **extra}


def write_refs(tmp_path: Path, refs: Any, name: str = "refs.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(refs))
    return path
