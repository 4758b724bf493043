"""Pre-train the student's image encoder-decoder on the annotations, without any instruction.

LISA and PSALM start from pretrained segmenters (SAM, Mask2Former); Ground-V data is added when they
are fine-tuned to follow instructions. The student does the same in miniature: before any
instruction is seen, the encoder-decoder learns to label every pixel of the *training* scenes with its
object category and its part category (cross-entropy, class 0 = nothing). The instruction runs of
``groundv reproduce`` all start from the same pre-trained weights of their seed, so they differ only
in the instruction data they are fine-tuned on.

Pre-training is short and not checkpointed mid-way: a stopped pre-training is run again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import orjson
from PIL import Image

from groundv import masks
from groundv.errors import ConfigError, InputError
from groundv.scene import Scene
from groundv.student import require_torch
from groundv.student.data import shrink_image

__all__ = ["PretrainConfig", "SceneLabels", "labels_from_datasets", "load_pretrained", "pretrain"]

_CONFIG = "pretrain.json"
_MODEL = "pretrained.pt"


@dataclass(frozen=True)
class PretrainConfig:
    """Pre-training settings.

    Attributes:
        steps: optimiser steps.
        batch_size: images per step.
        lr: AdamW learning rate (warm-up, then cosine decay).
        seed: weights and batch order.
        width: channels of the network's first stage.
        threads: torch CPU threads.
    """

    steps: int = 400
    batch_size: int = 32
    lr: float = 3e-3
    seed: int = 0
    width: int = 16
    threads: int = 2


class SceneLabels:
    """Training images at the network's input size with per-pixel object and part classes at half of it
    (rounded up: the resolution of the decoder's last stage).

    Classes are the scenes' object categories and part categories, sorted (index 0: none). Region masks
    are painted in scene order, so a later region wins a shared pixel, as in the toy world's drawing.

    Args:
        scenes: annotated scenes (crowd regions are skipped).
        image_paths: each scene's picture.
        height, width: the network's input size.
        progress: called with the number of scenes done.
    """

    def __init__(self, scenes: Sequence[Scene], image_paths: Sequence[Path], *, height: int, width: int,
                 progress: Callable[[int], None] | None = None) -> None:
        self.objects = sorted({r.category for s in scenes for r in s.objects if not r.iscrowd})
        self.parts = sorted({r.category for s in scenes for r in s.parts if not r.iscrowd})
        obj_index = {c: i + 1 for i, c in enumerate(self.objects)}
        part_index = {c: i + 1 for i, c in enumerate(self.parts)}
        n = len(scenes)
        half = ((height + 1) // 2, (width + 1) // 2)
        self.images = np.zeros((n, 3, height, width), dtype=np.uint8)
        self.object_maps = np.zeros((n, *half), dtype=np.int64)
        self.part_maps = np.zeros((n, *half), dtype=np.int64)
        for k, (scene, path) in enumerate(zip(scenes, image_paths, strict=True)):
            try:
                with Image.open(path) as im:
                    self.images[k] = shrink_image(im, height, width)
            except OSError as exc:
                raise InputError(f"cannot open image ({exc})", file=path) from None
            for kind, index, target in (("object", obj_index, self.object_maps), ("part", part_index, self.part_maps)):
                full = np.zeros(scene.size, dtype=np.uint8)
                for region in scene.regions:
                    if region.kind == kind and not region.iscrowd:
                        full[masks.decode(region.rle).astype(bool)] = index[region.category]
                target[k] = np.asarray(Image.fromarray(full).resize(half[::-1], Image.Resampling.NEAREST))
            if progress is not None:
                progress(k + 1)

    def __len__(self) -> int:
        return len(self.images)


def pretrain(labels: SceneLabels, out: str | Path, config: PretrainConfig, *,
             progress: Callable[[int, int, float], None] | None = None) -> Path:
    """Pre-train the encoder-decoder with per-pixel object and part classification; save it in ``out``.

    Returns:
        ``out``, holding ``pretrain.json`` and ``pretrained.pt``; pass it to
        :func:`groundv.student.train.train` as ``init``.

    Raises:
        ConfigError: no scene, or settings out of range.
        MissingDependency: torch is not installed.
    """
    require_torch("pre-training the student")
    import torch
    from torch.nn import functional as F

    from groundv.student.model import GroundingNet, NetConfig
    from groundv.student.train import lr_factor

    if len(labels) == 0:
        raise ConfigError("no scene to pre-train on")
    if config.steps < 1 or config.batch_size < 1 or config.width < 1 or config.threads < 1:
        raise ConfigError(f"pre-training settings must be ≥ 1: {config}")
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    _, _, height, width = labels.images.shape
    net_config = NetConfig(width=config.width, height=height, width_px=width,
                           object_classes=len(labels.objects) + 1, part_classes=len(labels.parts) + 1)
    net = GroundingNet(net_config)
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: lr_factor(step, config.steps))
    history: list[float] = []
    batch_size = min(config.batch_size, len(labels))
    net.train()
    for step in range(config.steps):
        chosen = np.random.default_rng([config.seed, step]).choice(len(labels), batch_size, replace=False)
        x = torch.from_numpy(labels.images[chosen]).float().div_(255.0)
        obj_logits, part_logits = net.segment(x)
        loss = (F.cross_entropy(obj_logits, torch.from_numpy(labels.object_maps[chosen]))
                + F.cross_entropy(part_logits, torch.from_numpy(labels.part_maps[chosen])))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        history.append(round(float(loss.detach()), 5))
        if progress is not None:
            progress(step + 1, config.steps, history[-1])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), out / _MODEL)
    info = {"net": net_config.to_json(), "pretrain": asdict(config), "objects": labels.objects, "parts": labels.parts,
            "weights": hashlib.sha1((out / _MODEL).read_bytes()).hexdigest(), "loss": history}
    (out / _CONFIG).write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))
    return out


def load_pretrained(folder: str | Path) -> tuple[dict[str, object], dict[str, object]]:
    """``(pretrain.json, state dict)`` of a pre-trained folder.

    Raises:
        InputError: the folder holds no finished pre-training.
    """
    import torch

    folder = Path(folder)
    if not (folder / _CONFIG).is_file() or not (folder / _MODEL).is_file():
        raise InputError("not a pre-trained student: pretrain.json or pretrained.pt is missing", file=folder)
    return orjson.loads((folder / _CONFIG).read_bytes()), torch.load(folder / _MODEL, weights_only=True)


def labels_from_datasets(folders: Sequence[Path], image_ids: set[object], *, height: int, width: int,
                         progress: Callable[[int], None] | None = None) -> SceneLabels:
    """:class:`SceneLabels` of the given images, their regions read from each dataset's source.

    Raises:
        InputError: a folder is not a groundv dataset, or an image is not found.
        ConfigError: a manifest records no reopenable source or images folder, or no image is found.
    """
    from groundv.export.base import open_dataset_source, scenes_for
    from groundv.store import read_manifest

    scenes: list[Scene] = []
    paths: list[Path] = []
    for folder in folders:
        images = read_manifest(folder).settings.get("source", {}).get("images")
        if not images:
            raise ConfigError(f"{folder}/manifest.json records no images folder")
        root = Path(images) if Path(images).is_absolute() else folder / images
        for scene in scenes_for(open_dataset_source(folder), image_ids).values():
            path = next((p for p in (root / scene.file_name, root / Path(scene.file_name).name) if p.is_file()), None)
            if path is None:
                raise InputError(f"image {scene.file_name!r} not found", file=root)
            scenes.append(scene)
            paths.append(path)
    if not scenes:
        raise ConfigError("no annotated scene to pre-train on", hint="pre-training needs groundv dataset folders")
    return SceneLabels(scenes, paths, height=height, width=width, progress=progress)
