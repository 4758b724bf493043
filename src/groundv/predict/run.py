"""Run a predictor over evaluation items and write the predictions contract (DESIGN.md §3.2).

:class:`ImageLookup` finds each item's picture — in a groundv dataset's source (whose manifest says
where the images are, and which can give the regions annotation-reading baselines need) or in a
plain folder — and :func:`predict_items` asks the predictor in batches, checking that every answer
has the item's size, and yields ``{"id", "mask", "no_target"}`` records that
:func:`write_predictions` writes (all or nothing) and ``groundv eval`` reads.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from groundv import masks
from groundv.errors import ConfigError, InputError
from groundv.eval.records import Item, write_jsonl
from groundv.predict.base import Predictor, Query
from groundv.scene import Scene

__all__ = ["ImageLookup", "predict_items", "write_predictions"]

_CACHED_IMAGES = 32


class ImageLookup:
    """Where the items' images (and, for baselines, their regions) are.

    Args:
        images: folder holding the images by ``file_name`` (or its last component).
        scenes: the annotated scenes by image id, for predictors that read regions; None when unknown.
        scene_loader: called once with every image id, to read scenes lazily (a dataset's source).
    """

    def __init__(self, images: str | Path | None, scenes: dict[Any, Scene] | None = None,
                 scene_loader: Callable[[set[Any]], dict[Any, Scene]] | None = None) -> None:
        self.images = Path(images) if images is not None else None
        self._scenes = scenes
        self._loader = scene_loader
        self._cache: OrderedDict[Path, Image.Image] = OrderedDict()

    @classmethod
    def from_dataset(cls, dataset: str | Path) -> ImageLookup:
        """The images folder a groundv dataset's manifest records, and its source for the regions.

        Raises:
            InputError: the folder is not a groundv dataset.
            ConfigError: the manifest records no images folder.
        """
        from groundv.export.base import open_dataset_source, scenes_for
        from groundv.store import read_manifest

        dataset = Path(dataset)
        folder = read_manifest(dataset).settings.get("source", {}).get("images")
        if not folder:
            raise ConfigError(f"{dataset}/manifest.json records no images folder",
                              hint="pass --images DIR with the dataset's images")
        root = Path(folder) if Path(folder).is_absolute() else dataset / folder
        return cls(root, scene_loader=lambda ids: scenes_for(open_dataset_source(dataset), ids))

    def prepare(self, image_ids: set[Any]) -> None:
        """Read the scenes of these images now (one pass over the source), if a loader was given."""
        if self._scenes is None and self._loader is not None:
            self._scenes = self._loader(image_ids)

    def scene(self, image: dict[str, Any]) -> Scene:
        """The annotated scene of an item's image.

        Raises:
            ConfigError: no scenes are known here.
            InputError: the image is not in the source.
        """
        if self._scenes is None:
            raise ConfigError("this predictor reads the image's annotations, which only a groundv dataset gives",
                              hint="pass --dataset DIR (the dataset the items were made from)")
        found = self._scenes.get(image.get("id"))
        if found is None:
            raise InputError(f"image {image.get('id')!r} is not in the dataset's source")
        return found

    def image(self, image: dict[str, Any]) -> Image.Image:
        """The item's picture as RGB.

        Raises:
            ConfigError: no images folder is known.
            InputError: the file is missing or unreadable, or its size is not the record's.
        """
        if self.images is None:
            raise ConfigError("no images folder is known", hint="pass --images DIR or --dataset DIR")
        name = str(image.get("file_name", ""))
        path = next((p for p in (self.images / name, self.images / Path(name).name) if p.is_file()), None)
        if path is None:
            raise InputError(f"image {name!r} not found", file=self.images)
        cached = self._cache.get(path)
        if cached is None:
            try:
                with Image.open(path) as im:
                    cached = im.convert("RGB")
            except OSError as exc:
                raise InputError(f"cannot open image ({exc})", file=path) from None
            if cached.size != (image.get("width"), image.get("height")):
                raise InputError(f"image is {cached.width}×{cached.height} but the item says "
                                 f"{image.get('width')}×{image.get('height')}", file=path)
            self._cache[path] = cached
            if len(self._cache) > _CACHED_IMAGES:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(path)
        return cached


def _blank(size: tuple[int, int], blanks: dict[tuple[int, int], Image.Image]) -> Image.Image:
    """A black picture of an item's (height, width), one per size: for predictors that never read pixels."""
    if size not in blanks:
        blanks[size] = Image.new("RGB", (size[1], size[0]))
    return blanks[size]


def predict_items(predictor: Predictor, items: Iterable[Item], lookup: ImageLookup, *, batch_size: int = 32,
                  progress: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    """Ask ``predictor`` every item's expression about its image; yield prediction records in item order.

    Args:
        predictor: the model.
        items: evaluation items (:func:`groundv.eval.read_items`).
        lookup: where images (and scenes) are.
        batch_size: queries per :meth:`Predictor.predict_batch` call.
        progress: called with the number of items answered after each batch.

    Raises:
        InputError: an answer's mask does not have the item's size (naming the item and the model).
    """
    items = list(items)
    if predictor.needs_scene:
        lookup.prepare({item.image.get("id") for item in items})
    blanks: dict[tuple[int, int], Image.Image] = {}
    done = 0
    for start in range(0, len(items), max(1, batch_size)):
        batch = items[start:start + max(1, batch_size)]
        queries = [Query(lookup.image(item.image) if predictor.needs_image else _blank(item.size, blanks),
                         item.expression, lookup.scene(item.image) if predictor.needs_scene else None)
                   for item in batch]
        for item, answer in zip(batch, predictor.predict_batch(queries), strict=True):
            if masks.size(answer.mask) != item.size:
                h, w = masks.size(answer.mask)
                raise InputError(f"model {predictor.name!r} answered a {h}×{w} mask for a "
                                 f"{item.size[0]}×{item.size[1]} item", where=f"item {item.id}")
            yield {"id": item.id, "mask": answer.mask, "no_target": answer.no_target}
        done += len(batch)
        if progress is not None:
            progress(done)


def write_predictions(records: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write prediction records as JSON lines to ``path``, all or nothing; returns how many were written.

    They go to a temporary file beside ``path`` that replaces it only once every record is written: a
    failed or interrupted run leaves no partial predictions file, which ``groundv eval`` would read as
    items without a prediction, hiding why the run failed.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        count = write_jsonl(records, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return count
