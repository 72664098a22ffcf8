"""Subjects: who or what a statement is about ("customer #12345" -> "customer:12345")."""

from __future__ import annotations

import re

_ID_SUBJECT = re.compile(
    r"\b(customer|client|employee|order|ticket|account|invoice|case|shipment|package)"
    r"\s*(?:#|no\.?\s*|number\s+|id\s*:?\s*)?\s*((?:[a-z]{1,3}-)?\d[\w-]*)",
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


def subject_label(subject: str) -> str:
    """How a subject reads inside a sentence: "user" -> "the user", "order:881" -> "order #881"."""
    if ":" in subject:
        kind, _, ident = subject.partition(":")
        return f"{kind} #{ident}"
    if subject[:1].isupper():  # a name ("Caroline") reads without an article
        return subject
    return f"the {subject}"
