"""Embeddings cache of the LoCoMo eval: turn and query vectors on disk, keyed by model and
text hash (under reports/.cache by default), so that ablations re-embed only new texts."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from langchain_core.embeddings import Embeddings

from evals.locomo_data import (
    REPO_ROOT,
)
from memory.embeddings import embedding_dims, embedding_model_name

if TYPE_CHECKING:
    pass


DEFAULT_CACHE_DIR: Final = REPO_ROOT / "reports" / ".cache"


# ---- embeddings cache -------------------------------------------------------------------


class CachedEmbeddings(Embeddings):
    """Wraps an embedder with a SQLite cache keyed by (model name, text hash).

    It answers the wrapped model's `model_name` and `dims`, so a store sees the same model.
    """

    def __init__(self, inner: Embeddings, cache_dir: Path) -> None:
        self.inner = inner
        self.model_name = embedding_model_name(inner)
        self.dims = embedding_dims(inner)
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / "embeddings.sqlite"
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
        )
        self.hits = 0
        self.misses = 0

    def _key(self, text: str) -> str:
        digest = hashlib.blake2b(f"{self.model_name}\0{text}".encode(), digest_size=16)
        return digest.hexdigest()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [self._key(t) for t in texts]
        found = self._lookup(set(keys))
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = np.asarray(self.inner.embed_documents(missing), dtype=np.float32)
            if vectors.shape != (len(missing), self.dims):
                raise RuntimeError(
                    f"{self.model_name} returned vectors of shape {vectors.shape} for "
                    f"{len(missing)} texts, expected {self.dims} dims each"
                )
            rows = [(self._key(t), v.tobytes()) for t, v in zip(missing, vectors, strict=True)]
            with self._lock:
                self._conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
            found.update({key: vector for (key, _), vector in zip(rows, vectors, strict=True)})
        return [found[k].tolist() for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def _lookup(self, keys: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        ordered = list(keys)
        with self._lock:
            for start in range(0, len(ordered), 500):
                chunk = ordered[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk
                ).fetchall()
                found.update({k: np.frombuffer(v, dtype=np.float32) for k, v in rows})
        return found

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def warm(embeddings: Embeddings, texts: list[str]) -> None:
    """Embed texts in one batch ahead of the store, which embeds queries one at a time."""
    if isinstance(embeddings, CachedEmbeddings) and texts:
        embeddings.embed_documents(texts)


def cached_embeddings(embeddings: Embeddings | None, cache_dir: Path | None) -> Embeddings:
    """The embedder (default: the embedded MiniLM), behind the on-disk cache when asked."""
    if embeddings is None:
        from memory.embeddings import make_embeddings

        embeddings = make_embeddings("embedded")
    if cache_dir is not None and not isinstance(embeddings, CachedEmbeddings):
        embeddings = CachedEmbeddings(embeddings, cache_dir)
    return embeddings
