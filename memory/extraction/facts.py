"""Facts about a subject: the speaker's own, a named customer's or order's, a named person's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from memory.extraction.contact import channel_in, preference_slot
from memory.extraction.context import ExtractionContext, Found
from memory.extraction.morphology import ADVERBS, is_past, lemma, render, sentence_case
from memory.extraction.subjects import normalize_subject, subject_label
from memory.extraction.text import clean_end, wordset

_VAGUE_OBJECT = re.compile(
    r"^(?:not to (?:say|answer|share|tell|disclose|comment)|"
    r"it|that|this|these|those|them|you|your|one|either|neither|both|a different one|"
    r"the (?:\w+ )?ones?|the (?:first|second|third|last|other|former|latter|idea|new)\b.*)\b",
    re.IGNORECASE,
)
_DURABLE = re.compile(
    r"\b(?:all|every|always|whenever|any ?time|each time|from now on|in (?:the )?future|only|"
    r"never|anymore|any more|usually)\b|^to be (?:contacted|called|reached|emailed|texted|"
    r"notified|sent)\b",
    re.IGNORECASE,
)
_HABIT_VERBS = wordset(
    "eat drink smoke fly drive use shop travel answer check read own watch wear take accept "
    "carry pick work pay order buy speak"
)
_NOT_HABITS = wordset(
    "know think remember understand mind care wonder guess hope appreciate thank say mean feel "
    "try forget get see believe agree"
)
_HAVE_NOT_FACTS = wordset(
    "question questions problem problems issue issues concern concerns complaint minute moment "
    "second quick few idea doubt request query feeling meeting appointment"
)


@dataclass(frozen=True)
class _Statement:
    """A clause read as subject + adverbs + (negation or modal) + verb + object."""

    verb: str
    obj: str
    adverbs: frozenset[str]
    negated: bool
    modal: str | None
    cannot: bool = False


_STATEMENT = re.compile(
    rf"^(?P<adv>(?:(?:{ADVERBS})\s+)*)(?:(?P<aux>do not|does not|did not|cannot|will not|"
    r"would|will|can|could|should|might|may|must)\s+)?(?P<adv2>(?:(?:"
    rf"{ADVERBS})\s+)*)(?P<verb>[a-z][a-z-]*)\b\s*(?P<obj>.*)$",
    re.IGNORECASE,
)


def _statement(rest: str) -> _Statement | None:
    match = _STATEMENT.match(rest)
    if match is None:
        return None
    adverbs = frozenset((match.group("adv") + " " + match.group("adv2")).lower().split())
    aux = (match.group("aux") or "").lower()
    return _Statement(
        verb=lemma(match.group("verb")),
        obj=clean_end(match.group("obj")),
        adverbs=adverbs,
        negated=aux.endswith("not") or aux == "cannot" or bool({"never", "longer"} & adverbs),
        modal=aux if aux and not aux.endswith("not") and aux != "cannot" else None,
        cannot=aux == "cannot",
    )


class _Slot(NamedTuple):
    """What a fact says about its subject: the slot it fills (if any) and its kind."""

    attribute: str | None
    value: str | None
    tag: str


_TIERS = "premium|gold|silver|platinum|vip|business|prime|plus|pro|basic|standard"
_PROFILE_BE: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "membership",
        re.compile(
            rf"^(?:a|an)\s+({_TIERS})\s+(?:member|customer|subscriber|user|account holder)\b", re.I
        ),
    ),
    (
        "diet",
        re.compile(
            r"^(?:a\s+)?(vegetarian|vegan|pescatarian|gluten-free|lactose intolerant|"
            r"kosher|halal)$",
            re.I,
        ),
    ),
    ("allergy", re.compile(r"^allergic to (.+)$", re.I)),
    ("location", re.compile(r"^(?:based|located) in (.+)$", re.I)),
)
_TRAIT = re.compile(
    r"^(?:left-handed|right-handed|colou?r-?blind|deaf|hard of hearing|blind|pregnant|"
    r"retired|diabetic|self-employed|a (?:student|teacher|nurse|doctor|developer|"
    r"small business owner|new customer|returning customer))$",
    re.IGNORECASE,
)


def _be_fact(obj: str, negated: bool, *, strict: bool) -> _Slot | None:
    """The slot of "<subject> is <obj>", or None when it says nothing lasting.

    `strict` (for "I am ...") admits only known profile facts: "I'm sorry", "I'm looking for
    my receipt" and "I'm a bit confused" are how people talk, not facts about them.
    """
    for attribute, pattern in _PROFILE_BE:
        if found := pattern.match(obj):
            value = found.group(1)
            if attribute in {"membership", "diet"}:
                value = value.lower()
            # "not a premium member" fills no slot: what would its value be?
            return _Slot(None, None, "profile") if negated else _Slot(attribute, value, "profile")
    if _TRAIT.match(obj):
        return _Slot(None, None, "profile")
    if strict or not obj or _VAGUE_OBJECT.match(obj) or (len(obj.split()) < 2 and not negated):
        return None
    if re.match(r"^\w+ing\b", obj):
        return None  # "is waiting on hold": what happens now, not a lasting fact
    return _Slot(None, None, "profile")


_PREFERENCE_VERBS = frozenset({"prefer", "rather", "like", "love", "enjoy"})


def _verb_fact(st: _Statement) -> _Slot | None:
    """The slot of "<subject> <verb> <object>", or None when it is not a lasting fact."""
    if st.modal and not (st.modal == "would" and st.verb in {"prefer", "rather"}):
        return None
    if st.cannot and st.verb not in {"eat", "drink"}:
        return None  # "I cannot use the app" reports a problem; "I cannot eat gluten" is diet
    if not st.obj or _VAGUE_OBJECT.match(st.obj) or st.verb in _NOT_HABITS:
        return None
    if st.verb in _PREFERENCE_VERBS or st.verb in {"hate", "dislike"}:
        slot = preference_slot(st.obj, st.negated or st.verb in {"hate", "dislike"})
        return _Slot(*slot, "preference")
    if st.verb in {"want", "need"}:
        # Mostly requests for now ("I want a refund"); a lasting want says so.
        durable = _DURABLE.search(st.obj) or st.adverbs & {"only", "always", "never"}
        if not (st.negated or durable):
            return None
        return _Slot(*preference_slot(st.obj, st.negated), "preference")
    if st.verb == "live" and (place := re.match(r"^in (.+)$", st.obj, re.IGNORECASE)):
        return (
            _Slot(None, None, "profile") if st.negated else _Slot("location", place[1], "profile")
        )
    if st.verb == "speak":
        words = st.obj.split()
        language = next((w for w in words if w[:1].isupper()), words[0])  # "fluent German"
        return (
            _Slot(None, None, "profile") if st.negated else _Slot("language", language, "profile")
        )
    if st.verb == "have":
        head = re.match(r"^(?:a|an|one|two|three|four|five|\d+)\s+([\w-]+)", st.obj, re.I)
        if st.negated or head is None or head.group(1).lower() in _HAVE_NOT_FACTS:
            return None
        return _Slot(None, None, "profile")
    habitual = st.adverbs & {"always", "usually", "typically", "generally", "normally", "never"}
    if st.verb in _HABIT_VERBS and (habitual or st.negated or st.verb in {"work", "use"}):
        return _Slot(None, None, "habit")
    return None


_MY_ATTRIBUTE = re.compile(
    r"^my\s+(?:(?:new|current|updated)\s+)?(?P<attr>[\w' -]{2,40}?)\s+"
    r"(?P<verb>is now|is|are|has changed to|changed to|was changed to)\s+(?P<value>.+)$",
    re.IGNORECASE,
)
_POSSESSIVE_ATTRIBUTE = re.compile(
    r"^(?P<owner>.+?)'s\s+(?P<attr>[\w -]{2,30}?)\s+(?:is|are)\s+(?P<value>.+)$", re.IGNORECASE
)
_NOT_ATTRIBUTES = wordset(
    "day question problem issue concern point bad guess pleasure fault reason hope "
    "understanding mistake worry request complaint apologies answer thing goal plan idea "
    "feeling opinion experience order package refund delivery parcel shipment"
)
_VAGUE_VALUE = re.compile(
    r"^(?:fine|good|great|ok|okay|here|there|this|that|it|wrong|correct|right|the same|over|"
    r"done|important|going\b.*|about\b.*|not\b.*|on file|in the system|a mess)$",
    re.IGNORECASE,
)
_PREDICATE = re.compile(
    r"^(?:allergic|afraid|married|divorced|single|engaged|pregnant|sick|ill|late|broken|lost|"
    r"missing|away|out|back|available|unavailable|busy|closed|open|expired|blocked|locked|"
    r"frozen|overdue|due|retired|unemployed|disabled)\b",
    re.IGNORECASE,
)
_ATTRIBUTE_SYNONYMS = {
    "e-mail": "email",
    "email address": "email",
    "phone": "phone_number",
    "mobile": "phone_number",
    "cell": "phone_number",
    "time zone": "timezone",
    "preferred language": "language",
    "preferred contact method": "contact_preference",
    "preferred contact": "contact_preference",
    "contact method": "contact_preference",
    "contact preference": "contact_preference",
    "preferred channel": "contact_preference",
    "date of birth": "birthday",
    "full name": "name",
}


_SLOT_QUALIFIERS = {
    "billing": "billing",
    "invoice": "billing",
    "shipping": "shipping",
    "delivery": "shipping",
    "postal": "postal",
    "mailing": "postal",
    "home": "home",
    "work": "work",
    "office": "work",
    "business": "work",
    "personal": "personal",
    "private": "personal",
    "school": "school",
}


def _attribute_name(phrase: str, value: str) -> str:
    """A snake_case slot name, with common synonyms merged so updates supersede."""
    words = phrase.lower().replace("'s", "").replace("-", " ").split()
    key = " ".join(words)
    if key in _ATTRIBUTE_SYNONYMS:
        return _ATTRIBUTE_SYNONYMS[key]
    # "billing address" and "shipping address" (work and personal email) are two facts:
    # the qualifier stays in the slot so one never supersedes the other.
    qualifier = next((w for w in words[:-1] if w in _SLOT_QUALIFIERS), None)
    prefix = f"{_SLOT_QUALIFIERS[qualifier]}_" if qualifier else ""
    if words[-1] in {"email", "e-mail"} or ("@" in value and words[-1] == "address"):
        return f"{prefix}email"
    if {"phone", "mobile", "cell", "telephone"} & set(words) and re.search(r"\d{3}", value):
        return f"{prefix}phone_number"
    if words[-1] == "address":
        return f"{prefix}address"
    return "_".join(re.sub(r"[^a-z0-9 ]", "", key).split())


def _attribute_slot(attr: str, value: str) -> _Slot | None:
    """The slot of "my <attr> is <value>", or None for talk such as "my question is ..."."""
    if attr.lower().strip() in _NOT_ATTRIBUTES or len(attr.split()) > 4:
        return None
    value = clean_end(value)
    if not value or _VAGUE_VALUE.match(value):
        return None
    if _PREDICATE.match(value):
        return _Slot(None, None, "profile")  # "my son is allergic to nuts": a fact, not a slot
    value = re.sub(r"^(?:on|at|in)\s+(?=\S)", "", value, flags=re.IGNORECASE)
    attribute = _attribute_name(attr, value)
    if attribute == "contact_preference":
        value = channel_in(value) or value
    else:
        value = re.sub(r"^(?:a|an|the)\s+", "", value, flags=re.IGNORECASE)
    return _Slot(attribute, value, "profile")


_RELATIVE_TIME = re.compile(
    r"\b(?:today|tonight|tomorrow|yesterday|this (?:morning|afternoon|evening|week)|"
    r"next (?:week|month|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b",
    re.IGNORECASE,
)
_BEST_WAY = re.compile(
    r"^the (?:best|easiest|preferred) way to (?:reach|contact) me is (?:by|via|through|over)?"
    r"\s*(.+)$",
    re.IGNORECASE,
)
_I_AM_NAME = re.compile(r"^[Ii] am ([A-Z][a-z]+(?: [A-Z][a-z]+){0,2})$")


def detect_speaker_fact(clause: str, ctx: ExtractionContext) -> Found | None:
    """The speaker's own fact or preference: "my email is ...", "I prefer email"."""
    speaker = ctx.speaker_subject
    label = subject_label(speaker)
    if best := _BEST_WAY.match(clause):
        channel = channel_in(best.group(1)) or clean_end(best.group(1))
        content = f"The best way to reach {label} is by {channel}."
        return Found("entity", content, speaker, "contact_preference", channel, "preference")
    if mine := _MY_ATTRIBUTE.match(clause):
        slot = _attribute_slot(mine.group("attr"), mine.group("value"))
        if slot is None:
            return None
        what = "name" if slot.attribute == "name" else mine.group("attr")
        verb = "are" if mine.group("verb").lower() == "are" else "is"
        content = sentence_case(f"{label}'s {what} {verb} {clean_end(mine.group('value'))}")
        if _RELATIVE_TIME.search(mine.group("value")):
            return Found("episodic", content, speaker, tag="event")  # "my flight is tomorrow"
        return Found("entity", content, speaker, *slot)
    if name := _I_AM_NAME.match(clause):
        content = sentence_case(f"{label}'s name is {name.group(1)}")
        return Found("entity", content, speaker, "name", name.group(1), "profile")
    if am := re.match(r"^i am (not\s+)?(.+)$", clause, re.IGNORECASE):
        slot = _be_fact(clean_end(am.group(2)), bool(am.group(1)), strict=True)
    elif said := re.match(r"^i\s+(.+)$", clause, re.IGNORECASE):
        st = _statement(said.group(1))
        slot = _verb_fact(st) if st else None
    else:
        return None
    if slot is None:
        return None
    return Found("entity", render(clause, speaker, ctx), speaker, *slot)


_PERSON = re.compile(
    r"^(?:[Mm]y (?P<role>colleague|coworker|co-worker|manager|boss|wife|husband|partner|son|"
    r"daughter|friend|assistant|mother|father|mom|dad|brother|sister) )?"
    r"(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+){0,2})\s+(?P<rest>(?:(?:always|usually|only|never|"
    r"really)\s+)*(?:prefers|likes|loves|hates|dislikes|speaks|lives in|lives at|works at|"
    r"works for|is allergic to|does not like|does not want)\b.*)$"
)
_PERSON_POSSESSIVE = re.compile(
    r"^(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+){0,2})'s\s+(?P<attr>[\w -]{2,30}?)\s+(?:is|are)\s+"
    r"(?P<value>.+)$"
)
"""A named person's slot: "Maya Chen's phone number is 555-0101" (their fact, not policy)."""


def detect_person_fact(clause: str, ctx: ExtractionContext) -> Found | None:
    """A preference or profile fact about a named person: "my colleague Ben prefers Slack",
    "Maya Chen's phone number is 555-0101"."""
    if (owned := _PERSON_POSSESSIVE.match(clause)) and not _not_a_name(owned.group("name")):
        slot = _attribute_slot(owned.group("attr"), owned.group("value"))
        if slot is None:
            return None
        subject = f"person:{owned.group('name').lower()}"
        return Found("entity", render(clause, subject, ctx), subject, *slot)
    match = _PERSON.match(clause)
    if match is None or (match.group("role") is None and _not_a_name(match.group("name"))):
        return None
    st = _statement(match.group("rest"))
    slot = _verb_fact(st) if st else None
    if slot is None and (allergy := re.match(r"^is allergic to (.+)$", match.group("rest"))):
        slot = _Slot("allergy", clean_end(allergy.group(1)), "profile")
    if slot is None and (home := re.match(r"^lives at (.+)$", match.group("rest"))):
        slot = _Slot("address", clean_end(home.group(1)), "profile")
    if slot is None:
        return None
    subject = f"person:{match.group('name').lower()}"
    return Found("entity", render(clause, subject, ctx), subject, *slot)


def _not_a_name(name: str) -> bool:
    return any(word in _NOT_NAMES for word in name.split())


_NOT_NAMES = wordset(
    "Shipping Refunds Returns Premium Everyone Nobody Someone Support Billing Delivery Customers "
    "Members Students Orders Nothing Everything Gold Silver Platinum"
)
NAMED_SUBJECT = re.compile(
    r"^(?P<subject>(?:customer|client|order|ticket|account|invoice|case|shipment|package)"
    r"\s*(?:#|no\.?\s*|number\s+)?\s*\d[\w-]*|employee\s*#?\s*(?:[a-z]{1,3}-)?\d[\w-]*|"
    r"the customer)(?P<rest>'s\s+.+|\s+.+)$",
    re.IGNORECASE,
)


def _named_statement_slot(rest: str) -> _Slot | None:
    """The slot of what follows a named subject ("is a premium member", "prefers email")."""
    if be := re.match(r"^(?:is|are)\s+(not\s+)?(.+)$", rest, re.IGNORECASE):
        return _be_fact(clean_end(be.group(2)), bool(be.group(1)), strict=False)
    st = _statement(rest)
    if st is None or st.modal or is_past(st.verb):
        return None  # past events are episodic; modal ones are not facts
    if slot := _verb_fact(st):
        return slot
    # An agent's note about a customer ("customer 90210 orders on Mondays") is a fact in any
    # present-tense verb, except the transient wants and the thinking verbs.
    if st.verb in _NOT_HABITS or st.verb in {"want", "need"} or not st.obj:
        return None
    return None if _VAGUE_OBJECT.match(st.obj) else _Slot(None, None, "profile")


def detect_subject_fact(clause: str, ctx: ExtractionContext) -> Found | None:
    """A fact about a named subject: "customer #12345 prefers email", "order #2020 is ..."."""
    match = NAMED_SUBJECT.match(clause)
    if match is None:
        return None
    named, rest = match.group("subject"), match.group("rest")
    if named.lower() == "the customer":
        if not ctx.speaker_subject.startswith("customer:"):
            return None  # "the customer" is only identifiable when the caller says who speaks
        subject = ctx.speaker_subject
    else:
        subject = normalize_subject(named) or named.lower()
    if rest.startswith("'s"):
        owned = _POSSESSIVE_ATTRIBUTE.match(clause)
        slot = _attribute_slot(owned.group("attr"), owned.group("value")) if owned else None
    else:
        slot = _named_statement_slot(rest.strip())
    if slot is None:
        return None
    return Found("entity", render(clause, subject, ctx), subject, *slot)
