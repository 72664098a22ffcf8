"""The rule order and `RuleExtractor`: most specific shapes first, precision over recall."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime

from memory import trust
from memory.extraction.contact import detect_contact_instruction
from memory.extraction.context import ExtractionContext, Found
from memory.extraction.dates import resolve_dates
from memory.extraction.episodes import date_found, detect_occurrence, event_time
from memory.extraction.events import detect_event
from memory.extraction.facts import detect_person_fact, detect_speaker_fact, detect_subject_fact
from memory.extraction.morphology import render
from memory.extraction.policies import detect_policy
from memory.extraction.procedures import detect_workflow
from memory.extraction.skills import detect_skill
from memory.extraction.subjects import normalize_subject
from memory.extraction.text import (
    FIRST_PERSON_WORD,
    IMPERATIVE,
    clean_end,
    expand,
    is_hedged,
    is_hypothetical,
    is_negated,
    is_question,
    is_small_talk,
    split_clauses,
    split_explicit,
    split_sentences,
    strip_fillers,
)
from memory.models import (
    MAX_CONTENT_CHARS,
    MAX_FIELD_CHARS,
    Mechanism,
    Memory,
    MemoryType,
    Provenance,
    SourceRole,
)
from memory.notes import annotate

logger = logging.getLogger(__name__)


def _fallback_explicit(body: str, ctx: ExtractionContext) -> Found | None:
    """What the speaker asked to remember, when no finer rule recognised its shape."""
    subject = normalize_subject(body)
    if subject is None and FIRST_PERSON_WORD.search(body):
        subject = ctx.speaker_subject
    timed = re.search(
        r"\b(?:yesterday|today|tomorrow|tonight|(?:next|last|this) (?:week|month|year|time)|"
        r"(?:on|next|last) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
        r"at \d|\d{1,2}(?::\d\d)?\s*(?:am|pm))\b",
        body,
        re.IGNORECASE,
    )
    about_someone = subject or re.search(r"\bthe (?:customer|client)\b", body, re.IGNORECASE)
    memory_type: MemoryType = "episodic" if timed else "entity" if about_someone else "semantic"
    return Found(memory_type, render(body, subject, ctx), subject=subject, tag="noted")


Detector = Callable[[str, ExtractionContext], "Found | None"]


def _detect(clause: str, ctx: ExtractionContext) -> Found | None:
    """The first rule that recognises the clause, most specific shapes first."""
    if is_hedged(clause) or is_small_talk(clause):
        return None
    if found := detect_workflow(clause):
        return found
    if is_hypothetical(clause):
        return None
    if found := detect_skill(clause) or detect_contact_instruction(clause, ctx):
        return found
    if IMPERATIVE.match(clause):
        return None
    detectors: tuple[Detector, ...] = (
        detect_event,
        detect_occurrence,
        detect_speaker_fact,
        detect_subject_fact,
        detect_person_fact,
        lambda text, _ctx: detect_policy(text),
    )
    for detector in detectors:
        if found := detector(clause, ctx):
            return found
    return None


class RuleExtractor:
    """Deterministic, selective extraction by patterns (precision over recall)."""

    def extract(self, text: str, ctx: ExtractionContext) -> list[Memory]:
        if not isinstance(text, str):
            raise TypeError(f"extraction needs text as a str, got {type(text).__name__}")
        memories: list[Memory] = []
        for sentence in split_sentences(expand(text)):
            if is_question(strip_fillers(sentence)):
                continue
            memories.extend(self._from_sentence(sentence, ctx))
        return deduplicate(memories)

    def _from_sentence(self, sentence: str, ctx: ExtractionContext) -> list[Memory]:
        explicit, body = split_explicit(clean_end(strip_fillers(sentence)))
        if body is None:
            return []
        mechanism: Mechanism = "explicit" if explicit else "implicit"
        memories = []
        reference = ctx.reference_time
        for clause in split_clauses(body) or [body]:
            clause = clean_end(strip_fillers(clause))
            # The rules read the clause as said, else without its date phrases ("On Jan
            # 5 we resolved ..."); the date comes back, absolute, in the content
            # (memory/extraction/episodes.py).
            dated = resolve_dates(clause, reference)
            found = _detect(clause, ctx)
            if found is None and dated.event:
                found = _detect(dated.undated, ctx)
            if found is None and explicit and not (is_hedged(clause) or is_hypothetical(clause)):
                found = _fallback_explicit(clause, ctx)
            if found is not None:
                when = event_time(found, dated.event, reference)
                found = date_found(found, dated.event, reference)
                if not fits_one_memory(found):
                    logger.info(
                        "extraction: a statement too long for one memory is not kept "
                        "(%d characters)",
                        len(found.content),
                    )
                    continue
                memories.append(to_memory(found, mechanism, ctx, event_time=when))
        return memories


def fits_one_memory(found: Found) -> bool:
    """Whether a finding is one memory's worth (memory.models' limits): a message is
    untrusted text, and a statement too long to store must not fail the turn."""
    fields = (found.subject, found.attribute, found.value)
    return len(found.content) <= MAX_CONTENT_CHARS and all(
        len(field) <= MAX_FIELD_CHARS for field in fields if field
    )


def to_memory(
    found: Found,
    mechanism: Mechanism,
    ctx: ExtractionContext,
    *,
    event_time: datetime | None = None,
) -> Memory:
    """The memory of a finding: who said it (role and subject), how, and how far trusted."""
    tags = [found.tag] + (["negated"] if is_negated(found.content) else [])
    memory = Memory(
        content=found.content,
        type=found.type,
        scope=ctx.scope,
        mechanism=mechanism,
        subject=found.subject,
        attribute=found.attribute if found.subject else None,
        value=found.value if found.subject and found.attribute else None,
        asserted_by=asserter(mechanism, ctx.speaker_role),
        provenance=Provenance(
            source_agent=ctx.source_agent,
            thread_id=ctx.thread_id,
            message_id=ctx.message_id,
            speaker=ctx.speaker_subject,
            turn=ctx.turn,
        ),
        tags=tags,
        event_time=event_time,
    )
    memory.confidence = trust.initial_confidence(memory)
    return annotate(memory)


def asserter(mechanism: Mechanism, speaker_role: SourceRole) -> SourceRole:
    """Who asserts a memory found in a speaker's words: the speaker; what a model inferred
    from staff's or a system's words is the agent's inference (less sure than what they
    said), but from a customer's it stays the customer's (their rules, never more)."""
    if mechanism == "inferred" and speaker_role != "customer":
        return "agent"
    return speaker_role


def deduplicate(memories: list[Memory]) -> list[Memory]:
    """One memory per statement; a later restatement of a slot replaces an earlier one."""
    seen: dict[tuple[str, str | None, str], Memory] = {}
    for memory in memories:
        slot = memory.attribute or memory.content.lower()
        seen[(memory.type, memory.subject, slot)] = memory
    return list(seen.values())
