"""LoCoMo retrieval eval: turn-level evidence recall at k = 5, 10, 25, 50 (see locomo_data).

Two modes:
- ``turns``: every dialog turn is one unit in a FAISS store (one per conversation, in a
  temporary directory), retrieved by hybrid search: dense MiniLM plus BM25 (the store's
  FTS5 index), fused by weighted reciprocal rank fusion. The defaults of `TurnsConfig` are
  the best configuration measured on the dev split; each ablation step is an option, and
  `ABLATION` lists the steps with the command that reproduces each.
- ``memory``: each turn goes through memory extraction (memory/extraction.py) and the
  memory manager; a hit maps back to the turns it came from (``provenance.message_id`` is
  the dia_id). Each turn is also stored as one episodic memory holding the rendered turn
  (``--raw-turns uncovered``: only turns that yield no memory), so every turn stays
  retrievable.

Turn and query embeddings are cached on disk (keyed by model and text hash, under
reports/.cache by default) so that ablations re-embed only texts they have not seen.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import PutOp, SearchItem

from evals.locomo_data import (
    CATEGORY_NAMES,
    DEFAULT_DATA,
    KS,
    REPO_ROOT,
    Conversation,
    QuestionResult,
    RecallTable,
    Turn,
    aggregate,
    load_locomo,
    score_question,
)
from memory.embeddings import embedding_dims, embedding_model_name
from memory.retrieval import (
    QUESTION_WORDS,
    dense_ranking,
    lexical_ranking,
    reciprocal_rank_fusion,
)
from memory.store import FaissStore

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from rich.progress import Progress, TaskID

    from memory.extraction import ExtractionContext
    from memory.manager import MemoryManager
    from memory.models import Memory

Mode = Literal["turns", "memory"]
Retriever = Literal["hybrid", "dense", "bm25"]
QueryRewrite = Literal["none", "strip"]
WindowIndex = Literal["extra", "replace"]
ExtractorKind = Literal["rules", "llm"]
RawTurns = Literal["uncovered", "all"]

DEFAULT_CACHE_DIR: Final = REPO_ROOT / "reports" / ".cache"
DRAGON_ANCHOR: Final[dict[str, float]] = {"5": 56.7, "10": 66.2, "25": 76.7, "50": 82.7}
"""Published DRAGON recall (LoCoMo paper, Table 3; all 10 conversations, all categories)."""
QUICK_QUESTIONS: Final = 60

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class TurnsConfig:
    """How turns are indexed and retrieved; the defaults are the best measured configuration."""

    retriever: Retriever = "hybrid"
    speaker: bool = True
    """Prefix each unit with its speaker's name."""
    date: bool = True
    """Prefix each unit with its session's date."""
    caption: bool = True
    """Append the caption of a shared image."""
    window: int = 2
    """Index this many previous and next turns of the same session with each unit."""
    window_index: WindowIndex = "extra"
    """extra: the window is a second vector (max-pooled with the turn's) and extra BM25 text,
    so the turn's own words count twice; replace: the window is the unit's only text."""
    neighbour_weight: float = 0.0
    """At scoring, add this share of each neighbouring turn's fused score to a turn's (helps
    without a window, adds nothing with one: see the ablation)."""
    query_rewrite: QueryRewrite = "strip"
    """strip: remove question words from the query (for both retrievers)."""
    dense_weight: float = 1.0
    lexical_weight: float = 1.5
    rrf_k: int = 10
    speaker_boost: float = 0.0
    """When the question names one speaker, multiply that speaker's turns' scores by
    1 + speaker_boost."""
    facts: bool = False
    """Add the memories the rule extractor finds in a turn as an extra key of its unit."""

    def __post_init__(self) -> None:
        if self.window < 0:
            raise ValueError(f"window must be 0 or more, got {self.window}")
        if self.neighbour_weight < 0 or self.speaker_boost < 0:
            raise ValueError("neighbour_weight and speaker_boost must not be negative")
        if self.dense_weight < 0 or self.lexical_weight < 0:
            raise ValueError("fusion weights must not be negative")
        if self.rrf_k < 1:
            raise ValueError(f"rrf_k must be at least 1, got {self.rrf_k}")


@dataclass(frozen=True)
class MemoryModeConfig:
    extractor: ExtractorKind = "rules"
    """rules: memory.extraction's deterministic rules; llm: the chat model factory's model."""
    raw_turns: RawTurns = "all"
    """Which turns are also stored as a raw-turn memory: all (measured better: extracted
    memories paraphrase a turn and lose words), or only those yielding no memory."""
    pool: int = 200
    """Memories retrieved per question before they are mapped to turns."""

    def __post_init__(self) -> None:
        if self.pool < 1:
            raise ValueError(f"pool must be at least 1, got {self.pool}")


# ---- embeddings cache -------------------------------------------------------------------


class CachedEmbeddings(Embeddings):
    """Wraps an embedder with a SQLite cache keyed by (model name, text hash).

    It answers the wrapped model's `model_name` and `dims`, so a store sees the same model.
    """

    def __init__(self, inner: Embeddings, cache_dir: Path) -> None:
        self.inner = inner
        self.model_name = embedding_model_name(inner)
        self.dims = embedding_dims(inner)
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / "embeddings.sqlite"
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
        )
        self.hits = 0
        self.misses = 0

    def _key(self, text: str) -> str:
        digest = hashlib.blake2b(f"{self.model_name}\0{text}".encode(), digest_size=16)
        return digest.hexdigest()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [self._key(t) for t in texts]
        found = self._lookup(set(keys))
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = np.asarray(self.inner.embed_documents(missing), dtype=np.float32)
            if vectors.shape != (len(missing), self.dims):
                raise RuntimeError(
                    f"{self.model_name} returned vectors of shape {vectors.shape} for "
                    f"{len(missing)} texts, expected {self.dims} dims each"
                )
            rows = [(self._key(t), v.tobytes()) for t, v in zip(missing, vectors, strict=True)]
            with self._lock:
                self._conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
            found.update({key: vector for (key, _), vector in zip(rows, vectors, strict=True)})
        return [found[k].tolist() for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def _lookup(self, keys: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        ordered = list(keys)
        with self._lock:
            for start in range(0, len(ordered), 500):
                chunk = ordered[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk
                ).fetchall()
                found.update({k: np.frombuffer(v, dtype=np.float32) for k, v in rows})
        return found

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def warm(embeddings: Embeddings, texts: list[str]) -> None:
    """Embed texts in one batch ahead of the store, which embeds queries one at a time."""
    if isinstance(embeddings, CachedEmbeddings) and texts:
        embeddings.embed_documents(texts)


# ---- units: what is indexed for each turn -----------------------------------------------


def session_date(turn: Turn) -> str:
    """ "1:56 pm on 8 May, 2023" -> "8 May 2023": the day matters, the clock time is noise."""
    day = turn.date_time.split(" on ", 1)[-1]
    return day.replace(",", "").strip()


def render_turn(turn: Turn, config: TurnsConfig) -> str:
    """One turn as indexed: "[8 May 2023] Caroline: text [shares a photo of ...]"."""
    text = turn.text.strip()
    if config.speaker:
        text = f"{turn.speaker}: {text}"
    if config.caption and turn.caption:
        text = f"{text} [shares {turn.caption.strip()}]"
    if config.date and turn.date_time:
        text = f"[{session_date(turn)}] {text}"
    return text


def window_of(conversation: Conversation, position: int, size: int) -> range:
    """Positions of the turns within `size` of `position` in the same session."""
    turns = conversation.turns
    session = turns[position].session
    lo = position
    while lo > 0 and position - lo < size and turns[lo - 1].session == session:
        lo -= 1
    hi = position
    while hi < len(turns) - 1 and hi - position < size and turns[hi + 1].session == session:
        hi += 1
    return range(lo, hi + 1)


def turn_facts(conversation: Conversation) -> dict[str, list[str]]:
    """dia_id -> the contents of the memories the rule extractor finds in that turn."""
    from memory.extraction import extract_memories

    return {
        turn.dia_id: [
            m.content for m in extract_memories(turn.text, extraction_context(conversation, turn))
        ]
        for turn in conversation.turns
    }


def unit_values(conversation: Conversation, config: TurnsConfig) -> dict[str, dict[str, str]]:
    """dia_id -> the stored value of its unit: the rendered turn, its window, its facts."""
    rendered = [render_turn(t, config) for t in conversation.turns]
    facts = turn_facts(conversation) if config.facts else {}
    values: dict[str, dict[str, str]] = {}
    for i, turn in enumerate(conversation.turns):
        value = {"dia_id": turn.dia_id, "text": rendered[i]}
        if config.window:
            value["context"] = "\n".join(
                rendered[j] for j in window_of(conversation, i, config.window)
            )
        if facts.get(turn.dia_id):
            value["facts"] = " ".join(facts[turn.dia_id])
        values[turn.dia_id] = value
    return values


def index_fields(config: TurnsConfig) -> list[str]:
    """The value fields embedded (one vector each, max-pooled) and put in the BM25 text."""
    found = ["facts"] if config.facts else []
    if not config.window:
        return ["text", *found]
    if config.window_index == "replace":
        return ["context", *found]
    return ["text", "context", *found]


# ---- turns mode ---------------------------------------------------------------------------


def rewrite_query(question: str, rewrite: QueryRewrite) -> str:
    if rewrite == "none":
        return question
    words = [w for w in _WORD.findall(question) if w.lower() not in QUESTION_WORDS]
    return " ".join(words) or question


def named_speakers(question: str, conversation: Conversation) -> set[str]:
    """The speakers whose first name the question contains."""
    words = {w.lower() for w in _WORD.findall(question)}
    return {
        name
        for name in (conversation.speaker_a, conversation.speaker_b)
        if name.split()[0].lower() in words
    }


def open_store(path: Path, embeddings: Embeddings, index_fields: list[str]) -> FaissStore:
    return FaissStore(
        path,
        index={"dims": embedding_dims(embeddings), "embed": embeddings, "fields": index_fields},
        embedding_model=embedding_model_name(embeddings),
    )


@dataclass
class TurnIndex:
    """One conversation's turns in a FAISS store, searchable by hybrid retrieval."""

    conversation: Conversation
    config: TurnsConfig
    store: FaissStore
    namespace: tuple[str, ...]
    positions: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(
        cls, conversation: Conversation, config: TurnsConfig, embeddings: Embeddings, path: Path
    ) -> TurnIndex:
        store = open_store(path, embeddings, index_fields(config))
        namespace = ("locomo", conversation.sample_id, "turns")
        values = unit_values(conversation, config)
        store.batch([PutOp(namespace, key, value) for key, value in values.items()])
        positions = {t.dia_id: i for i, t in enumerate(conversation.turns)}
        return cls(conversation, config, store, namespace, positions)

    def rank(self, question: str, limit: int) -> list[str]:
        """The dia_ids of the best `limit` turns for `question`, best first."""
        scores = self.scores(question)
        return sorted(scores, key=lambda d: (-scores[d], self.positions[d]))[:limit]

    def scores(self, question: str) -> dict[str, float]:
        """dia_id -> fused score of every turn either retriever found."""
        config = self.config
        query = rewrite_query(question, config.query_rewrite)
        pool = len(self.conversation.turns)  # rank every turn: fusion sees full rankings
        rankings: list[list[SearchItem]] = []
        weights: list[float] = []
        if config.retriever in ("hybrid", "dense"):
            rankings.append(
                dense_ranking(self.store, [self.namespace], query, limit=pool, filter=None)
            )
            weights.append(config.dense_weight if config.retriever == "hybrid" else 1.0)
        if config.retriever in ("hybrid", "bm25"):
            rankings.append(
                lexical_ranking(self.store, [self.namespace], query, limit=pool, filter=None)
            )
            weights.append(config.lexical_weight if config.retriever == "hybrid" else 1.0)
        fused = reciprocal_rank_fusion(rankings, weights, rrf_k=config.rrf_k)
        scores = {item.key: score for item, score, _ in fused}
        if config.neighbour_weight:
            scores = self._spread_to_neighbours(scores)
        if config.speaker_boost:
            scores = self._boost_speaker(question, scores)
        return scores

    def _spread_to_neighbours(self, scores: dict[str, float]) -> dict[str, float]:
        # The answer to a question is often the reply to the turn that matches it.
        turns = self.conversation.turns
        spread = dict(scores)
        for dia_id, score in scores.items():
            i = self.positions[dia_id]
            for j in window_of(self.conversation, i, 1):
                if j != i:
                    neighbour = turns[j].dia_id
                    spread[neighbour] = (
                        spread.get(neighbour, 0.0) + self.config.neighbour_weight * score
                    )
        return spread

    def _boost_speaker(self, question: str, scores: dict[str, float]) -> dict[str, float]:
        speakers = named_speakers(question, self.conversation)
        if len(speakers) != 1:
            return scores
        (speaker,) = speakers
        factor = 1.0 + self.config.speaker_boost
        turns = self.conversation.turns
        return {
            d: s * factor if turns[self.positions[d]].speaker == speaker else s
            for d, s in scores.items()
        }

    def close(self) -> None:
        self.store.close()


# ---- memory mode --------------------------------------------------------------------------


def extraction_context(conversation: Conversation, turn: Turn) -> ExtractionContext:
    """The extraction context of one turn: its speaker's facts, tied to its dia_id and its
    position in the conversation."""
    from memory.extraction import ExtractionContext

    return ExtractionContext(
        source_agent="locomo",
        thread_id=conversation.sample_id,
        message_id=turn.dia_id,
        turn=conversation.turns.index(turn),
        speaker_subject=turn.speaker,
        # LoCoMo's speakers are the memory's own users (a personal assistant's), not
        # customers of a support desk: what they say of each other is trusted.
        speaker_role="staff",
    )


def raw_turn_memory(conversation: Conversation, turn: Turn, render: TurnsConfig) -> Memory:
    """The turn itself as an episodic memory, for turns the extractor finds nothing in."""
    from memory.models import Memory, Provenance

    return Memory(
        content=render_turn(turn, render),
        type="episodic",
        mechanism="implicit",
        provenance=Provenance(
            source_agent="locomo",
            thread_id=conversation.sample_id,
            message_id=turn.dia_id,
            speaker=turn.speaker,
            turn=conversation.turns.index(turn),
        ),
    )


@dataclass
class MemoryIndex:
    """One conversation ingested as memories through the manager; hits map back to turns."""

    conversation: Conversation
    config: MemoryModeConfig
    manager: MemoryManager
    store: FaissStore
    sources: dict[str, list[str]]
    """memory_id -> dia_ids it was stated in (a restatement reinforces, so it adds one)."""
    extracted_turns: int
    raw_memories: int

    @classmethod
    def build(
        cls,
        conversation: Conversation,
        config: MemoryModeConfig,
        embeddings: Embeddings,
        path: Path,
        llm: BaseChatModel | None = None,
        render: TurnsConfig | None = None,
    ) -> MemoryIndex:
        from memory.extraction import extract_memories
        from memory.manager import MemoryManager

        render = render or TurnsConfig()
        store = open_store(path, embeddings, ["content"])
        manager = MemoryManager(store, team="locomo", agent=conversation.sample_id)
        sources: dict[str, list[str]] = {}
        extracted_turns = raw = 0
        for turn in conversation.turns:
            memories = extract_memories(turn.text, extraction_context(conversation, turn), llm)
            extracted_turns += bool(memories)
            if not memories or config.raw_turns == "all":
                memories = [*memories, raw_turn_memory(conversation, turn, render)]
                raw += 1
            for memory in memories:
                stored = manager.add(memory).memory
                turns = sources.setdefault(stored.memory_id, [])
                if turn.dia_id not in turns:
                    turns.append(turn.dia_id)
        return cls(conversation, config, manager, store, sources, extracted_turns, raw)

    def rank(self, question: str, limit: int) -> list[str]:
        hits = self.manager.search(question, limit=self.config.pool, min_confidence=0.0)
        ranked: list[str] = []
        for hit in hits:
            memory = hit.memory
            origin = [memory.provenance.message_id] if memory.provenance.message_id else []
            for dia_id in [*origin, *self.sources.get(memory.memory_id, [])]:
                if dia_id not in ranked:
                    ranked.append(dia_id)
        return ranked[:limit]

    def close(self) -> None:
        self.store.close()


# ---- running ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredRun:
    """Recall of one configuration: the table, each question's result, what it cost."""

    table: RecallTable
    results: list[QuestionResult]
    seconds: float
    notes: dict[str, int] = field(default_factory=dict)


BuildRanker = Callable[[Conversation, Path], "TurnIndex | MemoryIndex"]


def select(conversations: Sequence[Conversation], quick: bool) -> list[Conversation]:
    """All conversations, or for --quick the first one with 60 evenly spaced questions.

    LoCoMo lists questions grouped by category, so evenly spaced ones cover every category
    where the first 60 would not.
    """
    if not quick:
        return list(conversations)
    first = conversations[0]
    total = len(first.questions)
    if total <= QUICK_QUESTIONS:
        return [first]
    picked = [first.questions[i * total // QUICK_QUESTIONS] for i in range(QUICK_QUESTIONS)]
    return [first.model_copy(update={"questions": tuple(picked)})]


@dataclass
class Tracker:
    """Rich progress for one run: a bar over questions, the conversation in its label."""

    progress: Progress
    task: TaskID

    def say(self, text: str) -> None:
        self.progress.update(self.task, description=text)

    def tick(self) -> None:
        self.progress.advance(self.task)


def evaluate(
    conversations: Sequence[Conversation],
    build: BuildRanker,
    *,
    ks: Sequence[int] = KS,
    tracker: Tracker | None = None,
) -> ScoredRun:
    """Build a ranker per conversation (in a temporary directory) and score its questions."""
    started = time.perf_counter()
    results: list[QuestionResult] = []
    notes: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="locomo-") as tmp:
        for conversation in conversations:
            if tracker:
                tracker.say(f"{conversation.sample_id}: indexing")
            ranker = build(conversation, Path(tmp) / conversation.sample_id)
            notes["turns"] += len(conversation.turns)
            if isinstance(ranker, MemoryIndex):
                notes["turns_with_extracted_memories"] += ranker.extracted_turns
                notes["raw_turn_memories"] += ranker.raw_memories
            if tracker:
                tracker.say(f"{conversation.sample_id}: questions")
            try:
                for question in conversation.questions:
                    ranked = ranker.rank(question.question, max(ks))
                    results.append(score_question(question, ranked, ks))
                    if tracker:
                        tracker.tick()
            finally:
                ranker.close()
    return ScoredRun(aggregate(results, ks), results, time.perf_counter() - started, dict(notes))


def turns_builder(config: TurnsConfig, embeddings: Embeddings) -> BuildRanker:
    def build(conversation: Conversation, path: Path) -> TurnIndex:
        warm(
            embeddings,
            [rewrite_query(q.question, config.query_rewrite) for q in conversation.questions],
        )
        return TurnIndex.build(conversation, config, embeddings, path)

    return build


def memory_builder(
    config: MemoryModeConfig, embeddings: Embeddings, llm: BaseChatModel | None
) -> BuildRanker:
    def build(conversation: Conversation, path: Path) -> MemoryIndex:
        warm(embeddings, [q.question for q in conversation.questions])
        return MemoryIndex.build(conversation, config, embeddings, path, llm)

    return build


# ---- ablation ------------------------------------------------------------------------------

BASELINE: Final = TurnsConfig(
    speaker=False,
    date=False,
    caption=False,
    window=0,
    neighbour_weight=0.0,
    query_rewrite="none",
    lexical_weight=1.0,
    rrf_k=60,
)
"""Plain hybrid retrieval over the raw turn text: the starting point of the ablation."""


@dataclass(frozen=True)
class AblationStep:
    name: str
    what: str
    config: TurnsConfig
    kept: bool
    """Part of the default configuration (cumulative steps), or measured and not kept."""


def _steps() -> list[AblationStep]:
    best = TurnsConfig()
    cumulative = [
        ("dense", "MiniLM dense alone, raw turn text", replace(BASELINE, retriever="dense")),
        ("bm25", "BM25 (FTS5) alone, raw turn text", replace(BASELINE, retriever="bm25")),
        ("hybrid", "dense + BM25, RRF k=60, equal weights", BASELINE),
        ("+speaker", "unit text starts with the speaker's name", replace(BASELINE, speaker=True)),
        ("+caption", "image caption appended", replace(BASELINE, speaker=True, caption=True)),
        (
            "+date",
            "session date prefixed",
            replace(BASELINE, speaker=True, caption=True, date=True),
        ),
    ]
    rendered = cumulative[-1][2]
    cumulative += [
        (
            "+strip",
            "question words removed from the query",
            replace(rendered, query_rewrite="strip"),
        ),
        (
            "+rrf_k=10",
            "sharper fusion: RRF k 60 -> 10",
            replace(rendered, query_rewrite="strip", rrf_k=10),
        ),
        (
            "+bm25x1.5",
            "weighted RRF, dense:BM25 = 1:1.5",
            replace(rendered, query_rewrite="strip", rrf_k=10, lexical_weight=1.5),
        ),
        ("+window=2", "2 turns each side indexed with each unit (default)", best),
    ]
    variants = [
        ("-window", "default without the indexed window", replace(best, window=0)),
        (
            "+neighbours",
            "0.3 of each neighbouring turn's score added at scoring",
            replace(best, neighbour_weight=0.3),
        ),
        (
            "-window +neighbours",
            "no window, neighbours' scores spread instead",
            replace(best, window=0, neighbour_weight=0.3),
        ),
        ("-strip", "default without query stripping", replace(best, query_rewrite="none")),
        ("-date", "default without the session date", replace(best, date=False)),
        ("-speaker", "default without speaker names", replace(best, speaker=False)),
        ("-caption", "default without image captions", replace(best, caption=False)),
        ("dense only", "default units, dense retrieval only", replace(best, retriever="dense")),
        ("bm25 only", "default units, BM25 only", replace(best, retriever="bm25")),
        ("window=1", "1 turn each side indexed", replace(best, window=1)),
        ("window=3", "3 turns each side indexed", replace(best, window=3)),
        (
            "window replace",
            "window text replaces the turn (no turn boost)",
            replace(best, window_index="replace"),
        ),
        ("rrf_k=20", "RRF k 20", replace(best, rrf_k=20)),
        ("rrf_k=60", "RRF k 60 (the usual constant)", replace(best, rrf_k=60)),
        ("bm25x2", "dense:BM25 = 1:2", replace(best, lexical_weight=2.0)),
        (
            "speaker boost",
            "turns of the speaker the question names x1.3",
            replace(best, speaker_boost=0.3),
        ),
        ("+facts", "rule-extracted facts as an extra key", replace(best, facts=True)),
    ]
    return [AblationStep(n, w, c, True) for n, w, c in cumulative] + [
        AblationStep(n, w, c, False) for n, w, c in variants
    ]


ABLATION: Final[list[AblationStep]] = _steps()


_FLAG_NAMES: Final[dict[str, str]] = {
    "retriever": "--retriever",
    "window": "--window",
    "window_index": "--window-index",
    "neighbour_weight": "--neighbour-weight",
    "query_rewrite": "--query-rewrite",
    "dense_weight": "--dense-weight",
    "lexical_weight": "--lexical-weight",
    "rrf_k": "--rrf-k",
    "speaker_boost": "--speaker-boost",
}
_BOOL_FLAGS: Final = ("speaker", "date", "caption", "facts")


def command_for(config: TurnsConfig) -> str:
    """The `python -m evals locomo` command that runs `config` (only non-default options)."""
    default = TurnsConfig()
    parts = ["python -m evals locomo --mode turns"]
    for f in fields(TurnsConfig):
        value, base = getattr(config, f.name), getattr(default, f.name)
        if value == base:
            continue
        if f.name in _BOOL_FLAGS:
            parts.append(f"--{'' if value else 'no-'}{f.name}")
        else:
            parts.append(f"{_FLAG_NAMES[f.name]} {value}")
    return " ".join(parts)


# ---- reports ------------------------------------------------------------------------------


def recall_row(label: str, recall: dict[str, float]) -> list[object]:
    return [label, *(recall[str(k)] for k in KS)]


def markdown_report(
    mode: Mode,
    run: ScoredRun,
    *,
    data: Path,
    conversations: Sequence[Conversation],
    settings: dict[str, object],
    ablation: list[tuple[AblationStep, ScoredRun]],
    model: str,
) -> str:
    from evals.report import markdown_table

    headers = ["", *(f"R@{k}" for k in KS)]
    lines = [
        f"# LoCoMo retrieval: {mode} mode",
        "",
        f"Turn-level evidence recall at k (percent), {run.table.questions} questions of "
        f"{len(conversations)} conversations ({', '.join(c.sample_id for c in conversations)}) "
        f"from `{data.name}`; embedder {model}; {run.seconds:.0f} s.",
        "",
        "## Overall",
        "",
        markdown_table(
            headers,
            [recall_row("ours", run.table.recall_at), recall_row("DRAGON (paper)", DRAGON_ANCHOR)],
        ),
        "",
        "DRAGON is the LoCoMo paper's figure on all 10 conversations; ours is on the split above.",
        "",
        "## Per category",
        "",
        markdown_table(
            ["category", "questions", *headers[1:]],
            [
                [name, run.table.questions_by_category[name], *(r[str(k)] for k in KS)]
                for name, r in run.table.by_category.items()
            ],
        ),
        "",
        "## Configuration",
        "",
        *(f"- `{key}`: {value}" for key, value in settings.items()),
        *(f"- {key.replace('_', ' ')}: {value}" for key, value in run.notes.items()),
    ]
    if mode == "memory":
        lines += ["", *MEMORY_MODE_NOTES]
    if ablation:
        lines += ["", *ablation_section(ablation)]
    repairs = [f"{c.sample_id} {r}" for c in conversations for r in c.evidence_repairs]
    lines += [
        "",
        "## Evidence normalisation",
        "",
        "Ids are split on `;`/`,`, spaces and stray colons removed, unparseable fragments and "
        "ids naming no turn dropped:",
        "",
        *(f"- {r}" for r in repairs or ["none in this data"]),
    ]
    return "\n".join(lines)


MEMORY_MODE_NOTES: Final = [
    "## How memories map back to turns",
    "",
    "Each turn is passed to `extract_memories` (speaker as the subject, dia_id as the "
    "message id) and every memory goes through `MemoryManager.add`. A hit maps to the turn in "
    "its `provenance.message_id` and to every later turn that reinforced or merged into it. "
    "Every turn is also stored as one episodic memory holding the rendered turn (speaker, "
    "date, caption), so a turn that yields no memory stays retrievable; with `--raw-turns "
    "uncovered` only such turns are. Retrieval is `MemoryManager.search` as the agents use it "
    "(its own fusion and scoring, min_confidence 0), 200 memories deep, mapped to turns in "
    "order until k distinct turns.",
]


def ablation_section(ablation: list[tuple[AblationStep, ScoredRun]]) -> list[str]:
    """Two tables: the cumulative path to the default, and variants measured against it."""
    from evals.report import markdown_table

    headers = ["step", "what", *(f"R@{k}" for k in KS), "ΔR@10", "command"]
    default = next((run for step, run in ablation if step.config == TurnsConfig()), None)
    path: list[list[object]] = []
    variants: list[list[object]] = []
    gains: list[tuple[str, float]] = []
    previous: float | None = None
    for step, run in ablation:
        r10 = run.table.recall_at["10"]
        against = previous if step.kept else (default.table.recall_at["10"] if default else None)
        delta = None if against is None else r10 - against
        row = [
            step.name,
            step.what,
            *(run.table.recall_at[str(k)] for k in KS),
            "" if delta is None else f"{delta:+.1f}",
            f"`{command_for(step.config)}`",
        ]
        if step.kept:
            path.append(row)
            previous = r10
            if delta is not None and step.name != "bm25":  # bm25 is a baseline, not a step
                gains.append((step.name, delta))
        else:
            variants.append(row)
    gains.sort(key=lambda gain: -gain[1])
    lines = [
        "## Ablation: what helped",
        "",
        "Cumulative steps to the default configuration, ΔR@10 against the row above "
        "(each row's command reproduces it):",
        "",
        markdown_table(headers, path),
        "",
        "R@10 gains along the path, largest first: "
        + ", ".join(f"{name} {delta:+.1f}" for name, delta in gains)
        + ".",
    ]
    if variants:
        lines += [
            "",
            "Variants of the default, ΔR@10 against the default:",
            "",
            markdown_table(headers, variants),
        ]
    return lines


def plot(path: Path, recall: dict[str, float], label: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ks = list(KS)
    ax.plot(ks, [recall[str(k)] for k in ks], marker="o", label=label)
    ax.plot(
        ks,
        [DRAGON_ANCHOR[str(k)] for k in ks],
        marker="s",
        linestyle="--",
        label="DRAGON (paper, 10 conversations)",
    )
    for k in ks:
        ax.annotate(
            f"{recall[str(k)]:.1f}",
            (k, recall[str(k)]),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=8,
        )
    ax.set_xscale("log")
    ax.minorticks_off()  # log-scale minor labels (6x10^0 ...) only clutter four k values
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k (turns retrieved)")
    ax.set_ylabel("evidence recall (%)")
    ax.set_ylim(0, 100)
    ax.set_title("LoCoMo turn-level evidence recall")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


@contextmanager
def _progress() -> Iterator[Progress]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as progress:
        yield progress


def run_locomo(
    *,
    mode: Mode = "turns",
    data: Path | None = None,
    quick: bool = False,
    turns_config: TurnsConfig | None = None,
    memory_config: MemoryModeConfig | None = None,
    ablation: bool = False,
    embeddings: Embeddings | None = None,
    cache_dir: Path | None = DEFAULT_CACHE_DIR,
    json_out: Path | None = None,
    reports: Path | None = None,
) -> dict[str, object]:
    """Run the eval, write reports/locomo_<mode>.{md,png} (and JSON), return the results."""
    from evals.report import reports_dir, write_json, write_markdown

    data = data or DEFAULT_DATA
    conversations = select(load_locomo(data), quick)
    embeddings = cached_embeddings(embeddings, cache_dir)
    turns_config = turns_config or TurnsConfig()
    memory_config = memory_config or MemoryModeConfig()
    if mode == "turns":
        settings: dict[str, object] = {**asdict(turns_config), "command": command_for(turns_config)}
        builds = [("turns", turns_builder(turns_config, embeddings))]
        if ablation:
            builds += [(s.name, turns_builder(s.config, embeddings)) for s in ABLATION]
    else:
        settings = {**asdict(memory_config)}
        llm = _extraction_llm(memory_config.extractor)
        builds = [("memory", memory_builder(memory_config, embeddings, llm))]
    runs = _run_all(conversations, builds)
    run, steps = runs[0], list(zip(ABLATION, runs[1:], strict=False))
    model = embedding_model_name(embeddings)
    result = _result_json(mode, run, data, quick, conversations, model, settings, steps)
    out_dir = reports_dir(reports)
    report = markdown_report(
        mode,
        run,
        data=data,
        conversations=conversations,
        settings=settings,
        ablation=steps,
        model=model,
    )
    write_markdown(out_dir / f"locomo_{mode}.md", report)
    plot(out_dir / f"locomo_{mode}.png", run.table.recall_at, f"ours ({mode} mode)")
    if json_out is not None:
        write_json(json_out, result)
    _print_summary(mode, run, out_dir)
    return result


def cached_embeddings(embeddings: Embeddings | None, cache_dir: Path | None) -> Embeddings:
    """The embedder (default: the embedded MiniLM), behind the on-disk cache when asked."""
    if embeddings is None:
        from memory.embeddings import make_embeddings

        embeddings = make_embeddings("embedded")
    if cache_dir is not None and not isinstance(embeddings, CachedEmbeddings):
        embeddings = CachedEmbeddings(embeddings, cache_dir)
    return embeddings


def _run_all(
    conversations: list[Conversation], builds: list[tuple[str, BuildRanker]]
) -> list[ScoredRun]:
    questions = sum(len(c.questions) for c in conversations)
    runs: list[ScoredRun] = []
    with _progress() as progress:
        for name, build in builds:
            tracker = Tracker(progress, progress.add_task(name, total=questions))
            runs.append(evaluate(conversations, build, tracker=tracker))
    return runs


def _result_json(
    mode: Mode,
    run: ScoredRun,
    data: Path,
    quick: bool,
    conversations: list[Conversation],
    model: str,
    settings: dict[str, object],
    steps: list[tuple[AblationStep, ScoredRun]],
) -> dict[str, object]:
    result: dict[str, object] = {
        "mode": mode,
        "data": str(data),
        "quick": quick,
        "conversations": [c.sample_id for c in conversations],
        "embedding_model": model,
        "settings": settings,
        **run.table.to_json(),
        "notes": run.notes,
        "seconds": round(run.seconds, 1),
        "dragon_anchor": DRAGON_ANCHOR,
        "evidence_repairs": {c.sample_id: list(c.evidence_repairs) for c in conversations},
    }
    if steps:
        result["ablation"] = [
            {
                "step": step.name,
                "what": step.what,
                "kept": step.kept,
                "command": command_for(step.config),
                "recall_at": scored.table.recall_at,
                "by_category": scored.table.by_category,
            }
            for step, scored in steps
        ]
    return result


def _extraction_llm(kind: ExtractorKind) -> BaseChatModel | None:
    if kind == "rules":
        return None
    from memory.llm import make_chat_model

    return make_chat_model()


def _print_summary(mode: Mode, run: ScoredRun, out_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"LoCoMo evidence recall ({mode} mode, {run.table.questions} questions)")
    table.add_column("")
    for k in KS:
        table.add_column(f"R@{k}", justify="right")
    table.add_row("overall", *(f"{run.table.recall_at[str(k)]:.1f}" for k in KS))
    for name in CATEGORY_NAMES.values():
        if name in run.table.by_category:
            table.add_row(name, *(f"{run.table.by_category[name][str(k)]:.1f}" for k in KS))
    table.add_row("DRAGON (paper)", *(f"{DRAGON_ANCHOR[str(k)]:.1f}" for k in KS))
    console = Console()
    console.print(table)
    console.print(f"reports: {out_dir / f'locomo_{mode}.md'}, {out_dir / f'locomo_{mode}.png'}")
