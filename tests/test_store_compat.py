"""LangGraph's InMemoryStore raises on a comparison filter for an item lacking the key: a
plain note in a namespace must not break search there, and results match the FAISS
store's (a missing key never satisfies a comparison)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from memory import store_steps as steps
from memory.manager import MemoryManager
from memory.models import Memory, Provenance
from memory.store import FaissStore
from tests.fakes import DeterministicEmbeddings

SHARED = ("team", "support", "shared")


def index() -> dict[str, object]:
    return {"dims": 64, "embed": DeterministicEmbeddings(64), "fields": ["content"]}


def fill(store: BaseStore) -> MemoryManager:
    sam = MemoryManager(store, team="support", agent="sam")
    store.put(SHARED, "note", {"content": "Parcels to Lisbon ship on Saturdays."})
    store.put(SHARED, "odd", {"content": "Lisbon parcels are insured.", "confidence": "high"})
    for n, confidence in enumerate((0.95, 0.5, 0.9)):
        sam.add(
            Memory(
                content=f"Lisbon parcel rule {n}: a signature is needed.",
                type="semantic",
                mechanism="explicit",
                confidence=confidence,
                provenance=Provenance(source_agent="sam"),
            )
        )
    return sam


def found(sam: MemoryManager, **options: object) -> list[str]:
    return sorted(h.memory.content for h in sam.search("Lisbon parcels", limit=10, **options))  # type: ignore[arg-type]


async def afound(sam: MemoryManager, **options: object) -> list[str]:
    hits = await sam.asearch("Lisbon parcels", limit=10, **options)  # type: ignore[arg-type]
    return sorted(h.memory.content for h in hits)


@pytest.mark.parametrize("min_confidence", [0.0, 0.6, 0.92])
async def test_in_memory_store_searches_like_the_faiss_store(
    tmp_path: Path, min_confidence: float
) -> None:
    reference = fill(FaissStore(tmp_path, index=index()))  # type: ignore[arg-type]
    sam = fill(InMemoryStore(index=index()))  # type: ignore[arg-type]
    expected = found(reference, min_confidence=min_confidence)
    assert expected  # something passes each threshold
    assert found(sam, min_confidence=min_confidence) == expected
    assert await afound(sam, min_confidence=min_confidence) == expected


def test_pages_of_a_compared_search_are_cut_after_the_comparison() -> None:
    store = InMemoryStore()
    for n in range(10):
        store.put(SHARED, f"k{n}", {"n": n} if n % 2 else {"text": "no n"})
    page = steps.run(store, steps.search(SHARED, filter={"n": {"$gte": 3}}, limit=2, offset=1))
    assert [item.key for item in page] == ["k5", "k7"]
