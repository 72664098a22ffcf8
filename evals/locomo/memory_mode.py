"""LoCoMo memory mode: each conversation ingested through extraction and the memory manager,
ranked by `MemoryManager.search` as the agents call it; hits map back to turns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from langchain_core.embeddings import Embeddings

from evals.locomo.cache import warm
from evals.locomo.turns import TurnsConfig, extraction_context, open_store, render_turn
from evals.locomo_data import (
    Conversation,
    Turn,
)
from memory.store import FaissStore

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from evals.locomo.scoring import BuildRanker
    from memory.manager import MemoryManager
    from memory.models import Memory


ExtractorKind = Literal["rules", "llm"]
RawTurns = Literal["uncovered", "all"]


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


def memory_builder(
    config: MemoryModeConfig, embeddings: Embeddings, llm: BaseChatModel | None
) -> BuildRanker:
    def build(conversation: Conversation, path: Path) -> MemoryIndex:
        warm(embeddings, [q.question for q in conversation.questions])
        return MemoryIndex.build(conversation, config, embeddings, path, llm)

    return build


def extraction_llm(kind: ExtractorKind) -> BaseChatModel | None:
    if kind == "rules":
        return None
    from memory.llm import make_chat_model

    return make_chat_model()
