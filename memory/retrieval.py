"""Hybrid retrieval over a LangGraph store: dense vectors plus BM25, fused by rank.

Dense search finds paraphrases ("contact preference" ~ "prefers email"); BM25 finds
exact names, numbers and rare words (order #881) that small embedders blur. Reciprocal
rank fusion (RRF) combines the two rankings without calibrating their scores:
``rrf(d) = sum_i w_i / (k + rank_i(d))``.

BM25 comes from the store's ``lexical_search`` (the FAISS store's FTS5 index); stores
without one (InMemoryStore, PostgresStore) fall back to dense search alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.store.base import BaseStore, SearchItem

RRF_K = 60


@dataclass(frozen=True)
class Fused:
    """One hit of a hybrid search."""

    item: SearchItem
    relevance: float
    """RRF score normalised to [0, 1] (1: first in every ranking)."""
    similarity: float | None
    """Cosine similarity from the dense search, when the item was found there."""
    dense_rank: int | None
    lexical_rank: int | None


def _key(item: SearchItem) -> tuple[tuple[str, ...], str]:
    return tuple(item.namespace), item.key


def has_lexical(store: BaseStore) -> bool:
    return callable(getattr(store, "lexical_search", None))


def dense_ranking(
    store: BaseStore,
    namespaces: Sequence[tuple[str, ...]],
    query: str,
    *,
    limit: int,
    filter: dict[str, Any] | None,
) -> list[SearchItem]:
    hits: list[SearchItem] = []
    for namespace in namespaces:
        hits += store.search(namespace, query=query, filter=filter, limit=limit)
    hits.sort(key=lambda h: h.score if h.score is not None else float("-inf"), reverse=True)
    return hits[:limit]


def lexical_ranking(
    store: BaseStore,
    namespaces: Sequence[tuple[str, ...]],
    query: str,
    *,
    limit: int,
    filter: dict[str, Any] | None,
) -> list[SearchItem]:
    if not has_lexical(store):
        return []
    hits: list[SearchItem] = []
    for namespace in namespaces:
        hits += store.lexical_search(namespace, query, filter=filter, limit=limit)  # type: ignore[attr-defined]
    hits.sort(key=lambda h: h.score or 0.0, reverse=True)
    return hits[:limit]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[SearchItem]],
    weights: Sequence[float],
    *,
    rrf_k: int = RRF_K,
) -> list[tuple[SearchItem, float, list[int | None]]]:
    """Fuse rankings; returns (item, normalised score, rank in each ranking), best first."""
    scores: dict[tuple[tuple[str, ...], str], float] = {}
    items: dict[tuple[tuple[str, ...], str], SearchItem] = {}
    ranks: dict[tuple[tuple[str, ...], str], list[int | None]] = {}
    for index, (ranking, weight) in enumerate(zip(rankings, weights, strict=True)):
        for rank, item in enumerate(ranking, start=1):
            key = _key(item)
            scores[key] = scores.get(key, 0.0) + weight / (rrf_k + rank)
            if key not in items or (item.score is not None and index == 0):
                items[key] = item
            ranks.setdefault(key, [None] * len(rankings))[index] = rank
    best = sum(w / (rrf_k + 1) for w in weights) or 1.0
    fused = sorted(scores, key=lambda k: scores[k], reverse=True)
    return [(items[k], scores[k] / best, ranks[k]) for k in fused]


def hybrid_search(
    store: BaseStore,
    namespaces: Sequence[tuple[str, ...]],
    query: str,
    *,
    limit: int = 10,
    filter: dict[str, Any] | None = None,
    candidates: int | None = None,
    dense_weight: float = 1.0,
    lexical_weight: float = 1.0,
) -> list[Fused]:
    """Top `limit` items of `namespaces` for `query`, dense and BM25 rankings fused."""
    pool = max(candidates or 0, limit * 3, 20)
    dense = dense_ranking(store, namespaces, query, limit=pool, filter=filter)
    lexical = lexical_ranking(store, namespaces, query, limit=pool, filter=filter)
    similarity = {_key(h): h.score for h in dense}
    fused = reciprocal_rank_fusion([dense, lexical], [dense_weight, lexical_weight])
    return [
        Fused(
            item=item,
            relevance=score,
            similarity=similarity.get(_key(item)),
            dense_rank=ranks[0],
            lexical_rank=ranks[1],
        )
        for item, score, ranks in fused[:limit]
    ]
