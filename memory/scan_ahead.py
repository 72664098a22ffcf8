"""A search's vector scan run beside its BM25 query, on another core.

A hybrid search needs both rankings, and neither needs the other: the vector scan is FAISS
(C++, one thread, the GIL released) and BM25 is SQLite's FTS5 (C, the GIL released too).
Run one after the other, the second core of the machine idles while each runs. The FAISS
store therefore starts the scan's first batch in a worker thread of its own, ranks BM25
in the calling thread meanwhile, and then reads the scan's result, continuing any later
batch in the calling thread as before. The results are the same; what changes is how long
the caller waits: in the hot-path bench at 10k memories (three runs each way, interleaved
with mem0), a search took 0.95-0.97 of mem0's time with it and 1.00-1.02 without it,
about 0.4 ms of a 7.5 ms search.

The worker only reads the vector index, and only while the caller holds the store's lock
(no write can change the index under it): `started` waits for the worker before it
returns, whatever happens in between.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

OVERLAP_FROM = 2_000
"""The fewest vectors a scan covers for it to run beside BM25: below that a scan takes
about as long as handing it to another thread (tens of microseconds)."""


CORES = os.cpu_count() or 1


def worth_overlapping(vectors: int) -> bool:
    """Whether a scan of `vectors` vectors should run beside BM25 (and there is a second
    core to run it on)."""
    return vectors >= OVERLAP_FROM and CORES > 1


class ScanWorker:
    """One worker thread, started on first use, for one store's scans."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0
        """The process that started the pool: a forked child has none of its threads."""

    @contextmanager
    def started(self, batches: Iterator[T]) -> Iterator[Iterator[T]]:
        """`batches` with its first batch being computed in the worker from now on; the
        iterator yielded gives that batch, then the rest (computed by the caller)."""
        if self._pool is None or self._pid != os.getpid():
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
            self._pid = os.getpid()
        try:
            first: Future[T | None] = self._pool.submit(next, batches, None)
        except RuntimeError:  # the interpreter is shutting down: no new work for threads
            yield batches  # the caller scans, as it does below OVERLAP_FROM
            return
        try:
            yield _after(first, batches)
        finally:
            wait([first])  # the worker reads the index only while the caller holds the lock

    def shutdown(self) -> None:
        if self._pool is not None and self._pid == os.getpid():
            self._pool.shutdown(wait=True)
        self._pool = None


def _after(first: Future[T | None], rest: Iterator[T]) -> Iterator[T]:
    head = first.result()
    if head is None:
        return
    yield head
    yield from rest
