"""Set-of-marks pictures for vision teachers: the image, downscaled, with every region outlined and numbered.

A vision LLM cannot read region ids off the pixels, so the image it sees carries them: each region
is filled lightly, outlined in its own colour and labelled with its id (parts as ``·id``), exactly as
:func:`groundv.render.draw_regions` draws them for people. The picture is downscaled first — image
tokens dominate a vision teacher's bill, and they grow with the pixel count — and the masks are
scaled with it, so outlines and labels are drawn at the size the model sees (never shrunk to blur).

Example:
    >>> from groundv import masks
    >>> from groundv.scene import Region, Scene
    >>> r = Region(1, "object", "mug", 1, masks.empty(600, 800), (0, 0, 0, 0))
    >>> marked_image(Scene(7, "a.jpg", 800, 600, "demo", (r,)), 400).size
    (400, 300)
"""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
from PIL import Image

from groundv import masks
from groundv.render import draw_regions, load_image
from groundv.scene import Scene

__all__ = ["marked_image", "marked_png", "scaled_size"]


def scaled_size(width: int, height: int, size: int) -> tuple[int, int]:
    """``(width, height)`` shrunk so the longer side is at most ``size`` (never enlarged).

    Example:
        >>> scaled_size(640, 480, 512), scaled_size(300, 200, 512)
        ((512, 384), (300, 200))
    """
    if size < 1:
        raise ValueError(f"size must be ≥ 1, got {size}")
    scale = min(1.0, size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _scaled_scene(scene: Scene, width: int, height: int) -> Scene:
    """The scene with every mask and box resized to ``width`` × ``height`` (nearest neighbour)."""
    rows = np.minimum((np.arange(height) + 0.5) * scene.height / height, scene.height - 1).astype(np.intp)
    cols = np.minimum((np.arange(width) + 0.5) * scene.width / width, scene.width - 1).astype(np.intp)
    sx, sy = width / scene.width, height / scene.height
    regions = []
    for r in scene.regions:
        bitmap = masks.decode(r.rle)[np.ix_(rows, cols)]
        x, y, w, h = r.bbox
        regions.append(replace(r, rle=masks.encode(np.ascontiguousarray(bitmap)),
                               bbox=(x * sx, y * sy, w * sx, h * sy)))
    return Scene(scene.image_id, scene.file_name, width, height, scene.source, tuple(regions),
                 scene.absent, scene.not_exhaustive, None)


def marked_image(scene: Scene, size: int = 768) -> Image.Image:
    """The scene's image with the longer side at most ``size`` pixels and every region marked with its id.

    Raises:
        InputError: the image file cannot be opened or has the wrong size.
    """
    width, height = scaled_size(scene.width, scene.height, size)
    image = load_image(scene)
    if (width, height) == (scene.width, scene.height):
        return draw_regions(scene, image, min_width=1)
    small = image.resize((width, height), Image.Resampling.LANCZOS)
    return draw_regions(_scaled_scene(scene, width, height), small, min_width=1)


def marked_png(scene: Scene, size: int = 768) -> bytes:
    """:func:`marked_image` encoded as PNG bytes (deterministic: same scene and size, same bytes)."""
    buffer = io.BytesIO()
    marked_image(scene, size).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
