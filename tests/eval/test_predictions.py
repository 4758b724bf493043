"""Prediction readers (JSON lines, PNG folders) and matching by id: every bad input names file, line and id."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from groundv import masks
from groundv.errors import InputError
from groundv.eval.predictions import Predictions, match, read_png_mask, read_predictions
from groundv.eval.records import Item, Prediction, write_jsonl
from tests.conftest import box_mask

H, W = 6, 8


def item(item_id, box=(1, 1, 4, 4), *, no_target=False, size=(H, W)):
    mask = masks.empty(*size) if no_target else box_mask(*size, *box)
    return Item(str(item_id), {"id": 1, "file_name": "a.jpg", "width": size[1], "height": size[0]}, f"thing {item_id}",
                mask, no_target, "cat")


def pred(pred_id, box=(1, 1, 4, 4), *, no_target=None, size=(H, W)):
    return Prediction(str(pred_id), box_mask(*size, *box), no_target)


def write_png(path, bitmap, mode="L"):
    array = np.asarray(bitmap, dtype=np.uint8) * 255
    if mode == "RGBA":
        rgba = np.zeros((*array.shape, 4), dtype=np.uint8)
        rgba[..., 0] = array
        rgba[..., 3] = 255  # opaque everywhere: the alpha channel must not count as "inside"
        Image.fromarray(rgba, "RGBA").save(path)
    elif mode == "P":
        image = Image.fromarray((array > 0).astype(np.uint8), "L").convert("P")
        image.putpalette([0, 0, 0, 255, 255, 255])
        image.save(path)
    else:
        Image.fromarray(array, "L").convert(mode).save(path)


def box_bitmap(box, size=(H, W)):
    bitmap = np.zeros(size, dtype=bool)
    x0, y0, x1, y1 = box
    bitmap[y0:y1, x0:x1] = True
    return bitmap


# -- reading ---------------------------------------------------------------------------------------


def test_jsonl_predictions_are_indexed_and_loaded_by_id(tmp_path):
    path = tmp_path / "p.jsonl"
    write_jsonl([pred(1), pred("b", (0, 0, 2, 2), no_target=True)], path)
    preds = Predictions(path)
    assert preds.kind == "jsonl" and len(preds) == 2 and list(preds) == ["1", "b"] and "b" in preds
    assert preds.locate("b") == (path.read_bytes().index(b"\n") + 1, 2)
    loaded = preds.get("b")
    assert loaded.no_target is True and masks.area(loaded.mask) == 4
    assert [p.id for p in read_predictions(path)] == ["1", "b"]


@pytest.mark.parametrize("mode", ["L", "1", "RGB", "RGBA", "P"])
def test_png_masks_nonzero_is_inside_and_carry_no_flag(tmp_path, mode):
    bitmap = box_bitmap((2, 1, 5, 4))
    write_png(tmp_path / "17.png", bitmap, mode)
    prediction = read_png_mask(tmp_path / "17.png")
    assert prediction.id == "17" and prediction.no_target is None
    assert np.array_equal(masks.decode(prediction.mask).astype(bool), bitmap)


def test_png_folder_reads_every_mask_and_an_empty_one_rejects(tmp_path):
    write_png(tmp_path / "1.png", box_bitmap((0, 0, 3, 3)))
    write_png(tmp_path / "2.png", np.zeros((H, W), dtype=bool))
    (tmp_path / "notes.txt").write_text("not a mask")
    preds = Predictions(tmp_path)
    assert preds.kind == "png" and list(preds) == ["1", "2"]
    read = {p.id: p for p in read_predictions(tmp_path)}
    assert masks.area(read["1"].mask) == 9 and not read["1"].rejects
    assert read["2"].rejects and read["2"].no_target is None


def test_an_unreadable_png_names_the_file_and_the_id(tmp_path):
    (tmp_path / "7.png").write_bytes(b"not a png")
    with pytest.raises(InputError) as exc:
        list(read_predictions(tmp_path))
    assert "7.png" in str(exc.value) and "prediction 7" in str(exc.value)


# -- bad input: file, line and id are named ----------------------------------------------------------


def test_duplicate_prediction_id_names_both_lines(tmp_path):
    path = tmp_path / "p.jsonl"
    write_jsonl([pred(1), pred(2), pred(1)], path)
    with pytest.raises(InputError) as exc:
        Predictions(path)
    message = str(exc.value)
    assert "p.jsonl" in message and "line 3" in message and "first on line 1" in message and "'1'" in message


@pytest.mark.parametrize(("line", "what"), [
    (b"{not json\n", "not valid JSON"),
    (b'{"mask": {}}\n', "'id' must be"),
    (b"[1, 2]\n", "must be a JSON object"),
])
def test_malformed_lines_are_named(tmp_path, line, what):
    path = tmp_path / "p.jsonl"
    write_jsonl([pred(1)], path)
    path.write_bytes(path.read_bytes() + b"\n" + line)
    with pytest.raises(InputError) as exc:
        Predictions(path)
    assert "p.jsonl: line 3" in str(exc.value) and what in str(exc.value)


def test_a_malformed_mask_names_line_and_id(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 1, "mask": {"size": [6, 8], "counts": 5}}\n')
    with pytest.raises(InputError) as exc:
        list(match([item(1)], path))
    assert "p.jsonl: line 1: prediction 1" in str(exc.value)


def test_missing_predictions_path_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="predictions not found"):
        Predictions(tmp_path / "nope.jsonl")


def test_match_pairs_in_item_order(tmp_path):
    path = tmp_path / "p.jsonl"
    write_jsonl([pred(2, (0, 0, 1, 1)), pred(1)], path)
    pairs = list(match([item(1), item(2)], path))
    assert [(i.id, p.id) for i, p in pairs] == [("1", "1"), ("2", "2")]
    assert masks.area(pairs[1][1].mask) == 1


def test_a_missing_prediction_is_an_error_naming_the_id(tmp_path):
    path = tmp_path / "p.jsonl"
    write_jsonl([pred(1)], path)
    with pytest.raises(InputError) as exc:
        list(match([item(1), item("x")], path))
    assert "p.jsonl" in str(exc.value) and "'x'" in str(exc.value) and "--allow-missing" in exc.value.hint


def test_allow_missing_scores_an_empty_mask_and_records_the_id(tmp_path):
    path = tmp_path / "p.jsonl"
    write_jsonl([pred(1)], path)
    pairs = match([item(1), item("x"), item("y")], path, allow_missing=True)
    got = list(pairs)
    assert pairs.missing == ["x", "y"]
    empty = got[1][1]
    assert masks.is_empty(empty.mask) and masks.size(empty.mask) == (H, W)
    assert empty.no_target is False  # a missing answer never counts as a correct rejection


def test_a_prediction_for_an_unknown_id_names_line_and_id(tmp_path):
    path = tmp_path / "p.jsonl"
    write_jsonl([pred(1), pred("ghost")], path)
    with pytest.raises(InputError) as exc:
        list(match([item(1)], path))
    assert "p.jsonl: line 2: prediction ghost" in str(exc.value) and "no item has the id 'ghost'" in str(exc.value)


def test_a_png_for_an_unknown_id_names_the_file(tmp_path):
    write_png(tmp_path / "1.png", box_bitmap((0, 0, 2, 2)))
    write_png(tmp_path / "ghost.png", box_bitmap((0, 0, 2, 2)))
    with pytest.raises(InputError) as exc:
        list(match([item(1)], tmp_path))
    assert "ghost.png" in str(exc.value) and "prediction ghost" in str(exc.value)


def test_a_mask_of_the_wrong_size_names_line_and_id(tmp_path):
    path = tmp_path / "p.jsonl"
    write_jsonl([pred(1), pred(2, size=(7, 8))], path)
    with pytest.raises(InputError) as exc:
        list(match([item(1), item(2)], path))
    message = str(exc.value)
    assert "p.jsonl: line 2: prediction 2" in message and "7×8" in message and "6×8" in message


def test_a_png_of_the_wrong_size_names_the_file(tmp_path):
    write_png(tmp_path / "1.png", np.ones((5, 5), dtype=bool))
    with pytest.raises(InputError) as exc:
        list(match([item(1)], tmp_path))
    assert "1.png: prediction 1" in str(exc.value) and "5×5" in str(exc.value)


def test_item_extra_round_trips_and_is_checked():
    item = Item("a", {"id": 1}, "x", masks.empty(2, 3), False, extra={"is_sentence": True})
    assert Item.from_json(item.to_json()) == item
    assert "extra" not in Item("b", {"id": 1}, "x", masks.empty(2, 3), False).to_json()  # old files unchanged
    with pytest.raises(InputError, match="'extra' must be an object"):
        Item.from_json(dict(item.to_json(), extra=[1]), file="i.jsonl", where="line 1")
