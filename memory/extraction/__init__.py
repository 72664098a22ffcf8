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

Importing the package loads none of its modules: each name below loads its module on
first use (PEP 562), so a caller of one small module (`memory.extraction.dates` in every
search) does not pay for compiling the rules' patterns and building the LLM output models,
which a CLI search never runs.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: LangChain's model classes cost seconds of start-up
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

    from memory.extraction.context import ExtractionContext
    from memory.extraction.llm_extractor import LLMExtractor
    from memory.extraction.rules import RuleExtractor
    from memory.extraction.subjects import normalize_subject
    from memory.models import Memory

__all__ = [
    "ExtractionContext",
    "LLMExtractor",
    "RuleExtractor",
    "extract_from_messages",
    "extract_memories",
    "normalize_subject",
]

_LAZY = {
    "ExtractionContext": "memory.extraction.context",
    "LLMExtractor": "memory.extraction.llm_extractor",
    "RuleExtractor": "memory.extraction.rules",
    "normalize_subject": "memory.extraction.subjects",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found directly from now on
    return value


def extract_memories(
    text: str, ctx: ExtractionContext, llm: BaseChatModel | None = None
) -> list[Memory]:
    """Memories found in `text`: by `llm` when given (rules as its fallback), else by rules.

    Control characters and lone surrogates in the message are not content (a memory
    refuses them): they are dropped here, so a message carrying terminal escapes still
    yields its facts instead of failing the turn.
    """
    from memory.extraction.rules import RuleExtractor

    text = _printable(text)
    if llm is None:
        return RuleExtractor().extract(text, ctx)
    from memory.extraction.llm_extractor import LLMExtractor

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
    from memory.extraction.rules import deduplicate

    memories: list[Memory] = []
    for message in messages:
        if message.type != "human":
            continue
        turn_ctx = replace(ctx, message_id=message.id or ctx.message_id)
        memories.extend(extract_memories(message.text, turn_ctx, llm))
    return deduplicate(memories)
