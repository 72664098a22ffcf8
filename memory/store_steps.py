"""Store access written once, run by a sync or an async caller (sans-IO).

The memory manager's reads are generators of *store steps*: each ``yield`` hands out one
request (a list of LangGraph store operations, or a BM25 ranking) and receives its
result. ``run`` answers them with the store's ``batch`` (and ``lexical_search``);
``arun`` with ``await store.abatch`` (and the store's async twins of the others), so an
async caller never blocks its event loop: the Postgres store's ``abatch`` is its async
driver; the FAISS store's embeds with ``aembed_query`` and reads SQLite (which has no
async driver) in a worker thread of its own. One logic, two drivers, as LangGraph's own
``BaseStore`` shares ``batch``/``abatch``.

A store without BM25 (``lexical_search``), such as PostgresStore or InMemoryStore,
answers a ``Lexical`` step with no ranking; dense search alone then ranks. The FAISS
store answers a ``Candidates`` step (both rankings in one pass, ``hybrid_candidates``);
other stores answer it None and the dense and BM25 steps run instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from langgraph.store.base import BaseStore, GetOp, Item, Op, Result, SearchItem, SearchOp

T = TypeVar("T")


@dataclass(frozen=True)
class Lexical:
    """A BM25 ranking (the FAISS store's SQLite FTS5 index), as `lexical_search` takes it."""

    prefix: tuple[str, ...]
    query: str
    filter: dict[str, Any] | None
    limit: int
    within: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Candidates:
    """Both rankings hybrid retrieval fuses, in one call, where the store offers it (the
    FAISS store's `hybrid_candidates`); answered None elsewhere."""

    namespaces: tuple[tuple[str, ...], ...]
    query: str
    any_of: tuple[dict[str, Any] | None, ...]
    limit: int


Request = list[Op] | Lexical | Candidates
Steps = Generator[Request, Any, T]
"""A computation over a store: yields requests, receives their results, returns a T."""


def has_lexical(store: BaseStore) -> bool:
    return callable(getattr(store, "lexical_search", None))


def _lexical(store: BaseStore, request: Lexical) -> list[SearchItem]:
    if not has_lexical(store):
        return []
    return cast(
        list[SearchItem],
        store.lexical_search(  # type: ignore[attr-defined]
            request.prefix,
            request.query,
            filter=request.filter,
            limit=request.limit,
            within=list(request.within),
        ),
    )


async def _alexical(store: BaseStore, request: Lexical) -> list[SearchItem]:
    if not has_lexical(store):
        return []
    native = getattr(store, "alexical_search", None)
    if callable(native):
        return cast(
            list[SearchItem],
            await native(
                request.prefix,
                request.query,
                filter=request.filter,
                limit=request.limit,
                within=list(request.within),
            ),
        )
    return await asyncio.to_thread(_lexical, store, request)


Ranked = tuple[list[SearchItem], list[SearchItem]]


def _candidates(store: BaseStore, request: Candidates) -> Ranked | None:
    native = getattr(store, "hybrid_candidates", None)
    if not callable(native):
        return None
    return cast(
        Ranked,
        native(
            list(request.namespaces),
            request.query,
            any_of=request.any_of,
            dense_limit=request.limit,
            lexical_limit=request.limit,
        ),
    )


async def _acandidates(store: BaseStore, request: Candidates) -> Ranked | None:
    native = getattr(store, "ahybrid_candidates", None)
    if callable(native):
        return cast(
            Ranked,
            await native(
                list(request.namespaces),
                request.query,
                any_of=request.any_of,
                dense_limit=request.limit,
                lexical_limit=request.limit,
            ),
        )
    if not callable(getattr(store, "hybrid_candidates", None)):
        return None
    return await asyncio.to_thread(_candidates, store, request)


def run(store: BaseStore, steps: Steps[T]) -> T:
    """Answer each request of `steps` with the store's sync calls; return its result."""
    try:
        request = next(steps)
        while True:
            if isinstance(request, Lexical):
                answer: Any = _lexical(store, request)
            elif isinstance(request, Candidates):
                answer = _candidates(store, request)
            else:
                answer = store.batch(request)
            request = steps.send(answer)
    except StopIteration as done:
        return cast(T, done.value)


async def arun(store: BaseStore, steps: Steps[T]) -> T:
    """Answer each request of `steps` with the store's async calls; return its result."""
    try:
        request = next(steps)
        while True:
            if isinstance(request, Lexical):
                answer: Any = await _alexical(store, request)
            elif isinstance(request, Candidates):
                answer = await _acandidates(store, request)
            else:
                answer = await store.abatch(request)
            request = steps.send(answer)
    except StopIteration as done:
        return cast(T, done.value)


# ---- the requests, as steps ------------------------------------------------------------------
def batch(ops: Sequence[Op]) -> Steps[list[Result]]:
    results: list[Result] = yield list(ops)
    return results


def search(
    namespace: tuple[str, ...],
    *,
    query: str | None = None,
    filter: dict[str, Any] | None = None,
    limit: int = 10,
    offset: int = 0,
) -> Steps[list[SearchItem]]:
    (found,) = yield [SearchOp(namespace, filter, limit, offset, query)]
    return cast(list[SearchItem], found)


def get(namespace: tuple[str, ...], key: str) -> Steps[Item | None]:
    (item,) = yield [GetOp(namespace, key)]
    return cast(Item | None, item)


def lexical(
    prefix: tuple[str, ...],
    query: str,
    *,
    filter: dict[str, Any] | None,
    limit: int,
    within: Sequence[tuple[str, ...]],
) -> Steps[list[SearchItem]]:
    ranked: list[SearchItem] = yield Lexical(prefix, query, filter, limit, tuple(within))
    return ranked


def candidates(
    namespaces: Sequence[tuple[str, ...]],
    query: str,
    *,
    any_of: Sequence[dict[str, Any] | None],
    limit: int,
) -> Steps[Ranked | None]:
    both: Ranked | None = yield Candidates(
        tuple(tuple(ns) for ns in namespaces), query, tuple(any_of), limit
    )
    return both
