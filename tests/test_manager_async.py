"""The manager's async API runs the sync API's store steps on the store's `abatch` (writes
on the FAISS store: in one worker thread, inside its thread-bound transactions), on every
backend."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from langgraph.store.base import BaseStore, GetOp
from langgraph.store.memory import InMemoryStore

from memory import store_steps as steps
from memory.backends import aopen_store
from memory.manager import AddResult, MemoryManager
from memory.models import Memory, Provenance
from memory.store import FaissStore
from tests.pg import pg_database_url, pg_url  # noqa: F401  (fixtures)
from tests.store_backends import memory_index

T = TypeVar("T")
TEAM = "support"


def mem(content: str, agent: str = "sam", **kw: Any) -> Memory:
    kw.setdefault("mechanism", "explicit")
    kw.setdefault("confidence", 0.95)
    kw.setdefault("type", "semantic")
    kw.setdefault("provenance", Provenance(source_agent=agent))
    return Memory(content=content, **kw)


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


# ---- writes ------------------------------------------------------------------------------
def writes() -> list[Memory]:
    """Adds that take several paths of `add`: new, restated, superseded, disputed."""
    return [
        *FACTS,
        mem("Premium members get refunds within 48 hours.", agent="jordan"),
        mem(
            "Customer #12345 prefers SMS.",
            type="entity",
            subject="customer:12345",
            attribute="contact_preference",
            value="sms",
        ),
        mem(
            "Customer #34567 prefers phone calls.",
            type="entity",
            subject="customer:34567",
            attribute="contact_preference",
            value="phone",
            mechanism="inferred",
            confidence=0.5,
        ),
        mem("Sam's own note: ORD-1004 ships Tuesday.", scope="private"),
    ]


def outcome(results: list[AddResult], manager: MemoryManager) -> list[tuple[str, str]]:
    """What each add did, then every record the manager holds (valid or not)."""
    held = sorted(("held", m.content) for m in manager.list(include_invalid=True, limit=100))
    return [(r.action, r.memory.content) for r in results] + held


def record_sync_batch_threads(store: BaseStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread of every sync `batch` call from here on."""
    threads: list[int] = []
    original = type(store).batch

    def batch(self: BaseStore, ops: Any) -> Any:
        threads.append(threading.get_ident())
        return original(self, ops)

    monkeypatch.setattr(type(store), "batch", batch)
    return threads


def test_aadd_and_aremember_write_what_add_and_remember_write(
    store: BaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One team written with the sync API, another with the async one, on one store: the
    same actions, the same records. InMemoryStore (no thread-bound transaction) never
    sees a sync `batch`; the FAISS store sees each add's calls from one worker thread."""
    sync = MemoryManager(store, team="by-sync", agent="sam")
    results = [sync.add(m) for m in writes()]
    results += sync.remember("I prefer fax.", subject="customer:9")
    expected = outcome(results, sync)
    assert {action for action, _ in expected} >= {"added", "reinforced", "superseded"}

    faiss = steps.has_thread_transactions(store)
    assert faiss == isinstance(store, FaissStore)
    threads: list[int] = []
    if faiss:
        threads = record_sync_batch_threads(store, monkeypatch)
    else:
        no_sync_batch(store, monkeypatch)
    by_async = MemoryManager(store, team="by-async", agent="sam")

    async def main() -> list[AddResult]:
        loop_thread = threading.get_ident()
        done = []
        for memory in writes():
            before = len(threads)
            done.append(await by_async.aadd(memory))
            used = set(threads[before:])
            assert loop_thread not in used
            assert len(used) == (1 if faiss else 0)  # the whole add, in one thread
        return done + await by_async.aremember("I prefer fax.", subject="customer:9")

    got = run(main())
    monkeypatch.undo()
    assert outcome(got, by_async) == expected


async def add_concurrently(manager: MemoryManager, copies: int) -> list[AddResult]:
    """`copies` statements of one fact (each from its own message), all at once."""
    return await asyncio.gather(
        *(
            manager.aadd(
                mem(
                    "Orders over 200 dollars ship free.",
                    provenance=Provenance(source_agent="sam", message_id=f"m-{n}"),
                )
            )
            for n in range(copies)
        )
    )


def assert_one_memory_of_every_statement(manager: MemoryManager, copies: int) -> None:
    valid = [m for m in manager.list(limit=100) if "200 dollars" in m.content]
    assert len(valid) == 1, [m.content for m in valid]
    assert valid[0].mention_count == copies
    assert sorted(valid[0].message_ids) == sorted(f"m-{n}" for n in range(copies))
    every = [m for m in manager.list(include_invalid=True, limit=100) if "200" in m.content]
    assert every == valid  # the others were folded into it, not kept beside it


def test_concurrent_aadds_of_one_fact_converge_on_one_memory(store: BaseStore) -> None:
    """Each add is one worker thread on the FAISS store (its `atomic()` keeps their
    read-modify-writes apart); on InMemoryStore they take turns (interleaved at their
    awaits, a fold of twins overwrote another's count: 2 statements of 6 were kept)."""
    sam = MemoryManager(store, team=TEAM, agent="sam", merge_threshold=1.01)
    results = run(add_concurrently(sam, 6))
    assert {r.action for r in results} <= {"added", "reinforced"}
    assert_one_memory_of_every_statement(sam, 6)


def test_a_store_error_unwinds_inside_the_steps_in_their_thread() -> None:
    """`run` and `arun` raise a store's error at the generator's `yield`, so its `with`
    blocks (a transaction's rollback) exit where they were entered."""

    class Broken(InMemoryStore):
        def batch(self, ops: Any) -> list:
            raise RuntimeError("disk full")

        async def abatch(self, ops: Any) -> list:
            raise RuntimeError("disk full")

    seen: list[tuple[str, int]] = []

    def reads() -> steps.Steps[None]:
        try:
            yield [GetOp(("team",), "k")]
        except RuntimeError as error:
            seen.append((str(error), threading.get_ident()))
            raise

    with pytest.raises(RuntimeError, match="disk full"):
        steps.run(Broken(), reads())
    with pytest.raises(RuntimeError, match="disk full"):
        run(steps.arun(Broken(), reads()))
    assert seen == [("disk full", threading.get_ident())] * 2


def test_a_blocking_step_runs_in_place_or_off_the_event_loop() -> None:
    def where() -> steps.Steps[int]:
        thread = yield from steps.blocking(threading.get_ident)
        return thread

    here = threading.get_ident()
    assert steps.run(InMemoryStore(), where()) == here

    async def main() -> tuple[int, int]:
        return threading.get_ident(), await steps.arun(InMemoryStore(), where())

    loop_thread, ran_in = run(main())
    assert ran_in != loop_thread


@pytest.mark.integration
def test_async_writes_on_postgres(
    pg_database_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AsyncPostgresStore: the adds run on its async driver alone (its sync calls, made
    from the loop's thread, would fail anyway), and this process's concurrent ones take
    turns and converge."""

    async def main() -> None:
        async with aopen_store(pg_database_url, index=memory_index()) as store:  # type: ignore[arg-type]
            assert not steps.has_thread_transactions(store)
            no_sync_batch(store, monkeypatch)
            sam = MemoryManager(store, team=TEAM, agent="sam", merge_threshold=1.01)
            first = [await sam.aadd(m) for m in writes()]
            assert [r.action for r in first][:4] == ["added"] * 4
            assert {r.action for r in first} >= {"reinforced", "superseded"}
            remembered = await sam.aremember("I prefer fax.", subject="customer:9")
            assert remembered[0].memory.subject == "customer:9"
            results = await add_concurrently(sam, 6)
            assert {r.action for r in results} <= {"added", "reinforced"}
            monkeypatch.undo()
            await asyncio.to_thread(assert_one_memory_of_every_statement, sam, 6)

    run(main())
