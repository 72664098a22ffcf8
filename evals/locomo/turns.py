"""LoCoMo turns mode: every dialog turn one unit in a FAISS store, ranked by its own hybrid
pipeline (the ablation's subject), and what both modes share: how a turn is rendered and
the extraction context of one turn."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from langchain_core.embeddings import Embeddings
from langgraph.store.base import PutOp, SearchItem

from evals.locomo.cache import warm
from evals.locomo_data import (
    Conversation,
    Turn,
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
    from evals.locomo.scoring import BuildRanker
    from memory.extraction import ExtractionContext


Retriever = Literal["hybrid", "dense", "bm25"]
QueryRewrite = Literal["none", "strip"]
WindowIndex = Literal["extra", "replace"]
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


def turns_builder(config: TurnsConfig, embeddings: Embeddings) -> BuildRanker:
    def build(conversation: Conversation, path: Path) -> TurnIndex:
        warm(
            embeddings,
            [rewrite_query(q.question, config.query_rewrite) for q in conversation.questions],
        )
        return TurnIndex.build(conversation, config, embeddings, path)

    return build
