from __future__ import annotations

import re
from contextlib import nullcontext

import numpy as np
import orjson
import pytest
from pycocotools import mask as coco_mask

from groundv import masks
from groundv.errors import GroundvWarning, MaskError


def random_bitmap(seed: int, shape=(37, 53)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random(shape) > 0.6).astype(np.uint8)


@pytest.mark.parametrize("seed", range(5))
def test_rle_bitmap_rle_round_trip_is_byte_identical(seed):
    rle = masks.encode(random_bitmap(seed))
    again = masks.encode(masks.decode(rle))
    assert again == rle
    assert isinstance(rle["counts"], str)
    orjson.dumps(rle)  # JSON-ready


def test_encode_accepts_c_order_and_bool():
    bitmap = np.zeros((4, 6), dtype=bool)
    bitmap[1:3, 2:5] = True
    rle = masks.encode(bitmap)
    assert masks.area(rle) == 6
    assert masks.bbox(rle) == (2.0, 1.0, 3.0, 2.0)
    np.testing.assert_array_equal(masks.decode(rle), bitmap.astype(np.uint8))


def test_polygon_area_matches_pycocotools(shared_data):
    anns = orjson.loads((shared_data / "coco/annotations/instances_val2017_subset.json").read_bytes())
    sizes = {im["id"]: (im["height"], im["width"]) for im in anns["images"]}
    checked = 0
    for ann in anns["annotations"]:
        if not isinstance(ann["segmentation"], list):
            continue
        h, w = sizes[ann["image_id"]]
        ours = masks.from_polygons(ann["segmentation"], h, w)
        theirs = coco_mask.decode(coco_mask.frPyObjects(ann["segmentation"], h, w)).any(axis=2).sum()
        assert masks.area(ours) == theirs
        checked += 1
    assert checked > 30


def test_integer_rectangle_covers_exactly_w_times_h():
    rle = masks.from_polygons([[2, 3, 7, 3, 7, 5, 2, 5]], 10, 10)
    assert masks.area(rle) == 5 * 2


@pytest.mark.parametrize("bad", [[1, 2, 3, 4], [1, 2, 3, 4, 5, 6, 7]])
def test_degenerate_polygons_are_dropped_with_a_warning(bad):
    good = [0, 0, 4, 0, 4, 4, 0, 4]
    with pytest.warns(GroundvWarning, match="dropped polygon #0"):
        rle = masks.from_polygons([bad, good], 10, 10, where="annotation 5")
    assert masks.area(rle) == 16


def test_dropped_polygons_can_be_reported_to_a_callback():
    seen: list[str] = []
    rle = masks.from_polygons([[1, 2, 3, 4]], 5, 5, on_drop=seen.append)
    assert masks.is_empty(rle)
    assert len(seen) == 1 and "4 numbers" in seen[0]


def test_union_ors_overlapping_masks():
    a = np.zeros((5, 5), np.uint8)
    a[0:3, 0:3] = 1
    b = np.zeros((5, 5), np.uint8)
    b[2:5, 2:5] = 1
    u = masks.union([masks.encode(a), masks.encode(b)])
    assert masks.decode(u).max() == 1
    assert masks.area(u) == 9 + 9 - 1


def test_union_of_nothing_needs_a_size():
    assert masks.is_empty(masks.union([], (3, 4)))
    assert masks.size(masks.union([], (3, 4))) == (3, 4)
    with pytest.raises(MaskError, match="needs the image size"):
        masks.union([])


def test_union_rejects_mixed_sizes():
    with pytest.raises(MaskError, match="different sizes"):
        masks.union([masks.empty(3, 4), masks.empty(4, 3)])


def test_areas_guard_more_than_255_masks():
    rles = [masks.encode(random_bitmap(i % 7, (8, 8))) for i in range(600)]
    got = masks.areas(rles)
    assert got.dtype == np.int64
    assert got.tolist() == [masks.area(r) for r in rles]


def test_iou_and_empty_masks():
    e = masks.empty(6, 6)
    assert masks.iou(e, e) == 0.0
    assert masks.iou(e, e, empty_is_one=True) == 1.0
    a = np.zeros((6, 6), np.uint8)
    a[:, :3] = 1
    b = np.zeros((6, 6), np.uint8)
    b[:, 1:4] = 1
    assert masks.intersection_union(masks.encode(a), masks.encode(b)) == (12, 24)
    assert masks.iou(masks.encode(a), masks.encode(b)) == pytest.approx(0.5)
    assert masks.iou(masks.encode(a), e, empty_is_one=True) == 0.0


def test_uncompressed_rle_matches_pycocotools():
    bitmap = random_bitmap(3, (9, 11))
    flat = bitmap.flatten(order="F")
    counts, current, run = [], 0, 0
    for v in flat:
        if v != current:
            counts.append(run)
            current, run = v, 0
        run += 1
    counts.append(run)
    rle = masks.from_segmentation({"size": [9, 11], "counts": counts}, 9, 11)
    np.testing.assert_array_equal(masks.decode(rle), bitmap)


@pytest.mark.parametrize(("segmentation", "message"), [
    ({"size": [5, 5], "counts": [3, 4]}, "sum to 7"),
    ({"size": [4, 5], "counts": "0"}, "RLE size is 4×5 but the image is 5×5"),
    ({"size": "5x5", "counts": "0"}, "must be \\[height, width\\]"),
    ({"size": [5, 5], "counts": 3}, "must be a string or a list"),
    ("not a mask", "polygon list or an RLE dict"),
    ([["a", "b", "c", "d", "e", "f"]], "not a flat list of numbers"),
])
def test_bad_segmentations_raise_mask_error_with_where(segmentation, message):
    with pytest.raises(MaskError, match=message) as info:
        masks.from_segmentation(segmentation, 5, 5, where="annotation 9")
    assert "annotation 9" in str(info.value)


def test_compressed_string_counts_are_accepted():
    rle = masks.encode(random_bitmap(1, (5, 5)))
    assert masks.from_segmentation(dict(rle), 5, 5) == rle
    raw = {"size": rle["size"], "counts": rle["counts"].encode()}
    assert masks.from_segmentation(raw, 5, 5) == rle


def test_overlap_gives_all_four_counts():
    a = np.zeros((6, 6), np.uint8)
    a[:, :3] = 1
    b = np.zeros((6, 6), np.uint8)
    b[:, 1:4] = 1
    assert masks.overlap(masks.encode(a), masks.encode(b)) == (12, 24, 18, 18)
    with pytest.raises(MaskError, match="different sizes"):
        masks.overlap(masks.empty(3, 4), masks.empty(4, 3))


@pytest.mark.parametrize("seed", range(40))
def test_run_check_accepts_every_real_rle(seed):
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(1, 300, 2))
    bitmap = (rng.random((h, w)) > rng.random()).astype(np.uint8)
    rle = masks.encode(bitmap)
    assert masks.from_segmentation(dict(rle), h, w) == rle


@pytest.mark.parametrize(("counts", "message"), [
    ("0", "runs cover 0 pixels, the size needs 48"),  # would make pycocotools' merge loop forever
    ("", "no runs"),
    ("R", "the last run is cut short"),
    ("a b", "characters outside the RLE alphabet"),
    ("1O", "a negative run length"),
])
def test_corrupt_compressed_counts_are_refused(counts, message):
    with pytest.raises(MaskError, match=message):
        masks.from_segmentation({"size": [6, 8], "counts": counts}, 6, 8, where="prediction 3")


def _reference_runs(counts: bytes) -> list[int] | None:
    """pycocotools' rleFrString, written out plainly (None where it would read past the string)."""
    runs: list[int] = []
    p = 0
    while p < len(counts):
        x = k = 0
        more = True
        while more:
            if p >= len(counts):
                return None
            c = counts[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


def test_batch_run_check_agrees_with_a_plain_decoder():
    rng = np.random.default_rng(7)
    rles = []
    for _ in range(400):
        h, w = (int(v) for v in rng.integers(1, 80, 2))
        rle = masks.encode((rng.random((h, w)) > rng.random()).astype(np.uint8))
        counts = rle["counts"]
        kind = rng.integers(4)
        if kind == 1 and len(counts) > 1:  # cut short
            counts = counts[: int(rng.integers(1, len(counts)))]
        elif kind == 2:  # one character changed within the alphabet
            i = int(rng.integers(len(counts)))
            counts = counts[:i] + chr(48 + int(rng.integers(64))) + counts[i + 1:]
        rles.append({"size": rle["size"], "counts": counts})
    got = masks.check_runs(rles)
    for rle, problem in zip(rles, got, strict=True):
        runs = _reference_runs(rle["counts"].encode())
        valid = runs is not None and min(runs) >= 0 and sum(runs) == rle["size"][0] * rle["size"][1]
        assert (problem is None) == valid, (rle, problem, runs)
    assert sum(p is None for p in got) > 100 and sum(p is not None for p in got) > 100


def _expected_problem(rle) -> str | None:
    """check_runs' answer for one RLE, from the plain decoder."""
    counts = rle["counts"].encode("ascii", "replace") if isinstance(rle["counts"], str) else rle["counts"]
    if not counts:
        return "no runs"
    if any(not 48 <= c < 112 for c in counts):
        return "characters outside the RLE alphabet"
    runs = _reference_runs(counts)
    if runs is None:
        return "the last run is cut short"
    lengths, k = [], 0
    for c in counts:
        k += 1
        if not (c - 48) & 0x20:
            lengths.append(k)
            k = 0
    if max(lengths) > 12:
        return "a run is too long to be real"
    if min(runs) < 0:
        return "a negative run length"
    pixels = rle["size"][0] * rle["size"][1]
    return None if sum(runs) == pixels else f"runs cover {sum(runs)} pixels, the size needs {pixels}"


@pytest.mark.parametrize("seed", range(5))
def test_batch_run_check_matches_checking_each_alone(seed):
    rng = np.random.default_rng(seed)
    rles = []
    for i in range(300):
        h, w = (int(v) for v in rng.integers(1, 60, 2))
        rle = masks.encode((rng.random((h, w)) > rng.random()).astype(np.uint8))
        counts = rle["counts"]
        kind = i % 10
        if kind == 1:
            counts = ""
        elif kind == 2:  # a character outside the alphabet ("é" becomes "?", which is inside)
            j = int(rng.integers(len(counts)))
            counts = counts[:j] + str(rng.choice([" ", "/", "p", "~", "é"])) + counts[j + 1:]
        elif kind == 3:  # cut short: ends on a continuation character
            counts = counts + str(rng.choice(list("PZo")))
        elif kind == 4 and len(counts) > 1:  # cut anywhere
            counts = counts[: int(rng.integers(1, len(counts)))]
        elif kind == 5:  # one character changed within the alphabet
            j = int(rng.integers(len(counts)))
            counts = counts[:j] + chr(48 + int(rng.integers(64))) + counts[j + 1:]
        elif kind == 6 and i % 20 == 6:  # a last number of 12 characters, 2**55 - 1
            counts = counts + "o" * 11 + "0"
        elif kind == 6:  # a number of 13 characters
            j = int(rng.integers(len(counts) + 1))
            counts = counts[:j] + "o" * 12 + "1" + counts[j:]
        elif kind == 7:
            rle = {"size": [h + 1, w], "counts": counts}
        elif kind == 8:
            counts = counts.encode()
        rles.append({"size": rle["size"], "counts": counts})
    rng.shuffle(rles)
    together = masks.check_runs(rles)
    assert [masks.check_runs([r])[0] for r in rles] == together
    assert together == [_expected_problem(r) for r in rles]
    for message in ("no runs", "characters outside the RLE alphabet", "the last run is cut short",
                    "a run is too long to be real", "runs cover", None):
        assert any(p == message or (p and message and p.startswith(message)) for p in together), message


def test_run_check_on_large_masks():
    rng = np.random.default_rng(3)
    rles = []
    for _ in range(6):
        bitmap = np.zeros((1000, 1000), np.uint8)
        for _ in range(int(rng.integers(1, 4))):  # large blocks: runs of up to ~10**6 pixels
            y, x = (int(v) for v in rng.integers(0, 900, 2))
            bitmap[y:y + int(rng.integers(1, 1000)), x:x + int(rng.integers(1, 1000))] = 1
        bitmap[rng.random((1000, 1000)) > 0.9995] ^= 1  # plus a few scattered pixels
        rles.append(masks.encode(bitmap))
    rles.append(masks.empty(1000, 1000))
    rles.append(masks.encode(np.ones((1000, 1000), np.uint8)))
    longest = max(len(run) + 1 for r in rles for run in re.findall("[P-o]+", r["counts"]))
    assert longest >= 4
    assert masks.check_runs(rles) == [None] * len(rles)
    broken = [{"size": [999, 1000], "counts": rles[0]["counts"]},
              {"size": [1000, 1000], "counts": rles[1]["counts"][:-1]},
              {"size": [1000, 1000], "counts": rles[2]["counts"] + "W"}]
    got = masks.check_runs(rles + broken)
    assert got[:len(rles)] == [None] * len(rles)
    assert got[len(rles)] == "runs cover 1000000 pixels, the size needs 999000"
    assert got[len(rles):] == [_expected_problem(r) for r in broken]
    assert got == [masks.check_runs([r])[0] for r in rles + broken]


def test_to_uncompressed_is_pycocotools_own_reading_of_the_string():
    rng = np.random.default_rng(7)
    for n in range(200):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        bitmap = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        if n % 4 == 0:  # long runs: counts of several 5-bit groups, and differences that go negative
            bitmap = np.zeros((h * 30, w * 30), np.uint8)
            bitmap[int(rng.integers(0, h * 30)):, int(rng.integers(0, w * 30)):] = 1
        rle = masks.encode(bitmap)
        plain = masks.to_uncompressed(rle)
        assert plain["size"] == rle["size"] and sum(plain["counts"]) == bitmap.size
        assert masks.from_uncompressed(plain) == rle
        height, width = bitmap.shape
        assert np.array_equal(coco_mask.decode(coco_mask.frPyObjects(plain, height, width)), bitmap)


def _pycocotools_paints(polygons: list[list[float]], height: int, width: int) -> np.ndarray:
    """What G_REFER, LISA and detectron2 paint: frPyObjects per polygon, decoded, OR-ed."""
    if not polygons:
        return np.zeros((height, width), np.uint8)
    return coco_mask.decode(coco_mask.frPyObjects(polygons, height, width)).any(axis=2).astype(np.uint8)


def test_coco_polygons_paint_back_exactly_with_holes_and_islands():
    rng = np.random.default_rng(11)
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(2, 45, 2))
        bitmap = (rng.random((h, w)) < rng.uniform(0.1, 0.95)).astype(np.uint8)  # holes, islands, lines
        polygons = masks.to_coco_polygons(masks.encode(bitmap))
        assert all(len(p) >= 6 and len(p) % 2 == 0 for p in polygons)
        np.testing.assert_array_equal(_pycocotools_paints(polygons, h, w), bitmap)
    # A ring: one polygon (the hole spliced in), and the hole stays empty.
    ring = np.zeros((9, 9), np.uint8)
    ring[1:8, 1:8] = 1
    ring[3:6, 3:6] = 0
    polygons = masks.to_coco_polygons(masks.encode(ring))
    assert len(polygons) == 1
    np.testing.assert_array_equal(_pycocotools_paints(polygons, 9, 9), ring)
    assert masks.to_coco_polygons(masks.empty(4, 4)) == []


def test_coco_polygons_paint_back_real_coco_masks_exactly(shared_data):
    # The centre-traced polygons of to_polygons lose boundary pixels under pycocotools (mean IoU about
    # 0.89 on these masks); the pixel-edge ones give every mask back.
    from groundv.sources.coco import CocoSource

    checked = 0
    for scene in CocoSource(shared_data / "coco/annotations/instances_val2017_subset.json"):
        for region in scene.regions:
            polygons = masks.to_coco_polygons(region.rle)
            np.testing.assert_array_equal(_pycocotools_paints(polygons, scene.height, scene.width),
                                          masks.decode(region.rle))
            checked += 1
    assert checked > 30


# -- polygons reaching outside the image -----------------------------------------------------------


def test_a_far_outside_polygon_is_clipped_before_pycocotools_sees_it(monkeypatch):
    # pycocotools allocates ~8 bytes per coordinate unit: 1e9 would need ~80 GB (OOM kill, segfault).
    real = coco_mask.frPyObjects
    seen: list[float] = []

    def guarded(polys, h, w):
        seen.extend(abs(v) for poly in polys for v in poly)
        assert max(seen) <= 3 * max(h, w), "a raw far-away coordinate reached pycocotools"
        return real(polys, h, w)

    monkeypatch.setattr(masks._coco, "frPyObjects", guarded)
    reports: list[str] = []
    rle = masks.from_polygons([[0, 0, 1e9, 0, 1e9, 5, 0, 5]], 10, 20, where="annotation 7", on_drop=reports.append)
    assert seen and masks.area(rle) == 20 * 5  # the part inside the image is kept
    assert reports == ["annotation 7: polygon #0 reaches (1e+09, 0), outside the 20×10 image; "
                       "only its part inside the image is kept"]


def test_a_polygon_slightly_outside_is_rasterised_as_given_and_not_reported():
    poly = [-0.7, -1.5, 21.9, -0.2, 21.5, 11.8, -1.0, 10.4]  # COCO polygons often overshoot a little
    reports: list[str] = []
    rle = masks.from_polygons([poly], 10, 20, on_drop=reports.append)
    assert reports == []
    assert rle == masks._from_coco(coco_mask.frPyObjects([poly], 10, 20)[0])


def test_moderately_outside_polygons_keep_their_pixels():
    rng = np.random.default_rng(3)
    for _ in range(200):
        h, w = (int(v) for v in rng.integers(5, 40, 2))
        pts = np.c_[rng.uniform(-w, 2 * w, 5), rng.uniform(-h, 2 * h, 5)].ravel().tolist()
        # Any other warning fails the test (pytest's filterwarnings = error).
        with pytest.warns(GroundvWarning, match="outside the") if _outside(pts, h, w) else nullcontext():
            rle = masks.from_polygons([pts], h, w)
        assert rle == masks._from_coco(coco_mask.frPyObjects([pts], h, w)[0])  # within the frame: unclipped


def _outside(pts: list[float], h: int, w: int) -> bool:
    xy = np.array(pts).reshape(-1, 2)
    return bool((xy < -2).any() or (xy[:, 0] > w + 2).any() or (xy[:, 1] > h + 2).any())


@pytest.mark.parametrize(("poly", "message"), [
    ([0, 0, float("nan"), 0, 4, 4], "polygon #0 has a coordinate that is not a finite number"),
    ([0, 0, float("inf"), 0, 4, 4], "polygon #0 has a coordinate that is not a finite number"),
    (["0", "0", "4", "0", "4", "4"], "polygon #0 is not a flat list of numbers"),
    ([0, 0, 4, 0, 4, None], "polygon #0 is not a flat list of numbers"),
])
def test_a_polygon_that_is_not_finite_numbers_is_a_mask_error_with_a_hint(poly, message):
    with pytest.raises(MaskError, match=f"annotation 3: {re.escape(message)}") as info:
        masks.from_polygons([poly], 10, 10, where="annotation 3")
    assert info.value.hint


@pytest.mark.parametrize("segmentation", [
    "0 0 4 0 4 4",
    {"size": [4, 4], "counts": [1, 2]},
    {"size": [4, 4], "counts": 7},
    {"size": "4x4", "counts": "0"},
])
def test_malformed_segmentations_have_a_hint(segmentation):
    with pytest.raises(MaskError) as info:
        masks.from_segmentation(segmentation, 4, 4, where="annotation 3")
    assert info.value.hint
