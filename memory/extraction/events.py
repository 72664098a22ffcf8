"""Episodic memories: specific events ("my order #881 arrived damaged")."""

from __future__ import annotations

import re

from memory.extraction.context import ExtractionContext, Found
from memory.extraction.morphology import ADVERBS, is_past, render
from memory.extraction.subjects import normalize_subject
from memory.extraction.text import FIRST_PERSON_WORD, wordset

_TIME_LEAD = re.compile(
    r"^(?:yesterday|today|this (?:morning|afternoon|week)|earlier(?: today)?|last "
    r"(?:week|month|night|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b,?\s*",
    re.IGNORECASE,
)
_EVENT_NOUNS = wordset(
    "order orders package parcel delivery shipment refund payment card charge item items product "
    "laptop phone app account subscription invoice courier driver technician replacement box "
    "router website site bill email password device"
)
_PERSONAL_THINGS = wordset(
    "order orders package parcel delivery shipment refund payment card charge item items "
    "product subscription invoice bill replacement box"
)
_EVENT_STATE = (
    r"(?:late|delayed|lost|damaged|missing|broken|stuck|wrong|stolen|empty|cancell?ed|"
    r"declined|\w+ed|left|sent|paid|taken|given)"
)
_EVENT_VERB = (
    rf"(?:was|were|has been|have been|got|is still|is) {_EVENT_STATE}|arrived|came|broke|"
    r"stopped|crashed|failed|froze|disappeared|went missing|did not arrive|has not arrived|"
    r"have not arrived|has not been \w+|showed up|logged|lost|bounced|expired|experienced|"
    r"reported|complained|requested|received|returned"
)
_SPEAKER_EVENT = re.compile(
    rf"^i\s+(?:(?:{ADVERBS})\s+)*(?:was \w+|were \w+|received|returned|ordered|bought|"
    r"purchased|cancell?ed|called|emailed|contacted|tried|reported|paid|lost|got|booked|"
    r"missed|submitted|filed|requested|never (?:got|received)|did not (?:get|receive)|"
    r"have not (?:got|gotten|received|heard)|have been waiting|had to|upgraded|downgraded|"
    r"moved|opened|signed up|subscribed|unsubscribed|spoke|talked)\b\s+\S+",
    re.IGNORECASE,
)
_THING_EVENT = re.compile(
    rf"^(?P<det>my|the|our)\s+(?P<np>[\w#'-]+(?:\s+[\w#'-]+){{0,4}}?)\s+"
    rf"(?:(?:{ADVERBS})\s+)*(?:{_EVENT_VERB})\b",
    re.IGNORECASE,
)
_ID_LEAD = re.compile(
    r"^(?:customer|client|employee|order|ticket|account|invoice|case|shipment|package)\s*#?\s*\d[\w-]*"
    rf"\s+(?:(?:{ADVERBS})\s+)*(?P<verb>[a-z]+)(?:\s+(?P<next>[a-z]+))?",
    re.IGNORECASE,
)
_TEAM_EVENT = re.compile(
    rf"^we\s+(?:(?:{ADVERBS})\s+)*(?:resolved|replaced|refunded|shipped|sent|fixed|escalated|"
    r"contacted|called|issued|credited|reshipped|cancell?ed|upgraded|processed|closed|"
    r"reopened|helped|emailed)\b",
    re.IGNORECASE,
)
_STATE = re.compile(rf"^{_EVENT_STATE}$", re.IGNORECASE)


def _head_noun(noun_phrase: str) -> str:
    """ "refund for order #7001" -> "refund"; "refund tool" -> "tool"."""
    before = re.split(r"\s+(?:for|of|from|to|with|in|on|at)\s+", noun_phrase.lower())[0]
    words = [w for w in before.split() if not re.match(r"^[#\d]", w)]  # "order #881"
    return words[-1] if words else ""


def _id_event(core: str) -> bool:
    """ "order #881 was shipped", "customer #5000 called yesterday": past, not a state."""
    lead = _ID_LEAD.match(core)
    if lead is None:
        return False
    verb, after = lead.group("verb").lower(), (lead.group("next") or "").lower()
    if verb in {"was", "were", "got"} or (verb in {"has", "have"} and after == "been"):
        return bool(_STATE.match(after)) or after == "been"
    if verb == "is":
        return after in {"late", "delayed", "lost", "missing", "damaged", "stuck"}
    if verb in {"did", "has", "have"}:
        return after == "not"
    return is_past(verb) and verb != "had"


def detect_event(clause: str, ctx: ExtractionContext) -> Found | None:
    """A specific event: "my order #881 arrived damaged", "we replaced customer #2468's router"."""
    core = _TIME_LEAD.sub("", clause)
    subject = normalize_subject(clause)
    thing = _THING_EVENT.match(core)
    if thing and _head_noun(thing.group("np")) not in _EVENT_NOUNS:
        thing = None
    speaker_event = _SPEAKER_EVENT.match(core) is not None
    if speaker_event or (thing and thing.group("det").lower() != "our"):
        # The speaker's package, delivery or card, unless another subject is named.
        head = _head_noun(thing.group("np")) if thing else ""
        personal = speaker_event or head in _PERSONAL_THINGS or FIRST_PERSON_WORD.search(clause)
        subject = subject or (ctx.speaker_subject if personal else None)
    elif not (thing or _id_event(core) or _TEAM_EVENT.match(core)):
        return None
    return Found("episodic", render(clause, subject, ctx), subject=subject, tag="event")
