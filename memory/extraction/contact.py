"""Contact channels and how the speaker wants to be reached."""

from __future__ import annotations

import re

from memory.extraction.context import ExtractionContext, Found
from memory.extraction.morphology import sentence_case
from memory.extraction.subjects import subject_label
from memory.extraction.text import clean_end

_CHANNELS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sms", re.compile(r"\b(?:sms|texts?|text messages?|texting)\b", re.IGNORECASE)),
    ("email", re.compile(r"\be-?mails?\b", re.IGNORECASE)),
    ("phone", re.compile(r"\b(?:phone(?: calls?)?|calls?|telephone|calling)\b", re.IGNORECASE)),
    ("whatsapp", re.compile(r"\bwhatsapp\b", re.IGNORECASE)),
    ("chat", re.compile(r"\b(?:live )?chat\b", re.IGNORECASE)),
    ("mail", re.compile(r"\b(?:post|letters?|postal mail|snail mail)\b", re.IGNORECASE)),
)


def channel_in(text: str) -> str | None:
    """The first contact channel named in `text` (email, phone, sms, ...)."""
    hits = [(m.start(), name) for name, rx in _CHANNELS if (m := rx.search(text))]
    return min(hits)[1] if hits else None


def preference_slot(obj: str, negated: bool) -> tuple[str | None, str | None]:
    """The slot a stated preference fills; a negated one names no slot (what is the value?)."""
    if negated:
        return None, None
    if seat := re.search(r"\b(aisle|window)\b", obj, re.IGNORECASE):
        return "seat_preference", seat.group(1).lower()
    if channel := channel_in(obj):
        return "contact_preference", channel
    return None, None


_CONTACT_ME = re.compile(
    r"^(?:please\s+)?(?:only\s+)?(?P<verb>contact|reach|call|email|text|message) me"
    r"(?:\s+only)?(?:\s+(?:by|via|through|over|on)\s+(?P<channel>.+))?$",
    re.IGNORECASE,
)
_DO_NOT_CONTACT = re.compile(
    r"^(?:please\s+)?(?P<neg>do not|never) (?P<verb>call|phone|ring|text|email|message|contact)"
    r" me\b\s*(?P<when>.*)$",
    re.IGNORECASE,
)
_REACH_ME_AT = re.compile(
    r"^you can (?:always\s+)?(?:reach|contact|call|text|email) me (?:at|on|via)\s+(?P<where>.+)$",
    re.IGNORECASE,
)
_BETTER_NOW = re.compile(
    r"^(?P<what>[\w -]{2,30}?) (?:is|works|would be) (?:much |a lot |way )?better"
    r"(?: for me)?(?: now| these days| from now on)$",
    re.IGNORECASE,
)
_PASSIVE = {
    "call": "called",
    "phone": "called",
    "ring": "called",
    "text": "texted",
    "email": "emailed",
    "message": "messaged",
    "contact": "contacted",
}


def detect_contact_instruction(clause: str, ctx: ExtractionContext) -> Found | None:
    """How to contact the speaker, phrased as a request: a standing preference all the same.

    "Contact me by email only", "Never call me on weekends", "You can reach me at 555-0199".
    A bare "call me" or "please don't call me" is about now, so it needs "only", "never",
    or a when ("after 8pm") to count.
    """
    speaker = ctx.speaker_subject
    label = subject_label(speaker)
    if (better := _BETTER_NOW.match(clause)) and (channel := channel_in(better.group("what"))):
        # "WhatsApp is better now": a changed preference, the old one retracted by the slot
        content = sentence_case(f"{label} now prefers {channel}")
        return Found("entity", content, speaker, "contact_preference", channel, "preference")
    if reach := _REACH_ME_AT.match(clause):
        where = clean_end(reach.group("where"))
        attribute = (
            "email" if "@" in where else "phone_number" if re.search(r"\d{3}", where) else None
        )
        if attribute is None:
            return None
        content = sentence_case(f"{label} can be reached at {where}")
        return Found("entity", content, speaker, attribute, where, "profile")
    if dont := _DO_NOT_CONTACT.match(clause):
        when = clean_end(dont.group("when"))
        if dont.group("neg").lower() != "never" and not when:
            return None
        passive = _PASSIVE[dont.group("verb").lower()]
        never = "never wants" if dont.group("neg").lower() == "never" else "does not want"
        content = sentence_case(f"{label} {never} to be {passive} {when}")
        return Found("entity", content, speaker, tag="preference")
    contact = _CONTACT_ME.match(clause)
    if contact is None or not re.search(r"\b(?:only|always)\b", clause, re.IGNORECASE):
        return None
    channel = channel_in(contact.group("channel") or contact.group("verb"))
    if channel is None:
        return None
    content = sentence_case(f"{label} wants to be contacted by {channel} only")
    return Found("entity", content, speaker, "contact_preference", channel, "preference")
