"""Evaluation speed: groundv's RLE-based `evaluate` against a dense numpy implementation.

Run: ``python benchmarks/bench_eval.py [--items 100000] [--million] [--workdir /tmp/groundv-bench-eval]``

Data: 480×640 items whose ground truth and prediction are random blobs (24-point polygons of 10–120 px
radius, the prediction a jittered, rescaled copy of the truth), 10 % no-target items (empty truth),
5 % empty predictions; masks are drawn from a pool of 2,000 pairs, written as JSON lines.

Measured in one run, on one machine:

- the dense baseline: the gres protocol written the obvious way — read both JSON lines, decode both
  masks to 480×640 arrays, count I and U with numpy, accumulate — timed on the first 3,000 items;
- groundv ``evaluate(..., "gres")`` on all items, with 1 and 2 processes;
- with ``--million``: 1,000,000 items with 2 processes (goal: under 5 minutes on 2 cores).

Goal from the Evaluation issue: ≥ 20× the dense implementation.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
from pycocotools import mask as coco_mask

from groundv import masks
from groundv.eval.run import evaluate

H, W = 480, 640


def _blob(rng: np.random.Generator, cx: float, cy: float, radius: float) -> list[float]:
    theta = np.sort(rng.uniform(0, 2 * np.pi, 24))
    r = radius * rng.uniform(0.7, 1.0, 24)
    xs = np.clip(cx + r * np.cos(theta), 0, W - 1)
    ys = np.clip(cy + r * np.sin(theta), 0, H - 1)
    return np.stack([xs, ys], 1).ravel().round(2).tolist()


def mask_pool(n: int, seed: int = 0) -> list[tuple[masks.RLE, masks.RLE]]:
    """``n`` (truth, prediction) RLE pairs of realistic overlap."""
    rng = np.random.default_rng(seed)
    pool = []
    for _ in range(n):
        cx, cy, radius = rng.uniform(80, W - 80), rng.uniform(80, H - 80), rng.uniform(10, 120)
        gt = masks.from_polygons([_blob(rng, cx, cy, radius)], H, W)
        jitter = radius * 0.3
        pred = masks.from_polygons([_blob(rng, cx + rng.normal(0, jitter), cy + rng.normal(0, jitter),
                                          radius * rng.uniform(0.8, 1.2))], H, W)
        pool.append((gt, pred))
    return pool


def write_files(workdir: Path, count: int, pool: list[tuple[masks.RLE, masks.RLE]], seed: int = 1) -> tuple[Path, Path]:
    items_path, preds_path = workdir / f"items_{count}.jsonl", workdir / f"preds_{count}.jsonl"
    if items_path.exists() and preds_path.exists():
        return items_path, preds_path
    rng = np.random.default_rng(seed)
    empty = masks.empty(H, W)
    image = {"id": 1, "file_name": "x.jpg", "width": W, "height": H, "source": "bench"}
    categories = ["negative", "multi_object", "reasoning", "multi_granularity", "part"]
    with items_path.open("wb") as fi, preds_path.open("wb") as fp:
        for i in range(count):
            gt, pred = pool[int(rng.integers(len(pool)))]
            no_target = rng.random() < 0.10
            if no_target:
                gt = empty
            if rng.random() < 0.05:
                pred = empty
            fi.write(orjson.dumps({"id": str(i), "image": image, "expression": "the thing", "mask": gt,
                                   "no_target": bool(no_target), "category": categories[i % 5], "ignore": None})
                     + b"\n")
            fp.write(orjson.dumps({"id": str(i), "mask": pred}) + b"\n")
    return items_path, preds_path


def dense_gres(items_path: Path, preds_path: Path, limit: int) -> tuple[float, dict[str, float]]:
    """The obvious implementation: decode to arrays, count with numpy (ReLA's update rule)."""
    acc_i = acc_u = total = 0
    acc_iou = 0.0
    start = time.perf_counter()
    with items_path.open("rb") as fi, preds_path.open("rb") as fp:
        for n, (li, lp) in enumerate(zip(fi, fp, strict=True)):
            if n == limit:
                break
            item, pred = orjson.loads(li), orjson.loads(lp)
            g = coco_mask.decode(item["mask"]).astype(bool)
            p = coco_mask.decode(pred["mask"]).astype(bool)
            inter, union = int((g & p).sum()), int((g | p).sum())
            pred_nt = not p.any()
            if item["no_target"]:
                acc_iou += 1.0 if pred_nt else 0.0
                acc_u += 0 if pred_nt else union
            else:
                inter = 0 if pred_nt else inter
                acc_iou += inter / union if union else 0.0
                acc_i += inter
                acc_u += union
            total += 1
    seconds = time.perf_counter() - start
    return total / seconds, {"giou": 100 * acc_iou / total, "ciou": 100 * acc_i / acc_u}


def timed_evaluate(items_path: Path, preds_path: Path, processes: int) -> tuple[float, dict]:
    start = time.perf_counter()
    result = evaluate(items_path, preds_path, "gres", processes=processes)
    return time.perf_counter() - start, result.metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--dense-items", type=int, default=3_000)
    parser.add_argument("--million", action="store_true", help="also evaluate 1,000,000 items with 2 processes")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="groundv-bench-eval-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.platform()}, Python {platform.python_version()}")

    pool = mask_pool(2_000)
    items_path, preds_path = write_files(workdir, args.items, pool)
    dense_rate, _ = dense_gres(items_path, preds_path, args.dense_items)
    print(f"\n### gres on {args.items:,} items of {H}×{W}\n")
    print("| implementation | items/s | × dense |\n|---|---|---|")
    print(f"| dense numpy (decode + count), first {args.dense_items:,} items | {dense_rate:,.0f} | 1.0 |", flush=True)
    for processes in (1, 2):
        seconds, _ = timed_evaluate(items_path, preds_path, processes)
        rate = args.items / seconds
        print(f"| groundv evaluate, {processes} process{'es' if processes > 1 else ''} | {rate:,.0f} | "
              f"{rate / dense_rate:.1f} |", flush=True)
    small = write_files(workdir, args.dense_items, pool)
    _, sample = timed_evaluate(*small, 1)
    _, dense_sample = dense_gres(*small, args.dense_items)
    agree = all(abs(sample[k] - dense_sample[k]) < 1e-9 for k in ("giou", "ciou"))
    print(f"\nSame numbers as the dense implementation on {args.dense_items:,} items: {agree} "
          f"(gIoU {sample['giou']:.4f} vs {dense_sample['giou']:.4f}, cIoU {sample['ciou']:.4f} vs "
          f"{dense_sample['ciou']:.4f}).")

    if args.million:
        big_items, big_preds = write_files(workdir, 1_000_000, pool)
        seconds, _ = timed_evaluate(big_items, big_preds, 2)
        print(f"\n1,000,000 items, 2 processes: {seconds:.0f} s ({1_000_000 / seconds:,.0f} items/s)")


if __name__ == "__main__":
    main()
