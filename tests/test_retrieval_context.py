"""Search reads a memory with its conversational context: the neighbouring turns."""

from __future__ import annotations

import pytest
from langgraph.store.base import BaseStore

import memory.manager as manager_module
from memory.extraction import ExtractionContext
from memory.manager import MemoryManager, ScoredMemory
from memory.models import MAX_LIST_ITEMS, Memory, Provenance
from memory.retrieval_context import NEIGHBOUR_SHARES, spread_to_neighbours

TEAM = "friends"


def said(content: str, *, thread: str | None, turn: int | None, speaker: str | None) -> Memory:
    return Memory(
        content=content,
        type="episodic",
        provenance=Provenance(source_agent="ana", thread_id=thread, turn=turn, speaker=speaker),
    )


def hit(memory: Memory, score: float) -> ScoredMemory:
    return ScoredMemory(memory, score, score, ("team", TEAM, "shared"))


def test_a_neighbouring_turn_lends_its_score_within_its_thread_only() -> None:
    one, two, three = NEIGHBOUR_SHARES
    question = hit(said("Where did you go?", thread="t1", turn=4, speaker="Ben"), 1.0)
    reply = hit(said("To the lake.", thread="t1", turn=5, speaker="Ana"), 0.1)
    later = hit(said("Nice weather.", thread="t1", turn=7, speaker="Ana"), 0.1)
    far = hit(said("Bye.", thread="t1", turn=8, speaker="Ana"), 0.1)
    other_thread = hit(said("Hello.", thread="t2", turn=5, speaker="Ana"), 0.1)
    no_turn = hit(said("Hi.", thread="t1", turn=None, speaker="Ana"), 0.1)
    spread = spread_to_neighbours([question, reply, later, far, other_thread, no_turn])
    scores = [h.score for h in spread]
    # scores before spreading are lent, so context does not feed on itself
    assert scores[0] == pytest.approx(1.0 + one * 0.1 + three * 0.1)
    assert scores[1] == pytest.approx(0.1 + one * 1.0 + two * 0.1 + three * 0.1)
    assert scores[2] == pytest.approx(0.1 + two * 0.1 + three * 1.0 + one * 0.1)
    assert scores[3] == pytest.approx(0.1 + one * 0.1 + three * 0.1)  # turn 4: four away
    assert scores[4:] == [0.1, 0.1]


def test_context_fades_with_distance() -> None:
    assert list(NEIGHBOUR_SHARES) == sorted(NEIGHBOUR_SHARES, reverse=True)
    match = hit(said("We moved to Porto.", thread="t", turn=0, speaker="Ana"), 1.0)
    after = [hit(said(f"Line {n}.", thread="t", turn=n, speaker="Ben"), 0.0) for n in (1, 2, 3)]
    lifted = [h.score for h in spread_to_neighbours([match, *after], shares=(0.3, 0.2, 0.1))]
    assert lifted[1:] == pytest.approx([0.3, 0.2, 0.1])
    assert spread_to_neighbours([match, *after], shares=())[1].score == 0.0


def test_the_best_memory_of_a_turn_is_its_context() -> None:
    first = hit(said("I ran a marathon.", thread="t", turn=0, speaker="Ben"), 0.9)
    second = hit(said("Ben ran a marathon.", thread="t", turn=0, speaker="Ben"), 0.4)
    after = hit(said("Well done!", thread="t", turn=1, speaker="Ana"), 0.0)
    assert spread_to_neighbours([first, second, after])[2].score == pytest.approx(
        NEIGHBOUR_SHARES[0] * 0.9
    )


def test_neighbours_lend_their_evidence_not_their_score() -> None:
    """The search lends each turn's rank-based evidence: a turn that matched only by the
    cosine every memory has lends next to nothing."""
    matched = hit(said("We moved to Porto.", thread="t", turn=0, speaker="Ana"), 0.6)
    weak = hit(said("Anyway.", thread="t", turn=2, speaker="Ana"), 0.3)
    reply = hit(said("Lovely city!", thread="t", turn=1, speaker="Ben"), 0.3)
    spread = spread_to_neighbours([matched, weak, reply], evidence=[0.5, 0.01, 0.02])
    assert spread[2].score == pytest.approx(0.3 + NEIGHBOUR_SHARES[0] * (0.5 + 0.01))
    with pytest.raises(ValueError, match="2 evidence values for 3 hits"):
        spread_to_neighbours([matched, weak, reply], evidence=[0.5, 0.01])


def test_search_ranks_the_reply_to_the_matching_turn(
    store: BaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the reply shares no word with the query, its neighbour does."""
    ana = MemoryManager(store, team=TEAM, agent="ana")
    lines = [
        ("Ben", "Good morning, how was the weekend?"),
        ("Ana", "Quiet, I mostly read at home."),
        ("Ben", "Which city did you move to last spring?"),
        ("Ana", "Porto, right by the river."),
        ("Ben", "Lovely, the bakeries there are great."),
    ]
    for turn, (speaker, text) in enumerate(lines):
        ana.add(said(text, thread="chat", turn=turn, speaker=speaker))
    distractors = [  # each shares a word with the query, none is next to the matching turn
        "The city library closes early in spring.",
        "Ben plans to move his desk to the attic.",
        "Last spring the garden flooded twice.",
        "Which bus goes to the city centre?",
    ]
    for n, text in enumerate(distractors):
        ana.add(said(text, thread=f"other-{n}", turn=0, speaker="Ben"))
    query = "Which city did Ana move to last spring?"

    def place_of_reply() -> int:
        hits = ana.search(query, limit=20, min_confidence=0.0)
        return [h.memory.content for h in hits].index("Porto, right by the river.")

    with_context = place_of_reply()
    monkeypatch.setattr(
        manager_module, "spread_to_neighbours", lambda hits, evidence=None: list(hits)
    )
    without_context = place_of_reply()
    assert with_context < without_context


def test_extraction_records_the_turn_and_rejects_a_bad_one() -> None:
    from memory.extraction import extract_memories

    ctx = ExtractionContext(source_agent="ana", thread_id="t", turn=3, speaker_subject="Ana")
    found = extract_memories("I prefer email.", ctx)
    assert found and all(m.provenance.turn == 3 for m in found)
    with pytest.raises(ValueError, match="turn must be a non-negative integer"):
        ExtractionContext(source_agent="ana", turn=-1)


def test_a_memory_linked_from_many_later_ones_stays_readable(store: BaseStore) -> None:
    """Back-links are capped at what a record may hold (the latest kept)."""
    ana = MemoryManager(store, team=TEAM, agent="ana", link_threshold=-1.0, max_links=100)
    hub = ana.add(said("Thanks, see you soon!", thread="t", turn=0, speaker="Ana")).memory
    for n in range(MAX_LIST_ITEMS + 6):
        ana.add(said(f"Message number {n} about topic {n}", thread="t", turn=n + 1, speaker="Ben"))
    found = ana.get(hub.memory_id)
    assert found is not None  # unreadable (skipped) when stored with too many links
    assert len(found.links) == MAX_LIST_ITEMS
