"""Hugging Face-ready export: ``samples.parquet``, one row per sample.

Load it with::

    datasets.load_dataset("parquet", data_files={"train": "OUT/samples.parquet"})

or ``pyarrow.parquet.read_table``. Columns:

===============  ==================  ===================================================================
column           type                meaning
===============  ==================  ===================================================================
``id``           string              the sample id
``image_id``     int64 (or string)   the source's image id; string when some image id is not an integer
``file_name``    string              the image, relative to the source's image folder
``width``        int32               image width
``height``       int32               image height
``category``     string              negative, multi_object, reasoning, multi_granularity or part
``subtype``      string (nullable)   the plan's subtype
``level``        string (nullable)   multi_granularity's level
``split``        string (nullable)   the sample's ``split`` field
``instruction``  string              what the user asks
``response``     string              the teacher's answer
``target_ids``   list<int64>         the source's region ids; empty for no target
``no_target``    bool                no region is meant
``mask_counts``  string              COCO compressed RLE counts of the union mask
``mask_size``    list<int32>         ``[height, width]`` of the mask
``teacher``      string              the teacher's name
===============  ==================  ===================================================================

A mask decodes with ``pycocotools.mask.decode({"size": mask_size, "counts": mask_counts})``.
Needs ``pyarrow`` (``pip install 'groundv[parquet]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from groundv.errors import MissingDependency
from groundv.export.base import ExportReport, checked_samples, inside, prepare_out, record_export

__all__ = ["PARQUET_FILE", "write_parquet"]

PARQUET_FILE = "samples.parquet"


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependency("pyarrow", "the parquet export", extra="parquet") from None
    return pa, pq


def write_parquet(dataset: str | Path, out: str | Path, *, split: str | None = None,
                  force: bool = False) -> ExportReport:
    """Write ``OUT/samples.parquet`` (see the module doc for the columns).

    Args:
        dataset: a folder written by ``groundv generate``.
        out: the output folder (empty, or anything with ``force``).
        split: only the samples whose ``split`` field is this.
        force: write into a non-empty ``out``.

    Raises:
        MissingDependency: pyarrow is not installed.
        ConfigError: ``out`` is not empty and ``force`` is not set.
        InputError: the dataset holds no samples.

    Example:
        >>> write_parquet("ds", "hf").files  # doctest: +SKIP
        ['samples.parquet']
    """
    pa, pq = _pyarrow()
    report = ExportReport("parquet", Path(out))
    samples = checked_samples(dataset, report, split=split)
    out = prepare_out(out, force=force, dataset=dataset)
    report.out = out
    image_ids = [s.image["id"] for _, s in samples]
    ints = all(isinstance(i, int) and not isinstance(i, bool) for i in image_ids)
    columns: dict[str, tuple[Any, list[Any]]] = {
        "id": (pa.string(), [s.id for _, s in samples]),
        "image_id": (pa.int64() if ints else pa.string(), image_ids if ints else [str(i) for i in image_ids]),
        "file_name": (pa.string(), [s.image["file_name"] for _, s in samples]),
        "width": (pa.int32(), [s.image["width"] for _, s in samples]),
        "height": (pa.int32(), [s.image["height"] for _, s in samples]),
        "category": (pa.string(), [s.category for _, s in samples]),
        "subtype": (pa.string(), [s.subtype for _, s in samples]),
        "level": (pa.string(), [s.level for _, s in samples]),
        "split": (pa.string(), [r.get("split") if isinstance(r.get("split"), str) else None for r, _ in samples]),
        "instruction": (pa.string(), [s.instruction for _, s in samples]),
        "response": (pa.string(), [s.response for _, s in samples]),
        "target_ids": (pa.list_(pa.int64()), [list(s.target_ids) for _, s in samples]),
        "no_target": (pa.bool_(), [s.no_target for _, s in samples]),
        "mask_counts": (pa.string(), [s.mask["counts"] for _, s in samples]),
        "mask_size": (pa.list_(pa.int32()), [list(s.mask["size"]) for _, s in samples]),
        "teacher": (pa.string(), [str(s.teacher["name"]) for _, s in samples]),
    }
    schema = pa.schema([pa.field(name, kind) for name, (kind, _) in columns.items()])
    table = pa.table({name: pa.array(values, type=kind) for name, (kind, values) in columns.items()},
                     schema=schema)
    pq.write_table(table, inside(out, PARQUET_FILE))
    report.written = table.num_rows
    report.files = [PARQUET_FILE]
    record_export(report)
    return report
