"""The A2A bridge and its log, on the reference store and on the FAISS store.

The seed's example throughout: Sam (orders) learns that customer #12345's delivery is
late again and hands it to Jordan (technical); Alex (the coordinator) must not see
Jordan's private copy.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from langgraph.store.base import BaseStore
from pydantic import ValidationError

from memory.bridge import (
    MEMORY_SYNC,
    RESULT,
    TASK,
    A2ABridge,
    A2ALog,
    A2AMessage,
    a2a_log_namespace,
    memory_sync_message,
    synced_copy_id,
)
from memory.manager import MemoryManager
from memory.models import Memory, Provenance
from memory.namespaces import memory_namespace
from memory.store import FaissStore
from memory.team import TeamMemory
from tests.pg import pg_database_url, pg_url  # noqa: F401  (fixtures)
from tests.store_backends import memory_index

TEAM = "support"
DELAY = "Customer #12345 delivery delay - 3rd occurrence"
T0 = datetime(2025, 1, 5, 9, 0, tzinfo=UTC)


def sams_delay(store: BaseStore, scope: str = "shared") -> Memory:
    """Sam records the seed's episodic memory and gets back what was stored."""
    memory = Memory(
        content=DELAY,
        type="episodic",
        scope=scope,  # type: ignore[arg-type]
        mechanism="explicit",
        confidence=0.95,
        subject="customer:12345",
        provenance=Provenance(source_agent="sam", thread_id="thread-1"),
    )
    return MemoryManager(store, team=TEAM, agent="sam").add(memory).memory


def private(store: BaseStore, agent: str) -> list[Memory]:
    return MemoryManager(store, team=TEAM, agent=agent).list(scope="private", include_invalid=True)


def task(source: str, target: str, correlation_id: str, created: datetime) -> A2AMessage:
    return A2AMessage(
        source_agent=source,
        target_agent=target,
        content_type=TASK,
        payload={"instruction": f"check order status for {DELAY}"},
        created=created,
        correlation_id=correlation_id,
    )


# ---- the seed's example ------------------------------------------------------------------


def test_targeted_sync_gives_jordan_a_private_copy_alex_cannot_see(store: BaseStore) -> None:
    original = sams_delay(store)
    bridge = A2ABridge(store, TEAM)

    report = bridge.sync(original, ["jordan"], source_agent="sam", correlation_id="turn-1")

    outcome = report.for_target("jordan")
    assert (outcome.status, outcome.reason, outcome.action) == ("copied", None, "added")
    copy = outcome.stored
    assert copy is not None
    assert copy.memory_id == synced_copy_id(original.memory_id, "jordan") != original.memory_id
    assert copy.confidence == pytest.approx(0.95 * 0.9)
    assert (copy.scope, copy.mechanism, copy.content) == ("private", "synced", DELAY)
    assert copy.provenance.source_agent == "sam"
    assert copy.provenance.origin_agent == "sam"
    assert copy.provenance.origin_memory_id == original.memory_id
    assert copy.provenance.hops == 1
    assert copy.provenance.message_id == outcome.message_id
    assert copy.provenance.thread_id == "thread-1"

    jordan_hits = MemoryManager(store, team=TEAM, agent="jordan").search(
        "customer 12345 delivery delay", limit=5
    )
    found = {h.memory.memory_id: h for h in jordan_hits}
    assert copy.memory_id in found
    assert found[copy.memory_id].namespace == memory_namespace(TEAM, "private", "jordan")
    assert found[copy.memory_id].memory.confidence == pytest.approx(0.855)

    alex = MemoryManager(store, team=TEAM, agent="alex")
    alex_ids = {h.memory.memory_id for h in alex.search("customer 12345 delivery delay")}
    assert original.memory_id in alex_ids  # the shared original, readable by all
    assert copy.memory_id not in alex_ids
    assert alex.get(copy.memory_id) is None


def test_a_private_memory_reaches_only_its_target(store: BaseStore) -> None:
    original = sams_delay(store, scope="private")
    jordan = MemoryManager(store, team=TEAM, agent="jordan")
    alex = MemoryManager(store, team=TEAM, agent="alex")
    query = "customer 12345 delivery delay"
    assert jordan.search(query) == []

    A2ABridge(store, TEAM).sync(original, ["jordan"], source_agent="sam")

    assert [h.memory.content for h in jordan.search(query)] == [DELAY]
    assert alex.search(query) == []
    assert private(store, "alex") == []


def test_each_target_gets_its_own_copy(store: BaseStore) -> None:
    original = sams_delay(store)
    report = A2ABridge(store, TEAM).sync(original, ["jordan", "alex"], source_agent="sam")
    assert [o.status for o in report.outcomes] == ["copied", "copied"]
    jordan_copy, alex_copy = private(store, "jordan"), private(store, "alex")
    assert len(jordan_copy) == len(alex_copy) == 1
    assert jordan_copy[0].memory_id != alex_copy[0].memory_id
    assert jordan_copy[0].provenance.message_id != alex_copy[0].provenance.message_id


# ---- dedupe, loops, hops -----------------------------------------------------------------


def test_same_message_delivered_twice_gives_one_copy_and_one_log_entry(store: BaseStore) -> None:
    original = sams_delay(store)
    bridge = A2ABridge(store, TEAM)
    message = memory_sync_message(original, source_agent="sam", target_agent="jordan")

    first = bridge.receive(message)
    again = bridge.receive(message)

    assert first.for_target("jordan").status == "copied"
    assert again.for_target("jordan").reason == "duplicate message"
    copies = private(store, "jordan")
    assert len(copies) == 1 and copies[0].mention_count == 1
    assert [m.message_id for m in bridge.log.read()] == [message.message_id]


def test_syncing_the_same_memory_again_keeps_one_unchanged_copy(store: BaseStore) -> None:
    original = sams_delay(store)
    bridge = A2ABridge(store, TEAM)
    bridge.sync(original, ["jordan"], source_agent="sam")

    again = bridge.sync(original, ["jordan"], source_agent="sam")

    assert again.for_target("jordan").reason == "synced"
    copies = private(store, "jordan")
    assert len(copies) == 1
    assert (copies[0].mention_count, copies[0].confidence) == (1, pytest.approx(0.855))
    assert len(bridge.log.read(content_type=MEMORY_SYNC)) == 1  # nothing sent the 2nd time


def test_a_loop_never_goes_back_to_the_origin(store: BaseStore) -> None:
    original = sams_delay(store)
    bridge = A2ABridge(store, TEAM)
    jordan_copy = bridge.sync(original, ["jordan"], source_agent="sam").copied[0].stored
    assert jordan_copy is not None

    onward = bridge.sync(jordan_copy, ["sam", "alex"], source_agent="jordan")

    assert onward.for_target("sam").reason == "origin"
    alex_copy = onward.for_target("alex").stored
    assert alex_copy is not None
    assert alex_copy.provenance.origin_memory_id == original.memory_id
    assert (alex_copy.provenance.origin_agent, alex_copy.provenance.source_agent) == (
        "sam",
        "jordan",
    )
    assert alex_copy.confidence == pytest.approx(0.95 * 0.9 * 0.9)
    back = bridge.sync(alex_copy, ["jordan", "sam"], source_agent="alex")
    assert [o.reason for o in back.outcomes] == ["origin", "origin"]
    assert private(store, "sam") == []
    assert len(private(store, "jordan")) == 1


def test_a_forged_return_message_is_refused_and_logged(store: BaseStore) -> None:
    original = sams_delay(store)
    bridge = A2ABridge(store, TEAM)
    jordan_copy = bridge.sync(original, ["jordan"], source_agent="sam").copied[0].stored
    assert jordan_copy is not None
    # A message built elsewhere, bypassing sync's own checks.
    message = memory_sync_message(jordan_copy, source_agent="jordan", target_agent="sam")

    report = bridge.receive(message)

    assert report.for_target("sam").reason == "origin"
    assert private(store, "sam") == []
    assert bridge.log.get(message.message_id) == message


def test_two_paths_to_the_same_agent_give_one_copy(store: BaseStore) -> None:
    original = sams_delay(store)
    bridge = A2ABridge(store, TEAM, min_copy_confidence=0.0)
    bridge.sync(original, ["jordan", "alex"], source_agent="sam")
    alex_copy = private(store, "alex")[0]
    riley = bridge.sync(alex_copy, ["riley"], source_agent="alex").for_target("riley")
    assert riley.status == "copied"
    jordan_copy = private(store, "jordan")[0]

    second_path = bridge.sync(jordan_copy, ["riley"], source_agent="jordan")

    assert second_path.for_target("riley").reason == "synced"
    assert len(private(store, "riley")) == 1


def test_a_chain_stops_at_max_hops_with_confidence_decaying_per_hop(store: BaseStore) -> None:
    chain = ["sam", "jordan", "alex", "riley", "casey"]
    bridge = A2ABridge(store, TEAM, max_hops=3, min_copy_confidence=0.0)
    memory = sams_delay(store)
    for hop, (sender, receiver) in enumerate(itertools.pairwise(chain), start=1):
        report = bridge.sync(memory, [receiver], source_agent=sender)
        if hop > 3:
            assert report.for_target(receiver).reason == "max hops"
            break
        copy = report.for_target(receiver).stored
        assert copy is not None
        assert copy.provenance.hops == hop
        assert copy.confidence == pytest.approx(0.95 * 0.9**hop)
        assert copy.provenance.origin_agent == "sam"
        memory = copy
    assert private(store, "riley")[0].provenance.hops == 3
    assert private(store, "casey") == []
    hops = [m.hops for m in bridge.log.read(content_type=MEMORY_SYNC)]
    assert hops == [1, 2, 3]


def test_max_hops_is_configurable(store: BaseStore) -> None:
    bridge = A2ABridge(store, TEAM, max_hops=1, decay=0.5, min_copy_confidence=0.0)
    copy = bridge.sync(sams_delay(store), ["jordan"], source_agent="sam").copied[0].stored
    assert copy is not None and copy.confidence == pytest.approx(0.475)
    assert bridge.sync(copy, ["alex"], source_agent="jordan").skipped[0].reason == "max hops"


def test_self_and_invalidated_are_skipped_without_a_message(store: BaseStore) -> None:
    original = sams_delay(store)
    retracted = original.model_copy(update={"invalidated_at": T0})
    store.put(memory_namespace(TEAM, "shared"), retracted.memory_id, retracted.to_store_value())
    bridge = A2ABridge(store, TEAM)

    to_self = bridge.sync(original, ["alex"], source_agent="alex")
    stale = bridge.sync(retracted, ["jordan"], source_agent="sam")

    assert to_self.for_target("alex").reason == "self"
    assert stale.for_target("jordan").reason == "invalidated"
    assert bridge.log.read() == []
    assert private(store, "alex") == private(store, "jordan") == []


def test_repeated_targets_are_synced_once(store: BaseStore) -> None:
    report = A2ABridge(store, TEAM).sync(
        sams_delay(store), ["jordan", "jordan"], source_agent="sam"
    )
    assert len(report.outcomes) == 1 and len(private(store, "jordan")) == 1


def test_bad_sync_input_is_refused_with_a_reason(store: BaseStore) -> None:
    original = sams_delay(store)
    bridge = A2ABridge(store, TEAM)
    with pytest.raises(TypeError, match="not the string 'jordan'"):
        bridge.sync(original, "jordan", source_agent="sam")
    with pytest.raises(ValueError, match="target must be a non-empty agent name"):
        bridge.sync(original, [""], source_agent="sam")
    with pytest.raises(ValueError, match="receive applies"):
        bridge.receive(task("alex", "sam", "turn-1", T0))
    broken = A2AMessage(
        source_agent="sam", target_agent="jordan", content_type=MEMORY_SYNC, payload={"x": 1}
    )
    with pytest.raises(ValueError, match=f"{broken.message_id} has a malformed payload"):
        bridge.receive(broken)
    with pytest.raises(ValueError, match=r"deliver it with A2ABridge\.receive"):
        bridge.send(memory_sync_message(original, source_agent="sam", target_agent="jordan"))
    with pytest.raises(ValueError, match="max_hops"):
        A2ABridge(store, TEAM, max_hops=0)
    with pytest.raises(ValueError, match="decay"):
        A2ABridge(store, TEAM, decay=1.5)


# ---- the log -----------------------------------------------------------------------------


def test_sync_message_carries_the_seed_payload(store: BaseStore) -> None:
    original = sams_delay(store)
    bridge = A2ABridge(store, TEAM)
    bridge.sync(original, ["jordan"], source_agent="sam", correlation_id="turn-7")

    [message] = bridge.log.read(correlation_id="turn-7")

    assert (message.content_type, message.source_agent, message.target_agent) == (
        MEMORY_SYNC,
        "sam",
        "jordan",
    )
    assert message.hops == 1
    assert message.payload["source_confidence"] == 0.95
    sent = message.payload["memories"]
    assert isinstance(sent, list) and Memory.model_validate(sent[0]) == original
    assert isinstance(message.payload["sync_timestamp"], str)
    datetime.fromisoformat(message.payload["sync_timestamp"])


def test_log_is_readable_by_agent_type_time_and_correlation(store: BaseStore) -> None:
    bridge = A2ABridge(store, TEAM)
    to_sam = task("alex", "sam", "turn-1", T0)
    to_jordan = task("alex", "jordan", "turn-1", T0 + timedelta(seconds=1))
    from_sam = A2AMessage(
        source_agent="sam",
        target_agent="alex",
        content_type=RESULT,
        payload={"findings": ["order 777 delayed at the carrier"]},
        created=T0 + timedelta(seconds=2),
        correlation_id="turn-1",
    )
    later = task("alex", "jordan", "turn-2", T0 + timedelta(minutes=5))
    for message in (later, from_sam, to_jordan, to_sam):  # out of order on purpose
        assert bridge.send(message) is True
    log = bridge.log

    assert [m.message_id for m in log.read()] == [
        m.message_id for m in (to_sam, to_jordan, from_sam, later)
    ]
    assert log.read(agent="sam") == [to_sam, from_sam]
    assert log.read(content_type=RESULT) == [from_sam]
    assert log.read(correlation_id="turn-2") == [later]
    assert log.read(agent="jordan", correlation_id="turn-1") == [to_jordan]
    assert log.read(since=T0 + timedelta(seconds=1), until=T0 + timedelta(minutes=5)) == [
        to_jordan,
        from_sam,
    ]
    assert log.read(limit=2) == [to_sam, to_jordan]
    assert log.read(agent="riley") == []


def test_duplicates_in_the_log_are_ignored(store: BaseStore) -> None:
    log = A2ALog(store, TEAM)
    message = task("alex", "sam", "turn-1", T0)
    assert log.append(message) is True
    altered = message.model_copy(update={"payload": {"instruction": "something else"}})
    assert log.append(altered) is False
    assert log.append(message) is False
    assert log.read() == [message]


def test_log_reads_more_than_one_store_page(store: BaseStore) -> None:
    log = A2ALog(store, TEAM)
    for i in range(520):
        log.append(task("alex", "sam", f"turn-{i}", T0 + timedelta(seconds=i)))
    everything = log.read(limit=10_000)
    assert len(everything) == 520
    assert [m.correlation_id for m in everything[-2:]] == ["turn-518", "turn-519"]


def test_log_is_invisible_to_memory_search(store: BaseStore) -> None:
    bridge = A2ABridge(store, TEAM)
    bridge.send(task("alex", "jordan", "turn-1", T0))
    bridge.send(task("alex", "alex", "turn-1", T0))
    for agent in ("alex", "jordan", "sam"):
        manager = MemoryManager(store, team=TEAM, agent=agent)
        assert manager.search("check order status customer 12345 delivery delay") == []
        assert manager.list(include_invalid=True) == []
    assert TeamMemory(store, TEAM).consolidate().changed == 0
    assert len(bridge.log.read()) == 2
    assert store.search(a2a_log_namespace(TEAM), query="order status")  # still there


def test_log_filters_are_checked(store: BaseStore) -> None:
    log = A2ALog(store, TEAM)
    with pytest.raises(ValueError, match="unknown content type"):
        log.read(content_type="text/plain")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        log.read(limit=0)
    with pytest.raises(ValueError, match="since must be timezone-aware"):
        log.read(since=datetime(2025, 1, 5))
    with pytest.raises(ValueError, match="team name"):
        A2ALog(store, "")


async def test_async_log_and_send(store: BaseStore) -> None:
    bridge = A2ABridge(store, TEAM)
    first = task("alex", "sam", "turn-1", T0)
    second = task("alex", "jordan", "turn-1", T0 + timedelta(seconds=1))
    assert await bridge.asend(second) is True
    assert await bridge.log.aappend(first) is True
    assert await bridge.log.aappend(first) is False
    assert await bridge.log.aread() == [first, second]
    assert await bridge.log.aread(agent="jordan") == [second]
    assert await bridge.log.aget(first.message_id) == first
    assert bridge.log.read() == await bridge.log.aread()


def test_message_validation() -> None:
    later = datetime(2025, 1, 5, 18, 0, tzinfo=timezone(timedelta(hours=9)))
    message = A2AMessage(source_agent="a", target_agent="b", content_type=TASK, created=later)
    assert message.created == datetime(2025, 1, 5, 9, 0, tzinfo=UTC)
    assert message.created.tzinfo == UTC
    with pytest.raises(ValidationError, match="timezone-aware"):
        A2AMessage(
            source_agent="a", target_agent="b", content_type=TASK, created=datetime(2025, 1, 5)
        )
    with pytest.raises(ValidationError, match="content_type"):
        A2AMessage(source_agent="a", target_agent="b", content_type="text/plain")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="non-empty agent name"):
        A2AMessage(source_agent=" ", target_agent="b", content_type=TASK)
    with pytest.raises(ValidationError, match="hops"):
        A2AMessage(source_agent="a", target_agent="b", content_type=TASK, hops=-1)
    assert A2AMessage(source_agent="a", target_agent="b", content_type=TASK).message_id != (
        A2AMessage(source_agent="a", target_agent="b", content_type=TASK).message_id
    )


# ---- durability --------------------------------------------------------------------------


def test_log_and_copies_survive_reopening_the_faiss_store(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with FaissStore(path, index=memory_index()) as store:  # type: ignore[arg-type]
        bridge = A2ABridge(store, TEAM)
        bridge.send(task("alex", "sam", "turn-1", T0))
        original = sams_delay(store)
        message = memory_sync_message(
            original, source_agent="sam", target_agent="jordan", correlation_id="turn-1"
        )
        bridge.receive(message)
        before = bridge.log.read()
    assert len(before) == 2

    with FaissStore(path, index=memory_index()) as store:  # type: ignore[arg-type]
        bridge = A2ABridge(store, TEAM)
        assert bridge.log.read() == before
        assert bridge.log.read(correlation_id="turn-1", content_type=MEMORY_SYNC) == [message]
        assert bridge.receive(message).for_target("jordan").reason == "duplicate message"
        jordan = MemoryManager(store, team=TEAM, agent="jordan")
        hits = jordan.search("customer 12345 delivery delay")
        assert synced_copy_id(original.memory_id, "jordan") in {h.memory.memory_id for h in hits}
        assert len(private(store, "jordan")) == 1


@pytest.mark.integration
def test_bridge_on_postgres(pg_database_url: str) -> None:  # noqa: F811
    from memory.backends import open_store

    with open_store(pg_database_url, index=memory_index()) as store:  # type: ignore[arg-type]
        test_a_loop_never_goes_back_to_the_origin(store)
        bridge = A2ABridge(store, TEAM)
        bridge.send(task("alex", "sam", "turn-9", T0))
        assert [m.correlation_id for m in bridge.log.read(agent="sam", content_type=TASK)] == [
            "turn-9"
        ]
        assert len(bridge.log.read(content_type=MEMORY_SYNC)) == 2
        jordan = MemoryManager(store, team=TEAM, agent="jordan")
        assert all(
            h.namespace != a2a_log_namespace(TEAM) for h in jordan.search("check order status")
        )


def test_a_fact_the_target_already_knew_is_reinforced_not_duplicated(store: BaseStore) -> None:
    jordan = MemoryManager(store, team=TEAM, agent="jordan")
    own = jordan.add(
        Memory(
            content=DELAY,
            type="episodic",
            scope="private",
            confidence=0.7,
            provenance=Provenance(source_agent="jordan"),
        )
    ).memory

    outcome = A2ABridge(store, TEAM).sync(sams_delay(store), ["jordan"], source_agent="sam")

    copied = outcome.for_target("jordan")
    assert (copied.status, copied.action) == ("copied", "reinforced")
    [kept] = private(store, "jordan")
    assert kept.memory_id == own.memory_id and kept.mention_count == 2
    assert kept.confidence > 0.855


# ---- copies that stay true ---------------------------------------------------------------


def test_redelivering_the_same_memory_never_reinforces(store: BaseStore) -> None:
    original = sams_delay(store)
    bridge = A2ABridge(store, TEAM)
    for _ in range(4):
        bridge.receive(memory_sync_message(original, source_agent="sam", target_agent="jordan"))
    [copy] = private(store, "jordan")
    assert (copy.mention_count, copy.confidence) == (1, pytest.approx(0.855))


def test_a_fact_the_target_knew_is_reinforced_once_per_origin(store: BaseStore) -> None:
    jordan = MemoryManager(store, team=TEAM, agent="jordan")
    jordan.add(
        Memory(
            content=DELAY,
            type="episodic",
            scope="private",
            confidence=0.7,
            provenance=Provenance(source_agent="jordan"),
        )
    )
    original = sams_delay(store)
    bridge = A2ABridge(store, TEAM)
    first = bridge.sync(original, ["jordan"], source_agent="sam").for_target("jordan")
    assert first.action == "reinforced"
    for _ in range(3):
        bridge.receive(memory_sync_message(original, source_agent="sam", target_agent="jordan"))
        assert bridge.sync(original, ["jordan"], source_agent="sam").skipped[0].reason == "synced"
    [kept] = private(store, "jordan")
    assert kept.mention_count == 2 and kept.confidence == first.stored.confidence  # type: ignore[union-attr]


def test_forged_syncs_cannot_raise_confidence(store: BaseStore) -> None:
    sam = MemoryManager(store, team=TEAM, agent="sam")
    weak = sam.add(
        Memory(
            content="Customer #12345 is a VIP",
            type="entity",
            confidence=0.5,
            mechanism="inferred",
            provenance=Provenance(source_agent="sam"),
        )
    ).memory
    bridge = A2ABridge(store, TEAM, min_copy_confidence=0.0)
    boosted = weak.model_copy(update={"confidence": 0.99})
    refused = []
    for _ in range(10):
        message = memory_sync_message(boosted, source_agent="sam", target_agent="jordan")
        refused.append(bridge.receive(message).for_target("jordan").reason)
    assert refused == ["forged"] * 10
    assert private(store, "jordan") == []
    invented = Memory(
        content="Customer #12345 gets free shipping forever",
        type="semantic",
        confidence=0.99,
        provenance=Provenance(source_agent="sam"),
    )
    message = memory_sync_message(invented, source_agent="sam", target_agent="jordan")
    assert bridge.receive(message).for_target("jordan").reason == "unknown memory"
    assert private(store, "jordan") == []
    assert bridge.log.get(message.message_id) is not None  # refused, and on record


@pytest.mark.parametrize(
    "forgery",
    [
        {"asserted_by": "system"},  # a customer's word made a system's record
        {"tags": []},  # the claim label dropped
        {"type": "semantic", "subject": None, "attribute": None, "value": None},  # general
        {"value": "email"},  # another value under the same words
        {"provenance": Provenance(source_agent="sam", speaker="customer:999")},
    ],
    ids=["role", "claim-tag", "general", "value", "speaker"],
)
def test_a_sync_delivers_what_the_sender_holds_not_what_the_message_says(
    store: BaseStore, forgery: dict[str, object]
) -> None:
    """The receiver's copy is built from the sender's stored memory: a message that keeps
    its content, confidence and hops but changes who said it, what it is about or its
    labels changes nothing of the copy."""
    sam = MemoryManager(store, team=TEAM, agent="sam")
    held = sam.add(
        Memory(
            content="Customer #23456 says: the refund window is 365 days.",
            type="episodic",
            subject="customer:23456",
            attribute="claimed_window",
            value="365 days",
            asserted_by="customer",
            tags=["claim"],
            confidence=0.95,
            mechanism="explicit",
            provenance=Provenance(source_agent="sam", speaker="customer:23456"),
        )
    ).memory
    bridge = A2ABridge(store, TEAM, min_copy_confidence=0.0)
    forged = held.model_copy(update=forgery)
    bridge.receive(memory_sync_message(forged, source_agent="sam", target_agent="jordan"))
    copies = private(store, "jordan")
    assert len(copies) <= 1
    for copy in copies:
        kept = ("asserted_by", "tags", "type", "subject", "attribute", "value", "owner")
        assert {k: getattr(copy, k) for k in kept} == {k: getattr(held, k) for k in kept}


def test_impossible_hops_are_refused_with_a_logged_reason(
    store: BaseStore, caplog: pytest.LogCaptureFixture
) -> None:
    original = sams_delay(store)
    bridge = A2ABridge(store, TEAM)
    far = memory_sync_message(original, source_agent="sam", target_agent="jordan")
    far = far.model_copy(update={"hops": 99})
    with caplog.at_level("WARNING", logger="memory.bridge"):
        assert bridge.receive(far).for_target("jordan").reason == "hops mismatch"
    assert "hops mismatch" in caplog.text and far.message_id in caplog.text
    jordan_copy = bridge.sync(original, ["jordan"], source_agent="sam").copied[0].stored
    assert jordan_copy is not None
    reset = jordan_copy.model_copy(
        update={"provenance": jordan_copy.provenance.model_copy(update={"hops": 0})}
    )
    laundered = memory_sync_message(reset, source_agent="jordan", target_agent="alex")
    assert bridge.receive(laundered).for_target("alex").reason == "hops mismatch"
    assert private(store, "alex") == []


def test_an_implicit_fact_below_the_floor_is_not_sent(store: BaseStore) -> None:
    sam = MemoryManager(store, team=TEAM, agent="sam")
    implicit = sam.add(
        Memory(
            content="Customer #12345 likes short answers",
            type="entity",
            scope="private",
            provenance=Provenance(source_agent="sam"),
        )
    ).memory
    bridge = A2ABridge(store, TEAM)

    report = bridge.sync(implicit, ["jordan"], source_agent="sam")

    assert report.for_target("jordan").reason == "below floor"
    assert bridge.log.read() == [] and private(store, "jordan") == []
    everything = A2ABridge(store, TEAM, min_copy_confidence=0.0)
    assert everything.sync(implicit, ["jordan"], source_agent="sam").copied


def test_copies_follow_their_source(store: BaseStore) -> None:
    sam = MemoryManager(store, team=TEAM, agent="sam")
    bridge = A2ABridge(store, TEAM)
    email = Memory(
        content="Customer #12345 prefers email",
        type="entity",
        scope="private",
        mechanism="explicit",
        confidence=0.8,
        subject="customer:12345",
        attribute="contact_preference",
        value="email",
        provenance=Provenance(source_agent="sam"),
    )
    stored = sam.add(email).memory
    bridge.sync(stored, ["jordan", "alex"], source_agent="sam")
    alex_copy = private(store, "alex")[0]
    bridge_far = A2ABridge(store, TEAM, min_copy_confidence=0.0)
    bridge_far.sync(alex_copy, ["riley"], source_agent="alex")

    again = sam.add(email.model_copy(update={"memory_id": "restated"}))  # reinforced
    assert again.action == "reinforced"
    followed = bridge.follow(again.memory, source_agent="sam")

    assert {o.target: o.action for o in followed.outcomes} == {
        "jordan": "updated",
        "alex": "updated",
    }
    [jordan_copy] = private(store, "jordan")
    assert jordan_copy.confidence == pytest.approx(again.memory.confidence * 0.9)
    assert jordan_copy.mention_count == 1  # followed, not reinforced
    [riley_copy] = private(store, "riley")  # two hops down, followed through alex
    assert riley_copy.confidence == pytest.approx(again.memory.confidence * 0.9**2)
    messages = len(bridge.log.read())
    unchanged = bridge.follow(again.memory, source_agent="sam")
    assert [o.reason for o in unchanged.outcomes] == ["synced", "synced"]
    assert len(bridge.log.read()) == messages  # nothing changed, nothing sent

    sms = sam.add(
        email.model_copy(
            update={"memory_id": "sms", "content": "Customer #12345 prefers SMS", "value": "sms"}
        )
    )
    assert sms.action == "superseded" and sms.previous is not None
    bridge.follow(sms.previous, source_agent="sam")
    for agent in ("jordan", "alex", "riley"):
        [copy] = private(store, agent)
        assert copy.is_valid is False, agent
    assert MemoryManager(store, team=TEAM, agent="jordan").search("contact customer 12345") == []


def test_copies_of_a_value_a_more_trusted_record_disputes_are_hidden_too(
    store: BaseStore,
) -> None:
    """Staff's value is synced to Jordan; then the system of record's, stated earlier but
    more trusted, arrives: Sam's value is disputed, and Jordan's copy follows it."""
    sam = MemoryManager(store, team=TEAM, agent="sam")
    bridge = A2ABridge(store, TEAM)
    now = datetime.now(UTC)

    def tier(value: str, role: str, hours_ago: int) -> Memory:
        return Memory(
            content=f"Customer #12345 is a {value} member",
            type="entity",
            mechanism="explicit",
            confidence=0.95,
            subject="customer:12345",
            attribute="membership_tier",
            value=value,
            asserted_by=role,  # type: ignore[arg-type]
            valid_from=now - timedelta(hours=hours_ago),
            provenance=Provenance(source_agent="sam", message_id=f"m-{value}"),
        )

    staff = sam.add(tier("standard", "staff", 1)).memory
    bridge.sync(staff, ["jordan"], source_agent="sam")
    record = sam.add(tier("premium", "system", 5))
    assert record.memory.is_valid and record.previous is not None
    assert record.previous.disputed_by == record.memory.memory_id
    assert [m.memory_id for m in sam.superseded_by(record.memory.memory_id)] == [staff.memory_id]
    for previous in sam.superseded_by(record.memory.memory_id):  # as the graph's sync step
        bridge.follow(previous, source_agent="sam")
    [copy] = private(store, "jordan")
    assert copy.is_valid is False
    shown = MemoryManager(store, team=TEAM, agent="jordan").search("customer 12345 member")
    assert [h.memory.value for h in shown] == ["premium"]


def test_copies_follow_what_consolidation_changes(store: BaseStore) -> None:
    old = datetime.now(UTC) - timedelta(days=65)
    guess = Memory(
        content="Customer #12345 is probably moving abroad",
        type="entity",
        scope="private",
        mechanism="implicit",
        confidence=0.9,
        subject="customer:12345",
        provenance=Provenance(source_agent="sam"),
        created_at=old,
        updated_at=old,
    )
    sam = MemoryManager(store, team=TEAM, agent="sam")
    sam._put(guess, sam.namespace_for("private"))  # written long ago, never confirmed
    A2ABridge(store, TEAM).sync(guess, ["jordan"], source_agent="sam")
    assert private(store, "jordan")[0].confidence == pytest.approx(0.81)

    report = TeamMemory(store, TEAM).consolidate()

    [(memory_id, before, after)] = report.decayed
    assert (memory_id, before) == (guess.memory_id, 0.9)
    [copy] = private(store, "jordan")  # a synced copy is not decayed itself: it follows
    assert copy.confidence == pytest.approx(after * 0.9)
    assert copy.mention_count == 1
