"""Is a text grounded in what it was given? The check behind every user-visible text.

A small model writes fluent text that states things nobody told it: an order number, a
contact channel, a person's name, a date. ``unsupported(text, sources)`` lists each
checkable claim of `text` that no source states:

- numbers and ids ("48", "ORD-1004", "#12345", "3rd"), with their digits compared;
- contact channels (email, phone, SMS, Signal, WhatsApp, ...);
- capitalised names inside a sentence (a sentence's first word is not taken as a name);
- dates (month and weekday names).

``missing(text, required)`` lists the amounts ("48 hours", "$20") and channels of
`required` (the composed reply) that `text` dropped. A text with anything unsupported or missing is
replaced by the composed one (``grounded``). A kept text is written with the canonical
spelling of its channels (``canonical``: "e-mail", "E-Mail", "e mail" -> "email"), the word the
composed reply and the facts use, so a kept reply and a composed one say the same word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NUMBER = re.compile(r"(?<![\w-])#?[A-Za-z]*-?\d[\w-]*")
_CHANNELS = (
    "email",
    "e-mail",
    "phone",
    "sms",
    "text message",
    "signal",
    "whatsapp",
    "telegram",
    "slack",
    "fax",
    "letter",
)
_CHANNEL = re.compile(r"\b(" + "|".join(re.escape(c) for c in _CHANNELS) + r")\b", re.I)
_DATE_WORDS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
]
_DATE = re.compile(r"\b(" + "|".join(_DATE_WORDS) + r")\b", re.I)
_NAME = re.compile(r"(?<=[a-z,;:] )[A-Z][A-Za-z']*[a-z][A-Za-z']*(?:[ -][A-Z][A-Za-z']+)*\b")
_AMOUNT = re.compile(
    r"[$€£]\s?\d[\d,.]*|\b\d[\d,.]*\s?(?:%|percent|hours?|days?|weeks?|months?|years?|minutes?)",
    re.I,
)
_COMMON_CAPITALISED = frozenset({"I", "I'm", "I'll", "I've", "OK", "Ok"})


# "e-mail", "E-Mail", "e mail", "e‑mail" (any dash): one channel, spelt "email"
_EMAIL_VARIANT = re.compile(r"\b([eE])(?:[-‐‑‒–—]| )([mM][aA][iI][lL])")


def canonical(text: str) -> str:
    """`text` with each channel in its canonical spelling ("e-mail" -> "email", "E-Mail" ->
    "Email"); nothing else changes."""
    return _EMAIL_VARIANT.sub(lambda m: m.group(1) + m.group(2).lower(), text)


def _norm(text: str) -> str:
    return " ".join(canonical(text).lower().split())


def _digits(token: str) -> str:
    return re.sub(r"\D", "", token)


def claims(text: str) -> list[str]:
    """The checkable claims of `text`: numbers and ids, channels, names and dates."""
    found = [m.group(0).rstrip(".-") for m in _NUMBER.finditer(text)]
    found += [m.group(1).lower() for m in _CHANNEL.finditer(text)]
    found += [m.group(0) for m in _NAME.finditer(text) if m.group(0) not in _COMMON_CAPITALISED]
    found += [m.group(1).lower() for m in _DATE.finditer(text)]
    return list(dict.fromkeys(found))


def unsupported(text: str, sources: Iterable[str]) -> list[str]:
    """The claims of `text` that none of `sources` states."""
    given = _norm(" ".join(sources))
    given_numbers = {_digits(m.group(0)) for m in _NUMBER.finditer(given)}
    out = []
    for claim in claims(text):
        if _digits(claim):
            if _digits(claim) not in given_numbers:
                out.append(claim)
        elif not re.search(r"\b" + re.escape(_norm(claim)) + r"\b", given):
            out.append(claim)
    return out


def missing(text: str, required: str) -> list[str]:
    """The amounts (48 hours, $20, 10%) and channels `required` states that `text` leaves
    out; ids may go unsaid, promises and channels may not."""
    said = _norm(text)
    out = [
        m.group(0)
        for m in _AMOUNT.finditer(required)
        if not re.search(r"\b" + re.escape(_norm(m.group(0))), said)
    ]
    out += [
        c.group(1).lower()
        for c in _CHANNEL.finditer(required)
        if not re.search(r"\b" + re.escape(_norm(c.group(1))), said)
    ]
    return list(dict.fromkeys(out))


def grounded(
    text: str | None, sources: Iterable[str], composed: str, *, keep: bool = True
) -> tuple[str, list[str]]:
    """`text` (in canonical spelling) if it states nothing unsupported (and, with `keep`,
    drops nothing `composed` states), else `composed`; with the problems found (empty when
    `text` was kept)."""
    if text is None:
        return composed, ["no text"]
    problems = [f"unsupported {c!r}" for c in unsupported(text, [*sources, composed])]
    if keep:
        problems += [f"missing {c!r}" for c in missing(text, composed)]
    return (composed, problems) if problems else (canonical(text), [])
