"""The manager's async API runs on the store's `abatch`, on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from langgraph.store.base import BaseStore

from memory.backends import aopen_store
from memory.manager import MemoryManager
from memory.models import Memory, Provenance
from tests.pg import pg_database_url, pg_url  # noqa: F401  (fixtures)
from tests.store_backends import memory_index

T = TypeVar("T")
TEAM = "support"


def mem(content: str, agent: str = "sam", **kw: Any) -> Memory:
    kw.setdefault("mechanism", "explicit")
    kw.setdefault("confidence", 0.95)
    kw.setdefault("type", "semantic")
    return Memory(content=content, provenance=Provenance(source_agent=agent), **kw)


FACTS = [
    mem("Premium members get refunds within 48 hours."),
    mem("Delivery delays are checked with the carrier first."),
    mem(
        "Customer #12345 prefers email.",
        type="entity",
        subject="customer:12345",
        attribute="contact_preference",
        value="email",
    ),
    mem(
        "Customer #34567 prefers SMS.",
        type="entity",
        subject="customer:34567",
        attribute="contact_preference",
        value="sms",
    ),
]


def no_sync_batch(store: BaseStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on a sync `batch` fails: the async API must not use it."""

    def refuse(ops: object) -> list:
        raise AssertionError("the async API called the store's sync batch")

    monkeypatch.setattr(type(store), "batch", refuse)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


async def same_as_sync(store: BaseStore, monkeypatch: pytest.MonkeyPatch) -> None:
    sam = MemoryManager(store, team=TEAM, agent="sam")
    ids = [sam.add(m).memory.memory_id for m in FACTS]
    private = sam.add(mem("Sam's own note: ORD-1004 ships Tuesday.", scope="private"))
    queries = ["How do I reach customer #12345?", "refund window", "delivery delay"]
    expected = {q: [(h.memory.memory_id, h.score) for h in sam.search(q)] for q in queries}
    scoped = [h.memory.memory_id for h in sam.search("prefers", subject="customer:12345")]
    listed = [m.memory_id for m in sam.list()]
    disputed = [m.memory_id for m in sam.disputed()]

    no_sync_batch(store, monkeypatch)
    for query in queries:
        got = [(h.memory.memory_id, h.score) for h in await sam.asearch(query)]
        assert [i for i, _ in got] == [i for i, _ in expected[query]], query
        assert [s for _, s in got] == pytest.approx([s for _, s in expected[query]])
    hits = await sam.asearch("prefers", subject="customer:12345")
    assert [h.memory.memory_id for h in hits] == scoped
    assert all(h.memory.owner != "customer:34567" for h in hits)
    assert [m.memory_id for m in await sam.alist()] == listed
    assert [m.memory_id for m in await sam.adisputed()] == disputed
    got = await sam.aget(ids[2])
    assert got is not None and got.value == "email"
    assert await sam.aget("no-such-id") is None
    # another agent reads the shared facts, never sam's private note
    jordan = MemoryManager(store, team=TEAM, agent="jordan")
    assert await jordan.aget(private.memory.memory_id) is None
    assert await jordan.aget(ids[0]) is not None
    assert await sam.aforget(ids[0]) is True
    assert await sam.aforget(ids[0]) is False
    assert await sam.aget(ids[0]) is None
    monkeypatch.undo()
    assert sam.get(ids[0]) is None


def test_async_reads_match_the_sync_ones_on_abatch_alone(
    store: BaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """InMemoryStore and the FAISS store (conftest's `store`)."""
    run(same_as_sync(store, monkeypatch))


@pytest.mark.integration
def test_async_reads_on_postgres(
    pg_database_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def main() -> None:
        async with aopen_store(pg_database_url, index=memory_index()) as store:  # type: ignore[arg-type]
            await same_as_sync_async_store(store, monkeypatch)

    run(main())


async def same_as_sync_async_store(store: BaseStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """AsyncPostgresStore's sync calls must come from another thread than its loop's, so
    the sync reference runs in a worker thread."""
    sam = MemoryManager(store, team=TEAM, agent="sam")
    for m in FACTS:
        await sam.aadd(m)
    query = "How do I reach customer #12345?"
    expected = [h.memory.memory_id for h in await asyncio.to_thread(sam.search, query)]
    no_sync_batch(store, monkeypatch)
    assert [h.memory.memory_id for h in await sam.asearch(query)] == expected
    listed = [m.memory_id for m in await sam.alist()]
    assert len(listed) == len(FACTS)
    assert await sam.aforget(listed[0]) is True
    assert await sam.aget(listed[0]) is None


def test_aadd_and_aremember_store_what_add_and_remember_store(store: BaseStore) -> None:
    async def main() -> None:
        sam = MemoryManager(store, team=TEAM, agent="sam")
        added = await sam.aadd(FACTS[0])
        assert added.action == "added"
        again = await sam.aadd(mem("Premium members get refunds within 48 hours!", agent="x"))
        assert again.action in ("reinforced", "unchanged")
        results = await sam.aremember("I prefer phone calls.", subject="customer:777")
        assert results and results[0].memory.subject == "customer:777"
        hits = await sam.asearch("How does customer 777 like to be contacted?")
        assert any(h.memory.memory_id == results[0].memory.memory_id for h in hits)

    run(main())
