from __future__ import annotations

import numpy as np
import pytest

from groundv import masks
from groundv.errors import InputError
from groundv.knowledge import BASIC_TERMS, colour_name, colour_shares, name_rgb

#: A typical colour of each basic term, and the background it is painted on in the patch tests.
PROTOTYPES = {
    "red": (200, 35, 35), "orange": (240, 135, 25), "yellow": (240, 215, 45), "green": (50, 150, 55),
    "blue": (40, 85, 205), "purple": (125, 55, 165), "pink": (240, 145, 185), "brown": (125, 80, 40),
    "black": (28, 28, 30), "white": (238, 238, 235), "gray": (128, 128, 128),
}
BACKGROUND = {term: (240, 240, 240) if term not in ("white", "yellow", "pink") else (30, 30, 120)
              for term in PROTOTYPES}


@pytest.mark.parametrize(("rgb", "term"), [
    *((rgb, term) for term, rgb in PROTOTYPES.items()),
    ((120, 15, 15), "red"), ((128, 0, 0), "red"),  # dark red stays red
    ((255, 20, 147), "pink"), ((255, 192, 203), "pink"), ((235, 185, 160), "pink"),
    ((139, 69, 19), "brown"), ((210, 180, 140), "brown"), ((101, 67, 33), "brown"),
    ((0, 0, 128), "blue"), ((173, 216, 230), "blue"), ((0, 128, 128), "blue"),
    ((0, 100, 0), "green"), ((255, 215, 0), "yellow"), ((255, 200, 150), "orange"),
    ((0, 0, 0), "black"), ((255, 255, 255), "white"), ((190, 190, 190), "gray"), ((112, 128, 144), "gray"),
    ((128, 0, 128), "purple"),
])
def test_name_rgb(rgb, term):
    assert name_rgb(rgb) == term


def test_terms_are_the_eleven_basic_colours():
    assert len(BASIC_TERMS) == 11
    assert set(PROTOTYPES) == set(BASIC_TERMS)


def test_name_rgb_accepts_numpy():
    assert name_rgb(np.array([200, 35, 35], dtype=np.uint8)) == "red"


@pytest.mark.parametrize("bad", [(256, 0, 0), (-1, 0, 0), (1, 2), (1.5, 2.0, 3.0), "red", (1, 2, 3, 4)])
def test_name_rgb_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="three integers"):
        name_rgb(bad)


def noisy_patch(term: str, seed: int, size=(48, 64), box=(8, 8, 56, 40), sigma=15.0):
    """A shaded, noisy patch of ``term`` on a contrasting background, and the patch's mask."""
    rng = np.random.default_rng(seed)
    h, w = size
    image = np.empty((h, w, 3), dtype=np.float64)
    image[:] = BACKGROUND[term]
    x0, y0, x1, y1 = box
    shade = np.linspace(0.88, 1.05, x1 - x0)[None, :, None]  # light falls from the right
    image[y0:y1, x0:x1] = np.asarray(PROTOTYPES[term], dtype=np.float64) * shade
    image += rng.normal(0.0, sigma, size=image.shape)
    bitmap = np.zeros((h, w), dtype=np.uint8)
    bitmap[y0:y1, x0:x1] = 1
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), masks.encode(bitmap)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("term", list(PROTOTYPES))
def test_colour_name_of_noisy_shaded_patch(term, seed):
    image, rle = noisy_patch(term, seed)
    assert colour_name(image, rle) == term


@pytest.mark.parametrize("term", ["red", "blue", "white", "black"])
def test_colour_name_ignores_a_loose_mask_edge(term):
    # the mask is one pixel larger than the painted patch all round: the background ring must not vote
    image, _ = noisy_patch(term, seed=3, box=(10, 10, 40, 30))
    bitmap = np.zeros(image.shape[:2], dtype=np.uint8)
    bitmap[9:31, 9:41] = 1
    assert colour_name(image, masks.encode(bitmap)) == term


def test_colour_name_of_a_thin_region_is_not_blurred_with_its_background():
    image = np.full((30, 30, 3), 240, dtype=np.uint8)
    image[:, 14:16] = PROTOTYPES["red"]  # a 2-pixel wide pole
    bitmap = np.zeros((30, 30), dtype=np.uint8)
    bitmap[:, 14:16] = 1
    assert colour_name(image, masks.encode(bitmap)) == "red"


def test_tiny_region_is_none():
    image, _ = noisy_patch("red", seed=0)
    bitmap = np.zeros(image.shape[:2], dtype=np.uint8)
    bitmap[20:24, 20:24] = 1  # 16 pixels
    assert colour_name(image, masks.encode(bitmap)) is None
    assert colour_shares(image, masks.encode(bitmap)) == {}


def test_empty_region_is_none():
    image, _ = noisy_patch("red", seed=0)
    assert colour_name(image, masks.empty(*image.shape[:2])) is None


@pytest.mark.parametrize("split", [0.5, 0.6])
def test_mixed_region_is_none(split):
    image = np.zeros((40, 40, 3), dtype=np.uint8)
    cut = int(40 * split)
    image[:, :cut] = PROTOTYPES["red"]
    image[:, cut:] = PROTOTYPES["blue"]
    bitmap = np.ones((40, 40), dtype=np.uint8)
    assert colour_name(image, masks.encode(bitmap)) is None
    shares = colour_shares(image, masks.encode(bitmap))
    assert {"red", "blue"} <= set(shares)  # (and a purple seam where the smoothing mixes them)


def test_mostly_one_colour_wins():
    image = np.zeros((40, 40, 3), dtype=np.uint8)
    image[:, :32] = PROTOTYPES["green"]
    image[:, 32:] = PROTOTYPES["yellow"]
    assert colour_name(image, masks.encode(np.ones((40, 40), dtype=np.uint8))) == "green"


def test_shares_sum_to_one_largest_first():
    image, rle = noisy_patch("brown", seed=5, sigma=30.0)
    shares = colour_shares(image, rle)
    assert sum(shares.values()) == pytest.approx(1.0)
    values = list(shares.values())
    assert values == sorted(values, reverse=True)


def test_large_region_is_subsampled_deterministically():
    image = np.zeros((300, 300, 3), dtype=np.uint8)
    image[:] = PROTOTYPES["orange"]
    rle = masks.encode(np.ones((300, 300), dtype=np.uint8))
    assert colour_name(image, rle) == "orange"
    assert colour_shares(image, rle) == colour_shares(image, rle)


@pytest.mark.parametrize("image", [
    np.zeros((10, 10), dtype=np.uint8), np.zeros((10, 10, 4), dtype=np.uint8),
    np.zeros((10, 10, 3), dtype=np.float32), [[0, 0, 0]],
])
def test_bad_image_is_a_value_error(image):
    with pytest.raises(ValueError, match="H×W×3 uint8"):
        colour_name(image, masks.empty(10, 10))


def test_mask_of_another_size_is_an_input_error():
    with pytest.raises(InputError, match="mask is 5×5 but the image is 10×10"):
        colour_name(np.zeros((10, 10, 3), dtype=np.uint8), masks.empty(5, 5))


def test_the_toy_world_paints_are_named_as_the_renderer_names_them():
    toyworld = pytest.importorskip("groundv.sources.toyworld")
    for term, rgb in toyworld.TOYWORLD_COLORS.items():
        assert name_rgb(rgb) == term
    assert name_rgb((105, 120, 140)) == "gray"  # the renderer's glass


def test_colour_name_agrees_with_rendered_toy_scenes():
    toyworld = pytest.importorskip("groundv.sources.toyworld")
    right = wrong = 0
    for index in range(12):
        scene = toyworld.render_scene(index, seed=0)
        image = np.asarray(scene.image.convert("RGB"))
        for obj in scene.objects:
            for thing in obj.parts or (obj,):
                name = colour_name(image, thing.rle)
                if name is not None:
                    right += name == thing.color
                    wrong += name != thing.color
    assert right >= 100
    assert wrong <= 0.02 * (right + wrong)
