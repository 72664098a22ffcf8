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


def test_the_newest_of_a_team_listing_are_those_of_reading_it_all(tmp_path: Path) -> None:
    """`TeamMemory.list(limit=k)` orders records by the time they state and validates only
    what it lists: the rows are those of reading every memory, whatever the order they
    were written in, with plain notes, an unreadable record and superseded ones among
    them."""
    from datetime import timedelta

    from memory.team import TeamMemory

    with FaissStore(tmp_path) as store:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        private = memory_namespace("support", "agent", "sam")
        for n in (5, 1, 9, 3, 7, 0, 8, 2, 6, 4):  # written out of time order
            memory = Memory(
                content=f"Depot note {n}.",
                type="semantic",
                provenance=SAM,
                created_at=start + timedelta(days=n),
                superseded_by="mem-x" if n in (8, 3) else None,
                invalidated_at=start + timedelta(days=20) if n in (8, 3) else None,
            )
            store.put(SHARED if n % 2 else private, memory.memory_id, memory.to_store_value())
        store.put(SHARED, "plain", {"content": "Depot opens at 8."})
        broken = MEMORIES[0].to_store_value()
        broken["mechanism"] = "telepathy"
        store.put(SHARED, "broken", broken)
        team = TeamMemory(store, "support")
        for invalid in (False, True):
            everything = team.list(include_invalid=invalid)
            for k in (1, 3, 6, 20):
                newest = team.list(include_invalid=invalid, limit=k)
                assert [r.memory.memory_id for r in newest] == [
                    r.memory.memory_id for r in everything[-k:]
                ]
        shown = [r.memory.content for r in team.list(limit=3)]
        assert "Depot opens at 8." in shown  # the plain note is the newest (written now)
