"""The student network: a small FiLM-conditioned U-Net with a mask head and a no-target head.

Import only after :func:`groundv.student.require_torch`.

Shapes (input ``H × W``, default 72 × 96, i.e. a 320 × 240 image shrunk by 10/3)::

    image [B, 3, H, W] + x/y coordinate channels
      enc1 c    @ H/2 × W/2   ───────────────────┐
      enc2 2c   @ H/4 × W/4   ─────────┐         │
      enc3 4c   @ H/8 × W/8  ─ FiLM ─ dec2 ─ FiLM ─ dec1 ─ FiLM ─ 1×1 conv ─ bilinear ×2 ─ mask logits [B, H, W]
      text vector t [B, D] ──┴─ γ, β per stage                         │
      [avg + max pool of enc3, max of mask logits (detached), t] ─ MLP ─ no-target logit [B]

The first stage already halves the resolution: on two CPU cores a full-resolution stage costs three
times the rest of the network. Optional pre-training heads (object and part classes per pixel, see
:mod:`groundv.student.pretrain`) read the same decoder features without any text.

The coordinate channels let "the leftmost mug" or "the car above …" be learnt from pixels; FiLM
(``x · (1 + γ(t)) + β(t)``) is the cheapest conditioning that lets the text pick what to segment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from groundv.student.text import HASH_BUCKETS, MINILM_DIM

__all__ = ["GroundingNet", "NetConfig"]


@dataclass(frozen=True)
class NetConfig:
    """What a saved model must be rebuilt with.

    Attributes:
        text: ``hashed`` or ``minilm``.
        width: channels of the first stage (the others are 2× and 4× it).
        text_dim: width of the text vector after its projection.
        height, width_px: the network's input size in pixels.
        object_classes, part_classes: classes of the pre-training heads (0: no such head);
            see :mod:`groundv.student.pretrain`.
    """

    text: str = "hashed"
    width: int = 16
    text_dim: int = 128
    height: int = 72
    width_px: int = 96
    object_classes: int = 0
    part_classes: int = 0

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    groups = 4 if cout % 4 == 0 else 1
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.GroupNorm(groups, cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.GroupNorm(groups, cout), nn.ReLU(inplace=True))


class _Film(nn.Module):
    """``x · (1 + γ(t)) + β(t)``, initialised to the identity."""

    def __init__(self, text_dim: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(text_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: Tensor, t: Tensor | None) -> Tensor:
        if t is None:  # unconditioned (pre-training)
            return x
        gamma, beta = self.proj(t).chunk(2, dim=1)
        return x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]


class _HashedText(nn.Module):
    """Trainable bag of hashed words and word pairs → vector."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(HASH_BUCKETS, dim, padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim))

    def forward(self, ids: Tensor) -> Tensor:
        present = (ids > 0).float()
        pooled = (self.embed(ids) * present[..., None]).sum(1) / present.sum(1, keepdim=True).clamp(min=1)
        return self.mlp(pooled)


class _FrozenText(nn.Module):
    """Projection of precomputed (frozen) sentence vectors."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(MINILM_DIM, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim))

    def forward(self, vectors: Tensor) -> Tensor:
        return self.mlp(vectors)


class GroundingNet(nn.Module):
    """Image [B,3,H,W] in 0..1 + text input → (mask logits [B,H,W], no-target logit [B])."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        c, d = config.width, config.text_dim
        self.text = _HashedText(d) if config.text == "hashed" else _FrozenText(d)
        self.enc1 = _block(5, c, stride=2)
        self.enc2 = _block(c, 2 * c, stride=2)
        self.enc3 = _block(2 * c, 4 * c, stride=2)
        self.film3 = _Film(d, 4 * c)
        self.dec2 = _block(6 * c, 2 * c)
        self.film2 = _Film(d, 2 * c)
        self.dec1 = _block(3 * c, c)
        self.film1 = _Film(d, c)
        self.mask_head = nn.Conv2d(c, 1, 1)
        self.nt_head = nn.Sequential(nn.Linear(8 * c + 1 + d, d), nn.ReLU(inplace=True), nn.Linear(d, 1))
        self.seg_objects = nn.Conv2d(c, config.object_classes, 1) if config.object_classes else None
        self.seg_parts = nn.Conv2d(c, config.part_classes, 1) if config.part_classes else None

    @staticmethod
    def _coords(x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        ys = torch.linspace(-1, 1, h, device=x.device)[None, None, :, None].expand(b, 1, h, w)
        xs = torch.linspace(-1, 1, w, device=x.device)[None, None, None, :].expand(b, 1, h, w)
        return torch.cat([x, xs, ys], dim=1)

    def _features(self, image: Tensor, t: Tensor | None) -> tuple[Tensor, Tensor]:
        e1 = self.enc1(self._coords(image))
        e2 = self.enc2(e1)
        e3 = self.film3(self.enc3(e2), t)
        d2 = self.film2(self.dec2(torch.cat([F.interpolate(e3, size=e2.shape[-2:]), e2], 1)), t)
        d1 = self.film1(self.dec1(torch.cat([F.interpolate(d2, size=e1.shape[-2:]), e1], 1)), t)
        return e3, d1

    def _full(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    def segment(self, image: Tensor) -> tuple[Tensor, Tensor]:
        """Pre-training: object-class and part-class logits [B, classes, ⌈H/2⌉, ⌈W/2⌉], without any text
        (at the decoder's own resolution: scaling 60-odd class maps up would cost more than the network)."""
        if self.seg_objects is None or self.seg_parts is None:
            raise ValueError("this network was built without pre-training heads")
        _, d1 = self._features(image, None)
        return self.seg_objects(d1), self.seg_parts(d1)

    def forward(self, image: Tensor, text: Tensor) -> tuple[Tensor, Tensor]:
        """Mask logits at the input size and the no-target logit."""
        t = self.text(text)
        e3, d1 = self._features(image, t)
        logits = self._full(self.mask_head(d1), (image.shape[-2], image.shape[-1]))[:, 0]
        pooled = torch.cat([e3.mean((2, 3)), e3.amax((2, 3)), logits.detach().amax((1, 2))[:, None], t], dim=1)
        return logits, self.nt_head(pooled)[:, 0]
