"""The memory manager on the reference store and on the FAISS store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import BaseStore

from memory.manager import MemoryManager, ScoredMemory, query_intent, types_for_query
from memory.models import Memory, Provenance, utcnow
from memory.store import FaissStore
from memory.team import MemoryNotFound, TeamMemory
from tests.fakes import DeterministicEmbeddings

TEAM = "support"


def mem(content: str, type: str = "semantic", agent: str = "sam", **kw: object) -> Memory:
    kw.setdefault("mechanism", "explicit")
    kw.setdefault("confidence", 0.95)
    return Memory(content=content, type=type, provenance=Provenance(source_agent=agent), **kw)  # type: ignore[arg-type]


def preference(value: str, confidence: float = 0.7) -> Memory:
    return mem(
        f"Customer #12345 prefers {value}",
        "entity",
        subject="customer:12345",
        attribute="contact_preference",
        value=value,
        mechanism="implicit",
        confidence=confidence,
    )


def test_restating_a_preference_makes_it_surer(store: BaseStore) -> None:
    sam = MemoryManager(store, team=TEAM, agent="sam")
    first = sam.add(preference("email"))
    assert first.action == "added"
    confidences = [first.memory.confidence]
    for _ in range(2):
        again = sam.add(preference("email"))
        assert again.action == "reinforced"
        assert again.memory.memory_id == first.memory.memory_id
        confidences.append(again.memory.confidence)
    assert confidences[0] < confidences[1] < confidences[2] <= 0.99
    stored = sam.list()
    assert len(stored) == 1 and stored[0].mention_count == 3


def test_new_value_supersedes_and_old_is_hidden(store: BaseStore) -> None:
    sam = MemoryManager(store, team=TEAM, agent="sam")
    old = sam.add(preference("email", 0.95)).memory
    result = sam.add(preference("phone", 0.95))
    assert result.action == "superseded"
    assert result.previous is not None and result.previous.memory_id == old.memory_id
    hits = sam.search("how does customer 12345 want to be contacted?", limit=5)
    contents = [h.memory.content for h in hits]
    assert "Customer #12345 prefers phone" in contents
    assert "Customer #12345 prefers email" not in contents
    everything = sam.search("customer 12345 prefers", include_invalid=True, limit=5)
    retired = [h.memory for h in everything if h.memory.memory_id == old.memory_id]
    assert retired and retired[0].superseded_by == result.memory.memory_id
    assert old.memory_id in result.memory.links


def test_exact_duplicate_ignores_case_and_punctuation(store: BaseStore) -> None:
    sam = MemoryManager(store, team=TEAM, agent="sam")
    sam.add(mem("Premium members get refunds within 48 hours."))
    again = sam.add(mem("premium members get refunds within 48 hours"))
    assert again.action == "reinforced"
    assert len(sam.list()) == 1


def test_near_duplicate_merges(store: BaseStore) -> None:
    sam = MemoryManager(store, team=TEAM, agent="sam", merge_threshold=0.8)
    sam.add(mem("Premium members get refunds within 48 hours"))
    merged = sam.add(mem("Premium members get refunds within 48 hours always"))
    assert merged.action == "merged"
    assert len(sam.list()) == 1 and sam.list()[0].mention_count == 2


def test_private_memory_never_reaches_another_agent(store: BaseStore) -> None:
    sam = MemoryManager(store, team=TEAM, agent="sam")
    jordan = MemoryManager(store, team=TEAM, agent="jordan")
    secret = sam.add(
        mem("Sam's private note: customer 12345 escalation code 7781", scope="private")
    )
    shared = sam.add(mem("Carrier ParcelPro delays are common this week", "episodic"))
    memory_id = secret.memory.memory_id
    assert sam.get(memory_id) is not None
    assert jordan.get(memory_id) is None
    assert memory_id not in {m.memory_id for m in jordan.list(limit=1000)}
    hits = jordan.search("escalation code 7781 customer 12345", limit=10, min_confidence=0.0)
    assert memory_id not in {h.memory.memory_id for h in hits}
    with pytest.raises(MemoryNotFound, match="readable by jordan"):
        TeamMemory(store, TEAM).forget(memory_id, agent="jordan")
    assert sam.get(memory_id) is not None
    assert jordan.get(shared.memory.memory_id) is not None


def test_type_aware_search(store: BaseStore) -> None:
    alex = MemoryManager(store, team=TEAM, agent="alex")
    alex.add(mem("Premium members get refunds within 48 hours", "semantic"))
    alex.add(
        mem("Refund workflow: 1) verify order 2) check eligibility 3) process refund", "workflow")
    )
    # Type-awareness weighs, it does not filter: a question ranks the workflow lower
    # than a request does, but both still find it.
    question = alex.search("what is the refund policy?", limit=5)
    request = alex.search("I want a refund", limit=5)
    assert {"semantic", "workflow"} <= {h.memory.type for h in request}
    assert {"semantic", "workflow"} <= {h.memory.type for h in question}

    def workflow_share(hits: list[ScoredMemory]) -> float:
        scores = {h.memory.type: h.score for h in hits}
        return scores["workflow"] / scores["semantic"]

    assert workflow_share(question) < workflow_share(request)
    assert query_intent("How do I process a refund?") == "how_to"
    assert "workflow" in types_for_query("please refund my order")
    for complaint in ("My order never arrived", "I'd like a refund", "I was charged twice"):
        assert query_intent(complaint) == "request", complaint
    assert query_intent("The customer was charged twice, what do I do?") == "request"


def test_min_confidence_and_score_order(store: BaseStore) -> None:
    alex = MemoryManager(store, team=TEAM, agent="alex")
    alex.add(mem("Orders ship from the Busan warehouse", mechanism="inferred", confidence=0.6))
    alex.add(mem("Orders ship within two days", confidence=0.95))
    default = alex.search("where do orders ship from", limit=5)
    assert all(h.memory.confidence >= 0.7 for h in default)
    low = alex.search("where do orders ship from", limit=5, min_confidence=0.5)
    assert len(low) == 2
    assert [h.score for h in low] == sorted((h.score for h in low), reverse=True)


def test_links_and_follow_links(store: BaseStore) -> None:
    alex = MemoryManager(store, team=TEAM, agent="alex", link_threshold=0.3)
    first = alex.add(mem("Customer 12345 order delayed by carrier ParcelPro", "episodic")).memory
    second = alex.add(mem("Customer 12345 order delayed again by ParcelPro", "episodic")).memory
    assert first.memory_id in second.links
    assert second.memory_id in alex.get(first.memory_id).links  # type: ignore[union-attr]
    assert second.keywords and second.tags and second.context
    hits = alex.search("ParcelPro", limit=1, follow_links=True)
    assert len(hits) == 2 and hits[1].via_link


def test_forget_and_empty_query(store: BaseStore) -> None:
    alex = MemoryManager(store, team=TEAM, agent="alex")
    added = alex.add(mem("Store opens at 9am")).memory
    report = TeamMemory(store, TEAM).forget(added.memory_id, agent="alex")
    assert report.removed_ids == [added.memory_id]
    assert alex.get(added.memory_id) is None
    with pytest.raises(ValueError, match="empty"):
        alex.search("   ")


def test_consolidate_merges_decays_and_resolves(store: BaseStore) -> None:
    sam = MemoryManager(store, team=TEAM, agent="sam", merge_threshold=0.8)
    jordan = MemoryManager(store, team=TEAM, agent="jordan")
    old = utcnow() - timedelta(days=65)
    # written around add() so consolidation has work to do
    stale = mem(
        "Customer 55 likes gift wrapping",
        mechanism="implicit",
        confidence=0.7,
        created_at=old,
        updated_at=old,
    )
    sam._put(stale, sam.namespace_for("shared"))
    dup_a = mem("Warehouse closes at 6pm on Fridays")
    dup_b = mem("Warehouse closes at 6pm on Fridays.", created_at=utcnow() + timedelta(seconds=1))
    sam._put(dup_a, sam.namespace_for("shared"))
    sam._put(dup_b, sam.namespace_for("shared"))
    early = preference("email")
    late = preference("sms").model_copy(update={"valid_from": utcnow() + timedelta(seconds=5)})
    sam._put(early.model_copy(update={"scope": "private"}), sam.namespace_for("private"))
    jordan._put(late.model_copy(update={"scope": "private"}), jordan.namespace_for("private"))

    team = TeamMemory(store, TEAM)
    report = team.consolidate(merge_threshold=0.8)
    assert (dup_b.memory_id, dup_a.memory_id) in report.merged
    decayed = {m: (before, after) for m, before, after in report.decayed}
    assert decayed[stale.memory_id] == (0.7, pytest.approx(0.7 * 0.81, abs=1e-3))
    assert (early.memory_id, late.memory_id) in report.resolved
    assert sam.get(early.memory_id).is_valid is False  # type: ignore[union-attr]
    assert report.changed == len(report.merged) + len(report.decayed) + len(report.resolved)
    assert team.consolidate(merge_threshold=0.8).changed == 0  # idempotent


# ---- embeddings on the hot path ----------------------------------------------------------


def _embedder(store: BaseStore) -> DeterministicEmbeddings:
    embeddings = getattr(store, "embeddings", None)  # both stores keep the embedder there
    assert isinstance(embeddings, DeterministicEmbeddings)
    return embeddings


def test_a_search_embeds_its_query_once_whatever_the_namespaces(store: BaseStore) -> None:
    alex = MemoryManager(store, team=TEAM, agent="alex")
    alex.add(mem("Refunds for damaged parcels are approved within 24 hours", scope="shared"))
    alex.add(mem("Alex noted that order 881 was refunded", scope="private", agent="alex"))
    embedder = _embedder(store)
    embedder.embedded_texts.clear()
    hits = alex.search("refund for a damaged parcel")
    assert hits, "the search should find the refund memories"
    assert len(alex.namespaces) == 2
    # The store sees the question's topic words (question words stripped) once: one pass
    # ranks memories and plain items over both namespaces.
    assert embedder.embedded_texts == ["refund damaged parcel"]


def test_a_search_ranks_records_and_plain_items_in_one_store_pass(
    store: BaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    alex = MemoryManager(store, team=TEAM, agent="alex")
    record = alex.add(mem("Refunds for damaged parcels are approved within 24 hours")).memory
    expected = {record.memory_id}
    if isinstance(store, FaissStore):  # InMemoryStore's $gte raises on an item without the key
        plain = {"content": "A damaged parcel refund needs a photo"}
        store.put(("team", TEAM, "shared"), "plain-1", plain)
        expected.add("plain-1")
    calls: list[str] = []
    for name in ("batch", "hybrid_fused"):
        original = getattr(type(store), name, None)
        if original is not None:  # patched on the class: InMemoryStore has slots

            def counted(
                self: BaseStore, *a: object, _o: Any = original, _n: str = name, **k: object
            ) -> Any:
                calls.append(_n)
                return _o(self, *a, **k)

            monkeypatch.setattr(type(store), name, counted)
    hits = alex.search("refund for a damaged parcel")
    assert {h.memory.memory_id for h in hits} == expected
    # One store call: the FAISS store ranks and fuses both in hybrid_fused, other stores in
    # one batch of searches (the plain items no longer take a second hybrid search).
    assert len(calls) == 1, calls


def test_an_add_embeds_its_text_once_per_step_not_per_namespace(store: BaseStore) -> None:
    sam = MemoryManager(store, team=TEAM, agent="sam")
    sam.add(mem("Customer #5 prefers email"))
    embedder = _embedder(store)
    embedder.embedded_texts.clear()
    text = "Order 4411 shipped with DHL on Monday"
    assert sam.add(mem(text)).action == "added"
    # The near-duplicate check, the links (both namespaces in one batch) and the stored
    # vector each see the text once. MiniLMEmbeddings caches it, so its model runs once
    # per add (the integration test below).
    assert embedder.embedded_texts == [text] * 3


@pytest.mark.integration
def test_with_the_embedded_model_a_search_and_an_add_each_run_it_once(tmp_path: Path) -> None:
    from memory.embeddings import MiniLMEmbeddings, memory_index

    minilm = MiniLMEmbeddings()
    with FaissStore(tmp_path / "store", index=memory_index(minilm)) as faiss_store:
        sam = MemoryManager(faiss_store, team=TEAM, agent="sam")
        sam.add(mem("Customer #5 prefers email"))
        runs = minilm.model_runs
        sam.add(mem("Order 4411 shipped with DHL on Monday"))
        assert minilm.model_runs == runs + 1
        sam.search("which carrier shipped order 4411?")
        assert minilm.model_runs == runs + 2
