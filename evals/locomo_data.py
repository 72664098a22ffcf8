"""LoCoMo data and its retrieval metric: turn-level evidence recall at k.

The data (Maharana et al., ACL 2024; CC BY-NC 4.0) is never copied into this repository:
it is read at eval time from ``../shared/data/locomo/`` beside the repo (see its README).

The metric follows the LoCoMo paper (Table 3): every dialog turn of one conversation is one
retrievable unit; for each question the top k units of that conversation are retrieved;
recall is the fraction of the question's evidence turns among them (1.0 for a question
without evidence), averaged over questions, overall and per category.

Evidence ids are normalised before scoring (see `normalize_evidence`), because a few in the
published file are malformed: ``"D8:6; D9:17"`` (two ids in one string), ``"D:11:26"``
(a stray colon), ``"D"`` (no turn at all) and ids naming a turn the conversation lacks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
DEFAULT_DATA: Final = REPO_ROOT.parent / "shared" / "data" / "locomo" / "locomo_dev.json"
KS: Final[tuple[int, ...]] = (5, 10, 25, 50)

CategoryId = Literal[1, 2, 3, 4, 5]
CategoryName = Literal["multi-hop", "temporal", "open-domain", "single-hop", "adversarial"]
CATEGORY_NAMES: Final[dict[int, CategoryName]] = {
    1: "multi-hop",
    2: "temporal",
    3: "open-domain",
    4: "single-hop",
    5: "adversarial",
}

_SESSION_KEY = re.compile(r"session_(\d+)")
# Tolerates spaces and stray colons inside one id ("D:11:26", "D 3 : 5") but needs both numbers.
_EVIDENCE_ID = re.compile(r"D\s*:?\s*(\d+)\s*:\s*(\d+)", re.IGNORECASE)
_EVIDENCE_SEPARATORS = re.compile(r"[;,]|\s(?=D)", re.IGNORECASE)


class LocomoDataError(ValueError):
    """The LoCoMo file is missing or not in the expected format."""


class Turn(BaseModel):
    """One dialog turn: the retrievable unit of the metric."""

    model_config = ConfigDict(frozen=True)

    dia_id: str
    speaker: str
    text: str
    session: int
    date_time: str
    """The session's date, e.g. "1:56 pm on 8 May, 2023"."""
    caption: str | None = None
    """BLIP caption of an image the speaker shared (the image itself is not used)."""


class Question(BaseModel):
    model_config = ConfigDict(frozen=True)

    question: str
    category: CategoryId
    evidence: tuple[str, ...]
    """Normalised evidence dia_ids, each naming a turn of the conversation."""

    @property
    def category_name(self) -> CategoryName:
        return CATEGORY_NAMES[self.category]


class Conversation(BaseModel):
    model_config = ConfigDict(frozen=True)

    sample_id: str
    speaker_a: str
    speaker_b: str
    turns: tuple[Turn, ...]
    questions: tuple[Question, ...]
    evidence_repairs: tuple[str, ...] = ()
    """What `normalize_evidence` changed, one line each, for the report."""


@dataclass(frozen=True)
class EvidenceFix:
    ids: tuple[str, ...]
    repairs: tuple[str, ...] = ()


def normalize_evidence(raw: Sequence[str], known: Collection[str]) -> EvidenceFix:
    """Canonical evidence ids ("D<session>:<turn>") of one question, deduplicated, in order.

    - several ids in one string (";", "," or space separated) are split;
    - spaces and a stray colon inside an id are removed ("D:11:26" -> "D11:26");
    - a fragment without session and turn numbers ("D") is dropped;
    - a well-formed id naming no turn of the conversation is dropped: no retriever can
      return it, so keeping it would only lower every system's recall alike.
    Each change is described in `repairs`.
    """
    ids: list[str] = []
    repairs: list[str] = []
    for entry in raw:
        for fragment in _EVIDENCE_SEPARATORS.split(str(entry)):
            fragment = fragment.strip()
            if not fragment:
                continue
            match = _EVIDENCE_ID.fullmatch(fragment)
            if match is None:
                repairs.append(f"dropped unparseable evidence {fragment!r} (from {entry!r})")
                continue
            canonical = f"D{int(match[1])}:{int(match[2])}"
            if canonical not in known:
                repairs.append(f"dropped evidence {canonical!r}: no such turn")
                continue
            if canonical != entry:
                repairs.append(f"normalised evidence {entry!r} -> {canonical!r}")
            if canonical not in ids:
                ids.append(canonical)
    return EvidenceFix(ids=tuple(ids), repairs=tuple(repairs))


def load_locomo(path: str | Path | None = None) -> list[Conversation]:
    """The conversations of a LoCoMo JSON file (default: the dev split beside the repo)."""
    path = Path(path) if path is not None else DEFAULT_DATA
    if not path.is_file():
        raise LocomoDataError(
            f"LoCoMo data file not found: {path}. The dev split lives at {DEFAULT_DATA} "
            "(see ../shared/data/locomo/README.md); pass another file with --data."
        )
    try:
        samples = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise LocomoDataError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(samples, list) or not samples:
        raise LocomoDataError(f"{path} must hold a non-empty JSON list of LoCoMo samples")
    return [parse_sample(sample, where=f"{path} sample {i}") for i, sample in enumerate(samples)]


def parse_sample(sample: object, *, where: str = "sample") -> Conversation:
    """One LoCoMo sample -> a Conversation; annotations (observation, summaries) are ignored."""
    if not isinstance(sample, dict):
        raise LocomoDataError(f"{where}: expected an object, got {type(sample).__name__}")
    try:
        conversation = sample["conversation"]
        turns = _turns(conversation)
        known = {t.dia_id for t in turns}
        questions: list[Question] = []
        repairs: list[str] = []
        for number, item in enumerate(sample["qa"]):
            fix = normalize_evidence(item.get("evidence") or [], known)
            repairs += [f"question {number}: {r}" for r in fix.repairs]
            questions.append(
                Question(question=item["question"], category=item["category"], evidence=fix.ids)
            )
        return Conversation(
            sample_id=str(sample["sample_id"]),
            speaker_a=conversation["speaker_a"],
            speaker_b=conversation["speaker_b"],
            turns=tuple(turns),
            questions=tuple(questions),
            evidence_repairs=tuple(repairs),
        )
    except KeyError as exc:
        raise LocomoDataError(f"{where}: missing key {exc}") from exc
    except (ValidationError, TypeError, AttributeError) as exc:
        raise LocomoDataError(f"{where}: malformed sample: {exc}") from exc


def _turns(conversation: dict[str, object]) -> list[Turn]:
    sessions = sorted(
        (int(m[1]), key) for key in conversation if (m := _SESSION_KEY.fullmatch(key))
    )
    turns: list[Turn] = []
    for number, key in sessions:
        date_time = str(conversation.get(f"{key}_date_time", ""))
        raw_turns = conversation[key]
        if not isinstance(raw_turns, list):
            raise LocomoDataError(f"{key} must be a list of turns")
        turns += [
            Turn(
                dia_id=t["dia_id"],
                speaker=t["speaker"],
                text=t["text"],
                session=number,
                date_time=date_time,
                caption=t.get("blip_caption"),
            )
            for t in raw_turns
        ]
    if not turns:
        raise LocomoDataError("conversation has no dialog turns")
    return turns


# ---- the metric -------------------------------------------------------------------------


def recall_at(retrieved: Sequence[str], evidence: Collection[str], k: int) -> float:
    """Fraction of `evidence` among the first `k` of `retrieved`; 1.0 without evidence."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not evidence:
        return 1.0
    top = set(retrieved[:k])
    return sum(1 for e in set(evidence) if e in top) / len(set(evidence))


@dataclass(frozen=True)
class QuestionResult:
    """One scored question: its category and recall at each k."""

    category: CategoryId
    recall: dict[int, float]


def score_question(
    question: Question, retrieved: Sequence[str], ks: Sequence[int] = KS
) -> QuestionResult:
    return QuestionResult(
        category=question.category,
        recall={k: recall_at(retrieved, question.evidence, k) for k in ks},
    )


@dataclass(frozen=True)
class RecallTable:
    """Mean recall in percent, overall and per category name, with question counts."""

    recall_at: dict[str, float]
    by_category: dict[str, dict[str, float]]
    questions: int
    questions_by_category: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "recall_at": self.recall_at,
            "by_category": self.by_category,
            "questions": self.questions,
            "questions_by_category": self.questions_by_category,
        }


def aggregate(results: Iterable[QuestionResult], ks: Sequence[int] = KS) -> RecallTable:
    """Mean recall (percent) over all questions and per category; k keys are strings for JSON."""
    results = list(results)
    if not results:
        raise ValueError("no questions to aggregate")
    by_category: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    for category_id, name in CATEGORY_NAMES.items():
        group = [r for r in results if r.category == category_id]
        if group:
            by_category[name] = _mean_percent(group, ks)
            counts[name] = len(group)
    return RecallTable(
        recall_at=_mean_percent(results, ks),
        by_category=by_category,
        questions=len(results),
        questions_by_category=counts,
    )


def _mean_percent(results: Sequence[QuestionResult], ks: Sequence[int]) -> dict[str, float]:
    return {str(k): 100.0 * sum(r.recall[k] for r in results) / len(results) for k in ks}
