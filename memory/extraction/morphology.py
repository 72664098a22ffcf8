"""English morphology: verb forms, and rewriting the speaker's "I" as their subject."""

from __future__ import annotations

import re

from memory.extraction.context import ExtractionContext
from memory.extraction.subjects import subject_label
from memory.extraction.text import clean_end, wordset

ADVERBS = (
    "really|usually|always|generally|typically|normally|strongly|much|also|only|still|"
    "actually|definitely|often|never|rarely|sometimes|mostly|just|now|already|no longer"
)
_MODALS = frozenset(
    {"would", "will", "can", "cannot", "could", "should", "might", "may", "must", "shall"}
)
_IRREGULAR_PAST = wordset(
    "was were got had did made sent paid lost left bought took went came saw told gave "
    "broke found felt kept spent thought brought caught put ran rang spoke stole wrote "
    "gotten given taken broken stolen written spoken shipped been"
)
_THIRD_PERSON = {"am": "is", "have": "has", "do": "does", "be": "is", "are": "is"}
_EED_VERBS = wordset("need feed bleed breed speed proceed exceed succeed heed seed")


def is_past(verb: str) -> bool:
    """A past form, by ending: "arrived", "lost" (but "need" is present)."""
    return verb in _IRREGULAR_PAST or (verb.endswith("ed") and verb not in _EED_VERBS)


def _conjugate(verb: str) -> str:
    """The third-person form of a verb after "I": prefer -> prefers, do -> does."""
    lower = verb.lower()
    if lower in _THIRD_PERSON:
        return _THIRD_PERSON[lower]
    if lower in _MODALS or is_past(lower):
        return verb
    if re.search(r"(?:s|x|z|ch|sh|o)$", lower):
        return verb + "es"
    if re.search(r"[^aeiou]y$", lower):
        return verb[:-1] + "ies"
    return verb + "s"


_I_THEN_VERB = re.compile(rf"\b[Ii]\s+((?:(?:{ADVERBS})\s+)*)([A-Za-z-]+)")


def _third_person(text: str, label: str) -> str:
    """Rewrite the speaker's words about themselves as a statement about `label`."""
    text = _I_THEN_VERB.sub(lambda m: f"{label} {m.group(1)}{_conjugate(m.group(2))}", text)
    text = re.sub(r"\b(?:my|mine)\b", f"{label}'s", text, flags=re.IGNORECASE)
    text = re.sub(r"\b(?:me|myself)\b", label, text, flags=re.IGNORECASE)
    return re.sub(r"\b[Ii]\b(?!\.)", label, text)


def sentence_case(text: str) -> str:
    text = clean_end(text)
    return text[:1].upper() + text[1:] + "." if text else text


def render(clause: str, subject: str | None, ctx: ExtractionContext) -> str:
    """A self-contained sentence: the speaker's "I" and "my" rewritten as their subject."""
    label = subject_label(ctx.speaker_subject)
    clause = _third_person(clause, label)
    if subject == ctx.speaker_subject and ctx.speaker_subject.startswith("customer:"):
        clause = re.sub(r"\bthe customer\b", label, clause, flags=re.IGNORECASE)
    return sentence_case(clause)


def lemma(verb: str) -> str:
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
