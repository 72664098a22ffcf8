"""Episodes are events: dated, and never a slot that a later one overwrites.

- `detect_occurrence`: "Customer #12345 had a 3rd delivery delay", "I had another
  problem with the router": a numbered or repeated occurrence is an event too.
- `date_found`: a memory found in a clause that named a date gets that date stated in
  its content (absolute, so it reads right later) and becomes an episode when it told of
  a past moment; an episode without a date phrase is dated by the message's own day,
  so the same kind of event reported on two days stays two memories.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from memory.extraction.context import ExtractionContext, Found
from memory.extraction.dates import DateMention, day_mention
from memory.extraction.morphology import render
from memory.extraction.subjects import normalize_subject

_OCCURRENCE = re.compile(
    r"^(?P<who>(?:customer|client|order|account|ticket)\s*#?\s*\d[\w-]*|i|we|my\s+\w+|"
    r"[A-Z][a-z]+)\s+(?:had|has had|experienced|suffered|reported|got|hit)\s+"
    r"(?:a|an|another|one more|(?:his|her|their|my|our|its)(?:\s+\w+)?)\s+"
    r"(?:(?:\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|new|further)\s+)?"
    r"(?:[\w-]+\s+){0,2}?"
    r"(?:delay|problem|issue|outage|failure|complaint|incident|error|crash|breakdown|"
    r"damage|loss|refund|return|charge|late delivery|missed delivery)s?\b",
    re.IGNORECASE,
)


def detect_occurrence(clause: str, ctx: ExtractionContext) -> Found | None:
    """ "Customer #12345 had a 3rd delivery delay": one occurrence of something."""
    match = _OCCURRENCE.match(clause)
    if match is None:
        return None
    who = match.group("who").lower()
    subject = normalize_subject(clause)
    if subject is None and (who == "i" or who.startswith("my ")):
        subject = ctx.speaker_subject
    return Found("episodic", render(clause, subject, ctx), subject=subject, tag="event")


def date_found(found: Found, event: DateMention | None, reference: datetime) -> Found:
    """`found` with its date stated (see the module docstring). A slot whose value is the
    date itself ("my wife's birthday is March 3rd") is left as said."""
    if event is not None and found.value and event.text.lower() in found.value.lower():
        return found
    if event is None:
        if found.type != "episodic":
            return found
        event = day_mention(reference)
        stated = f"reported {event.absolute()}"
    else:
        stated = event.absolute()
    past = event.when <= reference
    memory_type = found.type
    if past and found.type in ("semantic", "entity") and not found.attribute:
        memory_type = "episodic"
    content = found.content.rstrip(" .")
    said = re.compile(re.escape(event.text), re.IGNORECASE) if event.text else None
    if said is not None and said.search(content):
        # The phrase as said ("yesterday", "on Friday") becomes the date it meant.
        content = said.sub(lambda _: event.absolute(), content, count=1)
        content = content[:1].upper() + content[1:] + "."
    elif event.absolute() not in content:
        content = f"{content} ({stated})."
    return replace(found, type=memory_type, content=content)


def event_time(found: Found, event: DateMention | None, reference: datetime) -> datetime | None:
    """When the memory found happened: the date named, or the message's day for an episode."""
    if event is not None:
        return event.when
    return day_mention(reference).when if found.type == "episodic" else None
