"""The memory manager: what one agent uses to remember, recall and forget.

A manager belongs to one agent of one team and works over any LangGraph `BaseStore`.
It reads the team's shared namespace and its own private one, never another agent's.

Writing (`add`), with every "may X change Y" asked of memory/trust.py:
- admission first: secrets and instructions to the agents are refused; what a customer
  says outside their own facts becomes a labeled claim (trust.admit);
- an exact duplicate (same content, case and punctuation aside, same owner) reinforces
  the stored memory when it is a new statement from a source trusted as much: mention
  count up, confidence up (bounded by the trust level's ceiling). The seed's lesson:
  saying a preference three times makes it surer than saying it once; delivering one
  message three times does not;
- a new value for the same subject and attribute, a contradiction of a near-duplicate
  (numbers, dates, channels, negation: memory/contradictions.py) or a retraction ("I
  don't prefer SMS anymore") supersedes the old memory when trust allows (the old one is
  kept, invalidated, linked to its successor); otherwise the newcomer is kept disputed;
- a near-duplicate (cosine >= `merge_threshold`, same type and owner) that contradicts
  nothing merges into the stored one;
- otherwise the memory is stored, linked (A-MEM) to its closest related memories above
  `link_threshold`, and given keywords, tags and a context line (memory/notes.py).

Recalling (`search`): hybrid retrieval (dense + BM25 weighted 1 : 1.5, RRF; see
retrieval.py) over the two readable namespaces, then

    relevance = 0.5 * fused_rank_score + 0.5 * max(cosine, 0)
    weight    = (0.5 + 0.5 * confidence) * recency * window * type_weight
    score     = relevance * weight + context
    recency   = 0.85 + 0.15 * 0.5 ** (age_days / 30)
    window    = 1.5 inside the period the query names, 1/1.5 outside, else 1
    context   = sum over d = 1..3 of share_d * (best fused_rank_score * weight of the
                memories stated d turns before and d turns after, same thread)
    share     = 0.3, 0.2, 0.1   (memory/retrieval_context.py)

so relevance dominates, trust scales it, and age only breaks near-ties; a memory said
right after a well-matching turn of the same conversation (the answer to a question) is
lifted by it. Age counts from
the memory's event time when it has one (when it happened), else from its last update.
A query naming a period ("last week", "in March", "yesterday") prefers events dated in
it: they are drawn by a store filter on the event time (the derived ``event_stamp``) and
ranked among themselves, so an event of that period is a candidate however many similar
memories lie outside it. Episodes (type episodic) are events: never superseded or merged
by a later one, so two occurrences stay two. Memories below `min_confidence` (default
trust.SHOWN_CONFIDENCE, 0.7), invalidated and disputed ones are excluded unless asked.
With a `subject` (the customer or user the conversation is with), only that subject's
own memories and general knowledge are searched, never another customer's (a store
filter on the derived `owner` key). Type-awareness boosts instead of filtering: a
request or complaint ("I want a refund", "my order never arrived") or a how-to weighs
procedures (workflows, skills) up, a plain question weighs them down.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections import Counter
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from langgraph.store.base import BaseStore, PutOp, SearchItem, SearchOp

from memory import store_steps as steps
from memory import trust
from memory.contradictions import (
    contradiction,
    is_retraction,
    same_frame,
    same_referents,
    shared_terms,
)
from memory.extraction.dates import query_window
from memory.models import (
    DECLARATIVE_TYPES,
    GENERAL_OWNER,
    MAX_LIST_ITEMS,
    MEMORY_TYPES,
    PLAIN_ITEM_DEFAULTS,
    Memory,
    MemoryFamily,
    MemoryType,
    Scope,
    canonical_subject,
    content_key,
    event_stamp,
    family_of,
    utcnow,
)
from memory.namespaces import Namespace, memory_namespace, readable_namespaces
from memory.notes import annotate
from memory.reading import read_memory
from memory.retrieval import RRF_K, Fused, hybrid_search_steps
from memory.retrieval_context import spread_to_neighbours
from memory.store_filters import matches_filter
from memory.store_steps import Steps

if TYPE_CHECKING:  # LangChain's model classes cost ~1 s of CLI start-up; annotations only
    from langchain_core.language_models import BaseChatModel

logger = logging.getLogger(__name__)

MAX_MESSAGE_IDS = 256
"""How many stating messages a memory remembers for replay detection (the latest)."""
DEFAULT_MIN_CONFIDENCE = trust.SHOWN_CONFIDENCE
"""Search leaves out memories below this confidence unless asked (the retrieval floor)."""

AddAction = Literal[
    "added", "reinforced", "merged", "superseded", "retracted", "disputed", "unchanged", "refused"
]
"""What `add` did: the last four are trust's doing (memory/trust.py)."""
QueryIntent = Literal["question", "request", "how_to"]
POOL_FACTOR = 4
"""Search scores this many times `limit` of the fused candidates..."""
CANDIDATE_FACTOR = 8
"""...fused from this many times `limit` of the dense ranking (retrieval eval: 8 keeps hit@5
of subject-less questions at 0.83, 6 dropped it to 0.77; 12 was used before)...

and of the BM25 ranking as many as are scored (POOL_FACTOR): at 4 the retrieval eval gave
the same figures, every system and kind, as at 8, and each BM25 candidate read, checked
and fused costs as much as a dense one."""
LEXICAL_WEIGHT = 1.5
"""BM25's weight in the rank fusion (dense: 1). Names, numbers and rare words matter more
than the small embedder's sense of topic: LoCoMo memory mode dev R@10 +3.3 (68.5 -> 71.8),
the retrieval eval unchanged (hit@1 0.82, hit@5 0.97); at 2 its hit@5 fell to 0.95."""
PLAIN_ITEMS: tuple[dict[str, object], ...] = ({"provenance": None}, {"type": None})
"""Store filters matching plain ``{"content": ...}`` items (no `type` or no `provenance`:
not `is_memory_record`). They lack the fields search filters on, so they are ranked
beside the filtered records in the same pass, read with PLAIN_ITEM_DEFAULTS."""

_REQUEST = re.compile(
    r"\b(i|we)\s*(want|need|would like|'d like|'d love|would love)\b|\bplease\b|"
    r"\b(can|could|would)\s+you\b|\bhelp me\b|"
    r"^(refund|cancel|track|process|reset|fix|check|send|help|escalate|issue|return)\b|"
    r"\bwhat (do|should|can) (i|we)\b|\bwhat now\b|"
    # complaints: something went wrong, so the procedure for it is wanted too
    r"\b(never|not|hasn't|has not|didn't|did not) (arrived?|came|come|received|shown up)\b|"
    r"\b(charged|billed) (twice|double|two times|wrong)|\bdouble[- ]charged\b|"
    r"\b(broken|damaged|defective|missing|lost|late|delayed|wrong item|not working|"
    r"doesn't work|does not work|stopped working|crash\w*|outage|down)\b",
    re.IGNORECASE,
)
TYPE_WEIGHT: dict[QueryIntent, dict[MemoryFamily, float]] = {
    "question": {"declarative": 1.0, "procedural": 0.6},
    "request": {"declarative": 1.0, "procedural": 1.1},
    "how_to": {"declarative": 0.9, "procedural": 1.2},
}
"""Type-awareness as weights, not filters: a question can still be answered by a workflow."""
_HOW_TO = re.compile(r"\bhow\s+(do|can|should|to|does|would)\b|\bsteps?\b|\bprocess for\b", re.I)


LISTING_PAGE = 5_000
"""Memories read per store call when listing a namespace (each page skips the ones before
it: at 500 a page, SQLite's skipping took 0.36 s of listing 10k memories)."""


def memories_in(
    store: BaseStore, namespace: Namespace, filter: dict[str, object] | None = None
) -> list[Memory]:
    """Every memory stored in `namespace` (and below) matching `filter`, page by page.

    Plain ``{"content": ...}`` items (LangMem, the store API) hold none of the fields a
    filter selects on, so they are read with their defaults and matched here; items that
    are not memories at all are skipped with a warning.
    """
    return steps.run(store, memories_in_steps(namespace, filter))


def memories_in_steps(
    namespace: Namespace, filter: dict[str, object] | None = None
) -> Steps[list[Memory]]:
    """``memories_in`` as store steps (memory/store_steps.py)."""
    out: list[Memory] = []
    for item in (yield from items_in_steps(namespace)):
        memory = read_memory(item)
        if memory is not None and listed(memory, filter):
            out.append(memory)
    return out


def items_in(store: BaseStore, namespace: Namespace) -> list[SearchItem]:
    """Every item stored in `namespace` (and below), as stored, page by page."""
    return steps.run(store, items_in_steps(namespace))


def items_in_steps(namespace: Namespace) -> Steps[list[SearchItem]]:
    out: list[SearchItem] = []
    while True:
        page = yield from steps.search(namespace, limit=LISTING_PAGE, offset=len(out))
        out += page
        if len(page) < LISTING_PAGE:
            return out


def listed(memory: Memory, filter: dict[str, object] | None) -> bool:
    """Whether `memory` matches a listing `filter` as its stored record would."""
    return not filter or matches_filter(memory.store_fields(filter), filter)


def _with_message(memory: Memory) -> Memory:
    """`memory` with its own message recorded among the messages that stated it."""
    message_id = memory.provenance.message_id
    if message_id is None or message_id in memory.message_ids:
        return memory
    return memory.model_copy(update={"message_ids": [*memory.message_ids, message_id]})


def _replayed(stored: Memory, incoming: Memory) -> bool:
    """Whether `incoming` comes from a message that already stated `stored`."""
    return bool(set(incoming.message_ids) & set(stored.message_ids))


def _distinct_text_batches(
    writes: Sequence[tuple[Memory, Namespace]],
) -> builtins.list[builtins.list[tuple[Memory, Namespace]]]:
    """`writes` in as few batches as possible, the first write's batch first, with no two
    writes of one batch sharing their content: LangGraph's InMemoryStore miscounts
    embeddings for a batch that indexes one text twice. Normally this is one batch (new,
    invalidated and linked memories say different things)."""
    batches: builtins.list[builtins.list[tuple[Memory, Namespace]]] = []
    for write in writes:
        for batch in batches:
            if all(m.content != write[0].content for m, _ in batch):
                batch.append(write)
                break
        else:
            batches.append([write])
    return batches


def atomically(store: BaseStore) -> AbstractContextManager[None]:
    """One transaction over the store calls inside, where the store offers it (the FAISS
    store's `atomic()`: a read-modify-write there cannot lose another process's write).
    Elsewhere the calls run as they are: InMemoryStore lives in one process, and
    PostgresStore has no such API (see the README's "Concurrency" note)."""
    atomic = getattr(store, "atomic", None)
    return cast(AbstractContextManager[None], atomic()) if callable(atomic) else nullcontext()


def _put_op(memory: Memory, namespace: Namespace) -> PutOp:
    return PutOp(namespace, memory.memory_id, memory.to_store_value())


def _links(links: Sequence[str], *more: str) -> list[str]:
    """`links` and `more`, each once, the latest `MAX_LIST_ITEMS` (a record's limit)."""
    return list(dict.fromkeys([*links, *more]))[-MAX_LIST_ITEMS:]


def _reinforced(stored: Memory, incoming: Memory) -> Memory:
    return stored.model_copy(
        update={
            "mention_count": stored.mention_count + incoming.mention_count,
            "confidence": trust.reinforced_confidence(stored, incoming),
            "updated_at": utcnow(),
            "keywords": list(dict.fromkeys(stored.keywords + incoming.keywords))[:12],
            "tags": list(dict.fromkeys(stored.tags + incoming.tags))[:8],
            "links": _links([*stored.links, *incoming.links]),
            "message_ids": list(dict.fromkeys(stored.message_ids + incoming.message_ids))[
                -MAX_MESSAGE_IDS:
            ],
        }
    )


def query_intent(query: str) -> QueryIntent:
    if _HOW_TO.search(query):
        return "how_to"
    if _REQUEST.search(query.strip()):
        return "request"
    return "question"


def types_for_query(query: str) -> frozenset[MemoryType]:
    """What kinds of memory a query wants most (weighted up, the others down)."""
    if query_intent(query) == "question":
        return DECLARATIVE_TYPES
    return frozenset(MEMORY_TYPES)


IN_WINDOW = 1.5
"""A question names a period ("last week", "in March"): an event inside it counts this
much more, one dated outside it this much less (1 / IN_WINDOW); undated ones are as is."""


def window_factor(event_time: datetime | None, window: tuple[datetime, datetime] | None) -> float:
    if window is None or event_time is None:
        return 1.0
    start, end = window
    return IN_WINDOW if start <= event_time < end else 1.0 / IN_WINDOW


def _with_window(pool: Sequence[Fused], in_window: Sequence[Fused]) -> list[Fused]:
    """The hybrid pool with the window's events ranked among themselves: an event found in
    both keeps its rank inside the window (the period the question is about)."""
    inside = {(tuple(f.item.namespace), f.item.key) for f in in_window}
    rest = [f for f in pool if (tuple(f.item.namespace), f.item.key) not in inside]
    return [*in_window, *rest]


def recency_factor(updated_at: datetime, now: datetime) -> float:
    age_days = max(0.0, (now - updated_at).total_seconds() / 86_400)
    return 0.85 + 0.15 * 0.5 ** (age_days / 30)


@dataclass(frozen=True)
class ScoredMemory:
    memory: Memory
    score: float
    relevance: float
    namespace: Namespace
    via_link: bool = False

    @property
    def place(self) -> tuple[str, int] | None:
        """Its thread and turn, when it has both (memory/retrieval_context.py)."""
        provenance = self.memory.provenance
        if provenance.thread_id is None or provenance.turn is None:
            return None
        return provenance.thread_id, provenance.turn


@dataclass(slots=True)
class _Candidate:
    """A search candidate as its stored values say: what ranking reads, its score (set by
    `_Ranking`, one search's own object) and its Memory once built (`_checked`,
    `_read_fully`)."""

    fused: Fused
    memory_id: str
    type: MemoryType
    confidence: float
    when: datetime
    """Its event time when known, else its last update (recency counts from it)."""
    event_time: datetime | None
    place: tuple[str, int] | None
    origin: str
    """The memory it is a synced copy of (itself for an original)."""
    memory: Memory | None = None
    score: float = 0.0
    relevance: float = 0.0

    @property
    def namespace(self) -> Namespace:
        return tuple(self.fused.item.namespace)

    def ranked_as(self) -> tuple[object, ...]:
        return (self.memory_id, self.type, self.confidence, self.when, self.event_time,
                self.place, self.origin)  # fmt: skip

    def scored(self) -> ScoredMemory:
        if self.memory is None:  # _shaping checks every returned candidate
            raise RuntimeError(f"memory {self.memory_id} returned without being read")
        return ScoredMemory(self.memory, self.score, self.relevance, self.namespace)


def _candidate(fused: Fused) -> _Candidate | None:
    """The candidate from its stored record's values without validating the record, or,
    for a plain item or a value not in the form this layer writes, from a full read
    (None when unreadable)."""
    value = fused.item.value
    try:
        provenance = value["provenance"]
        confidence = value["confidence"]
        kind = value["type"]
        event_time = stated_time(value["event_time"]) if value["event_time"] is not None else None
        thread, turn = provenance.get("thread_id"), provenance.get("turn")
        memory_id, origin = value["memory_id"], provenance.get("origin_memory_id")
        if (
            kind in MEMORY_TYPES
            and type(confidence) in (float, int)
            and type(memory_id) is str
            and (origin is None or type(origin) is str)
            and (thread is None or type(thread) is str)
            and (turn is None or type(turn) is int)
        ):
            return _Candidate(
                fused,
                memory_id,
                kind,
                confidence,
                event_time or stated_time(value["updated_at"]),
                event_time,
                None if thread is None or turn is None else (thread, turn),
                origin or memory_id,
            )
    except (KeyError, TypeError, ValueError, AttributeError):
        pass
    return _read_fully(fused)


def stated_time(stamp: object) -> datetime:
    """A time as a stored record states it (ISO, timezone-aware), read without validating
    the record; TypeError or ValueError otherwise."""
    if type(stamp) is not str:
        raise TypeError("not an ISO time")
    moment = datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        raise ValueError("naive time")
    return moment


def _read_fully(item: Fused | _Candidate) -> _Candidate | None:
    """The candidate from its validated Memory (None when the record is unreadable)."""
    fused = item.fused if isinstance(item, _Candidate) else item
    memory = read_memory(fused.item)
    if memory is None:
        return None
    provenance = memory.provenance
    return _Candidate(
        fused,
        memory.memory_id,
        memory.type,
        memory.confidence,
        memory.event_time or memory.updated_at,
        memory.event_time,
        None if provenance.thread_id is None or provenance.turn is None
        else (provenance.thread_id, provenance.turn),
        provenance.origin_memory_id or memory.memory_id,
        memory,
    )  # fmt: skip


def _checked(candidate: _Candidate) -> _Candidate | None:
    """The candidate with its validated Memory, or None when the record is unreadable or
    validation reads it otherwise than ranking did."""
    if candidate.memory is not None:
        return candidate
    full = _read_fully(candidate)
    return full if full is not None and full.ranked_as() == candidate.ranked_as() else None


def _shaping(
    candidates: Sequence[_Candidate],
    chosen: Sequence[_Candidate],
    types: Collection[MemoryType] | None,
) -> list[_Candidate]:
    """The candidates whose record decides the result: the ones returned, the ones that may
    lend a thread neighbour evidence, and synced copies of one origin (one of them is
    shown). Every other candidate ranks below the results and touches no other score, so
    ranking without it gives the same results: it is never read in full."""
    kept = [c for c in candidates if not types or c.type in types]
    threads = Counter(c.place[0] for c in kept if c.place is not None)
    origins = Counter(c.origin for c in kept)
    shaping = [
        c
        for c in kept
        if (c.place is not None and threads[c.place[0]] > 1) or origins[c.origin] > 1
    ]
    return [*chosen, *shaping]


@dataclass(frozen=True)
class _Ranking:
    """One search's ranking of its candidates (the module docstring's score)."""

    types: Collection[MemoryType] | None
    weights: dict[MemoryFamily, float]
    now: datetime
    window: tuple[datetime, datetime] | None
    own: Namespace
    limit: int

    def __call__(self, candidates: Sequence[_Candidate]) -> builtins.list[_Candidate]:
        scored: builtins.list[_Candidate] = []
        evidence: builtins.list[float] = []
        for c in candidates:
            if self.types and c.type not in self.types:
                continue
            fused = c.fused
            relevance = 0.5 * fused.relevance + 0.5 * max(fused.similarity or 0.0, 0.0)
            weight = (
                (0.5 + 0.5 * c.confidence)
                * recency_factor(c.when, self.now)
                * window_factor(c.event_time, self.window)
                * self.weights[family_of(c.type)]
            )
            c.score, c.relevance = relevance * weight, relevance
            scored.append(c)
            evidence.append(fused.relevance * weight)
        scored = spread_to_neighbours(scored, evidence)
        scored.sort(key=lambda s: s.score, reverse=True)
        # A synced copy and its original say the same thing: show one. The agent's own
        # copy wins, since it carries how the agent came to know it (sync provenance).
        chosen: dict[str, _Candidate] = {}
        for hit in scored:
            held = chosen.get(hit.origin)
            if held is None or (hit.namespace == self.own and held.namespace != self.own):
                chosen[hit.origin] = hit
        return sorted(chosen.values(), key=lambda s: s.score, reverse=True)[: self.limit]


@dataclass(frozen=True)
class AddResult:
    action: AddAction
    memory: Memory
    """The memory stored or changed (for "refused": the one offered, not stored)."""
    previous: Memory | None = None
    """The memory superseded, retracted or (for "disputed") the trusted one kept."""
    reason: str = ""
    """Why trust refused, relabeled or disputed it."""


def searched_subject(subject: str | None) -> str | None:
    """Whose facts a search may show, spelled as memories spell their owners (None or ""
    for everyone's: staff)."""
    return canonical_subject(subject) if subject else None


def shown_to(memory: Memory, subject: str | None) -> bool:
    """Whether `memory` may be shown in the conversation with `subject` (as
    `searched_subject` spells it; None: staff, who see everyone's): general knowledge, or
    the subject's own."""
    return not subject or memory.owner in (GENERAL_OWNER, subject)


def _theirs(candidate: _Candidate, subject: str | None) -> bool:
    """Whether `candidate` may be shown in `subject`'s conversation. The store filter on the
    stored owner keeps records to `subject`'s and general ones; a plain ``{"content": ...}``
    item has no stored owner: it is read in full (`_read_fully`) and judged by the owner
    its text gives it, before ranking, so that another person's note never takes a place."""
    return candidate.memory is None or shown_to(candidate.memory, subject)


def check_asked_at(now: object) -> None:
    """Refuse a search's `now` that is not a timezone-aware datetime."""
    if now is None:
        return
    if not isinstance(now, datetime):
        raise ValueError(f"now must be a datetime, got {type(now).__name__}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (its timezone is the asker's calendar)")


def check_search_args(
    query: object,
    *,
    limit: object,
    min_confidence: object,
    types: Collection[MemoryType] | None,
) -> None:
    """Refuse search arguments that would otherwise fail deep inside or match nothing."""
    if not isinstance(query, str):
        raise ValueError(f"search query must be a string, got {type(query).__name__}")
    if not query.strip():
        raise ValueError("search query must not be empty")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("search query is not valid Unicode (it holds a lone surrogate)") from None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a non-negative integer, got {limit!r}")
    if (
        isinstance(min_confidence, bool)
        or not isinstance(min_confidence, int | float)
        or not 0.0 <= min_confidence <= 1.0
    ):
        raise ValueError(f"min_confidence must be a number in [0, 1], got {min_confidence!r}")
    if types is not None:
        if isinstance(types, str):
            raise ValueError(f"types must be a collection of memory types, got {types!r}")
        unknown = sorted(str(t) for t in types if t not in MEMORY_TYPES)
        if unknown:
            raise ValueError(f"unknown memory type(s) {unknown}; known: {', '.join(MEMORY_TYPES)}")


class MemoryManager:
    """One agent's view of the team memory. See the module docstring."""

    def __init__(
        self,
        store: BaseStore,
        *,
        team: str,
        agent: str,
        llm: BaseChatModel | None = None,
        merge_threshold: float = 0.92,
        link_threshold: float = 0.55,
        max_links: int = 3,
    ) -> None:
        self.store = store
        self.team = team
        self.agent = agent
        self.llm = llm
        self.merge_threshold = merge_threshold
        self.link_threshold = link_threshold
        self.max_links = max_links
        self.namespaces = readable_namespaces(team, agent)

    # ---- where -----------------------------------------------------------------------
    def namespace_for(self, scope: Scope) -> Namespace:
        return memory_namespace(self.team, scope, self.agent)

    def _put(self, memory: Memory, namespace: Namespace) -> None:
        self.store.batch([_put_op(memory, namespace)])

    def _find_steps(self, memory_id: str) -> Steps[tuple[Memory, Namespace] | None]:
        for namespace in self.namespaces:
            item = yield from steps.get(namespace, memory_id)
            memory = read_memory(item) if item is not None else None
            if memory is not None:
                return memory, namespace
        return None

    def _all(self, namespace: Namespace, filter: dict[str, object] | None = None) -> list[Memory]:
        return memories_in(self.store, namespace, filter)

    # ---- add -------------------------------------------------------------------------
    # An add is written once as store steps (memory/store_steps.py), like the reads: every
    # helper below is a step generator, called with `yield from`. `add` runs it on the
    # store's `batch`, `aadd` with `steps.arun_write` (the store's `abatch`, or one worker
    # thread where the store's transactions belong to a thread).
    def add(self, memory: Memory) -> AddResult:
        """Store `memory` as trust allows: reinforce, merge, supersede, retract or dispute.

        Admission comes first (memory/trust.py): secrets and instructions are refused, and
        what a customer says outside their own facts is kept as their labeled claim. Each
        outcome is one store batch (on the FAISS store, one SQLite transaction): a
        supersession writes the new memory, the old one's invalidation and the links
        together, so a crash leaves either both or neither. A memory whose message
        already stated it (`provenance.message_id` seen before) changes nothing
        ("unchanged"), so replaying a turn is idempotent. After writing a new memory the
        namespace is settled: when another process stored the same fact, or another value
        for the same slot, at the same moment, the two converge on one (see `_settle`).
        """
        return steps.run(self.store, self._add_steps(memory))

    def _add_steps(self, memory: Memory) -> Steps[AddResult]:
        if not isinstance(memory, Memory):
            raise ValueError(
                f"add takes a Memory (memory.models.Memory), got {type(memory).__name__}; "
                "for text, use remember(text)"
            )
        admission = trust.admit(memory)
        if admission.memory is None:
            logger.info("memory refused: %s", admission.reason)
            return AddResult("refused", memory, reason=admission.reason)
        memory = _with_message(admission.memory)
        namespace = self.namespace_for(memory.scope)
        duplicate = yield from self._exact_duplicate(memory, namespace)
        if duplicate is not None:
            return (yield from self._restated(duplicate, memory, namespace, "reinforced"))
        # Episodes are events: a later one never supersedes or absorbs an earlier one.
        episode = memory.type == "episodic"
        slot_holder = None if episode else (yield from self._slot_holder(memory, namespace))
        if slot_holder is not None:
            if content_key(slot_holder.value or "") == content_key(memory.value or ""):
                return (yield from self._restated(slot_holder, memory, namespace, "reinforced"))
            return (yield from self._change(slot_holder, memory, namespace, "superseded"))
        if is_retraction(memory.content):
            target = yield from self._retracted(memory, namespace)
            if target is not None:
                return (yield from self._change(target, memory, namespace, "retracted"))
        neighbours = [] if episode else (yield from self._neighbours(memory, namespace))
        if changed := self._same_frame(memory, neighbours):
            return (yield from self._change(changed, memory, namespace, "superseded"))
        near = self._near_duplicate(memory, neighbours)
        if near is not None:
            if reason := contradiction(near.content, memory.content):
                logger.info("not merged (%s): %r vs %r", reason, near.content, memory.content)
                return (yield from self._change(near, memory, namespace, "superseded"))
            return (yield from self._restated(near, memory, namespace, "merged"))
        stored, _ = yield from self._store_new(memory, namespace)
        added = AddResult("added", stored, reason=admission.reason)
        return (yield from self._settle(added, namespace))

    def _restated(
        self, stored: Memory, incoming: Memory, namespace: Namespace, action: AddAction
    ) -> Steps[AddResult]:
        """The same fact said again: reinforced when it is a new statement from a source
        trusted as much (memory/trust.py), else left as it is."""
        if _replayed(stored, incoming):
            return AddResult("unchanged", stored)
        if not trust.may_reinforce(stored, incoming):
            return AddResult("unchanged", stored, reason="a less trusted source said it again")
        merged = yield from self._reinforce(stored, incoming, namespace)
        if merged is None:
            # What it restated is gone since it was found (forgotten, or folded into its
            # twin by another process): decide again against what the store holds now.
            return (yield from self._add_steps(incoming))
        return AddResult(action, merged, previous=stored if action == "merged" else None)

    def _exact_duplicate(self, memory: Memory, namespace: Namespace) -> Steps[Memory | None]:
        hits = yield from self._duplicates(memory, namespace, limit=5)
        return hits[0] if hits else None

    def _duplicates(
        self, memory: Memory, namespace: Namespace, limit: int
    ) -> Steps[builtins.list[Memory]]:
        hits = yield from steps.search(
            namespace,
            filter={"content_key": content_key(memory.content), "type": memory.type, "valid": True},
            limit=limit,
        )
        held = (m for hit in hits if (m := read_memory(hit)) is not None)
        return [m for m in held if trust.same_owner(m, memory)]

    def _slot_holders(
        self, memory: Memory, namespace: Namespace, limit: int
    ) -> Steps[builtins.list[Memory]]:
        if not (memory.subject and memory.attribute):
            return []
        hits = yield from steps.search(
            namespace,
            filter={"subject": memory.subject, "attribute": memory.attribute, "valid": True},
            limit=limit,
        )
        return [m for hit in hits if (m := read_memory(hit)) is not None]

    def _slot_holder(self, memory: Memory, namespace: Namespace) -> Steps[Memory | None]:
        holders = yield from self._slot_holders(memory, namespace, limit=1)
        return holders[0] if holders else None

    def _neighbours(
        self, memory: Memory, namespace: Namespace
    ) -> Steps[builtins.list[tuple[float, Memory]]]:
        """The closest valid memories of the same type (one search for both checks below)."""
        hits = yield from steps.search(
            namespace, query=memory.content, filter={"type": memory.type, "valid": True}, limit=3
        )
        return [(hit.score, m) for hit in hits if hit.score is not None and (m := read_memory(hit))]

    def _near_duplicate(
        self, memory: Memory, neighbours: builtins.list[tuple[float, Memory]]
    ) -> Memory | None:
        if not neighbours or neighbours[0][0] < self.merge_threshold:
            return None
        candidate = neighbours[0][1]
        # Different subjects, owners or orders are different facts, never one.
        if candidate.subject and memory.subject and candidate.subject != memory.subject:
            return None
        if trust.same_owner(candidate, memory) and same_referents(
            candidate.content, memory.content
        ):
            return candidate
        return None

    @staticmethod
    def _same_frame(
        memory: Memory, neighbours: builtins.list[tuple[float, Memory]]
    ) -> Memory | None:
        """A stored memory saying the same sentence with other numbers (a changed value)."""
        for _, held in neighbours:
            if held.subject != memory.subject or not trust.same_owner(held, memory):
                continue
            if same_frame(held.content, memory.content):
                return held
        return None

    def _retracted(self, retraction: Memory, namespace: Namespace) -> Steps[Memory | None]:
        """The memory a retraction takes back: same owner and subject, naming what it names."""
        filter: dict[str, object] = {"owner": retraction.owner, "valid": True}
        if retraction.subject:
            filter["subject"] = retraction.subject
        hits = yield from steps.search(namespace, query=retraction.content, filter=filter, limit=5)
        for hit in hits:
            held = read_memory(hit)
            if (
                held is None
                or is_retraction(held.content)
                or not shared_terms(held.content, retraction.content)
            ):
                continue
            if contradiction(held.content, retraction.content):
                return held
        return None

    def _reinforce(
        self, stored: Memory, incoming: Memory, namespace: Namespace
    ) -> Steps[Memory | None]:
        """`stored` reinforced by `incoming`, applied to the record as it is now (another
        process may have linked or reinforced it since it was read); None if it is gone."""
        with atomically(self.store):
            current = yield from self._current(stored, namespace)
            if current is None:
                return None
            if _replayed(current, incoming):
                return current
            updated = _reinforced(current, incoming)
            yield from steps.batch([_put_op(updated, namespace)])
        return updated

    def _current(self, memory: Memory, namespace: Namespace) -> Steps[Memory | None]:
        item = yield from steps.get(namespace, memory.memory_id)
        return read_memory(item) if item is not None else None

    def _change(
        self, old: Memory, new: Memory, namespace: Namespace, action: AddAction
    ) -> Steps[AddResult]:
        """`new` replaces `old` (supersede or retract) when trust allows; else it is disputed."""
        if _replayed(old, new):
            return AddResult("unchanged", old)
        if trust.may_change(old, new) == "dispute":
            if trust.outranks(new, old):
                # More trusted, though stated earlier: it is shown, the held value disputed
                # (consolidation's order, memory/trust.py `settle`, decided at once).
                stored, retired = yield from self._store_new(
                    new, namespace, retire=old, retire_as="disputed"
                )
                return AddResult(
                    action, stored, previous=retired, reason="more trusted than the value held"
                )
            disputed = new.model_copy(update={"disputed_by": old.memory_id})
            stored, _ = yield from self._store_new(disputed, namespace)
            logger.info("memory disputed: %r kept over %r", old.content, new.content)
            return AddResult("disputed", stored, previous=old, reason="a more trusted memory")
        stored, retired = yield from self._store_new(new, namespace, retire=old)
        if retired is None:  # it went while we decided (forgotten): nothing left to replace
            return (yield from self._settle(AddResult("added", stored), namespace))
        return (yield from self._settle(AddResult(action, stored, previous=retired), namespace))

    def _store_new(
        self,
        memory: Memory,
        namespace: Namespace,
        retire: Memory | None = None,
        retire_as: Literal["superseded", "disputed"] = "superseded",
    ) -> Steps[tuple[Memory, Memory | None]]:
        """Write `memory`, the back-links of its related memories and the invalidation of
        `retire` (same namespace: superseded by `memory`, or disputed by it), as one
        transaction; returns what was written.

        The related memories and `retire` are read again inside the transaction (the FAISS
        store's `atomic()`), so a link or reinforcement another process wrote since they
        were found is kept, not overwritten by a stale copy."""
        if self.llm is not None:  # a model call: off the event loop in `aadd`
            memory = yield from steps.blocking(annotate, memory, self.llm)
        else:
            memory = annotate(memory)
        replaced = {retire.memory_id} if retire else set()
        related = [
            (m, ns) for m, ns in (yield from self._related(memory)) if m.memory_id not in replaced
        ]
        retired: Memory | None = None
        with atomically(self.store):
            # Only what still exists is linked: a related memory may have been folded
            # into its twin or forgotten by another process since the search.
            writes: builtins.list[tuple[Memory, Namespace]] = []
            for other, other_ns in related:  # A-MEM memory evolution: links go both ways
                current = yield from self._current(other, other_ns)
                if current is None:
                    continue
                memory = memory.model_copy(update={"links": _links(memory.links, other.memory_id)})
                if memory.memory_id not in current.links:
                    linked = current.model_copy(
                        update={"links": _links(current.links, memory.memory_id)}
                    )
                    writes.append((linked, other_ns))
            held = (yield from self._current(retire, namespace)) if retire else None
            if held is not None:
                memory = memory.model_copy(update={"links": _links(memory.links, held.memory_id)})
                now = utcnow()
                hidden: dict[str, object] = (
                    {"invalidated_at": now, "superseded_by": memory.memory_id}
                    if retire_as == "superseded"
                    else {"disputed_by": memory.memory_id}
                )
                retired = held.model_copy(
                    update={
                        **hidden,
                        "updated_at": now,
                        "links": _links(held.links, memory.memory_id),
                    }
                )
                writes.append((retired, namespace))
            writes.insert(0, (memory, namespace))
            for batch in _distinct_text_batches(writes):
                yield from steps.batch([_put_op(m, ns) for m, ns in batch])
        return memory, retired

    def _settle(self, result: AddResult, namespace: Namespace) -> Steps[AddResult]:
        """Converge with writers that raced this one (another process, the same moment).

        Every writer checks after its write and settles what it sees; the later writer
        always sees both, and settling twice changes nothing more. The same fact twice:
        the earliest record (created_at, then memory_id) keeps it, the other's statements
        are folded into it and the other is deleted. Two valid values in one slot: the
        latest statement (valid_from, then memory_id) stays valid, the others are retired.
        """
        with atomically(self.store):  # what is read here is what is written over
            return (yield from self._settle_now(result, namespace))

    def _settle_now(self, result: AddResult, namespace: Namespace) -> Steps[AddResult]:
        mine = result.memory
        twins = yield from self._duplicates(mine, namespace, limit=10)
        if len(twins) > 1:
            keeper = min(twins, key=lambda m: (m.created_at, m.memory_id))
            folded = {t.memory_id for t in twins} - {keeper.memory_id}
            ops: builtins.list[PutOp] = []
            for twin in twins:
                if twin.memory_id == keeper.memory_id:
                    continue
                # Folding is idempotent: a writer that folds what another already folded
                # finds the twin's messages in the keeper and only deletes the twin.
                if not set(twin.message_ids) <= set(keeper.message_ids) or not twin.message_ids:
                    keeper = _reinforced(keeper, twin)
                ops.append(PutOp(namespace, twin.memory_id, None))
            keeper = keeper.model_copy(
                update={"links": [k for k in keeper.links if k not in folded | {keeper.memory_id}]}
            )
            ops.append(_put_op(keeper, namespace))
            ops += yield from self._relinked(twins, keeper, folded)
            yield from steps.batch(ops)
            if keeper.memory_id != mine.memory_id:
                return AddResult("reinforced", keeper)
            mine = keeper
        holders = yield from self._slot_holders(mine, namespace, limit=10)
        if len(holders) > 1:
            # the most trusted, then the latest statement (memory/trust.py's precedence)
            latest = max(holders, key=lambda m: (*trust.precedence(m), m.memory_id))
            now = utcnow()
            retired = [
                m.model_copy(
                    update={
                        "invalidated_at": now,
                        "superseded_by": latest.memory_id,
                        "updated_at": now,
                    }
                )
                for m in holders
                if m.memory_id != latest.memory_id
            ]
            yield from steps.batch([_put_op(m, namespace) for m in retired])
            if latest.memory_id != mine.memory_id:
                return AddResult("superseded", latest, previous=result.previous)
        return AddResult(result.action, mine, previous=result.previous, reason=result.reason)

    def _relinked(
        self, twins: Sequence[Memory], keeper: Memory, folded: set[str]
    ) -> Steps[builtins.list[PutOp]]:
        """The memories that linked to a folded twin, linking to its keeper instead: the
        twin's back-links are where they are (links go both ways)."""
        ops: builtins.list[PutOp] = []
        linking = {link for twin in twins for link in twin.links} - folded - {keeper.memory_id}
        for memory_id in sorted(linking):
            found = yield from self._find_steps(memory_id)
            if found is None:
                continue
            other, other_ns = found
            links = _links([k for k in other.links if k not in folded], keeper.memory_id)
            if links != other.links:
                relinked = other.model_copy(update={"links": links})
                ops.append(_put_op(relinked, other_ns))
        return ops

    def _related(self, memory: Memory) -> Steps[builtins.list[tuple[Memory, Namespace]]]:
        """The closest valid memories this agent can read, above the link threshold."""
        found: builtins.list[tuple[float, Memory, Namespace]] = []
        want = self.max_links + 1  # one more: the memory itself may be among them
        # The FAISS store: one vector walk over both namespaces (an add's costliest search
        # at 100k was one scan per namespace), no BM25: the dense ranking in its order, each
        # hit scored by its cosine; other stores answer None.
        fused = yield from steps.fused(
            self.namespaces,
            memory.content,
            any_of=[{"valid": True}],
            limit=want,
            lexical=0,
            weights=(1.0, 0.0),
            rrf_k=RRF_K,
            keep=want,
        )
        if fused is not None:
            hits = [f.item for f in fused]
        else:
            # One batch for all namespaces: the store embeds the text once, not once each.
            ops = [SearchOp(ns, {"valid": True}, want, 0, memory.content) for ns in self.namespaces]
            results = yield from steps.batch(ops)
            hits = [h for result in results for h in cast(list[SearchItem], result)]
        for hit in hits:
            if hit.key == memory.memory_id or hit.score is None:
                continue
            linked = read_memory(hit) if hit.score >= self.link_threshold else None
            if linked is not None:
                found.append((hit.score, linked, tuple(hit.namespace)))
        found.sort(key=lambda f: f[0], reverse=True)
        return [(m, ns) for _, m, ns in found[: self.max_links]]

    # ---- read ------------------------------------------------------------------------
    # Each read is written once as store steps (memory/store_steps.py): the sync method
    # runs them on the store's `batch`, its `a...` twin on `abatch`.
    def get(self, memory_id: str) -> Memory | None:
        return steps.run(self.store, self._get_steps(memory_id))

    def _get_steps(self, memory_id: str) -> Steps[Memory | None]:
        found = yield from self._find_steps(memory_id)
        return found[0] if found else None

    def superseded_by(self, memory_id: str) -> builtins.list[Memory]:
        """The memories (readable by this agent) that `memory_id` replaced: superseded,
        or disputed by it (a more trusted value, stated earlier)."""
        out: builtins.list[Memory] = []
        for namespace in self.namespaces:
            out += self._all(namespace, {"superseded_by": memory_id})
            out += self._all(namespace, {"disputed_by": memory_id})
        return out

    def list(
        self, *, scope: Scope | None = None, include_invalid: bool = False, limit: int = 100
    ) -> builtins.list[Memory]:
        return steps.run(self.store, self._list_steps(scope, include_invalid, limit))

    def _list_steps(
        self, scope: Scope | None, include_invalid: bool, limit: int
    ) -> Steps[builtins.list[Memory]]:
        namespaces = [self.namespace_for(scope)] if scope else list(self.namespaces)
        filter: dict[str, object] | None = None if include_invalid else {"valid": True}
        out: builtins.list[Memory] = []
        for namespace in namespaces:
            out += yield from memories_in_steps(namespace, filter)
        out.sort(key=lambda m: m.created_at)
        return out[:limit]

    def search(
        self,
        query: str,
        *,
        limit: int = 5,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        include_invalid: bool = False,
        types: Collection[MemoryType] | None = None,
        follow_links: bool = False,
        subject: str | None = None,
        now: datetime | None = None,
    ) -> builtins.list[ScoredMemory]:
        """The memories that best answer `query` (see the module docstring for the score).

        `subject`: the customer or user the conversation is with ("customer:12345"); only
        their own memories and general knowledge are searched. None: everything (staff).
        `now`: when the question is asked, in the asker's timezone: "yesterday" and "last
        week" are their calendar's, as extraction reads a message's dates (None: now, UTC).
        """
        check_search_args(query, limit=limit, min_confidence=min_confidence, types=types)
        check_asked_at(now)
        subject = searched_subject(subject)
        return steps.run(
            self.store,
            self._search_steps(
                query, limit, min_confidence, include_invalid, types, follow_links, subject, now
            ),
        )

    def _search_steps(
        self,
        query: str,
        limit: int,
        min_confidence: float,
        include_invalid: bool,
        types: Collection[MemoryType] | None,
        follow_links: bool,
        subject: str | None,
        asked_at: datetime | None = None,
    ) -> Steps[builtins.list[ScoredMemory]]:
        if limit == 0:
            return []
        filter: dict[str, object] = {"confidence": {"$gte": min_confidence}}
        if not include_invalid:
            filter["valid"] = True
        if types:
            wanted = frozenset(types)
            families = {family_of(t) for t in wanted}
            if len(families) == 1:
                filter["family"] = families.pop()
        owners = [{"owner": GENERAL_OWNER}, {"owner": subject}] if subject else []
        weights = TYPE_WEIGHT[query_intent(query)]
        now = asked_at or utcnow()
        window = query_window(query, now)
        pool = yield from hybrid_search_steps(
            self.namespaces,
            query,
            limit=limit * POOL_FACTOR,
            candidates=limit * CANDIDATE_FACTOR,
            lexical_candidates=limit * POOL_FACTOR,
            filter=filter,
            lexical_weight=LEXICAL_WEIGHT,
            any_of=owners,
            or_else=PLAIN_ITEMS if PLAIN_ITEM_DEFAULTS["confidence"] >= min_confidence else (),
        )
        if window is not None:
            dated = yield from self._in_window(query, window, limit, filter, owners)
            pool = _with_window(pool, dated)
        # Scored from the stored values; a candidate's Memory is built (validated) only
        # where it is returned or shapes another's score: validating every candidate took
        # a tenth of a search. Anything unreadable there: rank again from full reads.
        own = self.namespace_for("private")
        rank = _Ranking(types, weights, now, window, own, limit)
        candidates = [
            c for fused in pool if (c := _candidate(fused)) is not None and _theirs(c, subject)
        ]
        chosen = rank(candidates)
        checked = [_checked(c) for c in _shaping(candidates, chosen, types)]
        if any(c is None for c in checked):
            candidates = [
                c for c in map(_read_fully, candidates) if c is not None and _theirs(c, subject)
            ]
            chosen = rank(candidates)
        else:  # _shaping lists the chosen first
            for c, k in zip(chosen, checked[: len(chosen)], strict=True):
                c.memory = k.memory if k else None
        top = [c.scored() for c in chosen]
        if follow_links:
            top += yield from self._linked(top, min_confidence, include_invalid, subject)
        return top

    def _in_window(
        self,
        query: str,
        window: tuple[datetime, datetime],
        limit: int,
        filter: dict[str, object],
        owners: builtins.list[dict[str, Any]],
    ) -> Steps[builtins.list[Fused]]:
        """The events dated inside `window`, ranked by hybrid search among themselves.

        The window is a store filter on the event stamp, so an event of that period is a
        candidate however many more similar memories lie outside it."""
        start, end = window
        dated = {**filter, "event_stamp": {"$gte": event_stamp(start), "$lt": event_stamp(end)}}
        return (
            yield from hybrid_search_steps(
                self.namespaces,
                query,
                limit=limit * POOL_FACTOR,
                candidates=limit * CANDIDATE_FACTOR,
                lexical_candidates=limit * POOL_FACTOR,
                filter=dated,
                lexical_weight=LEXICAL_WEIGHT,
                any_of=owners,
            )
        )

    def disputed(self) -> builtins.list[Memory]:
        """Memories kept but not believed, because a more trusted one says otherwise: for
        staff to review (`get(m.disputed_by)` is the one shown instead)."""
        return steps.run(self.store, self._disputed_steps())

    def _disputed_steps(self) -> Steps[builtins.list[Memory]]:
        out: builtins.list[Memory] = []
        for namespace in self.namespaces:
            held = yield from memories_in_steps(namespace, {"valid": False})
            out += [m for m in held if m.disputed_by]
        return sorted(out, key=lambda m: m.created_at)

    def _linked(
        self,
        hits: builtins.list[ScoredMemory],
        min_confidence: float,
        include_invalid: bool,
        subject: str | None,
    ) -> Steps[builtins.list[ScoredMemory]]:
        """One hop along A-MEM links from the hits (readable namespaces only)."""
        seen = {h.memory.memory_id for h in hits}
        extra: builtins.list[ScoredMemory] = []
        for hit in hits:
            for linked_id in hit.memory.links:
                if linked_id in seen:
                    continue
                found = yield from self._find_steps(linked_id)
                if found is None:
                    continue
                memory, namespace = found
                if memory.confidence < min_confidence or (
                    not include_invalid and not memory.is_valid
                ):
                    continue
                if not shown_to(memory, subject):
                    continue  # a link never leads to another customer's facts
                seen.add(linked_id)
                extra.append(
                    ScoredMemory(memory, hit.score * 0.8, hit.relevance * 0.8, namespace, True)
                )
        return extra

    # ---- forget ----------------------------------------------------------------------
    def forget(self, memory_id: str) -> bool:
        """Delete this one record (readable by this agent); returns whether it existed.

        Its synced copies, the values it superseded and the A2A log stay: to forget a
        fact everywhere use `memory.team.TeamMemory.forget` (cascade) or `forget_subject`.
        """
        return steps.run(self.store, self._forget_steps(memory_id))

    def _forget_steps(self, memory_id: str) -> Steps[bool]:
        found = yield from self._find_steps(memory_id)
        if found is None:
            return False
        yield from steps.batch([PutOp(found[1], memory_id, None)])
        return True

    # ---- one call from text to memory ------------------------------------------------
    def remember(
        self,
        text: str,
        *,
        subject: str | None = None,
        source: trust.Source = "user",
        scope: Scope = "shared",
    ) -> builtins.list[AddResult]:
        """Extract the memories `text` states and store them (mem0's ``add(text)``).

        `subject` ("customer:12345") is whose first-person facts these are; `source` is who
        asserted the text (memory/trust.py: a user is a customer, staff and systems of
        record state facts at 0.95, an agent's inference is capped at 0.70). Unlike `add`,
        which keeps what a customer says of others as a labeled claim, this explicit API
        refuses it: a user or an agent cannot set
        policies, skills or workflows, nor facts about another subject of the same kind:
        those are refused with a ValueError naming them when nothing else was stored,
        and skipped (logged) otherwise. `scope`: the team's shared memory or the agent's.
        """
        return steps.run(self.store, self._remember_steps(text, subject, source, scope))

    def _remember_steps(
        self, text: str, subject: str | None, source: trust.Source, scope: Scope
    ) -> Steps[builtins.list[AddResult]]:
        from memory.extraction import ExtractionContext, extract_memories

        if not isinstance(text, str):
            raise ValueError(f"the text to remember must be a string, got {type(text).__name__}")
        if source not in trust.SOURCE_ROLES:
            raise ValueError(f"source must be one of {sorted(trust.SOURCE_ROLES)}, got {source!r}")
        subject = searched_subject(subject)
        ctx = ExtractionContext(
            source_agent=self.agent,
            speaker_subject=subject or "user",
            scope=scope,
            speaker_role=trust.SOURCE_ROLES[source],
        )
        # the extracting model's call: off the event loop in `aremember`
        extracted = yield from steps.blocking(extract_memories, text, ctx, self.llm)
        results: builtins.list[AddResult] = []
        refused: builtins.list[str] = []
        for memory in extracted:
            if problem := trust.untrusted_change(memory, subject):
                refused.append(f"{memory.content!r}: {problem}")
                continue
            results.append((yield from self._add_steps(trust.with_source_trust(memory))))
        if not results:
            raise ValueError(
                "nothing stored: " + ("; ".join(refused) or "no fact found in the text")
            )
        for reason in refused:
            logger.info("remember: refused %s", reason)
        return results

    # ---- async -------------------------------------------------------------------------
    # Reads and writes run the same store steps as their sync twins (memory/store_steps.py).
    # Reads run them on the store's `abatch`: the event loop waits on the store's own async
    # calls (PostgresStore's async driver; the FAISS store embeds with `aembed_query` and
    # reads SQLite in a worker thread of its own). Writes (`aadd`, `aremember`) run them with
    # `steps.arun_write`: on `abatch` too where the store has no thread-bound transaction
    # (Postgres, InMemoryStore), and in one worker thread on the FAISS store, whose
    # `atomic()` transaction (a read-modify-write from its first read to its last write)
    # belongs to the thread that opened it.
    async def asearch(
        self,
        query: str,
        *,
        limit: int = 5,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        include_invalid: bool = False,
        types: Collection[MemoryType] | None = None,
        follow_links: bool = False,
        subject: str | None = None,
        now: datetime | None = None,
    ) -> builtins.list[ScoredMemory]:
        """`search`, on the store's `abatch`."""
        check_search_args(query, limit=limit, min_confidence=min_confidence, types=types)
        check_asked_at(now)
        subject = searched_subject(subject)
        return await steps.arun(
            self.store,
            self._search_steps(
                query, limit, min_confidence, include_invalid, types, follow_links, subject, now
            ),
        )

    async def aget(self, memory_id: str) -> Memory | None:
        return await steps.arun(self.store, self._get_steps(memory_id))

    async def alist(
        self, *, scope: Scope | None = None, include_invalid: bool = False, limit: int = 100
    ) -> builtins.list[Memory]:
        return await steps.arun(self.store, self._list_steps(scope, include_invalid, limit))

    async def adisputed(self) -> builtins.list[Memory]:
        return await steps.arun(self.store, self._disputed_steps())

    async def aforget(self, memory_id: str) -> bool:
        return await steps.arun(self.store, self._forget_steps(memory_id))

    async def aadd(self, memory: Memory) -> AddResult:
        """`add`, on the store's `abatch` (one worker thread for the FAISS store)."""
        return await steps.arun_write(self.store, self._add_steps(memory))

    async def aremember(
        self,
        text: str,
        *,
        subject: str | None = None,
        source: trust.Source = "user",
        scope: Scope = "shared",
    ) -> builtins.list[AddResult]:
        """`remember`: the model's extraction in a worker thread, the adds as `aadd`."""
        return await steps.arun_write(
            self.store, self._remember_steps(text, subject, source, scope)
        )
