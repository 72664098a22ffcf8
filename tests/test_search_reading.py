"""`MemoryManager.search` ranks its candidates from their stored values and reads in full
(validates) only those that decide the result: the results are those of reading every
candidate in full, an unreadable record among them or not, wherever it ranks."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langgraph.store.base import BaseStore

from memory import manager as manager_module
from memory.manager import MemoryManager
from memory.models import Memory, Provenance
from memory.namespaces import memory_namespace

TEAM = "support"
SHARED = memory_namespace(TEAM, "shared")
QUERY = "refund policy for damaged parcels"


def fact(content: str, **provenance: Any) -> Memory:
    return Memory(
        content=content,
        type="semantic",
        mechanism="explicit",
        confidence=0.95,
        provenance=Provenance(source_agent="sam", **provenance),
    )


def background(alex: MemoryManager) -> None:
    for n in range(12):
        alex.add(fact(f"Warehouse note {n}: shelf {n} holds garden tools and paint"))
    alex.add(fact("Damaged parcels get a full refund within 30 days"))
    alex.add(fact("The refund policy covers parcels damaged in transit"))


def unreadable(store: BaseStore, key: str, memory: Memory) -> None:
    """`memory` stored with a field validation refuses (one ranking never reads)."""
    value = memory.to_store_value()
    value["mechanism"] = "telepathy"
    store.put(SHARED, key, value)


def ranked(alex: MemoryManager, limit: int) -> list[tuple[str, float]]:
    return [(h.memory.memory_id, h.score) for h in alex.search(QUERY, limit=limit)]


def same(found: list[tuple[str, float]], reference: list[tuple[str, float]]) -> bool:
    """Same memories in the same order; scores equal up to the clock (recency)."""
    return [m for m, _ in found] == [m for m, _ in reference] and all(
        a == pytest.approx(b, rel=1e-9) for (_, a), (_, b) in zip(found, reference, strict=True)
    )


def read_in_full(alex: MemoryManager, monkeypatch: pytest.MonkeyPatch, limit: int) -> Any:
    """The results with every candidate read (validated) before ranking."""
    with monkeypatch.context() as patch:
        patch.setattr(manager_module, "_candidate", manager_module._read_fully)
        return ranked(alex, limit)


def skipped(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "memory.integrity"]


@pytest.mark.parametrize(
    "bad",
    [
        # the best match of all: it would be returned
        fact("Refund policy: damaged parcels are refunded in full"),
        # a synced copy of a returned memory: one of the two is shown
        None,
        # a weak match next to a returned one: not returned, it lends its neighbour evidence
        fact("Warehouse note 50: shelf 50 holds boxes", thread_id="c1", turn=1),
    ],
    ids=["returned", "copy", "neighbour"],
)
def test_an_unreadable_record_that_decides_the_result_is_read_and_skipped(
    store: BaseStore,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    bad: Memory | None,
) -> None:
    alex = MemoryManager(store, team=TEAM, agent="alex")
    background(alex)
    alex.add(fact("Refunds for damaged parcels need the order number", thread_id="c1", turn=0))
    before = ranked(alex, 3)
    assert same(before, read_in_full(alex, monkeypatch, 3))
    if bad is None:
        original = alex.get(before[0][0])
        assert original is not None
        bad = fact(original.content, origin_memory_id=original.memory_id)
    with caplog.at_level(logging.WARNING, logger="memory.integrity"):
        unreadable(store, bad.memory_id, bad)
        found = ranked(alex, 3)
    assert any(bad.memory_id in line for line in skipped(caplog))
    assert bad.memory_id not in [m for m, _ in found]
    assert same(found, read_in_full(alex, monkeypatch, 3))


def test_an_unreadable_record_below_the_results_changes_nothing(
    store: BaseStore, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    alex = MemoryManager(store, team=TEAM, agent="alex")
    background(alex)
    bad = fact("Warehouse note 99: shelf 99 holds garden tools and paint")
    unreadable(store, bad.memory_id, bad)
    for limit in (2, 50):
        with caplog.at_level(logging.WARNING, logger="memory.integrity"):
            found = ranked(alex, limit)
        assert same(found, read_in_full(alex, monkeypatch, limit))
        assert bad.memory_id not in [m for m, _ in found]
    assert any(bad.memory_id in line for line in skipped(caplog))  # read when limit is 50
