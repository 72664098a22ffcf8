"""What the labeled-retrieval suites (`retrieval`, `timeline`) share.

Each builds a memory in a temporary store, asks every labeled question of several systems
(a `Ranker` each: question -> the ids it ranks first) and scores a system by hit@1 and
hit@5 (an expected memory first / anywhere in the top k), overall and per kind of question.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore
from pydantic import BaseModel, ConfigDict, Field

Q = TypeVar("Q")
K = TypeVar("K", bound=str)
Ranker = Callable[[Q], list[str]]
"""One system: a question -> the ids of the memories it ranks first, best first."""


class HitRates(BaseModel):
    """Shares of questions answered with an expected memory first / in the top k.

    Written as ``hit@1`` / ``hit@5``, the names the reports and their readers use."""

    model_config = ConfigDict(frozen=True)

    hit_at_1: float = Field(serialization_alias="hit@1", ge=0.0, le=1.0)
    hit_at_5: float = Field(serialization_alias="hit@5", ge=0.0, le=1.0)
    questions: int = Field(gt=0)


class HitTally(Generic[K]):
    """Counts, question by question, whether an expected memory came first / in the top k."""

    def __init__(self) -> None:
        self._kinds: dict[K, list[tuple[bool, bool]]] = {}

    def add(self, kind: K, ranked: Sequence[str], expected: frozenset[str]) -> tuple[bool, bool]:
        """Count one question of `kind`; returns (first, in the top k)."""
        first = bool(ranked) and ranked[0] in expected
        found = any(label in expected for label in ranked)
        self._kinds.setdefault(kind, []).append((first, found))
        return first, found

    def overall(self) -> HitRates:
        return _rates([pair for pairs in self._kinds.values() for pair in pairs])

    def by_kind(self) -> dict[K, HitRates]:
        return {kind: _rates(pairs) for kind, pairs in sorted(self._kinds.items())}


def _rates(pairs: Sequence[tuple[bool, bool]]) -> HitRates:
    return HitRates(
        hit_at_1=sum(first for first, _ in pairs) / len(pairs),
        hit_at_5=sum(found for _, found in pairs) / len(pairs),
        questions=len(pairs),
    )


@contextmanager
def temporary_store(embeddings: Embeddings | None) -> Iterator[BaseStore]:
    """A FAISS store (content indexed) in a directory removed afterwards; `embeddings`
    defaults to the embedded MiniLM."""
    from evals.locomo.turns import open_store
    from memory.embeddings import make_embeddings

    embedder = embeddings or make_embeddings("embedded")
    with (
        tempfile.TemporaryDirectory() as tmp,
        open_store(Path(tmp) / "store", embedder, ["content"]) as store,
    ):
        yield store
