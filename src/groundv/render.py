"""Pictures of scenes: every region outlined in its own colour and labelled with its id.

This is what ``groundv inspect --render`` writes, so a person can check at a glance that masks sit on
the objects they name and that parts sit inside their objects.
"""

from __future__ import annotations

import colorsys
import functools
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from groundv import masks
from groundv.errors import InputError
from groundv.scene import Region, Scene

__all__ = ["draw_regions", "draw_sample", "font", "load_image", "save_render", "wrap_text"]


def load_image(scene: Scene) -> Image.Image:
    """The scene's image as RGB, or a plain grey canvas of its size when it has no image file.

    Raises:
        InputError: the file exists but cannot be opened, or its size is not the scene's.
    """
    if scene.path is None:
        return Image.new("RGB", (scene.width, scene.height), (128, 128, 128))
    try:
        with Image.open(scene.path) as im:
            image = im.convert("RGB")
    except OSError as exc:
        raise InputError(f"cannot open image ({exc})", file=scene.path) from None
    if image.size != (scene.width, scene.height):
        raise InputError(f"image is {image.width}×{image.height} but its annotations say "
                         f"{scene.width}×{scene.height}", file=scene.path, where=f"image {scene.image_id}")
    return image


def _palette(n: int) -> list[tuple[int, int, int]]:
    # Golden-ratio hue steps keep neighbouring ids far apart in colour.
    out = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.85, 1.0)
        out.append((int(r * 255), int(g * 255), int(b * 255)))
    return out


def _label_anchor(region: Region, bitmap: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(bitmap)
    # The mask pixel closest to the centroid: always on the region, even for rings and L shapes.
    cy, cx = ys.mean(), xs.mean()
    i = int(np.argmin((ys - cy) ** 2 + (xs - cx) ** 2))
    return int(xs[i]), int(ys[i])


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def draw_regions(scene: Scene, image: Image.Image | None = None, *, fill_alpha: int = 60,
                 min_width: int = 960) -> Image.Image:
    """Draw every region of ``scene``: a translucent fill, an outline and its id.

    Objects and stuff get solid outlines; parts get thinner ones and a label ``id`` prefixed with
    ``·`` so they are told apart from the objects they sit on.

    Args:
        scene: what to draw.
        image: the picture to draw on; default :func:`load_image`.
        fill_alpha: opacity of the fills (0–255).
        min_width: small images are enlarged by a whole factor (up to 4×) to at least this width,
            so that the ids of small parts stay readable.

    Returns:
        A new RGB image.
    """
    zoom = max(1, min(4, -(-min_width // scene.width)))
    base = (image or load_image(scene)).convert("RGBA")
    if zoom > 1:
        base = base.resize((scene.width * zoom, scene.height * zoom), Image.Resampling.LANCZOS)
    overlay = np.zeros((scene.height * zoom, scene.width * zoom, 4), dtype=np.uint8)
    labels: list[tuple[tuple[int, int], str, tuple[int, int, int]]] = []
    ordered = sorted(scene.regions, key=lambda r: (r.kind == "part", -r.area))  # parts drawn last, on top
    for region, colour in zip(ordered, _palette(len(ordered)), strict=True):
        bitmap = masks.decode(region.rle).astype(bool)
        if zoom > 1:
            bitmap = bitmap.repeat(zoom, axis=0).repeat(zoom, axis=1)
        if not bitmap.any():
            continue
        width = 1 if region.kind == "part" else 2
        edge = bitmap & ~ndimage.binary_erosion(bitmap, iterations=width)
        overlay[bitmap] = np.maximum(overlay[bitmap], (*colour, fill_alpha))
        overlay[edge] = (*colour, 255)
        text = f"·{region.id}" if region.kind == "part" else str(region.id)
        labels.append((_label_anchor(region, bitmap), text, colour))
    out = Image.alpha_composite(base, Image.fromarray(overlay, "RGBA"))
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default(size=max(11, min(out.width, out.height) // 45))
    placed: list[tuple[int, int, int, int]] = []
    for (x, y), text, colour in labels:
        box = draw.textbbox((x, y), text, font=font, anchor="mm")
        # Regions often share a centre (a COCO object annotated twice, a part on its object):
        # step a colliding label down until it is readable.
        for _ in range(6):
            if not any(_overlaps(box, other) for other in placed):
                break
            y += box[3] - box[1] + 3
            box = draw.textbbox((x, y), text, font=font, anchor="mm")
        placed.append(box)
        left, top, right, bottom = box
        draw.rectangle((left - 2, top - 1, right + 2, bottom + 1), fill=(0, 0, 0, 190))
        draw.text((x, y), text, fill=colour, font=font, anchor="mm")
    return out.convert("RGB")


def save_render(scene: Scene, out: str | Path) -> Path:
    """Draw ``scene`` with :func:`draw_regions` and write it as PNG; returns the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    draw_regions(scene).save(out)
    return out


@functools.cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans (it has the dashes, arrows and accents Pillow's built-in font lacks), else the built-in."""
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def wrap_text(text: str, face: Any, width: int) -> list[str]:
    """Greedy word wrap of ``text`` to ``width`` pixels in the font ``face``."""
    lines: list[str] = []
    for word in text.split():
        if lines and face.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def draw_sample(sample: dict[str, Any], image: Image.Image, *, min_width: int = 720) -> Image.Image:
    """A generated sample as a card: the image with the target filled and outlined, the rest dimmed,
    and its category, instruction, response and id in a caption below.

    Args:
        sample: a sample record (the ``samples-*.jsonl`` contract).
        image: the sample's image (see :func:`load_image`).
        min_width: small images are enlarged by a whole factor (up to 4×) to at least this width.
    """
    picture = image.convert("RGB")
    bitmap = masks.decode(sample["mask"]).astype(bool)
    zoom = max(1, min(4, -(-min_width // picture.width)))
    if zoom > 1:
        picture = picture.resize((picture.width * zoom, picture.height * zoom), Image.Resampling.LANCZOS)
        bitmap = bitmap.repeat(zoom, axis=0).repeat(zoom, axis=1)
    pixels = np.asarray(picture).astype(np.float32)
    if bitmap.any():
        pixels[~bitmap] *= 0.5  # dim the rest so the target stands out in its own colours
        pixels[bitmap] = 0.75 * pixels[bitmap] + 0.25 * np.array((0, 200, 255), dtype=np.float32)
        edge = bitmap & ~ndimage.binary_erosion(bitmap, iterations=max(2, picture.width // 320))
        pixels[edge] = (255, 255, 0)
    picture = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))

    size = max(14, picture.width // 45)
    regular, bold = font(size), font(size + 1, bold=True)
    subtype = sample.get("subtype") or sample.get("plan", {}).get("subtype")
    targets = ("no target (empty mask)" if sample.get("no_target")
               else f"targets: {', '.join(str(t) for t in sample.get('target_ids', []))}")
    blocks = [
        (f"{sample['category']}" + (f" / {subtype}" if subtype else "") + f"   ·   {targets}", bold, (120, 210, 255)),
        (f"Instruction: {sample['instruction']}", regular, (255, 255, 255)),
        (f"Response: {sample['response']}", regular, (210, 210, 210)),
        (f"{sample['id']}   ·   image {sample['image']['id']}   ·   teacher {sample['teacher'].get('name')}",
         regular, (150, 150, 150)),
    ]
    lines = [(line, face, colour) for text, face, colour in blocks
             for line in wrap_text(text, face, picture.width - 2 * size)]
    line_h, pad = int(size * 1.45), size
    canvas = Image.new("RGB", (picture.width, picture.height + 2 * pad + line_h * len(lines)), (24, 24, 28))
    canvas.paste(picture, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for k, (line, face, colour) in enumerate(lines):
        draw.text((pad, picture.height + pad + k * line_h), line, font=face, fill=colour)
    return canvas
