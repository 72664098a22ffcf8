"""Forgetting reaches every copy, the history, the indexes and the A2A log.

After a forget, nothing of the fact is recoverable through any search path: an agent's
search (dense + BM25, invalidated included, no confidence floor), the store's own vector
search over every namespace of the team, the FTS5 index, `get` by id, and the log.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.base import BaseStore

from memory.bridge import MEMORY_FORGET, RESULT, A2ABridge, A2AMessage
from memory.manager import MemoryManager
from memory.models import Memory, Provenance
from memory.namespaces import team_prefix
from memory.store import FaissStore
from memory.store_db import DB_FILE
from memory.team import STAFF, MemoryNotFound, TeamMemory

TEAM = "support"
SHARED = ("team", TEAM, "shared")
OLD_PHONE = "555-0100"
PHONE = "555-0199"


def fact(content: str, subject: str, attribute: str | None, value: str | None) -> Memory:
    return Memory(
        content=content,
        type="entity",
        mechanism="explicit",
        confidence=0.95,
        subject=subject,
        attribute=attribute,
        value=value,
        provenance=Provenance(source_agent="sam", thread_id="t1", message_id=f"m-{content}"),
    )


def phone(number: str, customer: str = "12345") -> Memory:
    return fact(
        f"Customer #{customer}'s phone number is {number}",
        f"customer:{customer}",
        "phone_number",
        number,
    )


def seeded(store: BaseStore) -> tuple[Memory, Memory, Memory]:
    """Sam learns a phone number, then a new one (superseding it), syncs it to Jordan and
    Alex, and reports on it in a result message; a related memory links to it."""
    sam = MemoryManager(store, team=TEAM, agent="sam", link_threshold=0.0)
    old = sam.add(phone(OLD_PHONE)).memory
    new = sam.add(phone(PHONE))
    assert new.action == "superseded"
    bridge = A2ABridge(store, TEAM)
    bridge.sync(new.memory, ["jordan", "alex"], source_agent="sam", correlation_id="turn-1")
    bridge.send(
        A2AMessage(
            source_agent="sam",
            target_agent="alex",
            content_type=RESULT,
            payload={"summary": f"Reached customer #12345 on {PHONE}."},
            correlation_id="turn-1",
        )
    )
    other = sam.add(fact("Customer #12345 prefers email", "customer:12345", "contact", "email"))
    assert new.memory.memory_id in other.memory.links
    return old, new.memory, other.memory


def recoverable(store: BaseStore, needle: str) -> list[str]:
    """Every place `needle` still shows up, through every read path there is."""
    found: list[str] = []
    for agent in ("sam", "jordan", "alex"):
        manager = MemoryManager(store, team=TEAM, agent=agent)
        for hit in manager.search(
            f"phone number {needle}", limit=50, min_confidence=0.0, include_invalid=True
        ):
            if needle in hit.memory.content:
                found.append(f"search as {agent}: {hit.memory.memory_id}")
        for memory in manager.list(include_invalid=True, limit=10_000):
            if needle in memory.content:
                found.append(f"list as {agent}: {memory.memory_id}")
    for namespace in store.list_namespaces(prefix=team_prefix(TEAM)):
        for item in store.search(namespace, query=f"phone {needle}", limit=100):
            if needle in json.dumps(item.value):
                found.append(f"vector search {namespace}: {item.key}")
        for item in store.search(namespace, limit=10_000):
            if needle in json.dumps(item.value):
                found.append(f"item {namespace}: {item.key}")
    if isinstance(store, FaissStore):
        for namespace in store.list_namespaces(prefix=team_prefix(TEAM)):
            for item in store.lexical_search(namespace, needle, limit=100):
                if needle in json.dumps(item.value):  # BM25 also matches "555" alone
                    found.append(f"FTS5 {namespace}: {item.key}")
        # Beneath the API: the full-text index's own rows and the raw item table.
        with closing(sqlite3.connect(store.path / DB_FILE)) as db:
            rows = db.execute(
                "SELECT rowid FROM items_fts WHERE items_fts MATCH ?", (f'"{needle}"',)
            ).fetchall()
            items = db.execute(
                "SELECT key FROM items WHERE instr(value, ?) > 0", (needle,)
            ).fetchall()
        found += [f"FTS5 row {r[0]}" for r in rows] + [f"SQLite item {r[0]}" for r in items]
    return found


def test_forget_with_cascade_leaves_nothing_recoverable(store: BaseStore) -> None:
    old, new, other = seeded(store)
    assert recoverable(store, PHONE) and recoverable(store, OLD_PHONE)
    bridge = A2ABridge(store, TEAM)
    senders = [(m.message_id, m.source_agent, m.target_agent) for m in bridge.log.read()]

    report = TeamMemory(store, TEAM).forget(new.memory_id)

    causes = {f.memory_id: f.cause for f in report.removed}
    assert causes[new.memory_id] == "requested"
    assert causes[old.memory_id] == "history"
    assert sorted(c for c in causes.values() if c == "copy") == ["copy", "copy"]
    assert recoverable(store, PHONE) == []
    assert recoverable(store, OLD_PHONE) == []
    assert report.links_cleaned == [other.memory_id]
    kept = MemoryManager(store, team=TEAM, agent="sam").get(other.memory_id)
    assert kept is not None and kept.links == []
    # The log keeps who sent what to whom; the payloads that carried the number are gone.
    log = bridge.log.read()
    assert [(m.message_id, m.source_agent, m.target_agent) for m in log][: len(senders)] == (
        senders
    )
    assert len(report.log_redacted) == 3  # two syncs and the result quoting the number
    assert all(PHONE not in json.dumps(m.payload) for m in log)
    notices = [m for m in log if m.content_type == MEMORY_FORGET]
    assert {m.target_agent for m in notices} == {"team", "jordan", "alex"}
    assert bridge.copies_of(new.memory_id) == []


def test_a_redelivered_sync_of_a_forgotten_memory_stays_forgotten(store: BaseStore) -> None:
    _, new, _ = seeded(store)
    bridge = A2ABridge(store, TEAM)
    [delivered] = [m for m in bridge.log.read(agent="jordan") if m.hops == 1]
    TeamMemory(store, TEAM).forget(new.memory_id)

    again = bridge.receive(delivered)  # the original message, content and all

    assert again.for_target("jordan").reason == "duplicate message"
    assert recoverable(store, PHONE) == []


def test_forgetting_a_copy_forgets_the_fact_unless_only_this(store: BaseStore) -> None:
    _, new, _ = seeded(store)
    jordan = MemoryManager(store, team=TEAM, agent="jordan")
    [copy] = jordan.list(scope="private")
    team = TeamMemory(store, TEAM)

    only = team.forget(copy.memory_id, cascade=False)

    assert only.removed_ids == [copy.memory_id]
    assert MemoryManager(store, team=TEAM, agent="sam").get(new.memory_id) is not None
    everything = team.forget(new.memory_id)
    assert new.memory_id in everything.removed_ids
    assert recoverable(store, PHONE) == []


def test_forget_subject_by_attribute_and_whole(store: BaseStore) -> None:
    seeded(store)
    sam = MemoryManager(store, team=TEAM, agent="sam")
    sam.add(phone("555-0777", customer="999"))
    team = TeamMemory(store, TEAM)

    numbers = team.forget_subject(
        "customer:12345", attributes=["phone_number"], requested_by="customer:12345"
    )

    assert recoverable(store, PHONE) == [] and recoverable(store, OLD_PHONE) == []
    assert {f.owner for f in numbers.removed} == {None, "jordan", "alex"}
    remaining = [row.memory.content for row in team.rows(include_invalid=True)]
    assert "Customer #12345 prefers email" in remaining  # another slot stays
    everything = team.forget_subject("customer:12345", requested_by=STAFF)
    assert [f.content for f in everything.removed] == ["Customer #12345 prefers email"]
    assert [row.memory.subject for row in team.rows(include_invalid=True)] == ["customer:999"]
    log = json.dumps([m.payload for m in A2ABridge(store, TEAM).log.read()])
    assert "12345" not in log.replace("customer:12345", "")


def test_forgetting_a_whole_subject_removes_what_they_own_about_their_records(
    store: BaseStore,
) -> None:
    """ "Delete everything you know about me": their facts are also what they said about
    their orders and tickets, and what staff recorded of an order in their conversation
    (`Memory.owner`), not only the memories whose subject is the customer."""
    sam = MemoryManager(store, team=TEAM, agent="sam")
    for text in (
        "My order #4455 was delivered to the wrong address yesterday.",
        "Ticket #77 is still open.",
        "I prefer SMS.",
    ):
        sam.remember(text, subject="customer:12345", source="user")
    recorded = fact("Order #4456 was refunded in full.", "order:4456", "status", "refunded")
    with_speaker = recorded.provenance.model_copy(update={"speaker": "customer:12345"})
    sam.add(recorded.model_copy(update={"provenance": with_speaker}))
    sam.remember("I prefer email.", subject="customer:999", source="user")
    owned = {m.memory_id for m in sam.list(include_invalid=True) if m.owner == "customer:12345"}
    assert len(owned) == 4

    report = TeamMemory(store, TEAM).forget_subject("Customer:12345", requested_by=STAFF)

    assert owned <= set(report.removed_ids)
    left = sam.list(include_invalid=True)
    assert [m.owner for m in left] == ["customer:999"], [m.content for m in left]


@pytest.mark.parametrize("short_id", ["1", "7", "12"])
def test_forgetting_a_short_id_redacts_only_the_log_messages_about_them(
    store: BaseStore, short_id: str
) -> None:
    """Customer #1's name in free text is "customer #1", not every "1" of the log: the
    team's other messages (a workflow's "1)", customer #12345's order) stay readable."""
    sam = MemoryManager(store, team=TEAM, agent="sam")
    sam.add(fact(f"Customer #{short_id} prefers fax", f"customer:{short_id}", "contact", "fax"))
    bridge = A2ABridge(store, TEAM)
    about_them = [
        f"Customer #{short_id} asked for a callback.",
        f"Called customer {short_id} back.",
        f"customer:{short_id} is waiting.",
    ]
    unrelated = [
        "Refund workflow: 1) verify the order 2) check eligibility 7) refund within 12 hours.",
        f"Customer #{short_id}2345 and customer:{short_id}0 asked about order 1, 7 and 12.",
    ]
    for text in about_them + unrelated:
        bridge.send(
            A2AMessage(
                source_agent="sam",
                target_agent="alex",
                content_type=RESULT,
                payload={"summary": text},
            )
        )

    TeamMemory(store, TEAM).forget_subject(f"customer:{short_id}", requested_by=STAFF)

    summaries = [m.payload.get("summary") for m in bridge.log.read(content_type=RESULT)]
    assert [s for s in summaries if s in about_them] == []
    assert sorted(s for s in summaries if s in unrelated) == sorted(unrelated)


@pytest.mark.parametrize("asked", ["VIP-Note", "vip-note", "VIP", "vip-n"])
def test_a_memory_id_with_capitals_is_found_by_its_id_or_a_prefix(
    store: BaseStore, asked: str
) -> None:
    """Studio's memory panel and LangMem name items as they like ("VIP-Note"): the CLI's
    `memories forget ID` finds them by their id or a prefix, in any case."""
    store.put(SHARED, "VIP-Note", {"content": "Customer #5 is a VIP"})
    team = TeamMemory(store, TEAM)
    assert team.resolve(asked).memory.memory_id == "VIP-Note"
    assert team.forget(team.resolve(asked).memory.memory_id).removed_ids == ["VIP-Note"]


def test_only_the_subject_or_staff_may_forget_a_subject(store: BaseStore) -> None:
    seeded(store)
    team = TeamMemory(store, TEAM)
    with pytest.raises(PermissionError, match="only the subject themself or staff"):
        team.forget_subject("customer:12345", requested_by="customer:999")
    with pytest.raises(ValueError, match="must not be empty"):
        team.forget_subject("  ", requested_by=STAFF)
    assert recoverable(store, PHONE)
    with pytest.raises(MemoryNotFound, match="no memory with id 'nope'"):
        team.forget("nope")


def test_forget_subject_with_nothing_known_reports_nothing(store: BaseStore) -> None:
    report = TeamMemory(store, TEAM).forget_subject("customer:1", requested_by=STAFF)
    assert report.removed == [] and report.log_redacted == []


class BrokenSaver(InMemorySaver):
    """A checkpointer whose reads fail (a server gone away)."""

    def list(self, *args: object, **kwargs: object):  # type: ignore[override]
        raise ConnectionError("checkpointer unreachable")


def test_a_failing_checkpointer_is_reported_and_the_memory_still_forgotten(
    store: BaseStore,
) -> None:
    seeded(store)
    team = TeamMemory(store, TEAM, checkpointer=BrokenSaver())
    report = team.forget_subject("customer:12345", requested_by=STAFF)
    assert recoverable(store, PHONE) == []
    assert report.transcripts is not None
    assert report.transcripts.error == "ConnectionError: checkpointer unreachable"
