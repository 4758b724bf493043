"""Training records and the prepared training set."""

from __future__ import annotations

import numpy as np
import pytest

from groundv import masks
from groundv.benchmarks.dataset import read_dataset
from groundv.errors import ConfigError, InputError
from groundv.eval import write_jsonl
from groundv.student.data import read_records, shrink_mask


def test_records_carry_every_sample_with_its_image(toy_dataset, training_set):
    records = training_set.records
    assert len(records) == sum(1 for _ in read_dataset([toy_dataset], split="all"))
    assert all(r.image_path.is_file() for r in records)
    assert {r.category for r in records} == {"negative", "multi_object", "reasoning", "multi_granularity", "part"}
    assert training_set.images.shape == (5, 3, 24, 32)  # one row per distinct image
    assert training_set.texts.shape[0] == len({r.instruction for r in records})


def test_a_batch_pairs_each_record_with_its_image_text_and_shrunk_mask(training_set):
    picks = np.array([0, 3, 7])
    images, _, targets, no_target = training_set.batch(picks)
    assert images.shape == (3, 3, 24, 32) and images.dtype == np.uint8
    assert targets.shape == (3, 24, 32) and targets.min() >= 0.0 and targets.max() <= 1.0
    for row, i in enumerate(picks):
        record = training_set.records[i]
        assert no_target[row] == float(record.no_target)
        assert (targets[row].sum() == 0) == record.no_target
        # the soft target keeps the mask's share of the image
        share = masks.area(record.mask) / (record.image_size[0] * record.image_size[1])
        assert targets[row].mean() == pytest.approx(share, abs=0.02)


def test_shrink_mask_is_the_covered_fraction():
    bitmap = np.zeros((8, 8), np.uint8)
    bitmap[:4, :2] = 1
    small = shrink_mask(masks.encode(bitmap), 2, 2)
    assert small.ravel().tolist() == pytest.approx([0.5, 0.0, 0.0, 0.0], abs=0.01)  # 8-bit rounding


def test_items_files_need_their_images_folder_and_ids_must_be_unique(toy_dataset, tmp_path):
    items = tmp_path / "items.jsonl"
    write_jsonl(read_dataset([toy_dataset], split="all"), items)
    with pytest.raises(ConfigError, match="images folder is needed"):
        read_records([items])
    world_images = toy_dataset.parent / "world" / "images"
    assert len(read_records([items], images=world_images)) == len(read_records([toy_dataset]))
    with pytest.raises(InputError, match="occurs twice"):
        read_records([toy_dataset, items], images=world_images)
    with pytest.raises(InputError, match="not found"):
        read_records([tmp_path / "missing"])
