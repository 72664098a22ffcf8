"""Reciprocal rank fusion: one ranking from several, without calibrating their scores.

``rrf(d) = sum_i w_i / (k + rank_i(d))``, normalised so that 1 means first in every
ranking. Written once over any hashable key: hybrid retrieval fuses SearchItems by
(namespace, key) (memory/retrieval.py), and the FAISS store fuses its two rankings by
item id before it builds a SearchItem for any of them (`FaissStore.hybrid_fused`), so a
search builds items only for the hits it keeps.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from langgraph.store.base import SearchItem

K = TypeVar("K", bound=Hashable)

RRF_K = 10
"""Measured on LoCoMo (evals/locomo/ablation.py): k=10 beat the customary 60 by 7.7 points
of R@10; a small k lets the first few ranks of each retriever dominate."""


@dataclass(frozen=True)
class Fused:
    """One hit of a hybrid search."""

    item: SearchItem
    """The dense ranking's item where it is there (its score: the cosine), else BM25's."""
    relevance: float
    """RRF score normalised to [0, 1] (1: first in every ranking)."""
    similarity: float | None
    """Cosine similarity from the dense search, when the item was found there."""
    dense_rank: int | None
    lexical_rank: int | None


def fuse_ranks(
    rankings: Sequence[Sequence[K]], weights: Sequence[float], *, rrf_k: int = RRF_K
) -> list[tuple[K, float, list[int | None]]]:
    """(key, normalised RRF score, its rank in each ranking or None), best first; ties
    keep the order keys were first met in."""
    scores: dict[K, float] = {}
    ranks: dict[K, list[int | None]] = {}
    for index, (ranking, weight) in enumerate(zip(rankings, weights, strict=True)):
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (rrf_k + rank)
            ranks.setdefault(key, [None] * len(rankings))[index] = rank
    best = sum(w / (rrf_k + 1) for w in weights) or 1.0
    fused = sorted(scores, key=scores.__getitem__, reverse=True)
    return [(key, scores[key] / best, ranks[key]) for key in fused]
