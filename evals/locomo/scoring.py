"""Scoring LoCoMo rankers: build one per conversation, rank each question, aggregate recall."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from evals.locomo.memory_mode import MemoryIndex
from evals.locomo_data import (
    KS,
    Conversation,
    QuestionResult,
    RecallTable,
    aggregate,
    score_question,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from evals.locomo.turns import TurnIndex


QUICK_QUESTIONS: Final = 60


# ---- running ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredRun:
    """Recall of one configuration: the table, each question's result, what it cost."""

    table: RecallTable
    results: list[QuestionResult]
    seconds: float
    notes: dict[str, int] = field(default_factory=dict)


BuildRanker = Callable[[Conversation, Path], "TurnIndex | MemoryIndex"]


def select(conversations: Sequence[Conversation], quick: bool) -> list[Conversation]:
    """All conversations, or for --quick the first one with 60 evenly spaced questions.

    LoCoMo lists questions grouped by category, so evenly spaced ones cover every category
    where the first 60 would not.
    """
    if not quick:
        return list(conversations)
    first = conversations[0]
    total = len(first.questions)
    if total <= QUICK_QUESTIONS:
        return [first]
    picked = [first.questions[i * total // QUICK_QUESTIONS] for i in range(QUICK_QUESTIONS)]
    return [first.model_copy(update={"questions": tuple(picked)})]


@dataclass
class Tracker:
    """Rich progress for one run: a bar over questions, the conversation in its label."""

    progress: Progress
    task: TaskID

    def say(self, text: str) -> None:
        self.progress.update(self.task, description=text)

    def tick(self) -> None:
        self.progress.advance(self.task)


def evaluate(
    conversations: Sequence[Conversation],
    build: BuildRanker,
    *,
    ks: Sequence[int] = KS,
    tracker: Tracker | None = None,
) -> ScoredRun:
    """Build a ranker per conversation (in a temporary directory) and score its questions."""
    started = time.perf_counter()
    results: list[QuestionResult] = []
    notes: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="locomo-") as tmp:
        for conversation in conversations:
            if tracker:
                tracker.say(f"{conversation.sample_id}: indexing")
            ranker = build(conversation, Path(tmp) / conversation.sample_id)
            notes["turns"] += len(conversation.turns)
            if isinstance(ranker, MemoryIndex):
                notes["turns_with_extracted_memories"] += ranker.extracted_turns
                notes["raw_turn_memories"] += ranker.raw_memories
            if tracker:
                tracker.say(f"{conversation.sample_id}: questions")
            try:
                for question in conversation.questions:
                    ranked = ranker.rank(question.question, max(ks))
                    results.append(score_question(question, ranked, ks))
                    if tracker:
                        tracker.tick()
            finally:
                ranker.close()
    return ScoredRun(aggregate(results, ks), results, time.perf_counter() - started, dict(notes))
