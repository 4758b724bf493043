"""The review page's pictures, rendered from the RLE masks and cached as PNG files in the dataset folder.

Two stacked layers make one screen, so that toggling a target never redraws the regions:

* the **regions layer** of an image: the picture with every region outlined in its own colour and
  numbered 1…n (the order of :func:`region_order`, also the page's list), one per image;
* the **targets layer** of a sample's current target mask: a transparent PNG with the targets filled
  and outlined, one per (sample, mask).

Both are drawn at a whole zoom factor (small images are enlarged so numbers stay readable), written to
``DIR/.review-cache/`` under a name hashed from what they show (so a changed mask gets a new file and
an old one is never served stale) through a temporary file and a rename. Outlines are computed at the
image's own resolution, each inside its region's box, then enlarged once: a 100-region image costs a
decode per region and a little work per region pixel, not an erosion of the whole image per region at
full zoom.

Example:
    >>> cache = PictureCache(dataset_dir)  # doctest: +SKIP
    >>> cache.regions_png(scene)  # doctest: +SKIP
    PosixPath('.../.review-cache/regions-3f9a….png')
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from groundv import masks
from groundv.masks import RLE
from groundv.render import font, load_image
from groundv.scene import Region, Scene

__all__ = ["CACHE_DIR", "PictureCache", "palette", "region_order", "zoom_for"]

#: the picture cache, inside the dataset folder
CACHE_DIR = ".review-cache"
_VERSION = "1"  # bump when the drawing changes, so cached files are redrawn
_TARGET_RGB = (0, 229, 255)


def zoom_for(width: int, *, min_width: int = 960) -> int:
    """The whole factor (1–4) that enlarges an image of this width to at least ``min_width``."""
    return max(1, min(4, -(-min_width // width)))


def palette(n: int) -> list[tuple[int, int, int]]:
    """``n`` distinct bright colours; golden-ratio hue steps keep neighbouring numbers far apart."""
    out = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.75, 1.0)
        out.append((int(r * 255), int(g * 255), int(b * 255)))
    return out


def region_order(scene: Scene) -> list[Region]:
    """The scene's regions in the order they are numbered (source order: stable across sessions)."""
    return list(scene.regions)


def _edges(bitmap: np.ndarray) -> np.ndarray:
    """Pixels of ``bitmap`` with a 4-neighbour outside it (the image border counts as outside)."""
    inner = bitmap.copy()
    inner[1:, :] &= bitmap[:-1, :]
    inner[:-1, :] &= bitmap[1:, :]
    inner[:, 1:] &= bitmap[:, :-1]
    inner[:, :-1] &= bitmap[:, 1:]
    inner[0, :] = inner[-1, :] = False
    inner[:, 0] = inner[:, -1] = False
    return bitmap & ~inner


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _padded(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A label's text box grown by its pill's padding."""
    return box[0] - 4, box[1] - 3, box[2] + 4, box[3] + 3


class PictureCache:
    """Draws and caches the layers of one dataset folder; keeps a few hit maps in memory.

    Args:
        directory: the dataset folder (the cache goes to ``directory/.review-cache``).
        hit_maps: how many images' region maps (for clicks) to keep in memory.
    """

    def __init__(self, directory: str | Path, *, hit_maps: int = 32) -> None:
        self.dir = Path(directory) / CACHE_DIR
        self._hits: OrderedDict[object, np.ndarray] = OrderedDict()
        self._hit_limit = hit_maps
        self._lock = threading.Lock()

    def _path(self, kind: str, *parts: object) -> Path:
        digest = hashlib.sha1(repr((_VERSION, kind, *parts)).encode("utf-8")).hexdigest()[:20]
        return self.dir / f"{kind}-{digest}.png"

    def _save(self, path: Path, picture: Image.Image) -> Path:
        self.dir.mkdir(exist_ok=True)
        # A unique temporary name, then a rename: two requests drawing the same file never mix bytes.
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
        picture.save(tmp, format="PNG", compress_level=3)
        os.replace(tmp, path)
        return path

    def regions_png(self, scene: Scene) -> Path:
        """The regions layer of ``scene`` (drawn on first use)."""
        key = (scene.source, str(scene.image_id), scene.width, scene.height,
               tuple((r.id, r.rle["counts"]) for r in scene.regions), str(scene.path))
        path = self._path("regions", hashlib.sha1(repr(key).encode("utf-8")).hexdigest())
        if not path.is_file():
            self._save(path, self.draw_regions(scene))
        return path

    def targets_png(self, sample_id: str, mask: RLE) -> Path:
        """The targets layer of ``mask`` for a sample (drawn on first use)."""
        path = self._path("targets", sample_id, tuple(mask["size"]), mask["counts"])
        if not path.is_file():
            self._save(path, self.draw_targets(mask))
        return path

    def draw_regions(self, scene: Scene) -> Image.Image:
        """The picture, every region outlined in its colour and numbered (1-based, :func:`region_order`)."""
        zoom = zoom_for(scene.width)
        regions = region_order(scene)
        colours = palette(len(regions))
        h, w = scene.height, scene.width
        edge_rgb = np.zeros((h, w, 3), dtype=np.uint8)
        edge_any = np.zeros((h, w), dtype=bool)
        anchors: list[tuple[int, int, int]] = []
        # Large regions first, parts last: the outline drawn last (smaller, on top) wins a shared pixel.
        drawing = sorted(range(len(regions)), key=lambda i: (regions[i].kind == "part", -regions[i].area))
        for i in drawing:
            x, y, bw, bh = masks.bbox(regions[i].rle)
            if bw == 0 or bh == 0:
                continue
            # Work in the region's box grown by one pixel (still inside the image): the box's rim is
            # outside the mask, so the outline found there is the outline in the whole image.
            x0, y0 = max(0, int(x) - 1), max(0, int(y) - 1)
            x1, y1 = min(w, int(x + bw) + 1), min(h, int(y + bh) + 1)
            bitmap = masks.decode(regions[i].rle)[y0:y1, x0:x1].astype(bool)
            edge = _edges(bitmap)
            edge_rgb[y0:y1, x0:x1][edge] = colours[i]
            edge_any[y0:y1, x0:x1] |= edge
            ys, xs = np.nonzero(bitmap)
            # The mask pixel closest to the centroid: always on the region, even for rings and L shapes.
            k = int(np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2))
            anchors.append((i, (int(xs[k]) + x0) * zoom + zoom // 2, (int(ys[k]) + y0) * zoom + zoom // 2))
        base = np.asarray(load_image(scene).convert("RGB"), dtype=np.float32)
        base *= 0.82  # a touch darker, so that outlines and the cyan targets stand out
        base[edge_any] = edge_rgb[edge_any]
        picture = Image.fromarray(base.clip(0, 255).astype(np.uint8))
        if zoom > 1:
            picture = picture.resize((w * zoom, h * zoom), Image.Resampling.NEAREST)
        self._numbers(picture, anchors, colours)
        return picture

    @staticmethod
    def _numbers(picture: Image.Image, anchors: list[tuple[int, int, int]],
                 colours: list[tuple[int, int, int]]) -> None:
        draw = ImageDraw.Draw(picture)
        face = font(max(11, min(picture.width, picture.height) // 48), bold=True)
        placed: list[tuple[float, float, float, float]] = []
        for i, x, y in sorted(anchors, key=lambda a: a[0]):
            text = str(i + 1)
            box = _padded(draw.textbbox((x, y), text, font=face, anchor="mm"))
            for _ in range(6):  # regions often share a centre (a part on its object): step the label down
                if not any(_overlaps(box, other) for other in placed):
                    break
                y += int(box[3] - box[1]) + 1
                box = _padded(draw.textbbox((x, y), text, font=face, anchor="mm"))
            placed.append(box)
            left, top, right, bottom = box
            draw.rounded_rectangle((left, top, right, bottom), radius=4, fill=(16, 18, 24),
                                   outline=colours[i], width=2)
            draw.text((x, y), text, fill=(255, 255, 255), font=face, anchor="mm")

    def draw_targets(self, mask: RLE) -> Image.Image:
        """A transparent layer of the regions layer's size: the mask filled in cyan and outlined in white."""
        bitmap = masks.decode(mask).astype(bool)
        h, w = bitmap.shape
        zoom = zoom_for(w)
        layer = np.zeros((h, w, 4), dtype=np.uint8)
        layer[bitmap] = (*_TARGET_RGB, 110)
        if bitmap.any():
            layer[_edges(bitmap)] = (255, 255, 255, 255)
        picture = Image.fromarray(layer, "RGBA")
        return picture.resize((w * zoom, h * zoom), Image.Resampling.NEAREST) if zoom > 1 else picture

    def region_at(self, scene: Scene, x: float, y: float) -> int | None:
        """The id of the topmost region under the image point (x, y) (image pixels), None for none."""
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        xi, yi = int(x), int(y)
        if not (0 <= xi < scene.width and 0 <= yi < scene.height):
            return None
        key = (scene.source, scene.image_id)
        with self._lock:
            hits = self._hits.get(key)
            if hits is not None:
                self._hits.move_to_end(key)
        if hits is None:
            hits = np.full((scene.height, scene.width), -1, dtype=np.int64)
            # Same order as the outlines: a part or a small region on top of what it lies on.
            for r in sorted(scene.regions, key=lambda r: (r.kind == "part", -r.area)):
                hits[masks.decode(r.rle).astype(bool)] = r.id
            with self._lock:
                self._hits[key] = hits
                while len(self._hits) > self._hit_limit:
                    self._hits.popitem(last=False)
        found = int(hits[yi, xi])
        return None if found < 0 else found
