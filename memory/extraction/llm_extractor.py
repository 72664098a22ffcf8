"""Extraction by a chat model asked for JSON, validated, with the rules as its fallback."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memory.extraction.context import ExtractionContext, Found
from memory.extraction.morphology import sentence_case
from memory.extraction.rules import RuleExtractor, deduplicate, to_memory
from memory.extraction.subjects import normalize_subject
from memory.extraction.text import clean_end, expand, split_explicit, split_sentences, strip_fillers
from memory.models import Mechanism, Memory, MemoryType

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

logger = logging.getLogger(__name__)


class CandidateMemory(BaseModel):
    """One memory proposed by the LLM, before it is checked and completed."""

    model_config = ConfigDict(extra="ignore")

    content: str = Field(min_length=3, description="The memory as one self-contained sentence.")
    type: MemoryType
    subject: str | None = None
    attribute: str | None = None
    value: str | None = None
    mechanism: Literal["explicit", "implicit", "inferred"] = "implicit"
    keywords: list[str] = Field(default_factory=list)


class CandidateMemories(BaseModel):
    """The LLM's whole answer."""

    model_config = ConfigDict(extra="ignore")

    memories: list[CandidateMemory] = Field(max_length=20)


_SPEAKER_ALIASES = frozenset({"user", "me", "i", "speaker", "the user", "customer", "the customer"})


class LLMExtractor:
    """Extraction by a chat model asked for JSON, validated; the rules when that fails.

    No tool calling or `with_structured_output` is needed, so small local models work: the
    prompt asks for JSON and pydantic validates it.
    """

    def __init__(self, llm: BaseChatModel, fallback: RuleExtractor | None = None) -> None:
        self.llm = llm
        self.fallback = fallback or RuleExtractor()

    def extract(self, text: str, ctx: ExtractionContext) -> list[Memory]:
        if not isinstance(text, str):
            raise TypeError(f"extraction needs text as a str, got {type(text).__name__}")
        if not text.strip():
            return []
        # The validated structured call every LLM step uses (memory.llm): a failed call or
        # an invalid reply is logged there and comes back as None. Imported here: the LLM
        # layer (LangChain's models, llama.cpp) costs seconds of start-up to every importer
        # of memory.extraction, and only this call needs it.
        from memory.llm_calls import structured_call
        from nodes.prompts import extraction_prompt

        parsed = structured_call(
            self.llm, CandidateMemories, extraction_prompt(text), step="extraction"
        )
        if parsed is None:
            logger.warning("extraction: LLM output invalid, using rules")
            return self.fallback.extract(text, ctx)
        try:
            memories = [self._from_candidate(c, text, ctx) for c in parsed.memories]
        except (ValidationError, ValueError) as error:
            logger.warning("extraction: LLM output invalid, using rules (%s)", error)
            return self.fallback.extract(text, ctx)
        grounded = [m for m in memories if _is_grounded(m, text)]
        if memories and not grounded:
            logger.warning("extraction: LLM output invalid, using rules (not found in the text)")
            return self.fallback.extract(text, ctx)
        return deduplicate(grounded)

    @staticmethod
    def _from_candidate(candidate: CandidateMemory, text: str, ctx: ExtractionContext) -> Memory:
        subject = _llm_subject(candidate.subject, ctx)
        # Small models over-claim "explicit"; only a real command earns its confidence.
        mechanism: Mechanism = candidate.mechanism
        if mechanism == "explicit" and not _mentions_explicit_command(text):
            mechanism = "implicit"
        attribute = _snake(candidate.attribute) if subject and candidate.attribute else None
        found = Found(
            type=candidate.type,
            content=sentence_case(candidate.content),
            subject=subject,
            attribute=attribute,
            value=clean_end(candidate.value) if attribute and candidate.value else None,
            tag="llm",
        )
        memory = to_memory(found, mechanism, ctx)
        extra = [k.lower() for k in candidate.keywords if k and k.lower() not in memory.keywords]
        memory.keywords = (memory.keywords + extra)[:12]
        return memory


def _llm_subject(raw: str | None, ctx: ExtractionContext) -> str | None:
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if raw.lower() in _SPEAKER_ALIASES or raw == ctx.speaker_subject:
        return ctx.speaker_subject
    if normalized := normalize_subject(raw):
        return normalized
    if re.fullmatch(r"[a-z]+:[\w-]+", raw.lower()):
        return raw.lower()
    return None  # free-text subjects are too unstable to supersede on


def _snake(text: str) -> str | None:
    words = re.sub(r"[^a-z0-9 ]", " ", text.lower()).split()
    return "_".join(words) or None


def _mentions_explicit_command(text: str) -> bool:
    return any(
        split_explicit(strip_fillers(s))[0] for s in split_sentences(expand(text)) if s.strip()
    )


def _is_grounded(memory: Memory, text: str) -> bool:
    """Whether the memory was read from the text rather than made up.

    Every number or identifier must occur in the text, and at least half of the content
    words (compared on their first four letters, so "prefers" finds "prefer").
    """
    source = text.lower()
    source_stems = {w[:4] for w in re.findall(r"[a-z0-9]+", source)}
    words = [w for w in memory.keywords if len(w) >= 3 or any(c.isdigit() for c in w)]
    if not words:
        return True
    if any(re.sub(r"^#", "", w) not in source for w in words if any(c.isdigit() for c in w)):
        return False
    found = sum(1 for w in words if w[:4] in source_stems or w in source)
    return found * 2 >= len(words)
