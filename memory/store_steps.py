"""Store access written once, run by a sync or an async caller (sans-IO).

The memory manager's reads are generators of *store steps*: each ``yield`` hands out one
request (a list of LangGraph store operations, or a BM25 ranking) and receives its
result. ``run`` answers them with the store's ``batch`` (and ``lexical_search``);
``arun`` with ``await store.abatch`` (and the store's async twins of the others), so an
async caller never blocks its event loop: the Postgres store's ``abatch`` is its async
driver; the FAISS store's embeds with ``aembed_query`` and reads SQLite (which has no
async driver) in a worker thread of its own. One logic, two drivers, as LangGraph's own
``BaseStore`` shares ``batch``/``abatch``.

Writes are steps too (``MemoryManager.add``). A write may hold a store transaction across
several steps (the FAISS store's ``atomic()``, ``with`` inside the generator); that
transaction belongs to the thread that opened it, so ``arun_write`` runs the whole
generator with ``run`` in one worker thread on such a store, and with ``arun`` elsewhere
(one write at a time per store and event loop: a store without transactions cannot
keep two interleaved read-modify-writes apart).
A ``Blocking`` step (a model call) runs in place under ``run`` and in a worker thread
under ``arun``. An error answering a step is raised inside the generator at its ``yield``,
so its ``with`` blocks (a transaction's rollback) unwind there, in the running thread.

A store without BM25 (``lexical_search``), such as PostgresStore or InMemoryStore,
answers a ``Lexical`` step with no ranking; dense search alone then ranks. The FAISS
store answers a ``FusedCandidates`` step (both rankings in one pass, fused, its
``hybrid_fused``); other stores answer it None and the dense and BM25 steps run instead.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from langgraph.store.base import BaseStore, GetOp, Item, Op, Result, SearchItem, SearchOp

from memory.fusion import Fused
from memory.store_compat import tolerant

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
class FusedCandidates:
    """Both rankings fused by rank (memory/fusion.py), the best `keep`, in one call, where
    the store offers it (the FAISS store's `hybrid_fused`); answered None elsewhere."""

    namespaces: tuple[tuple[str, ...], ...]
    query: str
    any_of: tuple[dict[str, Any] | None, ...]
    limit: int
    lexical_limit: int
    weights: tuple[float, float]
    rrf_k: int
    keep: int


@dataclass(frozen=True)
class Blocking:
    """A blocking call that is not the store's (a model call), kept off the event loop."""

    call: Callable[[], Any]


Request = list[Op] | Lexical | FusedCandidates | Blocking
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


def _fused(store: BaseStore, request: FusedCandidates) -> list[Fused] | None:
    native = getattr(store, "hybrid_fused", None)
    if not callable(native):
        return None
    return cast(
        list[Fused], native(list(request.namespaces), request.query, **_fused_options(request))
    )


def _fused_options(request: FusedCandidates) -> dict[str, Any]:
    """The keyword arguments of the store's `hybrid_fused` / `ahybrid_fused`."""
    return {
        "any_of": request.any_of,
        "dense_limit": request.limit,
        "lexical_limit": request.lexical_limit,
        "weights": request.weights,
        "rrf_k": request.rrf_k,
        "keep": request.keep,
    }


async def _afused(store: BaseStore, request: FusedCandidates) -> list[Fused] | None:
    native = getattr(store, "ahybrid_fused", None)
    if callable(native):
        return cast(
            list[Fused],
            await native(list(request.namespaces), request.query, **_fused_options(request)),
        )
    if not callable(getattr(store, "hybrid_fused", None)):
        return None
    return await asyncio.to_thread(_fused, store, request)


def run(store: BaseStore, steps: Steps[T]) -> T:
    """Answer each request of `steps` with the store's sync calls; return its result."""
    try:
        request = next(steps)
        while True:
            try:
                answer = _answer(store, request)
            except Exception as error:
                request = steps.throw(error)
            else:
                request = steps.send(answer)
    except StopIteration as done:
        return cast(T, done.value)


def _answer(store: BaseStore, request: Request) -> Any:
    if isinstance(request, Lexical):
        return _lexical(store, request)
    if isinstance(request, FusedCandidates):
        return _fused(store, request)
    if isinstance(request, Blocking):
        return request.call()
    ops, finish = tolerant(store, request)
    return finish(store.batch(ops))


async def arun(store: BaseStore, steps: Steps[T]) -> T:
    """Answer each request of `steps` with the store's async calls; return its result."""
    try:
        request = next(steps)
        while True:
            try:
                answer = await _aanswer(store, request)
            except Exception as error:
                request = steps.throw(error)
            else:
                request = steps.send(answer)
    except StopIteration as done:
        return cast(T, done.value)


async def _aanswer(store: BaseStore, request: Request) -> Any:
    if isinstance(request, Lexical):
        return await _alexical(store, request)
    if isinstance(request, FusedCandidates):
        return await _afused(store, request)
    if isinstance(request, Blocking):
        return await asyncio.to_thread(request.call)
    ops, finish = tolerant(store, request)
    return finish(await store.abatch(ops))


def has_thread_transactions(store: BaseStore) -> bool:
    """Whether the store's transactions (`atomic()`) belong to the thread that opens them."""
    return callable(getattr(store, "atomic", None))


async def arun_write(store: BaseStore, steps: Steps[T]) -> T:
    """A write's steps from async code: on the store's `abatch` (`arun`), or, for a store
    whose transactions are thread-bound (the FAISS store), with `run` in one worker thread,
    so the transactions the steps open are opened, used and closed in that thread.

    A store without transactions (InMemoryStore, Postgres) takes this process's async
    writes one at a time: interleaved at their awaits, two writes' read-modify-writes
    (a reinforcement, a fold of twins) would overwrite each other's counts. The FAISS
    store's `atomic()` serialises them likewise (its lock, then SQLite's)."""
    if has_thread_transactions(store):
        return await asyncio.to_thread(run, store, steps)
    async with _write_lock(store):
        return await arun(store, steps)


_WRITE_LOCKS: weakref.WeakKeyDictionary[
    BaseStore, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
] = weakref.WeakKeyDictionary()


def _write_lock(store: BaseStore) -> asyncio.Lock:
    """One lock per store and event loop (an asyncio lock belongs to one loop)."""
    per_loop = _WRITE_LOCKS.setdefault(store, weakref.WeakKeyDictionary())
    return per_loop.setdefault(asyncio.get_running_loop(), asyncio.Lock())


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


def fused(
    namespaces: Sequence[tuple[str, ...]],
    query: str,
    *,
    any_of: Sequence[dict[str, Any] | None],
    limit: int,
    lexical: int,
    weights: tuple[float, float],
    rrf_k: int,
    keep: int,
) -> Steps[list[Fused] | None]:
    """The best `keep` of both rankings fused, where the store fuses them in one pass, else
    None (`limit` / `lexical`: each ranking's length before fusion)."""
    found: list[Fused] | None = yield FusedCandidates(
        tuple(tuple(ns) for ns in namespaces),
        query,
        tuple(any_of),
        limit,
        lexical,
        weights,
        rrf_k,
        keep,
    )
    return found


def blocking(call: Callable[..., T], *args: Any) -> Steps[T]:
    """`call(*args)`, a blocking call that is not the store's (a model call)."""
    result: T = yield Blocking(functools.partial(call, *args))
    return result
