"""Listing memories reads each record once: unfiltered store pages are cut by SQLite (a
page parses only its own rows), and a listing filter is matched on the few fields it
names (`Memory.store_fields`), which say what the stored record says."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from langgraph.store.base import PutOp

from memory.manager import MemoryManager, memories_in
from memory.models import Memory, Provenance
from memory.namespaces import memory_namespace
from memory.store import FaissStore

SHARED = memory_namespace("support", "shared")


def test_pages_of_an_unfiltered_listing_are_the_listing(tmp_path: Path) -> None:
    with FaissStore(tmp_path) as store:
        store.batch([PutOp(SHARED, f"k{n:03}", {"n": n}) for n in range(57)])
        store.delete(SHARED, "k010")
        whole = [item.key for item in store.search(SHARED, limit=1000)]
        pages = [
            item.key
            for offset in range(0, 60, 8)
            for item in store.search(SHARED, limit=8, offset=offset)
        ]
        assert pages == whole and len(whole) == 56 and "k010" not in whole
        filtered = [
            i.key for i in store.search(SHARED, filter={"n": {"$gte": 50}}, limit=3, offset=2)
        ]
        assert filtered == ["k052", "k053", "k054"]


SAM, JORDAN = Provenance(source_agent="sam"), Provenance(source_agent="jordan")
MEMORIES = [
    Memory(content="Refunds take 5 days.", type="semantic", provenance=SAM),
    Memory(
        content="Customer #12 prefers email.",
        type="entity",
        subject="customer:12",
        attribute="contact_preference",
        value="email",
        provenance=Provenance(source_agent="sam", thread_id="t", turn=3),
        event_time=datetime(2026, 3, 2, tzinfo=UTC),
        superseded_by="mem-2",
        invalidated_at=datetime(2026, 3, 3, tzinfo=UTC),
    ),
    Memory(content="Reset the router first.", type="skill", provenance=JORDAN, tags=["wifi"]),
]


@pytest.mark.parametrize("memory", MEMORIES, ids=["fact", "superseded entity", "skill"])
def test_store_fields_say_what_the_stored_record_says(memory: Memory) -> None:
    stored = memory.to_store_value()
    for key in stored:
        assert memory.store_fields([key]) == {key: stored[key]}
    assert memory.store_fields(stored) == stored


def test_listing_filters_select_as_store_filters_would(tmp_path: Path) -> None:
    with FaissStore(tmp_path) as store:
        for memory in MEMORIES:
            store.put(SHARED, memory.memory_id, memory.to_store_value())
        ids = [m.memory_id for m in MEMORIES]
        assert [m.memory_id for m in memories_in(store, SHARED)] == ids
        assert [m.memory_id for m in memories_in(store, SHARED, {"valid": True})] == [
            ids[0],
            ids[2],
        ]
        assert [m.memory_id for m in memories_in(store, SHARED, {"valid": False})] == [ids[1]]
        assert [m.memory_id for m in memories_in(store, SHARED, {"superseded_by": "mem-2"})] == [
            ids[1]
        ]
        assert [m.memory_id for m in memories_in(store, SHARED, {"family": "procedural"})] == [
            ids[2]
        ]
        assert (
            MemoryManager(store, team="support", agent="sam").superseded_by("mem-2")[0].memory_id
            == ids[1]
        )
