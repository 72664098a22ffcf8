"""Filters LangGraph's InMemoryStore cannot evaluate on every item.

InMemoryStore applies ``$gt $gte $lt $lte`` with ``float(value)``: an item lacking the
key (a plain ``{"content": ...}`` note has no ``confidence``) raises TypeError, so one
such note in a namespace broke every `MemoryManager.search` there. On that store a search
is asked without its comparisons and they are applied here, with the semantics of this
layer's own stores (memory/store_filters.py: a missing key never satisfies a comparison).
Every other store is asked as it is.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, cast

from langgraph.store.base import BaseStore, Op, Result, SearchItem, SearchOp

from memory.store_filters import COMPARISONS, compile_any

Finish = Callable[[list[Result]], list[Result]]


def tolerant(store: BaseStore, ops: Sequence[Op]) -> tuple[list[Op], Finish]:
    """`ops` as `store` can answer them, and what turns its answers into theirs."""
    ops = list(ops)
    if not _is_in_memory_store(store) or not any(_compares(op) for op in ops):
        return ops, _unchanged
    asked: list[Op] = []
    finishers: list[Callable[[Result], Result] | None] = []
    for op in ops:
        if isinstance(op, SearchOp) and _compares(op):
            assert op.filter is not None
            kept = {k: v for k, v in op.filter.items() if not _is_comparison(v)}
            # Every candidate: which ones the comparisons drop is only known here.
            asked.append(SearchOp(op.namespace_prefix, kept or None, 2**31 - 1, 0, op.query))
            finishers.append(_filtered_page(op))
        else:
            asked.append(op)
            finishers.append(None)

    def finish(results: list[Result]) -> list[Result]:
        return [f(r) if f else r for f, r in zip(finishers, results, strict=True)]

    return asked, finish


def _filtered_page(op: SearchOp) -> Callable[[Result], Result]:
    matches = compile_any([op.filter])

    def page(result: Result) -> Result:
        hits = [hit for hit in cast(list[SearchItem], result) if matches(hit.value)]
        return hits[op.offset : op.offset + op.limit]

    return page


def _unchanged(results: list[Result]) -> list[Result]:
    return results


def _compares(op: Op) -> bool:
    return isinstance(op, SearchOp) and any(_is_comparison(v) for v in (op.filter or {}).values())


def _is_comparison(expected: Any) -> bool:
    return isinstance(expected, dict) and any(k in COMPARISONS for k in expected)


def _is_in_memory_store(store: BaseStore) -> bool:
    module = sys.modules.get("langgraph.store.memory")  # not imported: not one of its stores
    return module is not None and isinstance(store, module.InMemoryStore)
