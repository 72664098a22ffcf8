"""Requests about memory itself: "don't remember this call", "forget my phone number".

Such a sentence is an instruction to the memory layer, never a fact to store. Three kinds:

- ``not_this_turn``: "don't save that", "this is off the record": nothing from this turn
  is stored;
- ``not_this_thread``: "please don't remember anything about this call/conversation":
  nothing from this turn or any later turn of the thread is stored;
- ``forget``: "forget my phone number" (the named slots of the speaker) or "delete
  everything you know about me" (all of the speaker's facts): removed everywhere (see
  `memory.team.TeamMemory.forget_subject`). The speaker can only ask this for themself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

ForgetKind = Literal["not_this_turn", "not_this_thread", "forget"]

_DONT = r"(?:please\s+)?(?:do not|don't|dont|never|no need to|you shouldn't|you should not)\s+"
_KEEP = (
    r"(?:remember|save|store|record|keep|log|memori[sz]e|write down|note down|hold on to|"
    r"retain)"
)
# "I don't remember my order number" is about the speaker's memory, not ours.
_NOT_REMEMBERED = re.compile(
    rf"(?<!\bi )(?<!\bwe )\b{_DONT}{_KEEP}\b(?P<what>[^.?!;]*)", re.IGNORECASE
)
# "forget that ..." asks to forget; "don't forget that ..." asks to remember.
_OFF_RECORD = re.compile(
    r"\b(?:off the record|just between us|"
    r"(?<!not )(?<!n't )(?<!dont )forget (?:i said|what i (?:just )?said|that|this)\b)",
    re.IGNORECASE,
)
_THREAD_WORDS = re.compile(
    r"\b(?:call|conversation|chat|session|thread|talk|discussion|anything (?:from|about) today)\b",
    re.IGNORECASE,
)
_VERB = r"(?:forget|delete|erase|remove|wipe|purge|drop|clear)"
_EVERYTHING = re.compile(
    rf"\b{_VERB}\s+(?:me\b|everything|all\b|any(?:thing)?\b|my (?:data|personal data|"
    r"information|info|details|profile|records?|account data)\b)|\bright to be forgotten\b",
    re.IGNORECASE,
)
_ABOUT_ME = re.compile(
    r"\b(?:about|on|of|for)\s+me\b|\bmy (?:data|personal data|information|info|details|"
    r"profile|records?|account data)\b|\bforget me\b|\bright to be forgotten\b",
    re.IGNORECASE,
)
_SLOT = re.compile(
    rf"\b(?P<verb>{_VERB})\s+(?:my|the customer's)\s+(?P<slots>[a-z][a-z ,-]{{1,60}}?)"
    r"(?P<records>\s+(?:from (?:your|the) (?:records?|memory|files|system|database)))?"
    r"(?=\s+(?:from|you|that|please|now|too|as well)\b|\s*[.?!;]|$)",
    re.IGNORECASE,
)
_SLOT_SPLIT = re.compile(r"\s*(?:,|\band\b)\s*(?:my\s+)?", re.IGNORECASE)
_SLOT_NAMES = {
    "phone": "phone_number",
    "phone number": "phone_number",
    "number": "phone_number",
    "mobile": "phone_number",
    "mobile number": "phone_number",
    "cell": "phone_number",
    "cell number": "phone_number",
    "telephone number": "phone_number",
    "email": "email",
    "e-mail": "email",
    "email address": "email",
    "e-mail address": "email",
    "address": "address",
    "home address": "address",
    "shipping address": "address",
    "contact preference": "contact_preference",
    "birthday": "birthday",
    "date of birth": "birthday",
    "name": "name",
}


@dataclass(frozen=True)
class ForgetRequest:
    kind: ForgetKind
    attributes: tuple[str, ...] | None = field(default=None)
    """For ``forget``: the speaker's slots to forget; None means everything about them."""
    text: str = ""
    """The words that asked it."""


def slot_name(phrase: str) -> str:
    """ "phone number" -> "phone_number", as the extraction rules name slots."""
    key = " ".join(phrase.lower().replace("'s", "").split())
    return _SLOT_NAMES.get(key) or "_".join(re.sub(r"[^a-z0-9 ]", "", key).split())


def detect_forget_request(text: str) -> ForgetRequest | None:
    """The memory request in `text`, if it makes one (see the module docstring)."""
    if match := _NOT_REMEMBERED.search(text):
        what = match.group("what")
        kind: ForgetKind = "not_this_thread" if _THREAD_WORDS.search(what) else "not_this_turn"
        return ForgetRequest(kind, text=match.group(0).strip())
    if (everything := _EVERYTHING.search(text)) and _ABOUT_ME.search(text):
        return ForgetRequest("forget", None, everything.group(0).strip())
    names: list[str] = []
    asked: list[str] = []
    for match in _SLOT.finditer(text):
        phrases = [p for p in _SLOT_SPLIT.split(match.group("slots")) if p.strip()]
        # "forget my X" is about memory; "delete my order" is a request to act, unless
        # what is named is personal data or "from your records" says where.
        about_memory = match.group("verb").lower() == "forget" or match.group("records")
        known = [p for p in phrases if " ".join(p.lower().split()) in _SLOT_NAMES]
        chosen = phrases if about_memory else known
        if chosen:
            names += [slot_name(p) for p in chosen]
            asked.append(match.group(0).strip())
    if names:
        return ForgetRequest("forget", tuple(dict.fromkeys(names)), "; ".join(asked))
    if match := _OFF_RECORD.search(text):
        return ForgetRequest("not_this_turn", text=match.group(0).strip())
    return None
