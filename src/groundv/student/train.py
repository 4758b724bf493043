"""Train the student: fixed seed, fixed step budget, checkpoints, resume.

Every step draws its batch from its own generator, seeded with ``(seed, step)``: the data order is a
function of the seed alone, so a run resumed from a checkpoint continues exactly as an
uninterrupted one would (the model has no dropout; the optimiser and schedule are checkpointed).

Loss (per batch): mean pixel BCE over all samples (a no-target sample teaches an empty mask) +
Dice over the samples with a target (LISA's pair) + BCE of the no-target head (GRES's NT head).

The model folder holds ``config.json`` (network, training settings, data counts, loss history),
``model.pt`` (the final weights) and, while training, ``checkpoint.pt``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from groundv import __version__
from groundv.errors import ConfigError
from groundv.student import require_torch
from groundv.student.data import TrainingSet

__all__ = ["CONFIG", "MODEL", "TrainConfig", "lr_factor", "train"]

CONFIG = "config.json"
MODEL = "model.pt"
CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (all part of what a model means; a resume must use the same).

    Attributes:
        steps: optimiser steps (every run of ``groundv reproduce`` gets the same budget).
        batch_size: samples per step.
        lr: peak AdamW learning rate (warm-up, then cosine decay to 5 % of it).
        seed: weights and data order.
        width: channels of the network's first stage.
        checkpoint_every: steps between checkpoints.
        threads: torch CPU threads.
    """

    steps: int = 1500
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 0
    width: int = 16
    checkpoint_every: int = 250
    threads: int = 2

    def check(self) -> None:
        """Raises ConfigError for settings out of range."""
        for name in ("steps", "batch_size", "width", "checkpoint_every", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")


def _fingerprint(data: TrainingSet, indices: np.ndarray) -> str:
    digest = hashlib.sha1()
    for i in indices:
        digest.update(data.records[int(i)].id.encode() + b"\n")
    return digest.hexdigest()


def lr_factor(step: int, steps: int) -> float:
    """Linear warm-up over the first 5 % of the steps, then cosine decay to 5 % of the peak."""
    warm = max(1, steps // 20)
    if step < warm:
        return (step + 1) / warm
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))


def _dice(logits: Any, target: Any) -> Any:
    probs = logits.sigmoid().flatten(1)
    target = target.flatten(1)
    inter = (probs * target).sum(1)
    return 1 - (2 * inter + 1) / (probs.sum(1) + target.sum(1) + 1)


def train(data: TrainingSet, out: str | Path, config: TrainConfig, *, indices: Sequence[int] | None = None,
          init: str | Path | None = None, resume: bool = True,
          progress: Callable[[int, int, float], None] | None = None,
          on_resume: Callable[[int, int], None] | None = None) -> Path:
    """Train a student on ``data`` (or the ``indices`` subset of it) and save it in ``out``.

    Args:
        data: the prepared training set.
        out: the model folder.
        config: training settings.
        indices: which records to train on (default: all).
        init: a pre-trained folder (:func:`groundv.student.pretrain.pretrain`) to start from; its width
            and input size are used, and ``config.width`` must agree.
        resume: continue from ``out/checkpoint.pt`` when it was written with the same settings and data;
            False starts over.
        progress: called after each step with ``(step, steps, loss)``.
        on_resume: called with ``(step, steps)`` when a checkpoint is resumed, before the first step.

    Returns:
        ``out`` as a Path.

    Raises:
        ConfigError: bad settings; ``out`` holds a finished model or a checkpoint of other settings (and
            ``resume`` is True); no record to train on.
        MissingDependency: torch is not installed.
    """
    require_torch("training the student")
    import torch
    from torch.nn import functional as F

    from groundv.student.model import GroundingNet, NetConfig

    config.check()
    chosen = np.arange(len(data)) if indices is None else np.asarray(list(indices), dtype=np.int64)
    if len(chosen) == 0:
        raise ConfigError("no record to train on")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    net_config = NetConfig(text=data.text, width=config.width, height=data.height, width_px=data.width)
    start_weights: dict[str, Any] | None = None
    init_id = None
    if init is not None:
        from groundv.student.pretrain import load_pretrained

        info, start_weights = load_pretrained(init)
        net_config = NetConfig(**{**info["net"], "text": data.text})  # type: ignore[arg-type]
        if (net_config.width, net_config.height, net_config.width_px) != (config.width, data.height, data.width):
            raise ConfigError(f"{init} was pre-trained with width {net_config.width} at "
                              f"{net_config.height}×{net_config.width_px}, not width {config.width} at "
                              f"{data.height}×{data.width}")
        init_id = info["weights"]
    settings = {"net": net_config.to_json(), "train": asdict(config), "data": _fingerprint(data, chosen),
                "init": init_id}
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    net = GroundingNet(net_config)
    if start_weights is not None:
        # The text encoder is not pre-trained (the pre-training sees no text); everything else is.
        kept = {k: v for k, v in start_weights.items() if not k.startswith("text.")}
        unexpected = net.load_state_dict(kept, strict=False).unexpected_keys
        if unexpected:
            raise ConfigError(f"{init} does not fit this network (unexpected weights: {', '.join(unexpected[:3])})")
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: lr_factor(step, config.steps))
    start, history = 0, []
    checkpoint = out / CHECKPOINT
    if (out / MODEL).is_file() and resume:
        raise ConfigError(f"{out} already holds a trained model", hint="choose another --out or pass --force")
    if checkpoint.is_file() and resume:
        state = torch.load(checkpoint, weights_only=False)
        if state["settings"] != settings:
            raise ConfigError(f"{checkpoint} was written with other settings or data",
                              hint="pass --force to start over, or the same settings to resume")
        net.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        start, history = state["step"], state["history"]
        if on_resume is not None:
            on_resume(start, config.steps)

    counts = Counter(data.records[int(i)].category or "(none)" for i in chosen)
    began = time.monotonic()
    net.train()
    batch_size = min(config.batch_size, len(chosen))
    for step in range(start, config.steps):
        rng = np.random.default_rng([config.seed, step])
        images, texts, targets, no_target = data.batch(chosen[rng.choice(len(chosen), batch_size, replace=False)])
        x = torch.from_numpy(images).float().div_(255.0)
        t = torch.from_numpy(texts)
        y = torch.from_numpy(targets)
        nt = torch.from_numpy(no_target)
        logits, nt_logit = net(x, t)
        loss = F.binary_cross_entropy_with_logits(logits, y)
        targeted = nt < 0.5
        if targeted.any():
            loss = loss + _dice(logits[targeted], y[targeted]).mean()
        loss = loss + F.binary_cross_entropy_with_logits(nt_logit, nt)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        history.append(round(float(loss.detach()), 5))
        done = step + 1
        if progress is not None:
            progress(done, config.steps, history[-1])
        if done % config.checkpoint_every == 0 and done < config.steps:
            torch.save({"settings": settings, "model": net.state_dict(), "optimiser": optimiser.state_dict(),
                        "schedule": schedule.state_dict(), "step": done, "history": history}, checkpoint)
    torch.save(net.state_dict(), out / MODEL)
    info = {"groundv_version": __version__, **settings, "records": len(chosen),
            "by_category": dict(sorted(counts.items())), "seconds": round(time.monotonic() - began, 1),
            "loss": history}
    (out / CONFIG).write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))
    checkpoint.unlink(missing_ok=True)
    return out
