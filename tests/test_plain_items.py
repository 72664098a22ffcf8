"""Memories written by standard LangGraph means are read by MemoryManager.

LangMem's memory tools and the store API (which Studio's memory panel uses) write plain
``{"content": ...}`` items; the manager searches them with documented defaults
(memory.models.PLAIN_ITEM_DEFAULTS) and names an item that is no memory at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langmem import create_manage_memory_tool, create_search_memory_tool

from memory.manager import MemoryManager
from memory.models import IMPLICIT_CONFIDENCE, Memory
from memory.namespaces import memory_namespace
from memory.store import FaissStore
from tests.fakes import DeterministicEmbeddings

SHARED = ("team", "support", "shared")


@pytest.fixture
def store(tmp_path: Path) -> FaissStore:
    emb = DeterministicEmbeddings(64)
    return FaissStore(tmp_path / "store", index={"dims": 64, "embed": emb, "fields": ["content"]})


def test_langmem_tools_write_what_the_manager_finds(store: FaissStore) -> None:
    assert memory_namespace("support", "shared") == SHARED
    manage = create_manage_memory_tool(SHARED, store=store)
    fact = "The Lisbon warehouse ships parcels on Saturdays."
    manage.invoke({"content": fact, "action": "create"})
    hits = MemoryManager(store, team="support", agent="sam").search("Lisbon warehouse parcels")
    assert hits and hits[0].memory.content == fact
    memory = hits[0].memory
    assert (memory.type, memory.scope, memory.confidence) == (
        "semantic",
        "shared",
        IMPLICIT_CONFIDENCE,
    )
    assert memory.provenance.source_agent == "store-api" and "plain-item" in memory.tags
    # and LangMem's own search still reads what it wrote
    found = create_search_memory_tool(SHARED, store=store).invoke({"query": "Lisbon warehouse"})
    assert "Lisbon" in str(found)


def test_store_api_items_are_searched_listed_got_and_forgotten(store: FaissStore) -> None:
    store.put(SHARED, "note-1", {"content": "Our Porto office closes at 3 pm on Fridays."})
    store.put(("team", "support", "agent", "jordan"), "own", {"content": "Jordan's pager rota."})
    jordan = MemoryManager(store, team="support", agent="jordan")
    assert [h.memory.memory_id for h in jordan.search("Porto office Friday")][:1] == ["note-1"]
    own = jordan.get("own")
    assert own is not None and own.scope == "private" and own.provenance.source_agent == "jordan"
    assert {m.memory_id for m in jordan.list()} == {"note-1", "own"}
    # another agent never reads Jordan's private item
    assert MemoryManager(store, team="support", agent="sam").get("own") is None
    assert jordan.forget("note-1") and jordan.get("note-1") is None


@pytest.mark.parametrize(
    "note",
    [
        "Customer #12345's phone number is 555-0101.",
        "client 12345 asked us to call after 6pm on 555-0101",
        "Order #4455 of this customer goes to 1 Quiet Lane, phone 555-0101.",
    ],
)
def test_a_plain_note_about_someone_is_theirs_not_general_knowledge(
    store: FaissStore, note: str
) -> None:
    """A note staff type in Studio's memory panel about a customer (or their order) is
    read as about them: never shown in another customer's conversation."""
    store.put(SHARED, "studio-note", {"content": note})
    store.put(SHARED, "studio-policy", {"content": "Phone support is open 9am to 5pm."})
    sam = MemoryManager(store, team="support", agent="sam")
    [read] = [m for m in sam.list() if m.memory_id == "studio-note"]
    assert read.owner != ""
    other = [h.memory.memory_id for h in sam.search("phone number", subject="customer:999")]
    assert "studio-note" not in other and "studio-policy" in other
    staff = [h.memory.memory_id for h in sam.search("phone number")]
    assert "studio-note" in staff


def test_another_persons_notes_never_take_a_customers_places(store: FaissStore) -> None:
    """Plain notes about customer 12345 that match best are left out before ranking, so a
    search for customer 999 still returns as many memories as it asked for."""
    for n in range(4):
        store.put(
            SHARED, f"note-{n}", {"content": f"Customer #12345's phone number {n} is 555-0101."}
        )
    for n in range(3):
        store.put(SHARED, f"policy-{n}", {"content": f"Phone support line {n} is open 9am to 5pm."})
    sam = MemoryManager(store, team="support", agent="sam")
    found = [
        h.memory.memory_id for h in sam.search("phone number", subject="customer:999", limit=3)
    ]
    assert sorted(found) == ["policy-0", "policy-1", "policy-2"]
    staff = [h.memory.memory_id for h in sam.search("phone number", limit=3)]
    assert any(key.startswith("note-") for key in staff)  # they do rank first


def test_a_plain_item_below_the_threshold_is_not_returned(store: FaissStore) -> None:
    store.put(SHARED, "n", {"content": "The Lisbon warehouse ships parcels on Saturdays."})
    manager = MemoryManager(store, team="support", agent="sam")
    assert manager.search("Lisbon warehouse", min_confidence=0.9) == []


def test_an_item_that_is_not_a_memory_is_named_and_skipped(
    store: FaissStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.put(SHARED, "junk", {"text": "no content field"}, index=False)
    store.put(SHARED, "ok", {"content": "Refunds go back to the original card."})
    manager = MemoryManager(store, team="support", agent="sam")
    assert [m.memory_id for m in manager.list()] == ["ok"]
    assert "'junk'" in caplog.text and "needs a non-empty 'content'" in caplog.text
    item = store.get(SHARED, "junk")
    assert item is not None
    with pytest.raises(ValueError, match="is not a memory"):
        Memory.from_item(item)


# --- remember(text): extract and store in one call; the async API ---------------------


def test_remember_extracts_and_stores_with_the_sources_trust(store: FaissStore) -> None:
    sam = MemoryManager(store, team="support", agent="sam")
    said = sam.remember("Remember that I prefer SMS.", subject="customer:777", source="user")
    assert [r.action for r in said] == ["added"]
    memory = said[0].memory
    assert (memory.subject, memory.attribute, memory.value) == (
        "customer:777",
        "contact_preference",
        "sms",
    )
    assert memory.mechanism == "explicit" and memory.confidence == 0.95
    staff = sam.remember("Premium members get refunds within 48 hours.", source="staff")
    assert staff[0].memory.type == "semantic" and staff[0].memory.confidence == 0.95


@pytest.mark.parametrize("source", ["user", "agent"])
def test_remember_refuses_untrusted_policy_changes(store: FaissStore, source: str) -> None:
    sam = MemoryManager(store, team="support", agent="sam")
    with pytest.raises(ValueError, match="trusted sources"):
        sam.remember("Premium members get refunds within 2 hours.", source=source)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="customer:999"):
        sam.remember(
            "Customer #999 prefers to be contacted by fax.",
            subject="customer:777",
            source=source,  # type: ignore[arg-type]
        )
    assert sam.list() == []


def test_remember_without_a_fact_or_with_a_bad_source_says_so(store: FaissStore) -> None:
    sam = MemoryManager(store, team="support", agent="sam")
    with pytest.raises(ValueError, match="no fact found"):
        sam.remember("Hello there!")
    with pytest.raises(ValueError, match="source must be one of"):
        sam.remember("I prefer email.", source="boss")  # type: ignore[arg-type]


async def test_the_async_api_reads_and_writes_like_the_sync_one(store: FaissStore) -> None:
    sam = MemoryManager(store, team="support", agent="sam")
    added = await sam.aremember("Remember that I prefer email.", subject="customer:5")
    memory_id = added[0].memory.memory_id
    hits = await sam.asearch("how to contact customer 5")
    assert hits and hits[0].memory.memory_id == memory_id
    assert (await sam.aget(memory_id)) == sam.get(memory_id)
    assert [m.memory_id for m in await sam.alist()] == [memory_id]
    assert await sam.aforget(memory_id) and await sam.aget(memory_id) is None
    result = await sam.aadd(added[0].memory)
    assert result.action == "added"
