"""Workflows: multi-step procedures, numbered, arrowed or sequenced with then/finally."""

from __future__ import annotations

import re
from collections.abc import Sequence

from memory.extraction.context import Found
from memory.extraction.text import clean_end, is_hedged, wordset

_STEP_MARKER = re.compile(
    r"(?:(?<=\s)|^)(?:\((\d{1,2})\)|(\d{1,2})[.)]|step\s+(\d{1,2}):?)\s+", re.I
)
_NOT_IMPERATIVE = wordset(
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
    return clean_end(re.sub(r"\s+first$", "", step, flags=re.IGNORECASE))


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


def detect_workflow(clause: str) -> Found | None:
    """A multi-step procedure, numbered, arrowed or sequenced with then/finally."""
    if is_hedged(clause):
        return None
    for parse in (_numbered, _arrowed, _sequenced):
        parsed = parse(clause)
        if parsed is None:
            continue
        header, raw_steps = parsed
        steps = _imperative_steps(raw_steps)
        if steps is None:
            continue
        header = re.sub(r"\s+(?:is|are)$", "", clean_end(header), flags=re.IGNORECASE)
        numbered = "; ".join(f"{i}) {step}" for i, step in enumerate(steps, 1))
        content = f"{header[:1].upper()}{header[1:]}: {numbered}" if header else numbered
        return Found("workflow", content + ".", tag="procedure")
    return None
