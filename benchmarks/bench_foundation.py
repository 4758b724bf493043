"""Foundation benchmarks: toy-world rendering speed, and loading a COCO-scale annotation file.

Run: ``python benchmarks/bench_foundation.py [--scale 1.0] [--workdir /tmp/groundv-bench]``

1. Toy world: scenes rendered per second (``render_scene``) and written per second
   (``write_toyworld``: JPEG + masks + JSON), against the floor of only saving a same-size JPEG.
2. COCO scale: a synthetic instances JSON with 118,287 images and 860,001 polygon annotations
   (train2017's counts at ``--scale 1``) is loaded, each loader in its own process so that its
   peak memory (max RSS) is its own:
   - ``json.load`` (stdlib) — the baseline every COCO tool starts from;
   - ``pycocotools.coco.COCO`` — the field's standard loader (index only, no masks);
   - groundv ``CocoSource``: index only;
   - groundv ``CocoSource``: index + every Scene built, every polygon turned into an RLE.
   Goal from the Foundation issue: ≤ 30 s and ≤ 3 GB for the full groundv load.

Figures go to stdout as a Markdown table; BENCHMARKS.md records a run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

TRAIN2017_IMAGES = 118_287
TRAIN2017_ANNOTATIONS = 860_001


def synth_coco(path: Path, images: int, annotations: int, seed: int = 0) -> None:
    """Write a COCO-like instances file: polygons of 12–40 points, 80 categories, ~1% crowd-free."""
    rng = np.random.default_rng(seed)
    per_image = np.bincount(rng.integers(0, images, annotations), minlength=images)
    cats = [{"id": i, "name": f"category{i}", "supercategory": "thing"} for i in range(1, 81)]
    with path.open("wb") as f:
        f.write(b'{"info": {"description": "synthetic, groundv benchmark"}, "licenses": [], "images": [')
        for i in range(images):
            rec = {"id": i + 1, "file_name": f"{i + 1:012d}.jpg", "width": 640, "height": 480, "license": 1}
            f.write((b"," if i else b"") + orjson.dumps(rec))
        f.write(b'], "annotations": [')
        ann_id = 0
        for image_index, n in enumerate(per_image):
            for _ in range(n):
                k = int(rng.integers(12, 41))
                cx, cy = rng.uniform(60, 580), rng.uniform(60, 420)
                radius = rng.uniform(5, 55, k)
                theta = np.sort(rng.uniform(0, 2 * np.pi, k))
                poly = np.round(np.stack([cx + radius * np.cos(theta), cy + radius * np.sin(theta)], 1), 2)
                x0, y0 = poly.min(0)
                x1, y1 = poly.max(0)
                rec = {"id": ann_id + 1, "image_id": image_index + 1, "category_id": int(rng.integers(1, 81)),
                       "segmentation": [poly.ravel().tolist()], "area": float((x1 - x0) * (y1 - y0) / 2),
                       "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)], "iscrowd": 0}
                f.write((b"," if ann_id else b"") + orjson.dumps(rec))
                ann_id += 1
        f.write(b'], "categories": ' + orjson.dumps(cats) + b"}")


# -- loaders, each run in a fresh process ---------------------------------------------------------

def load_stdlib(path: str) -> int:
    with open(path) as f:
        return len(json.load(f)["annotations"])


def load_pycocotools(path: str) -> int:
    from contextlib import redirect_stdout

    from pycocotools.coco import COCO

    with redirect_stdout(io.StringIO()):
        return len(COCO(path).anns)


def load_groundv_index(path: str) -> int:
    from groundv.sources.coco import CocoSource

    return len(CocoSource(path))


def load_groundv_scenes(path: str) -> int:
    from groundv.sources.coco import CocoSource

    return sum(len(scene.regions) for scene in CocoSource(path))


LOADERS = {
    "json.load (stdlib) — baseline": load_stdlib,
    "pycocotools COCO() (index, no masks)": load_pycocotools,
    "groundv CocoSource (index)": load_groundv_index,
    "groundv CocoSource (all Scenes, every mask → RLE)": load_groundv_scenes,
}


def run_child(name: str, path: Path) -> tuple[float, float, int]:
    """Run one loader in a subprocess; returns (seconds, peak RSS in GB, count)."""
    code = (f"import sys, time, resource; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import bench_foundation as b; t = time.perf_counter(); n = b.LOADERS[{name!r}]({str(path)!r}); "
            "dt = time.perf_counter() - t; rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; print(dt, rss, n)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    dt, rss_kb, n = res.stdout.split()
    return float(dt), int(rss_kb) / 1024**2, int(n)


def bench_toyworld(workdir: Path, scenes: int) -> list[tuple[str, float]]:
    from PIL import Image

    from groundv.sources.toyworld import render_scene, write_toyworld

    t = time.perf_counter()
    for i in range(scenes):
        render_scene(i, seed=0)
    render_rate = scenes / (time.perf_counter() - t)

    t = time.perf_counter()
    write_toyworld(workdir / "toy", scenes, seed=0)
    write_rate = scenes / (time.perf_counter() - t)

    image = Image.effect_noise((320, 240), 40).convert("RGB")
    t = time.perf_counter()
    for i in range(scenes):
        image.save(workdir / f"floor{i % 10}.jpg", quality=95)
    floor_rate = scenes / (time.perf_counter() - t)
    return [("render_scene (image + masks in memory)", render_rate),
            ("write_toyworld (JPEG + JSON on disk)", write_rate),
            ("floor: only save a 320×240 JPEG", floor_rate)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of train2017's size (default 1)")
    parser.add_argument("--toy-scenes", type=int, default=300)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--skip-pycocotools", action="store_true", help="its full-scale load takes minutes")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="groundv-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)

    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"\n### Toy world ({args.toy_scenes} scenes, 320×240, one process)\n")
    print("| what | scenes/s |\n|---|---|")
    toy = bench_toyworld(workdir, args.toy_scenes)
    for name, rate in toy:
        print(f"| {name} | {rate:.1f} |")
    print(f"\nwrite_toyworld runs at {toy[1][1] / toy[2][1]:.2f}× the JPEG-save floor.")

    images = max(1, round(TRAIN2017_IMAGES * args.scale))
    annotations = max(1, round(TRAIN2017_ANNOTATIONS * args.scale))
    path = workdir / f"instances_synth_{images}.json"
    if not path.exists():
        t = time.perf_counter()
        synth_coco(path, images, annotations)
        print(f"\n(wrote {path.name} in {time.perf_counter() - t:.0f} s)")
    size_mb = path.stat().st_size / 1024**2
    print(f"\n### Loading a COCO-scale file: {images:,} images, {annotations:,} polygon annotations, "
          f"{size_mb:,.0f} MB\n")
    print("| loader | seconds | × baseline time | peak RSS (GB) | × baseline memory |\n|---|---|---|---|---|")
    base: tuple[float, float] | None = None
    for name in LOADERS:
        if args.skip_pycocotools and "pycocotools" in name:
            continue
        dt, gb, count = run_child(name, path)
        if count not in (images, annotations):
            raise SystemExit(f"{name} read {count} records, expected {images} images or {annotations} annotations")
        base = base or (dt, gb)
        print(f"| {name} | {dt:.1f} | {dt / base[0]:.2f} | {gb:.2f} | {gb / base[1]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
