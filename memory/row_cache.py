"""Item rows a store has read and parsed, kept for later searches until they change.

A search reads its candidates' rows from SQLite, parses their JSON and tests them against
its filters (the costs that put it above a bare vector scan); consecutive searches over
the same memories mostly find the same rows. The cache holds each row by item_id, its
value parsed once and its verdict for a set of filters judged once while it stays
cached. It is exact, not approximate: every write of this store's connection discards
the rows it touches (`discard`), and a write by any other connection or process
(SQLite's ``data_version``) empties it (`clear`). Rows read inside a write transaction are neither
taken from it nor put into it (a rollback would leave a value that never was).

A handle searched a second time is taken to be long-lived (a server, a graph, a bench;
a one-shot command searches once): the cache is then filled with the newest rows, parsed,
up to its capacity (`warm`; 0.3 s at 10k memories on a busy 2-core machine, once), so
that a search finds its candidates in memory, as a vector store keeping its documents in
memory does, not only those earlier searches touched. After a write by another
connection empties it, it fills again search by search.

Values are shared: a caller handing one out copies it first (`FaissStore` gives every
`SearchItem` a copy of the top-level dict), so that no caller can change another's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memory.store_db import ItemRow, parse_value

DEFAULT_CAPACITY = 10_000
"""Rows kept at most: a parsed memory takes ~4.5 KB (45 MB when full, measured with
tracemalloc at 10k); the oldest fifth goes when full. A 10k store fits whole; a larger one
keeps its newest rows and what its searches touch."""
MAX_FILTERS = 32
"""Filter sets whose verdicts are kept (a search's filters differ by its subject and
threshold); past this many, all verdicts are dropped and judged again."""


class RowCache:
    """item_id -> (row, its parsed value), for one store connection."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
            raise ValueError(f"row cache capacity must be a whole number >= 0, got {capacity!r}")
        self.capacity = capacity
        """Rows kept at most; 0: none (every search reads SQLite)."""
        self._uses = 0
        self._rows: dict[int, ItemRow] = {}
        self._values: dict[int, dict[str, Any]] = {}
        self._verdicts: dict[str, dict[int, bool]] = {}
        """filters (their repr) -> item_id -> whether the row matches them."""

    def __len__(self) -> int:
        return len(self._rows)

    def due_to_warm(self) -> bool:
        """Whether to `warm` now: at the second search of the handle, once."""
        self._uses += 1
        return self._uses == 2 and self.capacity > 0

    def warm(self, rows: list[ItemRow]) -> None:
        """Hold `rows` (newest first, at most `capacity`), parsed, instead of what it held;
        the oldest of them are the first to go when the cache is full."""
        kept = rows[: self.capacity][::-1]
        self.clear()
        self.put({row[0]: row for row in kept})
        for row in kept:
            self.value(row[0], row)

    @property
    def rows(self) -> Mapping[int, ItemRow]:
        """item_id -> its cached row (read-only: `put`, `discard` and `clear` change it)."""
        return self._rows

    def put(self, rows: dict[int, ItemRow]) -> None:
        if not self.capacity:
            return
        for item_id, row in rows.items():
            if self._rows.get(item_id) != row:
                self._forget(item_id)
            self._rows[item_id] = row
        if len(self._rows) > self.capacity:
            self._evict(len(self._rows) - self.capacity)

    def value(self, item_id: int, row: ItemRow) -> dict[str, Any]:
        """`row`'s parsed value: parsed once while the row stays cached (the caller must
        not change it)."""
        value = self._values.get(item_id)
        if value is None:
            value = parse_value(row[3])
            if self._rows.get(item_id) is row:
                self._values[item_id] = value
        return value

    def verdicts(self, filters: str) -> dict[int, bool]:
        """item_id -> whether its cached row matches `filters` (a search's filter
        alternatives, by repr), as judged while nothing changed the row; absent: not
        judged. The caller may add a verdict for a row that is cached (a row's verdicts
        go with it, so each filter set holds at most `capacity`), and holds the table for
        one search at most: a write, or a search with another filter set, may replace it."""
        verdicts = self._verdicts.get(filters)
        if verdicts is None:
            if len(self._verdicts) >= MAX_FILTERS:
                self._verdicts.clear()
            verdicts = self._verdicts[filters] = {}
        return verdicts

    def discard(self, item_ids: list[int] | tuple[int, ...]) -> None:
        for item_id in item_ids:
            self._forget(item_id)

    def clear(self) -> None:
        self._rows.clear()
        self._values.clear()
        self._verdicts.clear()

    def _forget(self, item_id: int) -> None:
        self._rows.pop(item_id, None)
        self._values.pop(item_id, None)
        for verdicts in self._verdicts.values():
            verdicts.pop(item_id, None)

    def _evict(self, at_least: int) -> None:
        count = min(len(self._rows), max(at_least, self.capacity // 5))
        for item_id in list(self._rows)[:count]:  # dicts keep insertion order: oldest first
            self._forget(item_id)
