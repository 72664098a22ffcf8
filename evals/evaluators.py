"""Evaluators shared by the eval suites, in the openevals shape.

Each is called as `evaluator(*, inputs, outputs, reference_outputs)` and returns
`{"key", "score", "comment"}`, so they plug into LangSmith or openevals runners unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from memory.models import Mechanism, Memory, MemoryType


class EvaluatorResult(TypedDict):
    key: str
    score: float
    comment: str


class ExpectedMemory(BaseModel):
    """One memory a labeled utterance should yield."""

    model_config = ConfigDict(extra="forbid")

    type: MemoryType
    mechanism: Mechanism | None = None
    subject: str | None = None
    """Checked when given; None means any subject (or none) is fine."""
    attribute: str | None = None
    value: str | None = None
    must_contain: list[str] = Field(default_factory=list)
    """Words the content must contain, case-insensitively (a suffix such as -s or -ed is fine)."""
    event_date: date | None = None
    """When the event happened, resolved against the utterance's message time: checked
    (by `date_agreement`) when given."""


class PredictedMemory(BaseModel):
    """The part of a predicted memory the evaluators look at."""

    model_config = ConfigDict(extra="ignore")

    content: str
    type: MemoryType
    mechanism: Mechanism | None = None
    subject: str | None = None
    attribute: str | None = None
    value: str | None = None
    event_time: datetime | None = None


def as_predicted(items: Sequence[Memory | Mapping[str, Any]]) -> list[PredictedMemory]:
    return [
        PredictedMemory.model_validate(item.model_dump() if isinstance(item, Memory) else item)
        for item in items
    ]


def as_expected(items: Sequence[ExpectedMemory | Mapping[str, Any]]) -> list[ExpectedMemory]:
    return [ExpectedMemory.model_validate(item) for item in items]


def contains_phrase(content: str, phrase: str) -> bool:
    """Whether `phrase` occurs in `content` as whole words ("prefer" matches "prefers")."""
    words = phrase.lower().split()
    if not words:
        return True
    # Each word may carry an inflection: "work from home" matches "works from home".
    body = r"\s+".join(rf"{re.escape(word)}(?:s|es|d|ed)?" for word in words)
    pattern = rf"(?<![a-z0-9]){body}(?![a-z0-9])"
    return re.search(pattern, content.lower()) is not None


def memory_matches(predicted: PredictedMemory, expected: ExpectedMemory) -> bool:
    """Same type, same subject when one is expected, and every must_contain phrase present."""
    if predicted.type != expected.type:
        return False
    if expected.subject is not None and predicted.subject != expected.subject:
        return False
    return all(contains_phrase(predicted.content, phrase) for phrase in expected.must_contain)


def match_memories(
    predicted: Sequence[PredictedMemory], expected: Sequence[ExpectedMemory]
) -> list[tuple[int, int]]:
    """Greedy one-to-one matching: (predicted index, expected index) pairs.

    Expected memories with the most must_contain words pick first, so a specific label is
    not starved by a looser one that the same prediction would also satisfy.
    """
    order = sorted(range(len(expected)), key=lambda j: -len(expected[j].must_contain))
    used: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for j in order:
        for i, memory in enumerate(predicted):
            if i not in used and memory_matches(memory, expected[j]):
                used.add(i)
                pairs.append((i, j))
                break
    return sorted(pairs)


def _f1(tp: int, n_predicted: int, n_expected: int) -> float:
    if n_predicted == 0 and n_expected == 0:
        return 1.0
    if n_predicted + n_expected == 0:
        return 0.0
    return 2 * tp / (n_predicted + n_expected)


def extraction_match(
    *,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
    reference_outputs: Mapping[str, Any],
) -> EvaluatorResult:
    """F1 of the predicted memories against the expected ones for one utterance.

    outputs: {"memories": [Memory or dict]}; reference_outputs: {"expected": [...]}.
    An utterance that should yield nothing scores 1 when nothing was extracted.
    """
    predicted = as_predicted(outputs.get("memories", []))
    expected = as_expected(reference_outputs.get("expected", []))
    pairs = match_memories(predicted, expected)
    matched_p = {i for i, _ in pairs}
    matched_e = {j for _, j in pairs}
    notes = [f"{len(pairs)}/{len(expected)} expected found, {len(predicted)} extracted"]
    notes += [
        f"missed: {expected[j].type} {expected[j].must_contain}"
        for j in range(len(expected))
        if j not in matched_e
    ]
    notes += [
        f"extra: {predicted[i].type} {predicted[i].content!r}"
        for i in range(len(predicted))
        if i not in matched_p
    ]
    return {
        "key": "extraction_match",
        "score": _f1(len(pairs), len(predicted), len(expected)),
        "comment": "; ".join(notes),
    }


class AgreementCount(TypedDict):
    checked: int
    right: int
    wrong: list[str]


def slot_agreement(
    predicted: Sequence[PredictedMemory], expected: Sequence[ExpectedMemory]
) -> AgreementCount:
    """Among matched memories whose label names a slot, how many got attribute and value right."""
    count: AgreementCount = {"checked": 0, "right": 0, "wrong": []}
    for i, j in match_memories(predicted, expected):
        want, got = expected[j], predicted[i]
        if want.attribute is None:
            continue
        count["checked"] += 1
        same_value = (got.value or "").lower() == (want.value or "").lower()
        if got.attribute == want.attribute and same_value:
            count["right"] += 1
        else:
            count["wrong"].append(
                f"{got.attribute}={got.value} (expected {want.attribute}={want.value})"
            )
    return count


def date_agreement(
    predicted: Sequence[PredictedMemory], expected: Sequence[ExpectedMemory]
) -> AgreementCount:
    """Among matched memories whose label gives an event date, how many got that day."""
    count: AgreementCount = {"checked": 0, "right": 0, "wrong": []}
    for i, j in match_memories(predicted, expected):
        want, got = expected[j], predicted[i]
        if want.event_date is None:
            continue
        count["checked"] += 1
        day = got.event_time.date() if got.event_time else None
        if day == want.event_date:
            count["right"] += 1
        else:
            count["wrong"].append(f"event date {day} (expected {want.event_date})")
    return count


def mechanism_agreement(
    predicted: Sequence[PredictedMemory], expected: Sequence[ExpectedMemory]
) -> AgreementCount:
    """Among matched memories with a labeled mechanism, how many have that mechanism."""
    count: AgreementCount = {"checked": 0, "right": 0, "wrong": []}
    for i, j in match_memories(predicted, expected):
        want, got = expected[j].mechanism, predicted[i].mechanism
        if want is None:
            continue
        count["checked"] += 1
        if got == want:
            count["right"] += 1
        else:
            count["wrong"].append(f"{got} (expected {want}): {predicted[i].content!r}")
    return count


def extraction_slots(
    *,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
    reference_outputs: Mapping[str, Any],
) -> EvaluatorResult:
    """Of the matched memories whose label names a slot, the share with that attribute and value.

    The slot is what lets "actually I prefer phone" supersede "prefers email"; a memory can
    match on content yet miss its slot. Scores 1 when no matched label names a slot.
    """
    count = slot_agreement(
        as_predicted(outputs.get("memories", [])),
        as_expected(reference_outputs.get("expected", [])),
    )
    wrong = "; ".join(count["wrong"])
    return {
        "key": "extraction_slots",
        "score": count["right"] / count["checked"] if count["checked"] else 1.0,
        "comment": f"{count['right']}/{count['checked']} slots right"
        + (f"; {wrong}" if wrong else ""),
    }


def extraction_mechanism(
    *,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
    reference_outputs: Mapping[str, Any],
) -> EvaluatorResult:
    """Of the matched memories, the share whose mechanism (explicit/implicit) is the labeled one."""
    count = mechanism_agreement(
        as_predicted(outputs.get("memories", [])),
        as_expected(reference_outputs.get("expected", [])),
    )
    wrong = "; ".join(count["wrong"])
    return {
        "key": "extraction_mechanism",
        "score": count["right"] / count["checked"] if count["checked"] else 1.0,
        "comment": f"{count['right']}/{count['checked']} mechanisms right"
        + (f"; {wrong}" if wrong else ""),
    }
