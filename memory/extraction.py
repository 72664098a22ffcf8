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

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memory.llm import first_json_object
from memory.models import (
    Mechanism,
    Memory,
    MemoryType,
    Provenance,
    Scope,
    default_confidence,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ExtractionContext",
    "LLMExtractor",
    "RuleExtractor",
    "extract_from_messages",
    "extract_memories",
    "normalize_subject",
]


@dataclass(frozen=True)
class ExtractionContext:
    """Who said the text, where, and whose facts first-person statements are."""

    source_agent: str
    """The agent that received the text and will own the memories."""
    thread_id: str | None = None
    message_id: str | None = None
    speaker_subject: str = "user"
    """The subject of the speaker's own facts ("my email is ..."), e.g. "customer:12345"."""
    scope: Scope = "shared"

    def __post_init__(self) -> None:
        if not isinstance(self.source_agent, str) or not self.source_agent.strip():
            raise ValueError(f"source_agent must be a non-empty string, got {self.source_agent!r}")
        if not isinstance(self.speaker_subject, str) or not self.speaker_subject.strip():
            raise ValueError(
                f"speaker_subject must be a non-empty string, got {self.speaker_subject!r}"
            )
        if self.scope not in ("private", "shared"):
            raise ValueError(f"scope must be 'private' or 'shared', got {self.scope!r}")


# --------------------------------------------------------------------------- subjects


def _wordset(words: str) -> frozenset[str]:
    """A set of words written as one string, to keep long vocabularies readable."""
    return frozenset(words.split())


_ID_SUBJECT = re.compile(
    r"\b(customer|client|order|ticket|account|invoice|case|shipment|package)"
    r"\s*(?:#|no\.?\s*|number\s+|id\s*:?\s*)?\s*(\d[\w-]*)",
    re.IGNORECASE,
)
_KIND_ALIASES = {"client": "customer"}


def normalize_subject(text: str) -> str | None:
    """The first identified subject in `text`: "customer #12345" -> "customer:12345"."""
    match = _ID_SUBJECT.search(text)
    if match is None:
        return None
    kind = match.group(1).lower()
    return f"{_KIND_ALIASES.get(kind, kind)}:{match.group(2).lower()}"


def _subject_label(subject: str) -> str:
    """How a subject reads inside a sentence: "user" -> "the user", "order:881" -> "order #881"."""
    if ":" in subject:
        kind, _, ident = subject.partition(":")
        return f"{kind} #{ident}"
    if subject[:1].isupper():  # a name ("Caroline") reads without an article
        return subject
    return f"the {subject}"


# --------------------------------------------------------------------------- text preparation

_TYPOGRAPHY = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), replacement)
    for pattern, replacement in (
        (r"\bcan't\b", "cannot"),
        (r"\bwon't\b", "will not"),
        (r"\b(\w+)n't\b", r"\1 not"),
        (r"\b(i)'m\b", r"\1 am"),
        (r"\b(we|you|they)'re\b", r"\1 are"),
        (r"\b(i|we|you|they)'ve\b", r"\1 have"),
        (r"\b(i|we|you|they|he|she)'d\b", r"\1 would"),
        (r"\b(i|we|you|they|he|she|it)'ll\b", r"\1 will"),
        (r"\b(it|that|what|there|here|who|where|how)'s\b", r"\1 is"),
        (r"\blet's\b", "let us"),
    )
)


def _expand(text: str) -> str:
    text = text.translate(_TYPOGRAPHY).replace("\u2192", "->").replace("\u2014", " - ")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return re.sub(r"[ \t]+", " ", text).strip()


_LIST_ITEM = re.compile(r"^(?:\(?\d{1,2}[.)]|[-*\u2022]|step\s+\d{1,2}:?)\s+", re.IGNORECASE)


def _join_list_lines(text: str) -> list[str]:
    """Lines, with a list's items joined to the line that introduces them (one procedure)."""
    blocks: list[str] = []
    bullet = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        item = _LIST_ITEM.match(line)
        if item and blocks:
            if item.group().strip() in {"-", "*", "\u2022"}:
                bullet += 1
                line = f"{bullet}) {line[item.end() :]}"
            blocks[-1] = f"{blocks[-1]} {line}"
            continue
        bullet = 0
        blocks.append(line)
    return blocks


_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "st", "jr", "sr", "vs", "etc", "approx"})
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")


def _sentences(text: str) -> list[str]:
    """Sentences; "Dr. Patel" and numbered steps ("1. verify 2. check") stay whole."""
    sentences: list[str] = []
    for block in _join_list_lines(text):
        start = 0
        for end in _SENTENCE_END.finditer(block):
            last = block[start : end.start()].rsplit(" ", 1)[-1].lower()
            following = block[end.end() :].lstrip()[:1]
            if end.group() == "." and (
                last in _ABBREVIATIONS
                or (last.isdigit() and len(last) <= 2 and following.islower())
            ):
                continue
            sentences.append(block[start : end.end()].strip())
            start = end.end()
        if block[start:].strip():
            sentences.append(block[start:].strip())
    return [s for s in sentences if s]


_FILLER = re.compile(
    r"^(?:(?:hi|hello|hey|hi there|ok|okay|oh|well|yes|yeah|no|sure|great|thanks|thank you|"
    r"sorry|my bad)\s*[,!:;.-]+|(?:also|and|so|actually|btw|by the way|fyi|just so you know|"
    r"just fyi|plus)\b[\s,:;-]*|[-*\u2022]\s+)\s*",
    re.IGNORECASE,
)


def _strip_fillers(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, _FILLER.sub("", text, count=1)
    return text.strip()


def _clauses(sentence: str) -> list[str]:
    """Split "my name is Priya and I prefer email" into its two statements."""
    parts = re.split(r",?\s+(?:and|but)\s+(?=(?:i|my)\b)", sentence, flags=re.IGNORECASE)
    return [part.strip(" ,;") for part in parts if part.strip(" ,;")]


_POLITE_END = re.compile(
    r"[,\s]+(?:thank you|thanks|please|cheers)(?: so much| a lot| very much)?[.!]*$", re.I
)


def _clean_end(text: str) -> str:
    text = _POLITE_END.sub("", text.strip())
    return text.rstrip(".!;,: ").strip()


# --------------------------------------------------------------------------- filters

_QUESTION_START = re.compile(
    r"^(?:what|where|why|who|whom|which|whose|"
    r"how (?:do|does|did|can|could|should|would|will|is|are|was|much|many|long|often|come)|"
    r"(?:do|does|did|is|are|was|were|can|could|would|will|should|shall|have|has|am|may|might)"
    r"\s+(?:you|i|we|they|he|she|it|my|our|your|the|this|that|there|customer|order|any))\b",
    re.IGNORECASE,
)
_HYPOTHETICAL_START = re.compile(
    r"^(?:if|suppose|supposing|imagine|hypothetically|what if|in case|assuming|unless)\b",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"\b(?:maybe|perhaps|possibly|probably|might|i think|i guess|i suppose|i believe|"
    r"not sure|i wonder|wondering|if i were|if we were|if i was|in theory|i may)\b",
    re.IGNORECASE,
)
# "I'd prefer" and "I'd rather" state a preference; any other "would" is conditional or a
# polite request ("I'd like a refund"), neither of which is a lasting fact.
_CONDITIONAL = re.compile(r"\bwould\b(?!\s+(?:prefer|rather)\b)", re.IGNORECASE)
_IMPERATIVE = re.compile(
    r"^(?:please\s+)?(?:cancel|send|call|check|transfer|tell|let|look|email|text|update|find|"
    r"help|show|give|get|change|book|schedule|reply|forward|escalate|connect|put|hold|stop|"
    r"make|add|remove|delete|open|close|fix|track|confirm|resend|reset|contact|reach|ring|"
    r"message|notify|remind|set|move|switch|upgrade|downgrade|arrange|hurry|wait|pick|read|"
    r"go|see|never mind|forget)\b",
    re.IGNORECASE,
)


def _is_question(sentence: str) -> bool:
    return sentence.rstrip().endswith("?") or bool(_QUESTION_START.match(sentence))


def _is_hedged(clause: str) -> bool:
    return bool(_HEDGE.search(clause))


def _is_hypothetical(clause: str) -> bool:
    return bool(_HYPOTHETICAL_START.match(clause) or _CONDITIONAL.search(clause))


_NEGATION = re.compile(r"\b(?:not|never|no longer|cannot|nobody|no one)\b", re.IGNORECASE)


def _is_negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


# --------------------------------------------------------------------------- explicit commands

_EXPLICIT = re.compile(
    r"^(?:please\s+)?(?:remember|do not forget|never forget|(?:please\s+)?note|make a note|"
    r"take note|keep in mind|bear in mind|for future reference|for the record|save this|"
    r"commit to memory)(?:\s+(?:that|this))?\s*[:,-]?\s*",
    re.IGNORECASE,
)
# "Remember to ..." is an instruction for now; "remember when/what ..." asks about the past.
_NOT_A_FACT_AFTER_COMMAND = re.compile(
    r"^(?:to|when|what|where|how|if|whether|who|why|it|this|that|me)\b", re.IGNORECASE
)


def _split_explicit(clause: str) -> tuple[bool, str | None]:
    """(is explicit, the statement to remember); None when the command holds no fact."""
    match = _EXPLICIT.match(clause)
    if match is None:
        return False, clause
    body = clause[match.end() :].strip()
    if len(body.split()) < 3 or _NOT_A_FACT_AFTER_COMMAND.match(body):
        return True, None
    return True, body


# --------------------------------------------------------------------------- rendering

_ADVERBS = (
    "really|usually|always|generally|typically|normally|strongly|much|also|only|still|"
    "actually|definitely|often|never|rarely|sometimes|mostly|just|now|already"
)
_MODALS = frozenset(
    {"would", "will", "can", "cannot", "could", "should", "might", "may", "must", "shall"}
)
_IRREGULAR_PAST = _wordset(
    "was were got had did made sent paid lost left bought took went came saw told gave "
    "broke found felt kept spent thought brought caught put ran rang spoke stole wrote "
    "gotten given taken broken stolen written spoken shipped been"
)
_THIRD_PERSON = {"am": "is", "have": "has", "do": "does", "be": "is", "are": "is"}
_EED_VERBS = _wordset("need feed bleed breed speed proceed exceed succeed heed seed")


def _is_past(verb: str) -> bool:
    """A past form, by ending: "arrived", "lost" (but "need" is present)."""
    return verb in _IRREGULAR_PAST or (verb.endswith("ed") and verb not in _EED_VERBS)


def _conjugate(verb: str) -> str:
    """The third-person form of a verb after "I": prefer -> prefers, do -> does."""
    lower = verb.lower()
    if lower in _THIRD_PERSON:
        return _THIRD_PERSON[lower]
    if lower in _MODALS or _is_past(lower):
        return verb
    if re.search(r"(?:s|x|z|ch|sh|o)$", lower):
        return verb + "es"
    if re.search(r"[^aeiou]y$", lower):
        return verb[:-1] + "ies"
    return verb + "s"


_I_THEN_VERB = re.compile(rf"\b[Ii]\s+((?:(?:{_ADVERBS})\s+)*)([A-Za-z-]+)")


def _third_person(text: str, label: str) -> str:
    """Rewrite the speaker's words about themselves as a statement about `label`."""
    text = _I_THEN_VERB.sub(lambda m: f"{label} {m.group(1)}{_conjugate(m.group(2))}", text)
    text = re.sub(r"\b(?:my|mine)\b", f"{label}'s", text, flags=re.IGNORECASE)
    text = re.sub(r"\b(?:me|myself)\b", label, text, flags=re.IGNORECASE)
    return re.sub(r"\b[Ii]\b(?!\.)", label, text)


def _sentence_case(text: str) -> str:
    text = _clean_end(text)
    return text[:1].upper() + text[1:] + "." if text else text


def _render(clause: str, subject: str | None, ctx: ExtractionContext) -> str:
    """A self-contained sentence: the speaker's "I" and "my" rewritten as their subject."""
    label = _subject_label(ctx.speaker_subject)
    clause = _third_person(clause, label)
    if subject == ctx.speaker_subject and ctx.speaker_subject.startswith("customer:"):
        clause = re.sub(r"\bthe customer\b", label, clause, flags=re.IGNORECASE)
    return _sentence_case(clause)


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class _Found:
    """One memory found by a rule, before provenance and confidence are attached."""

    type: MemoryType
    content: str
    subject: str | None = None
    attribute: str | None = None
    value: str | None = None
    tag: str = "fact"


_CHANNELS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sms", re.compile(r"\b(?:sms|texts?|text messages?|texting)\b", re.IGNORECASE)),
    ("email", re.compile(r"\be-?mails?\b", re.IGNORECASE)),
    ("phone", re.compile(r"\b(?:phone(?: calls?)?|calls?|telephone|calling)\b", re.IGNORECASE)),
    ("whatsapp", re.compile(r"\bwhatsapp\b", re.IGNORECASE)),
    ("chat", re.compile(r"\b(?:live )?chat\b", re.IGNORECASE)),
    ("mail", re.compile(r"\b(?:post|letters?|postal mail|snail mail)\b", re.IGNORECASE)),
)


def _channel(text: str) -> str | None:
    """The first contact channel named in `text` (email, phone, sms, ...)."""
    hits = [(m.start(), name) for name, rx in _CHANNELS if (m := rx.search(text))]
    return min(hits)[1] if hits else None


def _preference_slot(obj: str, negated: bool) -> tuple[str | None, str | None]:
    """The slot a stated preference fills; a negated one names no slot (what is the value?)."""
    if negated:
        return None, None
    if seat := re.search(r"\b(aisle|window)\b", obj, re.IGNORECASE):
        return "seat_preference", seat.group(1).lower()
    if channel := _channel(obj):
        return "contact_preference", channel
    return None, None


# --------------------------------------------------------------------------- procedures

_STEP_MARKER = re.compile(
    r"(?:(?<=\s)|^)(?:\((\d{1,2})\)|(\d{1,2})[.)]|step\s+(\d{1,2}):?)\s+", re.I
)
_NOT_IMPERATIVE = _wordset(
    "i we you he she it they my our your their his her the a an this that there"
)
_PROCEDURE_HEADER = re.compile(
    r"^((?:to|when|whenever|if|once|after|before|for)\b[^,:]{3,}),\s*(.+)$", re.IGNORECASE
)
_STEP_JOINER = re.compile(
    r"\s*(?:,|;)\s*(?:and\s+)?(?:(?:then|finally|lastly|next|afterwards|after that)\b,?\s*)?"
    r"|\s+(?:and\s+)?(?:then|finally|lastly|afterwards|after that)\b,?\s*",
    re.IGNORECASE,
)


def _clean_step(step: str) -> str:
    lead = r"^(?:and|then|first|firstly|finally|lastly|next)\b,?\s*"
    step = re.sub(lead, "", step.strip(), flags=re.IGNORECASE)
    return _clean_end(re.sub(r"\s+first$", "", step, flags=re.IGNORECASE))


def _imperative_steps(steps: Sequence[str]) -> list[str] | None:
    cleaned = [_clean_step(step) for step in steps]
    cleaned = [step for step in cleaned if step]
    if len(cleaned) < 2:
        return None
    for step in cleaned:
        first = step.split()[0].lower()
        if first in _NOT_IMPERATIVE or len(step.split()) > 14:
            return None
    return cleaned


def _numbered(clause: str) -> tuple[str, list[str]] | None:
    marks = list(_STEP_MARKER.finditer(clause))
    numbers = [int(next(g for g in m.groups() if g)) for m in marks]
    if len(marks) < 2 or numbers != list(range(1, len(marks) + 1)):
        return None
    ends = [m.start() for m in marks[1:]] + [len(clause)]
    steps = [clause[m.end() : end] for m, end in zip(marks, ends, strict=True)]
    return clause[: marks[0].start()], steps


def _arrowed(clause: str) -> tuple[str, list[str]] | None:
    parts = re.split(r"\s*(?:->|=>)\s*", clause)
    if len(parts) < 2:
        return None
    header, _, first = parts[0].rpartition(": ")
    return header, [first, *parts[1:]]


def _sequenced(clause: str) -> tuple[str, list[str]] | None:
    """ "X: a, b, then c", "To X, a, b, then c", "When X, first a, then b" or "first a, then b"."""
    header, sep, body = clause.partition(": ")
    if not sep:
        if header_match := _PROCEDURE_HEADER.match(clause):
            header, body = header_match.group(1), header_match.group(2)
        else:
            header, body = "", clause
    steps = _STEP_JOINER.split(body)
    sequenced = re.search(r"\b(?:then|finally|first)\b", body, re.IGNORECASE)
    thens = len(re.findall(r"\bthen\b", body, re.IGNORECASE))
    if not header and not re.search(r"\bfirst\b", body, re.IGNORECASE) and thens < 2:
        return None
    if len(steps) < 3 and not sequenced:
        return None
    return header, steps


def _workflow(clause: str) -> _Found | None:
    """A multi-step procedure, numbered, arrowed or sequenced with then/finally."""
    if _is_hedged(clause):
        return None
    for parse in (_numbered, _arrowed, _sequenced):
        parsed = parse(clause)
        if parsed is None:
            continue
        header, raw_steps = parsed
        steps = _imperative_steps(raw_steps)
        if steps is None:
            continue
        header = re.sub(r"\s+(?:is|are)$", "", _clean_end(header), flags=re.IGNORECASE)
        numbered = "; ".join(f"{i}) {step}" for i, step in enumerate(steps, 1))
        content = f"{header[:1].upper()}{header[1:]}: {numbered}" if header else numbered
        return _Found("workflow", content + ".", tag="procedure")
    return None


# --------------------------------------------------------------------------- tools

_SNAKE_TOOL = re.compile(r"(?<![@\w.])([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b(?![@])")
_NAMED_TOOL = re.compile(
    r"\bthe ((?:[\w-]+ ){0,2}?[\w-]+) "
    r"(tool|api|endpoint|portal|dashboard|script|command|console)\b",
    re.IGNORECASE,
)
_TOOL_VERB = re.compile(
    r"\b(?:use|uses|using|call|calls|run|runs|invoke|query|takes|returns|reports|needs|"
    r"requires|accepts|expects|gives|lists|shows)\b",
    re.IGNORECASE,
)
_FIRST_PERSON_WORD = re.compile(r"\b(?:i|me|my|mine)\b", re.IGNORECASE)


def _skill(clause: str) -> _Found | None:
    """How to use a tool: "Use refund_api to process returns"."""
    if _FIRST_PERSON_WORD.search(clause) or not _TOOL_VERB.search(clause):
        return None
    if snake := _SNAKE_TOOL.search(clause):
        tool = snake.group(1)
    elif named := _NAMED_TOOL.search(clause):
        tool = "_".join(named.group(1).lower().split())
    else:
        return None
    return _Found("skill", _sentence_case(clause), subject=f"tool:{tool}", tag="tool-use")


# --------------------------------------------------------------------------- events

_TIME_LEAD = re.compile(
    r"^(?:yesterday|today|this (?:morning|afternoon|week)|earlier(?: today)?|last "
    r"(?:week|month|night|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b,?\s*",
    re.IGNORECASE,
)
_EVENT_NOUNS = _wordset(
    "order orders package parcel delivery shipment refund payment card charge item items product "
    "laptop phone app account subscription invoice courier driver technician replacement box "
    "router website site bill email password device"
)
_PERSONAL_THINGS = _wordset(
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
    rf"^i\s+(?:(?:{_ADVERBS})\s+)*(?:was \w+|were \w+|received|returned|ordered|bought|"
    r"purchased|cancell?ed|called|emailed|contacted|tried|reported|paid|lost|got|booked|"
    r"missed|submitted|filed|requested|never (?:got|received)|did not (?:get|receive)|"
    r"have not (?:got|gotten|received|heard)|have been waiting|had to|upgraded|downgraded|"
    r"moved|opened|signed up|subscribed|unsubscribed|spoke|talked)\b\s+\S+",
    re.IGNORECASE,
)
_THING_EVENT = re.compile(
    rf"^(?P<det>my|the|our)\s+(?P<np>[\w#'-]+(?:\s+[\w#'-]+){{0,4}}?)\s+"
    rf"(?:(?:{_ADVERBS})\s+)*(?:{_EVENT_VERB})\b",
    re.IGNORECASE,
)
_ID_LEAD = re.compile(
    r"^(?:customer|client|order|ticket|account|invoice|case|shipment|package)\s*#?\s*\d[\w-]*"
    rf"\s+(?:(?:{_ADVERBS})\s+)*(?P<verb>[a-z]+)(?:\s+(?P<next>[a-z]+))?",
    re.IGNORECASE,
)
_TEAM_EVENT = re.compile(
    rf"^we\s+(?:(?:{_ADVERBS})\s+)*(?:resolved|replaced|refunded|shipped|sent|fixed|escalated|"
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
    return _is_past(verb) and verb != "had"


def _episodic(clause: str, ctx: ExtractionContext) -> _Found | None:
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
        personal = speaker_event or head in _PERSONAL_THINGS or _FIRST_PERSON_WORD.search(clause)
        subject = subject or (ctx.speaker_subject if personal else None)
    elif not (thing or _id_event(core) or _TEAM_EVENT.match(core)):
        return None
    return _Found("episodic", _render(clause, subject, ctx), subject=subject, tag="event")


# --------------------------------------------------------------------------- facts about a subject

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
_HABIT_VERBS = _wordset(
    "eat drink smoke fly drive use shop travel answer check read own watch wear take accept "
    "carry pick work pay order buy speak"
)
_NOT_HABITS = _wordset(
    "know think remember understand mind care wonder guess hope appreciate thank say mean feel "
    "try forget get see believe agree"
)
_HAVE_NOT_FACTS = _wordset(
    "question questions problem problems issue issues concern concerns complaint minute moment "
    "second quick few idea doubt request query feeling meeting appointment"
)


def _lemma(verb: str) -> str:
    verb = verb.lower()
    if verb in {"is", "are", "am"}:
        return "be"
    if verb in {"has", "does"}:
        return {"has": "have", "does": "do"}[verb]
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    if re.search(r"(?:sses|shes|ches|xes|oes)$", verb):
        return verb[:-2]
    if verb.endswith("s") and not verb.endswith("ss"):
        return verb[:-1]
    return verb


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
    rf"^(?P<adv>(?:(?:{_ADVERBS})\s+)*)(?:(?P<aux>do not|does not|did not|cannot|will not|"
    r"would|will|can|could|should|might|may|must)\s+)?(?P<adv2>(?:(?:"
    rf"{_ADVERBS})\s+)*)(?P<verb>[a-z][a-z-]*)\b\s*(?P<obj>.*)$",
    re.IGNORECASE,
)


def _statement(rest: str) -> _Statement | None:
    match = _STATEMENT.match(rest)
    if match is None:
        return None
    adverbs = frozenset((match.group("adv") + " " + match.group("adv2")).lower().split())
    aux = (match.group("aux") or "").lower()
    return _Statement(
        verb=_lemma(match.group("verb")),
        obj=_clean_end(match.group("obj")),
        adverbs=adverbs,
        negated=aux.endswith("not") or aux == "cannot" or "never" in adverbs,
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
        slot = _preference_slot(st.obj, st.negated or st.verb in {"hate", "dislike"})
        return _Slot(*slot, "preference")
    if st.verb in {"want", "need"}:
        # Mostly requests for now ("I want a refund"); a lasting want says so.
        durable = _DURABLE.search(st.obj) or st.adverbs & {"only", "always", "never"}
        if not (st.negated or durable):
            return None
        return _Slot(*_preference_slot(st.obj, st.negated), "preference")
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
_NOT_ATTRIBUTES = _wordset(
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


def _attribute_name(phrase: str, value: str) -> str:
    """A snake_case slot name, with common synonyms merged so updates supersede."""
    words = phrase.lower().replace("'s", "").replace("-", " ").split()
    key = " ".join(words)
    if key in _ATTRIBUTE_SYNONYMS:
        return _ATTRIBUTE_SYNONYMS[key]
    if words[-1] in {"email", "e-mail"} or "@" in value:
        return "email"
    if {"phone", "mobile", "cell", "telephone"} & set(words) and re.search(r"\d{3}", value):
        return "phone_number"
    if words[-1] == "address":
        return "address"
    return "_".join(re.sub(r"[^a-z0-9 ]", "", key).split())


def _attribute_slot(attr: str, value: str) -> _Slot | None:
    """The slot of "my <attr> is <value>", or None for talk such as "my question is ..."."""
    if attr.lower().strip() in _NOT_ATTRIBUTES or len(attr.split()) > 4:
        return None
    value = _clean_end(value)
    if not value or _VAGUE_VALUE.match(value):
        return None
    if _PREDICATE.match(value):
        return _Slot(None, None, "profile")  # "my son is allergic to nuts": a fact, not a slot
    value = re.sub(r"^(?:on|at|in)\s+(?=\S)", "", value, flags=re.IGNORECASE)
    attribute = _attribute_name(attr, value)
    if attribute == "contact_preference":
        value = _channel(value) or value
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


def _speaker_fact(clause: str, ctx: ExtractionContext) -> _Found | None:
    """The speaker's own fact or preference: "my email is ...", "I prefer email"."""
    speaker = ctx.speaker_subject
    label = _subject_label(speaker)
    if best := _BEST_WAY.match(clause):
        channel = _channel(best.group(1)) or _clean_end(best.group(1))
        content = f"The best way to reach {label} is by {channel}."
        return _Found("entity", content, speaker, "contact_preference", channel, "preference")
    if mine := _MY_ATTRIBUTE.match(clause):
        slot = _attribute_slot(mine.group("attr"), mine.group("value"))
        if slot is None:
            return None
        what = "name" if slot.attribute == "name" else mine.group("attr")
        verb = "are" if mine.group("verb").lower() == "are" else "is"
        content = _sentence_case(f"{label}'s {what} {verb} {_clean_end(mine.group('value'))}")
        if _RELATIVE_TIME.search(mine.group("value")):
            return _Found("episodic", content, speaker, tag="event")  # "my flight is tomorrow"
        return _Found("entity", content, speaker, *slot)
    if name := _I_AM_NAME.match(clause):
        content = _sentence_case(f"{label}'s name is {name.group(1)}")
        return _Found("entity", content, speaker, "name", name.group(1), "profile")
    if am := re.match(r"^i am (not\s+)?(.+)$", clause, re.IGNORECASE):
        slot = _be_fact(_clean_end(am.group(2)), bool(am.group(1)), strict=True)
    elif said := re.match(r"^i\s+(.+)$", clause, re.IGNORECASE):
        st = _statement(said.group(1))
        slot = _verb_fact(st) if st else None
    else:
        return None
    if slot is None:
        return None
    return _Found("entity", _render(clause, speaker, ctx), speaker, *slot)


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
_PASSIVE = {
    "call": "called",
    "phone": "called",
    "ring": "called",
    "text": "texted",
    "email": "emailed",
    "message": "messaged",
    "contact": "contacted",
}


def _contact_instruction(clause: str, ctx: ExtractionContext) -> _Found | None:
    """How to contact the speaker, phrased as a request: a standing preference all the same.

    "Contact me by email only", "Never call me on weekends", "You can reach me at 555-0199".
    A bare "call me" or "please don't call me" is about now, so it needs "only", "never",
    or a when ("after 8pm") to count.
    """
    speaker = ctx.speaker_subject
    label = _subject_label(speaker)
    if reach := _REACH_ME_AT.match(clause):
        where = _clean_end(reach.group("where"))
        attribute = (
            "email" if "@" in where else "phone_number" if re.search(r"\d{3}", where) else None
        )
        if attribute is None:
            return None
        content = _sentence_case(f"{label} can be reached at {where}")
        return _Found("entity", content, speaker, attribute, where, "profile")
    if dont := _DO_NOT_CONTACT.match(clause):
        when = _clean_end(dont.group("when"))
        if dont.group("neg").lower() != "never" and not when:
            return None
        passive = _PASSIVE[dont.group("verb").lower()]
        never = "never wants" if dont.group("neg").lower() == "never" else "does not want"
        content = _sentence_case(f"{label} {never} to be {passive} {when}")
        return _Found("entity", content, speaker, tag="preference")
    contact = _CONTACT_ME.match(clause)
    if contact is None or not re.search(r"\b(?:only|always)\b", clause, re.IGNORECASE):
        return None
    channel = _channel(contact.group("channel") or contact.group("verb"))
    if channel is None:
        return None
    content = _sentence_case(f"{label} wants to be contacted by {channel} only")
    return _Found("entity", content, speaker, "contact_preference", channel, "preference")


_PERSON = re.compile(
    r"^(?:[Mm]y (?P<role>colleague|coworker|co-worker|manager|boss|wife|husband|partner|son|"
    r"daughter|friend|assistant|mother|father|mom|dad|brother|sister) )?"
    r"(?P<name>[A-Z][a-z]+)\s+(?P<rest>(?:(?:always|usually|only|never|really)\s+)*"
    r"(?:prefers|likes|loves|hates|dislikes|speaks|lives in|works at|works for|is allergic to|"
    r"does not like|does not want)\b.*)$"
)


def _person_fact(clause: str, ctx: ExtractionContext) -> _Found | None:
    """A preference or profile fact about a named person: "my colleague Ben prefers Slack"."""
    match = _PERSON.match(clause)
    if match is None or (match.group("role") is None and match.group("name") in _NOT_NAMES):
        return None
    st = _statement(match.group("rest"))
    slot = _verb_fact(st) if st else None
    if slot is None and (allergy := re.match(r"^is allergic to (.+)$", match.group("rest"))):
        slot = _Slot("allergy", _clean_end(allergy.group(1)), "profile")
    if slot is None:
        return None
    subject = f"person:{match.group('name').lower()}"
    return _Found("entity", _render(clause, subject, ctx), subject, *slot)


_NOT_NAMES = _wordset(
    "Shipping Refunds Returns Premium Everyone Nobody Someone Support Billing Delivery Customers "
    "Members Students Orders Nothing Everything Gold Silver Platinum"
)
_NAMED_SUBJECT = re.compile(
    r"^(?P<subject>(?:customer|client|order|ticket|account|invoice|case|shipment|package)\s*"
    r"(?:#|no\.?\s*|number\s+)?\s*\d[\w-]*|the customer)(?P<rest>'s\s+.+|\s+.+)$",
    re.IGNORECASE,
)


def _named_statement_slot(rest: str) -> _Slot | None:
    """The slot of what follows a named subject ("is a premium member", "prefers email")."""
    if be := re.match(r"^(?:is|are)\s+(not\s+)?(.+)$", rest, re.IGNORECASE):
        return _be_fact(_clean_end(be.group(2)), bool(be.group(1)), strict=False)
    st = _statement(rest)
    if st is None or st.modal or _is_past(st.verb):
        return None  # past events are episodic; modal ones are not facts
    if slot := _verb_fact(st):
        return slot
    # An agent's note about a customer ("customer 90210 orders on Mondays") is a fact in any
    # present-tense verb, except the transient wants and the thinking verbs.
    if st.verb in _NOT_HABITS or st.verb in {"want", "need"} or not st.obj:
        return None
    return None if _VAGUE_OBJECT.match(st.obj) else _Slot(None, None, "profile")


def _subject_fact(clause: str, ctx: ExtractionContext) -> _Found | None:
    """A fact about a named subject: "customer #12345 prefers email", "order #2020 is ..."."""
    match = _NAMED_SUBJECT.match(clause)
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
    return _Found("entity", _render(clause, subject, ctx), subject, *slot)


# --------------------------------------------------------------------------- policies

_TEAM_PRACTICE = re.compile(
    r"^we\s+(?:(?:always|usually|typically|generally|normally|never|only|do not|cannot|"
    r"will not|are not)\s+)+(?P<verb>[a-z-]+)\b|^we are (?:always\s+)?(?P<state>closed|open)\b",
    re.IGNORECASE,
)
_NOT_PRACTICES = _wordset(
    "appreciate love value enjoy thank welcome try hope want apologize aim strive care like "
    "get are be"
)
_OUR_FACT = re.compile(r"^our\s+(?P<what>[\w -]{2,40}?)\s+(?:is|are)\s+(?P<value>.+)$", re.I)
_OPINION = re.compile(
    r"\b(?:best|great|awesome|amazing|terrible|over|done|finished|happy|sorry|the \w+est|"
    r"the most)\b",
    re.IGNORECASE,
)
_PERSONAL = re.compile(r"\b(?:i|me|my|mine|you|your|yours|we|us)\b", re.IGNORECASE)
_POLICY_VERB = re.compile(
    r"\b(?:is|are|get|gets|take|takes|ship|ships|cost|costs|require|requires|must|cannot|can|"
    r"have|has|renew|renews|receive|receives|qualify|qualifies|include|includes|apply|applies|"
    r"expire|expires|close|closes|open|opens|do not|does not|need|needs|last|lasts)\b",
    re.IGNORECASE,
)
_POLICY_CUE = re.compile(
    r"\d|\$|%|\b(?:only|free|must|cannot|not|never|eligible|available|automatically|policy|"
    r"required?|closed|open|entitled|always|no longer|except|unless|within|per|each|every|all|"
    r"approval|allowed|permitted|prohibited)\b",
    re.IGNORECASE,
)
_GROUP_BENEFIT = re.compile(
    r"^[\w -]*\b(?:members|customers|subscribers|students|users|accounts|holders|employees)\s+"
    r"(?:get|receive|qualify for|are entitled to)\b",
    re.IGNORECASE,
)
_NOT_A_SUBJECT = re.compile(
    r"^(?:it|this|that|these|those|there|he|she|they|here|what|which|who|some|something|"
    r"the (?:answer|problem|issue|thing|point|question|reason|total|result|status|balance|"
    r"weather|situation|number|good news|bad news)\b)",
    re.IGNORECASE,
)


def _semantic(clause: str) -> _Found | None:
    """General knowledge or policy: "premium members get refunds within 48 hours"."""
    if practice := _TEAM_PRACTICE.match(clause):
        verb = (practice.group("verb") or "").lower()
        if verb in _NOT_PRACTICES or _is_past(verb) or re.search(r"\byou(?:r)?\b", clause, re.I):
            return None
        return _Found("semantic", _sentence_case(clause), tag="practice")
    if ours := _OUR_FACT.match(clause):
        if _OPINION.search(ours.group("value")) or _PERSONAL.search(ours.group("value")):
            return None
        return _Found("semantic", _sentence_case(clause), tag="policy")
    if _NAMED_SUBJECT.match(clause):
        return None  # a named customer or order is an entity, never a policy
    policy_text = re.sub(r"^our\s+", "", clause, flags=re.IGNORECASE)
    if _PERSONAL.search(policy_text) or _NOT_A_SUBJECT.match(policy_text):
        return None
    verb = _POLICY_VERB.search(policy_text)
    if verb is None or verb.start() == 0 or len(policy_text[: verb.start()].split()) > 6:
        return None
    if not (_POLICY_CUE.search(policy_text) or _GROUP_BENEFIT.match(policy_text)):
        return None
    return _Found("semantic", _sentence_case(clause), tag="policy")


# --------------------------------------------------------------------------- the rules


def _fallback_explicit(body: str, ctx: ExtractionContext) -> _Found | None:
    """What the speaker asked to remember, when no finer rule recognised its shape."""
    subject = normalize_subject(body)
    if subject is None and _FIRST_PERSON_WORD.search(body):
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
    return _Found(memory_type, _render(body, subject, ctx), subject=subject, tag="noted")


Detector = Callable[[str, ExtractionContext], "_Found | None"]


def _detect(clause: str, ctx: ExtractionContext) -> _Found | None:
    """The first rule that recognises the clause, most specific shapes first."""
    if _is_hedged(clause):
        return None
    if found := _workflow(clause):
        return found
    if _is_hypothetical(clause):
        return None
    if found := _skill(clause) or _contact_instruction(clause, ctx):
        return found
    if _IMPERATIVE.match(clause):
        return None
    detectors: tuple[Detector, ...] = (
        _episodic,
        _speaker_fact,
        _subject_fact,
        _person_fact,
        lambda text, _ctx: _semantic(text),
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
        for sentence in _sentences(_expand(text)):
            if _is_question(_strip_fillers(sentence)):
                continue
            memories.extend(self._from_sentence(sentence, ctx))
        return _deduplicate(memories)

    def _from_sentence(self, sentence: str, ctx: ExtractionContext) -> list[Memory]:
        explicit, body = _split_explicit(_clean_end(_strip_fillers(sentence)))
        if body is None:
            return []
        mechanism: Mechanism = "explicit" if explicit else "implicit"
        memories = []
        for clause in _clauses(body) or [body]:
            clause = _clean_end(_strip_fillers(clause))
            found = _detect(clause, ctx)
            if found is None and explicit and not (_is_hedged(clause) or _is_hypothetical(clause)):
                found = _fallback_explicit(clause, ctx)
            if found is not None:
                memories.append(_to_memory(found, mechanism, ctx))
        return memories


# --------------------------------------------------------------------------- building memories

_STOPWORDS = _wordset(
    "a an the and or but if of to in on at by for with from as is are was were be been being "
    "has have had do does did not no this that these those it its user user's their them they "
    "he she his her we our us you your i me my so than then there here when which who what "
    "will would can could should may might must also just only very into over about after "
    "before up out again once all any each"
)


def _keywords(content: str, limit: int = 12) -> list[str]:
    """Content words of a memory: the rule-based A-MEM note."""
    words: list[str] = []
    for token in re.findall(r"[a-z0-9][a-z0-9_@.#:$%'-]*", content.lower()):
        token = token.rstrip(".,:;'").removesuffix("'s")
        if len(token) < 2 or token in _STOPWORDS or token in words:
            continue
        words.append(token)
    return words[:limit]


def _to_memory(found: _Found, mechanism: Mechanism, ctx: ExtractionContext) -> Memory:
    tags = [found.tag] + (["negated"] if _is_negated(found.content) else [])
    where = f" in thread {ctx.thread_id}" if ctx.thread_id else ""
    asked = "asked to remember" if mechanism == "explicit" else "stated"
    return Memory(
        content=found.content,
        type=found.type,
        scope=ctx.scope,
        mechanism=mechanism,
        confidence=default_confidence(mechanism),
        subject=found.subject,
        attribute=found.attribute if found.subject else None,
        value=found.value if found.subject and found.attribute else None,
        provenance=Provenance(
            source_agent=ctx.source_agent, thread_id=ctx.thread_id, message_id=ctx.message_id
        ),
        keywords=_keywords(found.content),
        tags=tags,
        context=f"{found.type} memory {asked} to {ctx.source_agent}{where}",
    )


def _deduplicate(memories: list[Memory]) -> list[Memory]:
    """One memory per statement; a later restatement of a slot replaces an earlier one."""
    seen: dict[tuple[str, str | None, str], Memory] = {}
    for memory in memories:
        slot = memory.attribute or memory.content.lower()
        seen[(memory.type, memory.subject, slot)] = memory
    return list(seen.values())


# --------------------------------------------------------------------------- the LLM path


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


EXTRACTION_PROMPT = """\
You pick out long-term memories from one message sent to a customer-service team.
Keep only what is worth remembering in later conversations: explicit requests to remember,
stated facts and preferences, policies, specific events, how to use a tool, multi-step
procedures. Skip questions, hypotheticals ("if I were...", "maybe"), requests to the agent
("cancel my order"), thanks and small talk. Keep negations ("I don't like calls" -> "The user
does not like phone calls").
type: entity (a fact about a specific customer, person or order), semantic (general
knowledge or policy), episodic (a specific event), skill (how to use a tool), workflow
(a multi-step procedure).
subject: "customer:<number>", "order:<number>", "user" for the speaker's own facts, or null.
attribute and value: the slot a fact fills (contact_preference = email, phone_number,
address, membership ...), else null.
mechanism: "explicit" if the message asks to remember it, else "implicit".
Answer with JSON only, no other text:
{"memories": [{"content": "...", "type": "entity", "subject": "user", "attribute": null,
"value": null, "mechanism": "implicit", "keywords": ["..."]}]}
Answer {"memories": []} when nothing is worth remembering."""

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
        try:
            reply = self.llm.invoke([SystemMessage(EXTRACTION_PROMPT), HumanMessage(text)])
        except Exception as error:  # any failure of the model must not break the workflow
            logger.warning("extraction: LLM call failed (%s), using rules", error)
            return self.fallback.extract(text, ctx)
        try:
            raw = first_json_object(reply.text)  # models wrap JSON in prose or fences
            if raw is None:
                raise ValueError("no JSON object in the reply")
            candidates = CandidateMemories.model_validate_json(raw).memories
            memories = [self._to_memory(c, text, ctx) for c in candidates]
        except (ValidationError, ValueError) as error:
            logger.warning("extraction: LLM output invalid, using rules (%s)", error)
            return self.fallback.extract(text, ctx)
        grounded = [m for m in memories if _is_grounded(m, text)]
        if memories and not grounded:
            logger.warning("extraction: LLM output invalid, using rules (not found in the text)")
            return self.fallback.extract(text, ctx)
        return _deduplicate(grounded)

    @staticmethod
    def _to_memory(candidate: CandidateMemory, text: str, ctx: ExtractionContext) -> Memory:
        subject = _llm_subject(candidate.subject, ctx)
        # Small models over-claim "explicit"; only a real command earns its confidence.
        mechanism: Mechanism = candidate.mechanism
        if mechanism == "explicit" and not _mentions_explicit_command(text):
            mechanism = "implicit"
        attribute = _snake(candidate.attribute) if subject and candidate.attribute else None
        found = _Found(
            type=candidate.type,
            content=_sentence_case(candidate.content),
            subject=subject,
            attribute=attribute,
            value=_clean_end(candidate.value) if attribute and candidate.value else None,
            tag="llm",
        )
        memory = _to_memory(found, mechanism, ctx)
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
        _split_explicit(_strip_fillers(s))[0] for s in _sentences(_expand(text)) if s.strip()
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


# --------------------------------------------------------------------------- entry points


def extract_memories(
    text: str, ctx: ExtractionContext, llm: BaseChatModel | None = None
) -> list[Memory]:
    """Memories found in `text`: by `llm` when given (rules as its fallback), else by rules."""
    if llm is None:
        return RuleExtractor().extract(text, ctx)
    return LLMExtractor(llm, RuleExtractor()).extract(text, ctx)


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
    return _deduplicate(memories)
