"""A-MEM notes: the keywords, tags and one-line context that describe a memory.

One annotator for every writer: extraction describes what it found with it, and the
manager fills whatever a caller left empty (asking the LLM first when it has one), so a
memory reads the same whichever path stored it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from memory.models import MAX_CONTEXT_CHARS, Mechanism, Memory

if TYPE_CHECKING:  # LangChain's model classes cost ~1 s of start-up; only annotations here
    from langchain_core.language_models import BaseChatModel

MAX_KEYWORDS = 12
MAX_TAGS = 8

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "not",
        "no",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "user",
        "user's",
        "their",
        "them",
        "they",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "us",
        "you",
        "your",
        "i",
        "me",
        "my",
        "so",
        "than",
        "then",
        "there",
        "here",
        "when",
        "which",
        "who",
        "what",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "also",
        "just",
        "only",
        "very",
        "into",
        "over",
        "about",
        "after",
        "before",
        "up",
        "out",
        "again",
        "once",
        "all",
        "any",
        "each",
    ]
)
_HOW: dict[Mechanism, str] = {
    "explicit": "asked to remember",
    "implicit": "stated",
    "inferred": "inferred",
    "synced": "synced",
}


class Note(BaseModel):
    """What the LLM may add to a memory note."""

    keywords: list[str] = Field(default_factory=list, max_length=MAX_KEYWORDS)
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    context: str = Field(default="", max_length=200)


def keywords(content: str, limit: int = MAX_KEYWORDS) -> list[str]:
    """The content words of a memory, in order, without stopwords or repeats."""
    words: list[str] = []
    for token in re.findall(r"[a-z0-9][a-z0-9_@.#:$%'-]*", content.lower()):
        token = token.rstrip(".,:;'").removesuffix("'s")
        if not 2 <= len(token) <= MAX_NOTE_WORD or token in _STOPWORDS or token in words:
            continue
        words.append(token)
    return words[:limit]


def rule_tags(memory: Memory) -> list[str]:
    """Topics from the record itself: type, family, subject kind and slot."""
    tags: list[str] = [memory.type, memory.family]
    if memory.subject:
        tags.append(memory.subject.split(":")[0])
    if memory.attribute:
        tags.append(memory.attribute)
    return tags


def rule_context(memory: Memory) -> str:
    """One line on how the memory came to be: "entity memory about user stated to alex"."""
    about = f" about {memory.subject}" if memory.subject else ""
    where = f" in thread {memory.provenance.thread_id}" if memory.provenance.thread_id else ""
    how = _HOW[memory.mechanism]
    return f"{memory.type} memory{about} {how} to {memory.provenance.source_agent}{where}"


def llm_note(memory: Memory, llm: BaseChatModel) -> Note | None:
    """The LLM's note for `memory`, validated; None when its answer is unusable."""
    from memory.llm_calls import structured_call

    return structured_call(
        llm,
        Note,
        "Describe this memory for later retrieval as JSON with keywords (salient "
        "words), tags (topics) and context (one short sentence on the situation).\n"
        f"Memory ({memory.type}): {memory.content}",
        step="memory note",
    )


def annotate(memory: Memory, llm: BaseChatModel | None = None) -> Memory:
    """`memory` with its empty note fields filled: by `llm` when given, else by rules."""
    if memory.keywords and memory.tags and memory.context:
        return memory
    note = llm_note(memory, llm) if llm is not None else None
    fallback = note or Note()
    return memory.model_copy(
        update={
            "keywords": memory.keywords or _words(fallback.keywords) or keywords(memory.content),
            "tags": memory.tags or _words(fallback.tags) or _words(rule_tags(memory)),
            "context": (memory.context or fallback.context or rule_context(memory))[
                :MAX_CONTEXT_CHARS
            ],
        }
    )


MAX_NOTE_WORD = 64
"""A keyword or tag is a word or a short phrase: a longer token (a 300-character
nickname) is not one, and a record's tags hold at most 200 characters each."""


def _words(words: list[str]) -> list[str]:
    return [w for w in words if 0 < len(w) <= MAX_NOTE_WORD]
