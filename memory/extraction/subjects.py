"""Subjects: who or what a statement is about ("customer #12345" -> "customer:12345")."""

from __future__ import annotations

import re

from memory.models import canonical_subject

_ID_SUBJECT = re.compile(
    r"\b(?:(customer|client|order|ticket|account|invoice|case|shipment|package)"
    r"\s*(?:#|no\.?\s*|number\s+|id\s*:?\s*)?\s*(\d[\w-]*)"
    # an employee's id may carry a letter prefix ("employee E-204": the help desk's ids)
    r"|(employee)\s*(?:#|id\s*:?\s*)?\s*((?:[a-z]{1,3}-)?\d[\w-]*))",
    re.IGNORECASE,
)


def normalize_subject(text: str) -> str | None:
    """The first identified subject in `text`: "customer #12345" -> "customer:12345"."""
    match = _ID_SUBJECT.search(text)
    if match is None:
        return None
    kind = (match.group(1) or match.group(3)).lower()
    ident = match.group(2) or match.group(4)
    return canonical_subject(f"{kind}:{ident}")


def subject_label(subject: str) -> str:
    """How a subject reads inside a sentence: "user" -> "the user", "order:881" -> "order #881"."""
    if ":" in subject:
        kind, _, ident = subject.partition(":")
        return f"{kind} #{ident}"
    if subject[:1].isupper():  # a name ("Caroline") reads without an article
        return subject
    return f"the {subject}"
