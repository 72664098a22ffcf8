"""The store backends the conformance suite runs against, built the same way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from memory.store import FaissStore
from tests.fakes import DeterministicEmbeddings

DIMS = 64


def memory_index() -> dict:
    """The index of the memory-layer tests: memories embed their content."""
    return {"dims": DIMS, "embed": DeterministicEmbeddings(DIMS), "fields": ["content"]}


def index_config() -> dict:
    return {"dims": DIMS, "embed": DeterministicEmbeddings(DIMS), "fields": ["text"]}


@contextmanager
def reference_store() -> Iterator[BaseStore]:
    yield InMemoryStore(index=index_config())  # type: ignore[arg-type]


@contextmanager
def faiss_store(path: Path, **kwargs: object) -> Iterator[FaissStore]:
    store = FaissStore(path, index=index_config(), **kwargs)  # type: ignore[arg-type]
    try:
        yield store
    finally:
        store.close()
