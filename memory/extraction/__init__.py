"""Memory extraction: finding what in a message is worth remembering.

The seed's first lesson was that extracting too eagerly fills the store with noise that
ruins retrieval, so the rules here are selective: explicit commands ("remember that ...")
and clear statements of a fact, preference, policy, event, tool usage or procedure. They
skip questions, hypotheticals, hedges, requests to the agent and small talk, and keep a
negation as a negation ("I don't like phone calls" never becomes "likes phone calls").

`RuleExtractor` is deterministic and always available. `LLMExtractor` asks a chat model for
JSON (no tool calling needed), validates it with pydantic, and falls back to the rules when
the output is unusable. `extract_memories` and `extract_from_messages` are the entry points
used by the graph and by session compaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from memory.extraction.context import ExtractionContext
from memory.extraction.llm_extractor import LLMExtractor
from memory.extraction.rules import RuleExtractor, deduplicate
from memory.extraction.subjects import normalize_subject
from memory.models import Memory

if TYPE_CHECKING:  # annotations only: LangChain's model classes cost seconds of start-up
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

__all__ = [
    "ExtractionContext",
    "LLMExtractor",
    "RuleExtractor",
    "extract_from_messages",
    "extract_memories",
    "normalize_subject",
]


def extract_memories(
    text: str, ctx: ExtractionContext, llm: BaseChatModel | None = None
) -> list[Memory]:
    """Memories found in `text`: by `llm` when given (rules as its fallback), else by rules."""
    if llm is None:
        return RuleExtractor().extract(text, ctx)
    return LLMExtractor(llm, RuleExtractor()).extract(text, ctx)


def extract_from_messages(
    messages: Sequence[BaseMessage], ctx: ExtractionContext, llm: BaseChatModel | None = None
) -> list[Memory]:
    """Memories from what the user said (human turns only), each tied to its message."""
    memories: list[Memory] = []
    for message in messages:
        if message.type != "human":
            continue
        turn_ctx = replace(ctx, message_id=message.id or ctx.message_id)
        memories.extend(extract_memories(message.text, turn_ctx, llm))
    return deduplicate(memories)
