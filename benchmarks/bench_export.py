"""Polygon export benchmark: how faithfully LISA gets a sample's mask back from traced polygons.

Run: ``python benchmarks/bench_export.py [--scenes 300] [--workdir DIR]``

Builds a toy world of ``--scenes`` scenes, generates a dataset from it (rules teacher), traces every
sample mask of more than 100 pixels with :func:`groundv.masks.to_polygons` (holes spliced in as
keyhole cuts, the default; and again with ``holes=False``), paints the polygons back the way LISA's
``get_mask_from_json`` does (``cv2.fillPoly`` on ``int32`` points, every shape with 1) and reports the
IoU with the original mask (median, p5, min) and the tracing rate (masks/s, tracing only). Figures
go to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from groundv import masks
from groundv.generate import generate
from groundv.sources.toyworld import ToyWorldSource, write_toyworld


def lisa_paint(polygons: list[list[float]], height: int, width: int) -> np.ndarray:
    out = np.zeros((height, width), dtype=np.uint8)
    for poly in polygons:
        cv2.fillPoly(out, [np.array(poly).reshape(-1, 2).astype(np.int32)], 1)
    return out


def measure(rles: list[masks.RLE], *, holes: bool) -> dict[str, float]:
    start = time.perf_counter()
    traced = [masks.to_polygons(r, holes=holes) for r in rles]
    seconds = time.perf_counter() - start
    ious = np.array([masks.iou(r, masks.encode(lisa_paint(p, *masks.size(r))))
                     for r, p in zip(rles, traced, strict=True)])
    return {"median": float(np.median(ious)), "p5": float(np.percentile(ious, 5)), "min": float(ious.min()),
            "exact": float((ious == 1.0).mean()), "rate": len(rles) / seconds,
            "polygons": float(np.mean([len(p) for p in traced]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=300)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workdir or Path(tmp)
        world = write_toyworld(root / "world", args.scenes, seed=0)
        generate(ToyWorldSource(world), root / "ds", seed=0, force=True)
        rles = [json.loads(line)["mask"] for p in sorted((root / "ds").glob("samples-*.jsonl"))
                for line in p.read_text().splitlines() if line.strip()]
    big = [r for r in rles if masks.area(r) > 100]
    print(f"toy world, {args.scenes} scenes, {len(rles)} samples, {len(big)} masks over 100 px; "
          f"Python {platform.python_version()}, OpenCV {cv2.__version__}, {platform.machine()}\n")
    print("| holes | masks | polygons/mask | median IoU | p5 IoU | min IoU | exact | masks/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for holes in (True, False):
        m = measure(big, holes=holes)
        print(f"| {'keyhole' if holes else 'dropped'} | {len(big)} | {m['polygons']:.2f} | {m['median']:.4f} | "
              f"{m['p5']:.4f} | {m['min']:.4f} | {100 * m['exact']:.1f}% | {m['rate']:,.0f} |")


if __name__ == "__main__":
    main()
