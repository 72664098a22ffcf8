"""The vector index ranks the allowed positions exactly, whichever way it scores them
(copied out, or by FAISS's filtered scan), and its later batches continue the
same ranking: every allowed position once, best first, none of another namespace."""

from __future__ import annotations

import numpy as np
import pytest

from memory.vector_index import VectorIndex, VectorRows, normalize_rows

DIMS = 16


def index_of(
    count: int, namespaces: list[str], seed: int = 7, *, quantize_threshold: int = 10**9
) -> tuple[VectorIndex, np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = normalize_rows(rng.normal(size=(count, DIMS)).astype(np.float32))
    rows = VectorRows(
        vec_ids=np.arange(1, count + 1, dtype=np.int64),
        item_ids=np.arange(1, count + 1, dtype=np.int64) * 10,
        namespaces=[namespaces[i % len(namespaces)] for i in range(count)],
        vectors=vectors,
    )
    index = VectorIndex.build(
        DIMS, rows, hnsw_threshold=10**9, exact_limit=10**9, quantize_threshold=quantize_threshold
    )
    return index, vectors


@pytest.mark.parametrize(
    ("count", "namespaces", "prefix"),
    [
        (300, ["a.", "b."], ""),  # the whole index: FAISS's scan
        (300, ["a.", "b."], "a."),  # half of it: FAISS's filtered scan
        (3000, ["a."] * 19 + ["b."], "b."),  # a twentieth, few: copied out
        (30000, ["a."] * 9 + ["b."], "b."),  # a tenth, many: FAISS's filtered scan
    ],
    ids=["whole", "half", "tiny", "many"],
)
def test_the_ranking_is_exact_across_batches(
    count: int, namespaces: list[str], prefix: str
) -> None:
    index, vectors = index_of(count, namespaces)
    query = normalize_rows(np.random.default_rng(1).normal(size=(1, DIMS)).astype(np.float32))
    hits = [hit for batch in index.ranked(query[0], prefix, first=8) for hit in batch]
    allowed = [i for i in range(count) if namespaces[i % len(namespaces)].startswith(prefix)]
    assert sorted(h.position for h in hits) == allowed  # each allowed position once
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    expected = vectors[[h.position for h in hits]] @ query[0]
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    assert all(h.item_id == (h.position + 1) * 10 for h in hits)


@pytest.mark.parametrize("prefix", ["", "b."], ids=["whole", "restricted"])
def test_the_quantized_scan_ranks_by_exact_scores(prefix: str) -> None:
    # Above quantize_threshold the 8-bit copy is scanned and each batch re-scored exactly:
    # every allowed position once, exact cosines, each batch best first, and the first
    # batch holds the exact best of all.
    namespaces = ["a."] * 3 + ["b."]
    index, vectors = index_of(8000, namespaces, quantize_threshold=1000)
    assert index.kind == "sq8"
    query = normalize_rows(np.random.default_rng(1).normal(size=(1, DIMS)).astype(np.float32))
    assert index.scan_for(index.size) == "quantized"
    batches = list(index.ranked(query[0], prefix, first=64))
    hits = [hit for batch in batches for hit in batch]
    allowed = [i for i in range(8000) if namespaces[i % 4].startswith(prefix)]
    assert sorted(h.position for h in hits) == allowed
    expected = vectors[[h.position for h in hits]] @ query[0]
    np.testing.assert_allclose([h.score for h in hits], expected, rtol=1e-5, atol=1e-6)
    for batch in batches:
        assert [h.score for h in batch] == sorted((h.score for h in batch), reverse=True)
    exact = vectors[allowed] @ query[0]
    best = {allowed[i] for i in np.argsort(-exact)[:10]}
    assert best <= {h.position for h in batches[0]}


def test_deleted_vectors_are_never_ranked() -> None:
    index, _ = index_of(300, ["a."])
    index.remove(range(1, 301, 2))  # odd vec_ids: positions 0, 2, 4, ...
    query = np.ones(DIMS, dtype=np.float32)
    hits = [hit for batch in index.ranked(query, "", first=8) for hit in batch]
    assert sorted(h.position for h in hits) == list(range(1, 300, 2))


@pytest.mark.parametrize("quantize_threshold", [10**9, 100], ids=["flat", "quantized"])
def test_an_item_with_several_vectors_is_ranked_once_at_its_best(
    quantize_threshold: int,
) -> None:
    # Items with two indexed fields have two vectors; ranked_items yields each item once,
    # at its best vector's place and score (max pooling), and no item twice across batches.
    rng = np.random.default_rng(3)
    count = 400
    vectors = normalize_rows(rng.normal(size=(2 * count, DIMS)).astype(np.float32))
    rows = VectorRows(
        vec_ids=np.arange(1, 2 * count + 1, dtype=np.int64),
        item_ids=np.repeat(np.arange(count, dtype=np.int64), 2),
        namespaces=["a."] * (2 * count),
        vectors=vectors,
    )
    index = VectorIndex.build(
        DIMS, rows, hnsw_threshold=10**9, exact_limit=10**9, quantize_threshold=quantize_threshold
    )
    query = normalize_rows(rng.normal(size=(1, DIMS)).astype(np.float32))[0]
    pairs = [pair for batch in index.ranked_items(query, "", first=16) for pair in batch]
    assert sorted(item for item, _ in pairs) == list(range(count))
    best = (vectors @ query).reshape(count, 2).max(axis=1)
    np.testing.assert_allclose([s for _, s in pairs], best[[i for i, _ in pairs]], atol=1e-5)
    first = [item for item, _ in pairs[:10]]
    assert set(first) == set(np.argsort(-best)[:10].tolist())
