"""Contradictions: two statements that read alike but cannot both be true.

Embeddings put "refunds within 5 business days" next to "within 7 business days" and "I
don't prefer SMS anymore" next to "prefers SMS", so similarity alone would merge them as
duplicates. Before any merge or reinforcement the manager and consolidation ask
`contradiction` whether the two disagree on a number, amount, date, contact channel or
polarity (and `same_referents` whether they are about the same order or ticket at all);
`is_retraction` spots statements that take an earlier one back ("no longer", "not
anymore", "used to ... but now", "X is better now").
"""

from __future__ import annotations

import re
from collections import Counter

_NUMBER = re.compile(r"(?<![\w#])[$€£]?\d+(?:[.,]\d+)*(?:\s*%)?")
_IDENTIFIER = re.compile(r"#\s*\d[\w-]*|\b[A-Z]{2,5}-\d+\b")
_DATE_WORDS = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|"
    r"april|june|july|august|september|october|november|december|yesterday|today|"
    r"tomorrow|weekends?|weekdays?|morning|afternoon|evening|night)\b",
    re.IGNORECASE,
)
_CHANNELS = re.compile(
    r"\b(?:e-?mail|sms|text(?: message)?s?|phone(?: calls?)?|calls?|whatsapp|chat|post|"
    r"letters?|slack|telegram|signal)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:not|never|no longer|cannot|can't|don't|doesn't|isn't|aren't|won't|nobody|"
    r"no one|none)\b|n't\b",
    re.IGNORECASE,
)
_RETRACTION = re.compile(
    r"\b(?:no longer|not any ?more|any ?more|used to\b.*\bbut\b|(?:is|are|works?) better now|"
    r"instead now|stopped (?:using|preferring|wanting)|changed (?:my|their|his|her) mind|"
    r"scratch that|ignore what i said|not anymore)\b",
    re.IGNORECASE,
)
_CHANNEL_NAMES = {"e-mail": "email", "text": "sms", "call": "phone", "letter": "post"}


def _numbers(text: str) -> Counter[str]:
    return Counter(re.sub(r"[\s,]", "", n) for n in _NUMBER.findall(text))


_QUANTITY = re.compile(
    r"[$€£]\s*\d+(?:[.,]\d+)*|\d+(?:[.,]\d+)*\s*(?:%|percent\b|days?\b|hours?\b|hrs?\b|"
    r"minutes?\b|mins?\b|weeks?\b|months?\b|years?\b|business\b|working\b|am\b|pm\b|"
    r"kg\b|lbs?\b|km\b|miles?\b|items?\b|times\b|dollars\b|euros\b|usd\b|eur\b)",
    re.IGNORECASE,
)


def _identifiers(text: str) -> set[str]:
    """Order numbers, ticket ids, "warehouse 23": numbers that name a thing, not amounts."""
    named = {re.sub(r"\s", "", i).upper() for i in _IDENTIFIER.findall(text)}
    quantities = {m.start() for m in _QUANTITY.finditer(text)}
    bare = {
        m.group()
        for m in _NUMBER.finditer(text)
        if m.start() not in quantities and not m.group().startswith(("$", "€", "£"))
    }
    return named | {f"N{n}" for n in bare}


def _dates(text: str) -> set[str]:
    return {m.lower().removesuffix("s") for m in _DATE_WORDS.findall(text)}


def _channels(text: str) -> set[str]:
    """Channel names, folded: "e-mails" -> email, "phone calls" -> phone, "texts" -> sms."""
    names = set()
    for match in _CHANNELS.findall(text):
        word = match.lower().split()[0]
        word = word if word == "sms" else word.removesuffix("s")
        names.add(_CHANNEL_NAMES.get(word, word))
    return names


def is_negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


def is_retraction(text: str) -> bool:
    """Whether `text` takes back an earlier statement ("I don't prefer SMS anymore")."""
    return bool(_RETRACTION.search(text))


def same_referents(a: str, b: str) -> bool:
    """Whether both name the same identifiers (order #881, ORD-2001): if not, they are
    about different things, neither duplicates nor contradictions of each other."""
    return _identifiers(a) == _identifiers(b)


def contradiction(held: str, incoming: str) -> str | None:
    """Why `incoming` contradicts `held` (a short reason), or None when it may restate it."""
    if _numbers(held) != _numbers(incoming):
        return "different numbers or amounts"
    held_dates, new_dates = _dates(held), _dates(incoming)
    if held_dates and new_dates and held_dates != new_dates:
        return "different dates"
    held_channels, new_channels = _channels(held), _channels(incoming)
    if held_channels and new_channels and held_channels != new_channels:
        return "different channels"
    if is_negated(held) != is_negated(incoming):
        return "one negates the other"
    if is_retraction(incoming):
        return "a retraction"
    return None


def shared_terms(a: str, b: str) -> set[str]:
    """The channels, numbers and identifiers both texts name: what a retraction points at."""
    return (
        (_channels(a) & _channels(b))
        | (set(_numbers(a)) & set(_numbers(b)))
        | (_identifiers(a) & _identifiers(b))
    )


def same_frame(a: str, b: str) -> bool:
    """Whether two statements are one sentence with other numbers in it ("the return window
    is 30 days" / "... 14 days"): a changed value, however far apart their embeddings."""
    if not (_numbers(a) and _numbers(b)) or _numbers(a) == _numbers(b):
        return False
    return same_referents(a, b) and _frame(a) == _frame(b)


def _frame(text: str) -> str:
    return " ".join(re.findall(r"[a-z]+", _NUMBER.sub(" # ", text.lower())))
