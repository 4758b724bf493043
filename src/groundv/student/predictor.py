"""A trained student behind the :class:`~groundv.predict.Predictor` interface.

Images are shrunk to the network's input (BOX filter, as in training); the mask logits are scaled
back to the image's own size (bilinear) and thresholded at 0, so predictions are scored at the items'
resolution like every other model. The no-target head's probability above 0.5 answers "no target"
with an empty mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from PIL import Image

from groundv import masks
from groundv.errors import InputError
from groundv.predict.base import Answer, Predictor, Query
from groundv.scene import Scene
from groundv.student import require_torch
from groundv.student.data import shrink_image
from groundv.student.text import encode_texts, resolve_text_encoder
from groundv.student.train import CONFIG, MODEL

__all__ = ["StudentPredictor"]


class StudentPredictor(Predictor):
    """The student network loaded from a model folder (``groundv train --out``).

    Args:
        net: a :class:`~groundv.student.model.GroundingNet` in eval mode.
        text_cache: folder for cached MiniLM vectors (None: none kept).
        threads: torch CPU threads.
    """

    name = "student"

    def __init__(self, net: Any, *, text_cache: Path | None = None, threads: int = 2) -> None:
        self.net = net
        self.text_cache = text_cache
        self.threads = threads

    @classmethod
    def load(cls, folder: str | Path, *, text_cache: Path | None = None, threads: int = 2) -> StudentPredictor:
        """Rebuild the network from ``config.json`` and ``model.pt``.

        Raises:
            InputError: the folder holds no finished model, or its config is unreadable.
            MissingDependency: torch (or the text encoder the model was trained with) is not installed.
        """
        require_torch("the student model")
        import torch

        from groundv.student.model import GroundingNet, NetConfig

        folder = Path(folder)
        if not (folder / CONFIG).is_file() or not (folder / MODEL).is_file():
            raise InputError("not a trained student: config.json or model.pt is missing", file=folder,
                             hint="pass the folder written by `groundv train --out` (a finished run)")
        try:
            info = orjson.loads((folder / CONFIG).read_bytes())
            net_config = NetConfig(**info["net"])
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"unreadable model config ({exc})", file=folder / CONFIG) from None
        resolve_text_encoder(net_config.text)
        net = GroundingNet(net_config)
        net.load_state_dict(torch.load(folder / MODEL, weights_only=True))
        net.eval()
        return cls(net, text_cache=text_cache, threads=threads)

    def predict(self, image: Image.Image, instruction: str, *, scene: Scene | None = None) -> Answer:
        """The answer to one instruction (see :meth:`predict_batch`)."""
        return self.predict_batch([Query(image, instruction)])[0]

    def predict_batch(self, queries: Sequence[Query]) -> list[Answer]:
        """Answer a batch in one forward pass; each mask at its own image's size."""
        import torch
        from torch.nn import functional as F

        if not queries:
            return []
        torch.set_num_threads(self.threads)
        config = self.net.config
        images = np.stack([shrink_image(q.image, config.height, config.width_px) for q in queries])
        texts = encode_texts([q.instruction for q in queries], config.text, cache=self.text_cache)
        with torch.inference_mode():
            logits, nt_logit = self.net(torch.from_numpy(images).float().div_(255.0), torch.from_numpy(texts))
            no_target = (nt_logit.sigmoid() > 0.5).tolist()
            answers = []
            for q, logit, rejected in zip(queries, logits, no_target, strict=True):
                h, w = q.image.height, q.image.width
                if rejected:
                    answers.append(Answer(masks.empty(h, w), True))
                    continue
                full = F.interpolate(logit[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]
                answers.append(Answer(masks.encode((full > 0).numpy().astype(np.uint8)), False))
        return answers
