"""Generation benchmark: rules-teacher samples per second, on the toy world and at COCO scale.

Run: ``python benchmarks/bench_generate.py [--toy-scenes 500] [--coco-scale 0.05] [--workdir DIR]``

Each measurement runs in its own process, so that its peak memory (max RSS of the process, and of its
worker processes for ``workers > 1``) is its own:

- ``load``: iterate the source and build every Scene (annotations → RLE) — the baseline: generation
  cannot be faster than reading its input, so ratios are ``generate time / load time``;
- ``generate w=1`` and ``generate w=2``: :func:`groundv.generate.generate` with the rules teacher, all
  five categories, 3 plans per unit, writing the dataset directory.

Sources: the toy world (``--toy-scenes`` scenes, JPEGs loaded for colour naming), and a synthetic COCO
instances file (``benchmarks/bench_foundation.py``'s ``synth_coco`` at ``--coco-scale`` of train2017;
no image files, so no pixels are loaded, and its 80 categories are called ``category<i>``, which the
knowledge files do not know: reasoning finds no affordances there). The full-scale figure is an
extrapolation: train2017's image count divided by the measured rate.

Figures go to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

TRAIN2017_IMAGES = 118_287
TRAIN2017_ANNOTATIONS = 860_001


def _open(kind: str, path: str):  # -> Source
    from groundv.sources import open_source

    return open_source("toyworld" if kind == "toy" else "coco", path)


def measure(kind: str, path: str, what: str, workers: int, out: str) -> dict:
    """One measurement, in this (fresh) process."""
    from groundv.generate import generate

    source = _open(kind, path)
    start = time.perf_counter()
    if what == "load":
        scenes = sum(1 for _ in source)
        result = {"scenes": scenes, "samples": 0, "rejected": 0}
    else:
        manifest = generate(source, out, workers=workers, force=True)
        result = {"scenes": manifest.data["images"], "samples": manifest.samples, "rejected": manifest.rejected}
    result["seconds"] = time.perf_counter() - start
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["child_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def run_one(kind: str, path: Path, what: str, workers: int, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--one", kind, str(path), what, str(workers), str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--toy-scenes", type=int, default=500)
    parser.add_argument("--coco-scale", type=float, default=0.05)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--one", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, path, what, workers, out = args.one
        print(json.dumps(measure(kind, path, what, int(workers), out)))
        return

    from bench_foundation import synth_coco

    from groundv.sources.toyworld import write_toyworld

    work = args.workdir or Path(tempfile.mkdtemp(prefix="groundv-bench-gen-"))
    work.mkdir(parents=True, exist_ok=True)
    toy = work / "toyworld"
    if not (toy / "instances.json").is_file() or len(_open("toy", str(toy))) != args.toy_scenes:
        write_toyworld(toy, args.toy_scenes, seed=0)
    images = max(1, round(TRAIN2017_IMAGES * args.coco_scale))
    coco = work / f"synth-{images}.json"
    if not coco.is_file():
        synth_coco(coco, images, max(1, round(TRAIN2017_ANNOTATIONS * args.coco_scale)))

    rows = []
    for kind, path, label in (("toy", toy, f"toy world, {args.toy_scenes} scenes"),
                              ("coco", coco, f"synthetic COCO ×{args.coco_scale:g} ({images:,} images)")):
        base = run_one(kind, path, "load", 1, work / "unused")
        rows.append((label, "load scenes (baseline)", base, base))
        for workers in (1, 2):
            out = work / f"ds-{kind}-{workers}"
            res = run_one(kind, path, "generate", workers, out)
            rows.append((label, f"generate, workers={workers}", res, base))
            shutil.rmtree(out, ignore_errors=True)

    print(f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}\n")
    print("| source | step | scenes | samples | seconds | scenes/s | samples/s | × load time | "
          "peak RSS MB (parent / workers) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, step, res, base in rows:
        rate = res["scenes"] / res["seconds"]
        srate = res["samples"] / res["seconds"] if res["samples"] else 0.0
        ratio = res["seconds"] / base["seconds"]
        workers = f"{res['child_rss_mb']:.0f}" if "workers=2" in step else "–"
        print(f"| {label} | {step} | {res['scenes']:,} | {res['samples']:,} | {res['seconds']:.2f} | "
              f"{rate:,.0f} | {srate:,.0f} | {ratio:.2f} | {res['rss_mb']:.0f} / {workers} |")
    coco_rows = [r for r in rows if r[0].startswith("synthetic")]
    print("\nExtrapolated to train2017 (118,287 images), from the synthetic rates:")
    for _, step, res, _ in coco_rows:
        rate = res["scenes"] / res["seconds"]
        print(f"- {step}: {TRAIN2017_IMAGES / rate / 60:.1f} min")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
