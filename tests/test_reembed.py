"""Migrating a store to another embedding model: every vector re-embedded, nothing mixed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memory.reembed import PENDING_PREFIX, reembed_store
from memory.store import FaissStore, StoreConfigError
from tests.fakes import DeterministicEmbeddings

NS = ("team", "t", "shared")


def index(embeddings: DeterministicEmbeddings) -> dict:
    return {"dims": embeddings.dims, "embed": embeddings, "fields": ["content"]}


def test_a_store_migrates_to_another_model(tmp_path: Path) -> None:
    old = DeterministicEmbeddings(64, model_name="old-model")
    new = DeterministicEmbeddings(32, model_name="new-model")
    with FaissStore(tmp_path, index=index(old)) as store:  # type: ignore[arg-type]
        store.put(NS, "a", {"content": "the parcel arrived damaged"})
        store.put(NS, "b", {"content": "the customer prefers email"})
        store.put(NS, "c", {"content": "kept without a vector"}, index=False)
    with pytest.raises(StoreConfigError, match="old-model"):
        FaissStore(tmp_path, index=index(new))  # type: ignore[arg-type]

    report = reembed_store(tmp_path, new)
    assert (report.previous_model, report.model, report.dims) == ("old-model", "new-model", 32)
    assert (report.items, report.vectors) == (2, 2)
    assert new.embedded_texts == ["the parcel arrived damaged", "the customer prefers email"]

    with FaissStore(tmp_path, index=index(new)) as store:  # type: ignore[arg-type]
        hits = store.search(NS, query="damaged parcel", limit=3)
        # Scores are cosines of the new model's vectors.
        cosine = float(
            np.dot(new.embed_query("damaged parcel"), new.embed_query("the parcel arrived damaged"))
        )
        assert hits[0].key == "a" and hits[0].score == pytest.approx(cosine, abs=1e-5)
        assert {h.key for h in hits} == {"a", "b", "c"}  # c: no vector, listed unscored last
        assert hits[-1].key == "c" and hits[-1].score is None
        assert store.stats()["vectors"] == 2
    with pytest.raises(StoreConfigError, match="new-model"):
        FaissStore(tmp_path, index=index(old))  # type: ignore[arg-type]


def test_a_half_done_migration_opens_with_neither_model_and_can_be_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = DeterministicEmbeddings(64, model_name="old-model")
    new = DeterministicEmbeddings(64, model_name="new-model")
    with FaissStore(tmp_path, index=index(old)) as store:  # type: ignore[arg-type]
        store.put(NS, "a", {"content": "the parcel arrived damaged"})

    def broken(texts: list[str]) -> list[list[float]]:
        raise RuntimeError("the embedder went away")

    monkeypatch.setattr(new, "embed_documents", broken)
    with pytest.raises(RuntimeError, match="went away"):
        reembed_store(tmp_path, new)
    for model in (old, new):
        with pytest.raises(StoreConfigError, match=PENDING_PREFIX):
            FaissStore(tmp_path, index=index(model))  # type: ignore[arg-type]
    monkeypatch.undo()
    assert reembed_store(tmp_path, new).vectors == 1
    with FaissStore(tmp_path, index=index(new)) as store:  # type: ignore[arg-type]
        assert store.search(NS, query="parcel", limit=1)[0].key == "a"


def test_no_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no memory store"):
        reembed_store(tmp_path / "missing", DeterministicEmbeddings())
