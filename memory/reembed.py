"""Migrating a FAISS store to another embedding model: every vector embedded again.

A store records the model that made its vectors and refuses to open with another, so
vectors of two models never meet in one ranking. When the model changes (the int8
embedder, a new Ollama model), `reembed_store` re-embeds each item's indexed text with
the new one, in batches, and records the new model; the FAISS index file is dropped and
rebuilt from SQLite on the next open.

While it runs the store records ``reembedding:<new model>``, so neither model opens a
half-migrated store; running it again finishes (or redoes) the job. Items keep the fields
their vectors were made from; items stored without vectors stay without.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import get_text_at_path, tokenize_path

from memory.embeddings import embedding_dims, embedding_model_name
from memory.store import INDEX_CHECKSUM_KEY, INDEX_FILE
from memory.store_db import DB_FILE, StoreDB, text_hash
from memory.vector_index import normalize_rows

PENDING_PREFIX = "reembedding:"
BATCH_ITEMS = 256
_ELEMENT = re.compile(r"\.\d+$")


@dataclass(frozen=True)
class ReembedReport:
    previous_model: str | None
    model: str
    dims: int
    items: int
    vectors: int


def reembed_store(
    directory: Path,
    embeddings: Embeddings,
    *,
    model: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReembedReport:
    """Re-embed every vector of the FAISS store in `directory` with `embeddings`.

    `model` defaults to the embedder's name. `progress(done, total)` is called per batch.
    Raises FileNotFoundError when `directory` holds no store.
    """
    if not (directory / DB_FILE).is_file():
        raise FileNotFoundError(f"no memory store at {directory} ({DB_FILE} is missing)")
    model = model or embedding_model_name(embeddings)
    dims = embedding_dims(embeddings)
    db = StoreDB(directory)
    try:
        previous = db.meta().get("embedding_model")
        if previous is not None and previous.startswith(PENDING_PREFIX):
            previous = None  # an earlier run stopped half way: the old name is gone
        _record_model(db, f"{PENDING_PREFIX}{model}", dims)
        (directory / INDEX_FILE).unlink(missing_ok=True)
        rows = db.conn.execute(
            "SELECT i.item_id, i.value, group_concat(v.field, char(31)) FROM items i "
            "JOIN vectors v USING (item_id) GROUP BY i.item_id ORDER BY i.item_id"
        ).fetchall()
        vectors = 0
        for start in range(0, len(rows), BATCH_ITEMS):
            batch = rows[start : start + BATCH_ITEMS]
            vectors += _reembed_batch(db, batch, embeddings, dims)
            if progress is not None:
                progress(min(start + BATCH_ITEMS, len(rows)), len(rows))
        _record_model(db, model, dims)
        return ReembedReport(previous, model, dims, len(rows), vectors)
    finally:
        db.close()


def _record_model(db: StoreDB, model: str, dims: int) -> None:
    with db.write() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [("embedding_model", model), ("dims", str(dims))],
        )
        conn.execute("DELETE FROM meta WHERE key = ?", (INDEX_CHECKSUM_KEY,))


def _texts(value_json: str, fields: str) -> list[tuple[str, str]]:
    """(field, text) pairs at the paths the item's vectors were made from."""
    value = json.loads(value_json)
    paths = dict.fromkeys(_ELEMENT.sub("", f) if f != "$" else f for f in fields.split("\x1f"))
    pairs: list[tuple[str, str]] = []
    for path in paths:
        texts = get_text_at_path(value, path if path == "$" else tokenize_path(path))
        if len(texts) == 1:
            pairs.append((path, texts[0]))
        else:
            pairs.extend((f"{path}.{i}", t) for i, t in enumerate(texts))
    return pairs


def _reembed_batch(
    db: StoreDB, batch: list[tuple[int, str, str]], embeddings: Embeddings, dims: int
) -> int:
    pairs = {item_id: _texts(value, fields) for item_id, value, fields in batch}
    texts = list(dict.fromkeys(text for item in pairs.values() for _, text in item))
    embedded = np.asarray(embeddings.embed_documents(texts), dtype=np.float32) if texts else None
    if embedded is not None and (embedded.ndim != 2 or embedded.shape[1] != dims):
        raise ValueError(
            f"the embedder returned vectors of shape {embedded.shape}, not (n, {dims})"
        )
    by_text = (
        dict(zip(texts, normalize_rows(embedded), strict=True)) if embedded is not None else {}
    )
    written = 0
    with db.write() as conn:
        for item_id, item_pairs in pairs.items():
            old = [
                r[0]
                for r in conn.execute("SELECT vec_id FROM vectors WHERE item_id = ?", (item_id,))
            ]
            if old:
                db.drop_vectors(conn, old)
            for field, text in item_pairs:
                conn.execute(
                    "INSERT INTO vectors (item_id, field, text_hash, embedding) "
                    "VALUES (?, ?, ?, ?)",
                    (item_id, field, text_hash(text), by_text[text].tobytes()),
                )
                written += 1
    return written
