"""ReasonSeg → items: LISA's painting reproduced on the real JSONs and on synthetic edge cases."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from groundv import masks
from groundv.benchmarks import read_benchmark
from groundv.benchmarks.reasonseg import read_reasonseg
from groundv.errors import ConfigError, GroundvWarning, InputError, MissingDependency

cv2 = pytest.importorskip("cv2")
Image = pytest.importorskip("PIL.Image")

MONKEY = "206674234_4cb520b13d_o"
SCENE = "scene0104_00_0"


def lisa_get_mask_from_json(json_path: Path, height: int, width: int) -> np.ndarray:
    """LISA ``utils/data_processing.py::get_mask_from_json``, written out again for comparison."""
    try:
        with open(json_path) as r:
            anno = json.loads(r.read())
    except Exception:
        with open(json_path, encoding="cp1252") as r:
            anno = json.loads(r.read())
    area_list, valid_poly_list = [], []
    for i in anno["shapes"]:
        if i["label"].lower() == "flag":
            continue
        tmp_mask = np.zeros((height, width), dtype=np.uint8)
        cv2.polylines(tmp_mask, np.array([i["points"]], dtype=np.int32), True, 1, 1)
        cv2.fillPoly(tmp_mask, np.array([i["points"]], dtype=np.int32), 1)
        area_list.append(tmp_mask.sum())
        valid_poly_list.append(i)
    mask = np.zeros((height, width), dtype=np.uint8)
    for s_idx in list(np.argsort(area_list)[::-1].astype(np.int32)):
        i = valid_poly_list[s_idx]
        value = 255 if "ignore" in i["label"].lower() else 1
        cv2.polylines(mask, np.array([i["points"]], dtype=np.int32), True, value, 1)
        cv2.fillPoly(mask, np.array([i["points"]], dtype=np.int32), value)
    return mask


def tight_size(json_path: Path) -> tuple[int, int]:
    """The smallest canvas holding every point: (max y + 1, max x + 1)."""
    points = np.concatenate([np.array(s["points"]) for s in json.loads(json_path.read_text())["shapes"]])
    return int(points[:, 1].max()) + 1, int(points[:, 0].max()) + 1


def write_anno(folder: Path, name: str, shapes: list[dict], text: list[str] | None = None, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"text": text or ["what is it?"], "is_sentence": False, "shapes": shapes, **extra}))
    return path


def square(label: str, x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"label": label, "points": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], "shape_type": "polygon"}


def assert_same_as_lisa(item, json_path: Path) -> None:
    h, w = item.size
    reference = lisa_get_mask_from_json(json_path, h, w)
    assert np.array_equal(masks.decode(item.mask), (reference == 1).astype(np.uint8))
    if item.ignore is None:
        assert not (reference == 255).any()
    else:
        assert np.array_equal(masks.decode(item.ignore), (reference == 255).astype(np.uint8))


# -- the real JSONs --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["plausible", "tight"])
def test_real_jsons_match_lisa(shared_data, size):
    folder = shared_data / "reasonseg" / "val"
    sizes = {MONKEY: (768, 1024), SCENE: (480, 640)} if size == "plausible" else {
        n: tight_size(folder / f"{n}.json") for n in (MONKEY, SCENE)}
    items = {}
    for name, hw in sizes.items():
        (item,) = read_reasonseg([folder / f"{name}.json"], split="ignored for files", image_size=hw)
        items[name] = item
        assert item.size == hw
        assert_same_as_lisa(item, folder / f"{name}.json")

    monkey, scene = items[MONKEY], items[SCENE]
    assert monkey.expression == "something that the monkey uses to pierce its food"
    assert scene.expression.startswith("When we need to access or store things above our reach")
    for item in (monkey, scene):
        assert item.no_target is False and item.category == "reasonseg" and item.image["source"] == "reasonseg"
        assert not masks.is_empty(item.mask)
        assert item.ignore is not None and not masks.is_empty(item.ignore)  # both files have ignore shapes
        inter, _ = masks.intersection_union(item.mask, item.ignore)
        assert inter == 0


def test_real_folder_with_split(shared_data):
    items = list(read_benchmark("reasonseg", [shared_data / "reasonseg"], split="val", image_size=(768, 1024)))
    assert [i.id for i in items] == [MONKEY, SCENE]  # name order
    assert items[0].image == {"id": MONKEY, "file_name": f"{MONKEY}.jpg", "width": 1024, "height": 768,
                              "source": "reasonseg"}
    # is_sentence picks LISA's long or short prompt: the monkey query is a phrase, the ScanNet one a sentence.
    assert [i.extra for i in items] == [{"is_sentence": False}, {"is_sentence": True}]
    # The split folder itself works too; its name must be the split.
    assert [i.id for i in read_reasonseg([shared_data / "reasonseg" / "val"], split="val",
                                         image_size=(768, 1024))] == [MONKEY, SCENE]
    with pytest.raises(ConfigError, match="has no 'test' folder") as err:
        read_reasonseg([shared_data / "reasonseg"], split="test", image_size=(480, 660))
    assert err.value.hint == "its split folders: val"


def test_real_flag_shape_is_skipped(shared_data, tmp_path):
    source = shared_data / "reasonseg" / "val" / f"{SCENE}.json"
    anno = json.loads(source.read_text())
    flag = next(s for s in anno["shapes"] if s["label"] == "flag")
    (item,) = read_reasonseg([source], split="val", image_size=(480, 640))
    x0, y0 = (int(v) for v in np.min(flag["points"], axis=0))
    x1, y1 = (int(v) for v in np.max(flag["points"], axis=0))
    assert masks.decode(item.mask)[y0:y1 + 1, x0:x1 + 1].sum() == 0
    assert masks.decode(item.ignore)[y0:y1 + 1, x0:x1 + 1].sum() == 0

    flag["label"] = "target"  # painted when it is not a flag
    (unflagged,) = read_reasonseg([write_anno(tmp_path, SCENE, anno["shapes"])], split="val", image_size=(480, 640))
    assert masks.area(unflagged.mask) > masks.area(item.mask)


def test_missing_jpg_needs_a_size(shared_data):
    with pytest.raises(InputError, match=f"image {SCENE}.jpg is not beside it") as err:
        list(read_benchmark("reasonseg", [shared_data / "reasonseg" / "val" / f"{SCENE}.json"], split="val"))
    assert err.value.file.endswith(f"{SCENE}.json") and "--image-size HEIGHTxWIDTH" in err.value.hint


# -- painting --------------------------------------------------------------------------------------


@pytest.mark.parametrize("target_first", [True, False])
def test_small_target_inside_a_large_ignore_shape_stays_target(tmp_path, target_first):
    shapes = [square("target", 5, 5, 8, 8), square("ignore", 0, 0, 20, 20)]
    path = write_anno(tmp_path, "a", shapes if target_first else shapes[::-1])
    (item,) = read_reasonseg([path], split="val", image_size=(30, 30))

    expected = np.zeros((30, 30), dtype=np.uint8)
    expected[5:9, 5:9] = 1  # cv2 fills boundary-inclusive: 4×4
    assert np.array_equal(masks.decode(item.mask), expected)
    assert masks.area(item.ignore) == 21 * 21 - 16
    assert_same_as_lisa(item, path)


def test_small_ignore_inside_a_large_target_makes_a_hole(tmp_path):
    path = write_anno(tmp_path, "a", [square("Target", 0, 0, 20, 20), square("IGNORE_me", 5, 5, 8, 8)])
    (item,) = read_reasonseg([path], split="val", image_size=(30, 30))
    assert masks.area(item.mask) == 21 * 21 - 16 and masks.area(item.ignore) == 16
    assert_same_as_lisa(item, path)


def test_points_are_truncated_not_rounded(tmp_path):
    path = write_anno(tmp_path, "a", [square("target", 0.9, 0.9, 3.99, 3.99)])
    (item,) = read_reasonseg([path], split="val", image_size=(10, 10))
    assert masks.bbox(item.mask) == (0.0, 0.0, 4.0, 4.0) and item.ignore is None


def test_no_shapes_gives_an_empty_mask(tmp_path):
    (item,) = read_reasonseg([write_anno(tmp_path, "a", [])], split="val", image_size=(10, 12))
    assert masks.is_empty(item.mask) and item.size == (10, 12) and item.ignore is None and not item.no_target


def test_expression_is_the_first_query_stripped(tmp_path):
    path = write_anno(tmp_path, "a", [], text=["  the tallest thing \n", "another query"])
    (item,) = read_reasonseg([path], split="val", image_size=(4, 4))
    assert item.expression == "the tallest thing"


def test_cp1252_file_is_read_like_lisa(tmp_path):
    path = tmp_path / "a.json"
    text = json.dumps({"text": ["the chef’s knife – café"], "is_sentence": False,
                       "shapes": [square("target", 1, 1, 3, 3)]}, ensure_ascii=False)
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    (item,) = read_reasonseg([path], split="val", image_size=(6, 6))
    assert item.expression == "the chef’s knife – café"
    assert_same_as_lisa(item, path)


# -- the canvas size -------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_canvas_is_the_size_cv2_imread_gives(tmp_path, orientation):
    folder = tmp_path / "val"
    path = write_anno(folder, "img", [square("target", 1, 1, 5, 5)])
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.new("RGB", (30, 20)).save(folder / "img.jpg", exif=exif)

    (item,) = read_reasonseg([tmp_path], split="val", image_size=(99, 99))  # the jpg wins
    assert item.size == cv2.imread(str(folder / "img.jpg")).shape[:2]
    assert item.size == ((30, 20) if orientation in (6, 8) else (20, 30))
    assert_same_as_lisa(item, path)


def test_unreadable_jpg_is_an_input_error(tmp_path):
    path = write_anno(tmp_path, "a", [])
    (tmp_path / "a.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(InputError, match="cannot be read as an image") as err:
        list(read_reasonseg([path], split="val"))
    assert err.value.file == str(tmp_path / "a.jpg")


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("anno", "message"), [
    ({"text": ["q"], "shapes": [{"label": "target", "points": []}]}, r"shape #0 \(target\): 'points' must be"),
    ({"text": ["q"], "shapes": [{"label": "target", "points": [[1, 2, 3]]}]}, r"shape #0 \(target\)"),
    ({"text": ["q"], "shapes": [{"label": "target", "points": [[1, float("nan")]]}]}, "shape #0"),
    ({"text": ["q"], "shapes": [{"label": "target", "points": [[1, 1e12]]}]}, "within int32 range"),
    ({"text": ["q"], "shapes": [{"points": [[1, 1]]}]}, "shape #0: a shape must be an object with a string 'label'"),
    ({"text": ["q"]}, "'shapes' must be a list, got NoneType"),
    ({"text": "q", "shapes": []}, "'text' must be a non-empty list of strings"),
    ({"text": [], "shapes": []}, "'text' must be a non-empty list of strings"),
    ([1], "expected a JSON object, got list"),
])
def test_malformed_json_names_file_and_shape(tmp_path, anno, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(anno))
    with pytest.raises(InputError, match=message) as err:
        list(read_reasonseg([path], split="val", image_size=(8, 8)))
    assert err.value.file == str(path)


def test_flag_shapes_are_skipped_before_their_points_are_read(tmp_path):
    path = write_anno(tmp_path, "a", [{"label": "Flag", "points": []}])  # LISA never draws it
    (item,) = read_reasonseg([path], split="val", image_size=(8, 8))
    assert masks.is_empty(item.mask)


def test_invalid_json_and_bytes(tmp_path):
    (tmp_path / "a.json").write_text('{"text": ["q"], ')
    with pytest.raises(InputError, match="not valid JSON"):
        list(read_reasonseg([tmp_path / "a.json"], split="val", image_size=(8, 8)))
    (tmp_path / "b.json").write_bytes(b'{"text": ["\x81"]}')  # 0x81 is undefined in cp1252 too
    with pytest.raises(InputError, match="neither UTF-8 nor cp1252"):
        list(read_reasonseg([tmp_path / "b.json"], split="val", image_size=(8, 8)))


def test_paths_errors(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_reasonseg([tmp_path / "missing.json"], split="val")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="expected a ReasonSeg .json file"):
        read_reasonseg([tmp_path / "notes.txt"], split="val")
    (tmp_path / "val").mkdir()
    with pytest.raises(InputError, match="holds no ReasonSeg .json files"):
        read_reasonseg([tmp_path], split="val")
    with pytest.raises(ConfigError, match="needs a folder or .json files"):
        read_reasonseg([], split="val")


def test_same_name_twice_is_an_input_error(tmp_path):
    a = write_anno(tmp_path / "x", "same", [])
    b = write_anno(tmp_path / "y", "same", [])
    with pytest.raises(InputError, match="item id 'same' is also the name of"):
        list(read_reasonseg([a, b], split="val", image_size=(8, 8)))


@pytest.mark.parametrize("size", [(0, 5), (5,), "5x5", (5.0, 5), (True, 5)])
def test_bad_image_size_is_a_config_error(tmp_path, size):
    with pytest.raises(ConfigError, match="image_size must be"):
        read_reasonseg([write_anno(tmp_path, "a", [])], split="val", image_size=size)


def test_missing_cv2_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes "import cv2" raise ImportError
    with pytest.raises(MissingDependency, match="ReasonSeg ground truth needs the package "
                                                "'opencv-python-headless'") as err:
        read_benchmark("reasonseg", [write_anno(tmp_path, "a", [])], split="val", image_size=(8, 8))
    assert err.value.hint == "pip install 'groundv[reasonseg]'"


def test_a_shape_outside_the_canvas_is_painted_clipped_and_reported(shared_data, tmp_path):
    # The monkey's polygons reach x ≈ 650 and y ≈ 483: a 480×640 canvas is too small for them.
    path = shared_data / "reasonseg" / "val" / f"{MONKEY}.json"
    with pytest.warns(GroundvWarning, match=rf"{MONKEY}.json: shape #\d+ \(\w+\): reaches \(\d+, \d+\), outside the "
                      r"640×480 image; painted clipped .*--image-size"):
        (item,) = read_reasonseg([path], split="val", image_size=(480, 640))
    assert_same_as_lisa(item, path)  # clipped exactly as LISA clips it
    # A click on the border (LabelMe writes x == width) is not worth a report.
    inside = write_anno(tmp_path, "edge", [square("target", 0, 0, 10, 6)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (edge,) = read_reasonseg([inside], split="val", image_size=(6, 10))
    assert masks.area(edge.mask) == 60
