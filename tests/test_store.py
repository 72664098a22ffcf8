"""The FAISS store beyond conformance: durability, repair, concurrency, bad input, TTL."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.embeddings import Embeddings
from langgraph.store.base import InvalidNamespaceError

from memory.retrieval import reciprocal_rank_fusion
from memory.store import INDEX_FILE, FaissStore, StoreConfigError
from memory.store_db import parse_value
from tests.fakes import DeterministicEmbeddings
from tests.store_backends import DIMS, faiss_store, index_config

ROOT = Path(__file__).resolve().parents[1]


def fill(store: FaissStore, count: int, namespace: tuple[str, ...] = ("team", "t", "shared")):
    words = [
        "email",
        "phone",
        "refund",
        "order",
        "delayed",
        "premium",
        "server",
        "outage",
        "policy",
        "carrier",
    ]
    for i in range(count):
        text = f"{words[i % 10]} {words[(i * 7) % 10]} note {i}"
        store.put(namespace, f"k{i}", {"text": text, "n": i})


def snapshot(store: FaissStore) -> list[tuple[str, float]]:
    hits = store.search(("team",), query="refund for a delayed order", limit=20)
    return [(h.key, round(h.score or 0.0, 5)) for h in hits]


def test_reopen_keeps_items_vectors_and_text(tmp_path: Path) -> None:
    with faiss_store(tmp_path) as store:
        fill(store, 50)
        before = snapshot(store)
        lexical = [h.key for h in store.lexical_search(("team",), "carrier outage")]
    with faiss_store(tmp_path) as store:
        assert snapshot(store) == before
        assert [h.key for h in store.lexical_search(("team",), "carrier outage")] == lexical
        assert store.get(("team", "t", "shared"), "k7").value["n"] == 7


@pytest.mark.parametrize("damage", ["delete", "garbage", "truncate"])
def test_damaged_index_is_rebuilt_from_sqlite(tmp_path: Path, damage: str) -> None:
    with faiss_store(tmp_path) as store:
        fill(store, 80)
        before = snapshot(store)
    index_file = tmp_path / INDEX_FILE
    assert index_file.exists()
    if damage == "delete":
        index_file.unlink()
    elif damage == "garbage":
        index_file.write_bytes(os.urandom(4096))
    else:
        data = index_file.read_bytes()
        index_file.write_bytes(data[: len(data) // 2])
    with faiss_store(tmp_path) as store:
        assert snapshot(store) == before
        assert len(store.search(("team",), limit=1000)) == 80


def test_stale_index_catches_up(tmp_path: Path) -> None:
    with faiss_store(tmp_path) as store:
        fill(store, 30)
        store.flush()  # the index file now knows 30 items
        fill(store, 60)  # 30 more and 30 rewritten, never saved to the index file
        store.delete(("team", "t", "shared"), "k3")
        expected = snapshot(store)
        # Simulate a crash: the SQLite connection closes without saving the index.
        store._db.close()
        store._closed = True
    with faiss_store(tmp_path) as store:
        assert snapshot(store) == expected
        assert store.get(("team", "t", "shared"), "k3") is None
        assert len(store.search(("team",), limit=1000)) == 59


def test_index_ahead_of_sqlite_is_rebuilt(tmp_path: Path) -> None:
    # An index file from a newer state than SQLite (e.g. a restored backup) is not trusted.
    other = tmp_path / "other"
    with faiss_store(other) as store:
        fill(store, 40)
    with faiss_store(tmp_path) as store:
        fill(store, 10)
    (tmp_path / INDEX_FILE).write_bytes((other / INDEX_FILE).read_bytes())
    with faiss_store(tmp_path) as store:
        keys = {h.key for h in store.search(("team",), query="order", limit=100)}
        assert keys == {f"k{i}" for i in range(10)}


CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from memory.store import FaissStore
    from tests.store_backends import index_config
    store = FaissStore({path!r}, index=index_config())
    i = 0
    while True:
        store.put(("team", "t", "shared"), f"k{{i}}", {{"text": f"burst put {{i}}", "n": i}})
        print(i, flush=True)
        i += 1
    """
)


def test_sigkill_during_burst_loses_no_returned_put(tmp_path: Path) -> None:
    code = CHILD.format(root=str(ROOT), path=str(tmp_path))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    returned: list[int] = []
    for line in child.stdout:
        returned.append(int(line))
        if len(returned) >= 150:
            break
    child.send_signal(signal.SIGKILL)
    # Lines already printed but not yet read are puts that returned too.
    rest, _ = child.communicate(timeout=30)
    returned += [int(x) for x in rest.split()]
    with faiss_store(tmp_path) as store:
        stored = {h.key for h in store.search(("team",), limit=100_000)}
        missing = [i for i in returned if f"k{i}" not in stored]
        assert not missing, f"puts that returned but were lost: {missing[:10]}"
        hits = store.search(("team",), query=f"burst put {returned[-1]}", limit=5)
        assert hits and hits[0].score is not None


def test_parallel_threads_put_and_search(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with faiss_store(tmp_path) as store:

        def worker(w: int) -> None:
            try:
                for i in range(40):
                    store.put(("team", "t", "agent", f"a{w}"), f"k{i}", {"text": f"fact {w} {i}"})
                    store.search(("team", "t"), query=f"fact {i}", limit=5)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert len(store.search(("team",), limit=1000)) == 240
        for w in range(6):
            hits = store.search(("team", "t", "agent", f"a{w}"), query="fact", limit=100)
            assert len(hits) == 40


async def test_async_batch_from_parallel_tasks(tmp_path: Path) -> None:
    import asyncio

    with faiss_store(tmp_path) as store:
        await asyncio.gather(
            *(
                store.aput(("team", "t", "shared"), f"k{i}", {"text": f"async {i}"})
                for i in range(30)
            )
        )
        hits = await store.asearch(("team",), query="async 3", limit=30)
        assert len(hits) == 30
        assert (await store.aget(("team", "t", "shared"), "k3")).value == {"text": "async 3"}


def _process_writer(path: str, name: str, count: int, barrier: multiprocessing.Barrier) -> None:
    sys.path.insert(0, str(ROOT))
    store = FaissStore(path, index=index_config())
    barrier.wait()
    for i in range(count):
        store.put(("team", "t", "agent", name), f"k{i}", {"text": f"{name} wrote {i}"})
    barrier.wait()  # both done: each must now see the other's writes
    seen = len(store.search(("team",), query="wrote", limit=1000))
    store.close()
    if seen != 2 * count:
        raise SystemExit(f"{name} saw {seen} items, expected {2 * count}")


def test_two_processes_share_one_directory(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_process_writer, args=(str(tmp_path), name, 60, barrier))
        for name in ("sam", "jordan")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    with faiss_store(tmp_path) as store:
        assert len(store.search(("team",), query="wrote", limit=1000)) == 120


@pytest.mark.parametrize(
    ("kind", "thresholds"),
    [("hnsw", {"hnsw_threshold": 500}), ("sq8", {"quantize_threshold": 500})],
)
def test_restricted_search_returns_limit_when_enough_match(
    tmp_path: Path, kind: str, thresholds: dict[str, int]
) -> None:
    # 2,000 items on an approximate path; 15 match the filter: all limit=10 must come back,
    # in the exact order a brute-force ranking gives.
    with faiss_store(tmp_path, exact_limit=100, **thresholds) as store:
        emb = DeterministicEmbeddings(DIMS)
        ops_texts = []
        for i in range(2000):
            text = f"item {i} {'refund' if i % 3 else 'server'} {i % 17}"
            ops_texts.append(text)
            store.put(
                ("team", "t", "shared" if i % 2 else "other"),
                f"k{i}",
                {"text": text, "rare": i % 133 == 0},
            )
        assert store.stats()["index_kind"] == kind
        hits = store.search(("team",), query="refund 5", filter={"rare": True}, limit=10)
        assert len(hits) == 10
        query = np.array(emb.embed_query("refund 5"))
        rare = [i for i in range(2000) if i % 133 == 0]
        scores = {f"k{i}": float(np.dot(query, emb.embed_query(ops_texts[i]))) for i in rare}
        best = sorted(scores.values(), reverse=True)[:10]
        # the exact top-10 scores, each hit carrying its own true score (ties may swap)
        assert [h.score for h in hits] == pytest.approx(best, abs=1e-5)
        assert all(h.score == pytest.approx(scores[h.key], abs=1e-5) for h in hits)
        only_shared = store.search(("team", "t", "shared"), query="server", limit=50)
        assert len(only_shared) == 50
        assert all(h.namespace[-1] == "shared" for h in only_shared)


def test_lexical_search_ranks_by_bm25_and_respects_scope(tmp_path: Path) -> None:
    with faiss_store(tmp_path) as store:
        store.put(("team", "t", "shared"), "a", {"text": "refund policy: premium members 48 hours"})
        store.put(("team", "t", "shared"), "b", {"text": "shipping is free on orders over 50"})
        store.put(("team", "t", "agent", "sam"), "c", {"text": "premium refund approved"})
        hits = store.lexical_search(("team", "t", "shared"), "premium refund?")
        assert [h.key for h in hits] == ["a"]
        both = store.lexical_search(("team",), "premium refund")
        assert {h.key for h in both} == {"a", "c"}
        assert all(h.score is not None and h.score > 0 for h in both)
        shared_and_sam = store.lexical_search(
            ("team",), "premium refund", within=[("team", "t", "shared")]
        )
        assert [h.key for h in shared_and_sam] == ["a"]
        # FTS5 syntax in user text must not raise
        assert store.lexical_search(("team",), 'AND OR NOT ( " * NEAR') == []


@pytest.mark.parametrize(
    "namespace",
    [(), ("team", ""), ("team", "a.b"), ("langgraph", "x"), ("team", "a\x00")],
)
def test_invalid_namespace_is_a_clear_error(tmp_path: Path, namespace: tuple[str, ...]) -> None:
    with faiss_store(tmp_path) as store, pytest.raises((InvalidNamespaceError, ValueError)):
        store.put(namespace, "k", {"text": "x"})


@pytest.mark.parametrize("value", [{"when": object()}, {"tags": {1, 2}}, {"x": math.nan}])
def test_non_json_value_is_refused(tmp_path: Path, value: dict) -> None:
    with faiss_store(tmp_path) as store:
        with pytest.raises(ValueError, match="JSON"):
            store.put(("team", "t", "shared"), "k", value)
        assert store.get(("team", "t", "shared"), "k") is None


class BrokenEmbeddings(Embeddings):
    def __init__(self, vector: list[float], model_name: str = "broken") -> None:
        self.vector = vector
        self.model_name = model_name

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.vector for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.vector


@pytest.mark.parametrize(
    ("vector", "message"), [([math.nan] * 4, "NaN"), ([1.0, 0.0, 0.0], "3 dimensions")]
)
def test_bad_vectors_are_refused(tmp_path: Path, vector: list[float], message: str) -> None:
    store = FaissStore(tmp_path, index={"dims": 4, "embed": BrokenEmbeddings(vector)})
    with store, pytest.raises(ValueError, match=message):
        store.put(("team", "t", "shared"), "k", {"text": "x"})
    with FaissStore(tmp_path, index={"dims": 4, "embed": BrokenEmbeddings(vector)}) as again:
        assert again.get(("team", "t", "shared"), "k") is None


def test_other_embedding_model_is_refused(tmp_path: Path) -> None:
    with FaissStore(tmp_path, index={"dims": 64, "embed": DeterministicEmbeddings(64)}) as s:
        s.put(("team", "t", "shared"), "k", {"text": "x"})
    other = DeterministicEmbeddings(64, model_name="another-model")
    with pytest.raises(StoreConfigError, match="another-model"):
        FaissStore(tmp_path, index={"dims": 64, "embed": other})
    with pytest.raises(StoreConfigError, match="dims"):
        FaissStore(tmp_path, index={"dims": 32, "embed": DeterministicEmbeddings(32)})


def test_ttl_expiry_refresh_and_sweep(tmp_path: Path) -> None:
    ttl = {"default_ttl": 0.01, "refresh_on_read": True, "omit_expired": True}
    with FaissStore(tmp_path, index=index_config(), ttl=ttl) as store:  # type: ignore[arg-type]
        store.put(("team", "t", "shared"), "short", {"text": "expires soon"})
        store.put(("team", "t", "shared"), "long", {"text": "stays"}, ttl=10)
        store.put(("team", "t", "shared"), "kept", {"text": "read often"})
        for _ in range(4):  # reading refreshes: "kept" outlives its first 0.6 s
            time.sleep(0.25)
            assert store.get(("team", "t", "shared"), "kept") is not None
        assert store.get(("team", "t", "shared"), "short", refresh_ttl=False) is None
        time.sleep(0.7)
        assert store.sweep_ttl() == 2
        keys = {h.key for h in store.search(("team",), query="stays", limit=10)}
        assert keys == {"long"}


def test_closed_store_says_so(tmp_path: Path) -> None:
    store = FaissStore(tmp_path, index=index_config())  # type: ignore[arg-type]
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.get(("team",), "k")


def test_value_roundtrip_is_json(tmp_path: Path) -> None:
    value = {"text": "ünïcode ✓", "nested": {"list": [1, 2.5, None, True]}}
    with faiss_store(tmp_path) as store:
        store.put(("team", "t", "shared"), "k", value)
    with faiss_store(tmp_path) as store:
        assert store.get(("team", "t", "shared"), "k").value == json.loads(json.dumps(value))


def test_quantized_index_is_saved_and_reloaded(tmp_path: Path) -> None:
    with faiss_store(tmp_path, quantize_threshold=20) as store:
        fill(store, 80)
        assert store.stats()["index_kind"] == "sq8"
        before = snapshot(store)
    with faiss_store(tmp_path, quantize_threshold=20) as store:
        assert store.stats()["index_kind"] == "sq8"
        assert snapshot(store) == before
        fill(store, 90)  # later vectors go into the trained quantized copy too
        assert len(store.search(("team",), query="refund", limit=100)) == 90


def test_an_unchanged_store_does_not_save_its_index_again(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with faiss_store(path) as store:
        store.put(("team", "t"), "a", {"text": "the parcel arrived damaged"})
    index_file = path / INDEX_FILE
    saved = index_file.stat().st_mtime_ns, index_file.read_bytes()
    with faiss_store(path) as store:  # reads only
        assert store.search(("team",), query="damaged parcel", limit=1)[0].key == "a"
    assert (index_file.stat().st_mtime_ns, index_file.read_bytes()) == saved
    with faiss_store(path) as store:  # a write: the file is saved again, and reloads
        store.put(("team", "t"), "b", {"text": "the customer prefers email"})
    assert index_file.read_bytes() != saved[1]
    with faiss_store(path) as store:
        assert store.search(("team",), query="prefers email", limit=1)[0].key == "b"
        assert store.stats()["vectors"] == 2


def test_atomic_is_one_transaction_and_a_rollback_leaves_the_index_true(tmp_path: Path) -> None:
    ns = ("team", "t", "shared")
    with faiss_store(tmp_path) as store:
        store.put(ns, "kept", {"text": "refund policy for delayed orders"})
        with pytest.raises(RuntimeError, match="midway"), store.atomic():
            store.put(ns, "a", {"text": "carrier outage in the north"})
            with store.atomic():  # nested: part of the outer one
                store.put(ns, "b", {"text": "premium customers get express"})
            assert store.get(ns, "b") is not None  # seen inside, before the commit
            raise RuntimeError("midway")
        assert store.get(ns, "a") is None and store.get(ns, "b") is None
        assert store.stats()["vectors"] == 1
        # The index took in nothing that was rolled back: new vectors get the ids the
        # rollback freed, and search finds exactly what SQLite holds.
        store.put(ns, "c", {"text": "carrier outage in the south"})
        with store.atomic():
            store.put(ns, "d", {"text": "premium customers get express"})
        hits = store.search(("team",), query="carrier outage premium express", limit=10)
        assert sorted(h.key for h in hits) == ["c", "d", "kept"]
        assert store.search(ns, query="premium express", limit=1)[0].key == "d"
    with faiss_store(tmp_path) as store:  # and the saved index agrees with SQLite
        assert sorted(h.key for h in store.search(ns, query="outage", limit=10)) == [
            "c",
            "d",
            "kept",
        ]


def increment(path: Path, start: object) -> None:
    ns = ("team", "t", "shared")
    with faiss_store(path) as store:
        start.wait(30)  # type: ignore[attr-defined]
        for _ in range(200):
            with store.atomic():
                n = store.get(ns, "counter").value["n"]
                store.put(ns, "counter", {"text": "counter", "n": n + 1})


def test_atomic_holds_other_processes_writes_until_it_commits(tmp_path: Path) -> None:
    """A read-modify-write inside `atomic()` cannot interleave with another process's
    (without `atomic()` these two writers lost increments: each of 3 runs ended below 400)."""
    ns = ("team", "t", "shared")
    with faiss_store(tmp_path) as store:
        store.put(ns, "counter", {"text": "counter", "n": 0})
    fork = multiprocessing.get_context("fork")
    start = fork.Event()
    writers = [fork.Process(target=increment, args=(tmp_path, start)) for _ in range(2)]
    for writer in writers:
        writer.start()
    start.set()
    for writer in writers:
        writer.join(120)
        assert writer.exitcode == 0
    with faiss_store(tmp_path) as store:
        n = store.get(ns, "counter").value["n"]
    assert n == 400  # no increment lost


def test_hybrid_candidates_rank_several_namespaces_and_filter_alternatives_at_once(
    tmp_path: Path,
) -> None:
    shared, sam, jordan = (
        ("team", "t", "shared"),
        ("team", "t", "agent", "sam"),
        (
            "team",
            "t",
            "agent",
            "jordan",
        ),
    )
    with faiss_store(tmp_path) as store:
        for namespace in (shared, sam, jordan):
            fill(store, 30, namespace)
        store.put(shared, "plain", {"text": "refund for a delayed order, plain item"})
        any_of = [{"n": {"$gte": 20}}, {"n": None}]  # recent numbered notes, or no number
        dense, lexical = store.hybrid_candidates(
            [shared, sam], "refund delayed order", any_of=any_of, dense_limit=12, lexical_limit=8
        )
        assert len(dense) == 12 and len(lexical) == 8
        for hit in dense + lexical:
            assert tuple(hit.namespace) in (shared, sam)  # jordan's never
            assert hit.value.get("n") is None or hit.value["n"] >= 20
        # Each ranking is the store's own ranking restricted to the alternatives.
        reference = [
            h
            for ns in (shared, sam)
            for f in any_of
            for h in store.search(ns, query="refund delayed order", filter=f, limit=12)
        ]
        best = sorted(reference, key=lambda h: -(h.score or 0))[:12]
        assert [h.score for h in dense] == pytest.approx([h.score for h in best])
        assert [h.score for h in lexical] == sorted((h.score for h in lexical), reverse=True)
        assert "plain" in {h.key for h in dense + lexical}
        assert store.hybrid_candidates([jordan], "", dense_limit=3, lexical_limit=3)[1] == []


@pytest.mark.parametrize("keep", [1, 7, 40])
def test_hybrid_fused_keeps_what_fusing_both_rankings_keeps(tmp_path: Path, keep: int) -> None:
    # The store fuses by item id before building items; fusing hybrid_candidates' items
    # (retrieval.reciprocal_rank_fusion) must keep the same hits, ranks, scores and items.
    shared, sam = ("team", "t", "shared"), ("team", "t", "agent", "sam")
    with faiss_store(tmp_path) as store:
        fill(store, 30, shared)
        fill(store, 30, sam)
        store.put(shared, "plain", {"text": "refund for a delayed order, plain item"})
        store.put(sam, "unindexed", {"text": "refund delayed"}, index=False)
        any_of = [{"n": {"$gte": 10}}, {"n": None}]
        query, weights = "refund delayed order", (1.0, 1.5)
        dense, lexical = store.hybrid_candidates(
            [shared, sam], query, any_of=any_of, dense_limit=20, lexical_limit=12
        )
        expected = reciprocal_rank_fusion([dense, lexical], weights, rrf_k=10)[:keep]
        fused = store.hybrid_fused(
            [shared, sam],
            query,
            any_of=any_of,
            dense_limit=20,
            lexical_limit=12,
            weights=weights,
            rrf_k=10,
            keep=keep,
        )
        similarity = {(tuple(h.namespace), h.key): h.score for h in dense}
        assert (
            len(fused)
            == len(expected)
            == min(keep, len({*similarity, *[(tuple(h.namespace), h.key) for h in lexical]}))
        )
        for got, (item, relevance, ranks) in zip(fused, expected, strict=True):
            assert (tuple(got.item.namespace), got.item.key) == (tuple(item.namespace), item.key)
            assert got.item.score == item.score and got.item.value == item.value
            assert got.relevance == pytest.approx(relevance)
            assert [got.dense_rank, got.lexical_rank] == ranks
            assert got.similarity == similarity.get((tuple(item.namespace), item.key))
        with pytest.raises(ValueError, match="keep"):
            store.hybrid_fused([shared], query, dense_limit=3, lexical_limit=3, keep=-1)


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # any size: beyond 64 bits too
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(), _JSON_VALUES, max_size=6))
def test_stored_values_are_read_back_exactly(value: dict) -> None:
    # The store reads rows with a faster parser than it writes them with: what it reads
    # must be what the standard library reads, numbers of any size included.
    text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    parsed = parse_value(text)
    assert parsed == json.loads(text)
    assert json.dumps(parsed) == json.dumps(json.loads(text))  # types too (int vs float)
