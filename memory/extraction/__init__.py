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

import re
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
    """Memories found in `text`: by `llm` when given (rules as its fallback), else by rules.

    Control characters and lone surrogates in the message are not content (a memory
    refuses them): they are dropped here, so a message carrying terminal escapes still
    yields its facts instead of failing the turn.
    """
    text = _printable(text)
    if llm is None:
        return RuleExtractor().extract(text, ctx)
    return LLMExtractor(llm, RuleExtractor()).extract(text, ctx)


_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
"""ANSI CSI sequences (colours, screen clears) and OSC ones (window titles)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    valid = text.encode("utf-8", "ignore").decode("utf-8")  # drops lone surrogates
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", valid))


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
