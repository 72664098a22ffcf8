"""Semantic memories: policies, team practices and general knowledge."""

from __future__ import annotations

import re

from memory.extraction.context import Found
from memory.extraction.facts import NAMED_SUBJECT
from memory.extraction.morphology import is_past, sentence_case
from memory.extraction.text import wordset

_TEAM_PRACTICE = re.compile(
    r"^we\s+(?:(?:always|usually|typically|generally|normally|never|only|do not|cannot|"
    r"will not|are not)\s+)+(?P<verb>[a-z-]+)\b|^we are (?:always\s+)?(?P<state>closed|open)\b",
    re.IGNORECASE,
)
_NOT_PRACTICES = wordset(
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


def detect_policy(clause: str) -> Found | None:
    """General knowledge or policy: "premium members get refunds within 48 hours"."""
    if practice := _TEAM_PRACTICE.match(clause):
        verb = (practice.group("verb") or "").lower()
        if verb in _NOT_PRACTICES or is_past(verb) or re.search(r"\byou(?:r)?\b", clause, re.I):
            return None
        return Found("semantic", sentence_case(clause), tag="practice")
    if ours := _OUR_FACT.match(clause):
        if _OPINION.search(ours.group("value")) or _PERSONAL.search(ours.group("value")):
            return None
        return Found("semantic", sentence_case(clause), tag="policy")
    if NAMED_SUBJECT.match(clause):
        return None  # a named customer or order is an entity, never a policy
    policy_text = re.sub(r"^our\s+", "", clause, flags=re.IGNORECASE)
    if _PERSONAL.search(policy_text) or _NOT_A_SUBJECT.match(policy_text):
        return None
    verb = _POLICY_VERB.search(policy_text)
    if verb is None or verb.start() == 0 or len(policy_text[: verb.start()].split()) > 6:
        return None
    if not (_POLICY_CUE.search(policy_text) or _GROUP_BENEFIT.match(policy_text)):
        return None
    return Found("semantic", sentence_case(clause), tag="policy")
