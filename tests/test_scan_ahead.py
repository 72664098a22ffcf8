"""A search's vector scan runs beside its BM25 query (memory/scan_ahead.py): the same
results, the scan in the store's worker thread, and never still running once the search
has returned."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import memory.store as store_module
from memory.scan_ahead import ScanWorker, worth_overlapping
from memory.store import FaissStore
from memory.vector_index import VectorIndex
from tests.store_backends import faiss_store

SHARED, SAM = ("team", "t", "shared"), ("team", "t", "agent", "sam")
QUERIES = ("refund for a delayed order", "password reset email", "order 17 shipped")


def _fill(store: FaissStore) -> None:
    topics = ("refund", "delayed order", "password reset", "shipping", "invoice")
    for i in range(300):
        namespace = SHARED if i % 3 else SAM
        text = f"note {i}: {topics[i % len(topics)]} case {i % 23} for order {i}"
        store.put(namespace, f"k{i}", {"text": text, "n": i})


def _results(store: FaissStore) -> list[list[tuple[str, float | None, float]]]:
    out = []
    for query in QUERIES:
        fused = store.hybrid_fused(
            [SHARED, SAM],
            query,
            any_of=[{"n": {"$gte": 30}}],
            dense_limit=24,
            lexical_limit=12,
            keep=12,
        )
        out.append([(f.item.key, f.similarity, round(f.relevance, 9)) for f in fused])
    return out


def test_the_scan_beside_bm25_gives_the_same_results_from_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned_in: list[str] = []
    ranked = VectorIndex._ranked

    def recording(self: VectorIndex, *args: object, **kwargs: object) -> Iterator[object]:
        scanned_in.append(threading.current_thread().name)
        yield from ranked(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(VectorIndex, "_ranked", recording)
    with faiss_store(tmp_path) as store:
        _fill(store)
        monkeypatch.setattr(store_module, "worth_overlapping", lambda vectors: False)
        alone = _results(store)
        assert scanned_in and not any(n.startswith("faiss-scan") for n in scanned_in)
        scanned_in.clear()
        monkeypatch.setattr(store_module, "worth_overlapping", lambda vectors: True)
        beside = _results(store)
        assert len(scanned_in) == len(QUERIES)
        assert all(name.startswith("faiss-scan") for name in scanned_in)
    assert beside == alone
    assert all(len(hits) == 12 for hits in alone)


def test_small_scans_and_single_cores_stay_in_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not worth_overlapping(100)
    monkeypatch.setattr("memory.scan_ahead.CORES", 2)
    assert worth_overlapping(10_000)
    monkeypatch.setattr("memory.scan_ahead.CORES", 1)
    assert not worth_overlapping(10_000)


def test_the_worker_is_done_before_the_caller_goes_on() -> None:
    worker = ScanWorker("test-scan")
    finished: list[float] = []

    def slow() -> Iterator[int]:
        time.sleep(0.2)
        finished.append(time.monotonic())
        yield 1

    # The caller fails before reading the scan: the worker is still waited for.
    with pytest.raises(RuntimeError, match="bm25 failed"), worker.started(slow()):
        raise RuntimeError("bm25 failed")
    assert finished  # the scan had finished when the caller went on
    with worker.started(iter([[1, 2], [3]])) as batches:
        assert list(batches) == [[1, 2], [3]]
    with worker.started(iter([])) as batches:
        assert list(batches) == []
    worker.shutdown()


def test_a_scan_error_reaches_the_caller() -> None:
    worker = ScanWorker("test-scan")

    def broken() -> Iterator[int]:
        raise ValueError("damaged index")
        yield 0  # pragma: no cover

    with pytest.raises(ValueError, match="damaged index"), worker.started(broken()) as batches:
        list(batches)
    worker.shutdown()


def _scan_in_child(worker: ScanWorker, out: multiprocessing.Queue[object]) -> None:
    with worker.started(iter([[7]])) as batches:
        out.put(list(batches))


def test_a_forked_child_starts_its_own_worker() -> None:
    # A worker used before a fork has no thread in the child: the child must not wait
    # on it forever.
    worker = ScanWorker("test-scan")
    with worker.started(iter([[1]])) as batches:
        assert list(batches) == [[1]]
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[object] = context.Queue()
    child = context.Process(target=_scan_in_child, args=(worker, out))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert out.get(timeout=5) == [[7]]
    worker.shutdown()


def test_without_a_thread_to_run_it_the_caller_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    # At interpreter shutdown a thread pool takes no new work: the scan runs in the caller.
    worker = ScanWorker("test-scan")
    with worker.started(iter([[1]])) as batches:
        assert list(batches) == [[1]]
    assert worker._pool is not None

    def refused(*args: object, **kwargs: object) -> None:
        raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(worker._pool, "submit", refused)
    scanned_in: list[str] = []

    def batches_here() -> Iterator[list[int]]:
        scanned_in.append(threading.current_thread().name)
        yield [2, 3]

    with worker.started(batches_here()) as batches:
        assert list(batches) == [[2, 3]]
    assert scanned_in == [threading.current_thread().name]
    worker.shutdown()
