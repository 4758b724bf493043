"""Review page benchmark: drawing and serving one screen of an image with 100+ regions.

Run: ``python benchmarks/bench_review.py [--objects 120] [--repeat 5]``

Builds a 640×480 scene of ``--objects`` irregular objects, each with one part (2×objects regions), and
times, per screen (median of ``--repeat`` runs):

* baseline: :func:`groundv.render.draw_regions` (what ``groundv inspect --render`` draws: an erosion per
  region at full zoom) plus a PNG encode — what a page would cost without the review cache's renderer;
* the review renderer uncached: :meth:`PictureCache.regions_png` on an empty cache (draw + PNG write);
* a toggle: a new targets layer (:meth:`PictureCache.targets_png`, the union mask of 10 regions);
* cached: :meth:`PictureCache.regions_png` when the PNG is already in ``.review-cache``;
* a click: :meth:`PictureCache.region_at` once its hit map is in memory.

Figures go to stdout as a Markdown table with ratios to the baseline.
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from groundv import masks
from groundv.render import draw_regions
from groundv.review.pictures import PictureCache
from groundv.scene import Region, Scene


def crowded_scene(objects: int, seed: int = 0) -> Scene:
    """A 640×480 scene of ``objects`` random ellipses, each with a small disc as its part."""
    rng = np.random.default_rng(seed)
    h, w = 480, 640
    yy, xx = np.mgrid[0:h, 0:w]
    regions: list[Region] = []
    for i in range(objects):
        cx, cy, rx, ry = rng.uniform(20, w - 20), rng.uniform(20, h - 20), rng.uniform(8, 60), rng.uniform(8, 60)
        body = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
        part = (xx - cx) ** 2 + (yy - cy) ** 2 <= (min(rx, ry) / 3) ** 2
        for rid, bitmap, kind in ((1000 + i, body, "object"), (5000 + i, part, "part")):
            rle = masks.encode(bitmap)
            regions.append(Region(rid, kind, "mug" if kind == "object" else "mug:handle", 1, rle, masks.bbox(rle),
                                  parent_id=1000 + i if kind == "part" else None))
    return Scene(1, "synthetic.jpg", w, h, "bench", tuple(regions))


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    scene = crowded_scene(args.objects)
    with tempfile.TemporaryDirectory() as tmp:
        def baseline() -> None:
            draw_regions(scene).save(io.BytesIO(), format="PNG")

        def uncached() -> None:
            fresh = Path(tmp) / f"u{time.perf_counter_ns()}"
            fresh.mkdir()
            PictureCache(fresh).regions_png(scene)

        cache = PictureCache(tmp)
        cache.regions_png(scene)
        ids = [r.id for r in scene.regions[:20:2]]
        counter = iter(range(10**9))

        def toggle() -> None:
            n = next(counter) % len(ids) + 1
            cache.targets_png(f"s{next(counter)}", masks.union([scene.region(i).rle for i in ids[:n]]))

        cache.region_at(scene, 1, 1)
        rows = [("baseline: `render.draw_regions` + PNG encode", timed(baseline, args.repeat)),
                ("review renderer, uncached (draw + PNG write)", timed(uncached, args.repeat)),
                ("toggle: new targets layer", timed(toggle, args.repeat)),
                ("cached regions layer", timed(lambda: cache.regions_png(scene), args.repeat)),
                ("click: region under a point", timed(lambda: cache.region_at(scene, 320, 240), args.repeat))]
    print(f"{len(scene.regions)} regions on 640×480; Python {platform.python_version()}, {platform.machine()}\n")
    print("| what | ms per screen | × baseline time |\n|---|---|---|")
    base = rows[0][1]
    for name, seconds in rows:
        print(f"| {name} | {seconds * 1000:.1f} | {seconds / base:.3f} |")


if __name__ == "__main__":
    main()
