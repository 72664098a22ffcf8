"""Reading memories back from a store defensively: one bad record never breaks a search.

A record written before validation existed, by another tool or by hand may not parse
(a naive datetime, a missing field). Such a record is skipped and reported on the
``memory.integrity`` logger (shown by the CLI without -v), naming where it lives, so an
operator can fix or forget it; every other memory still reads.
"""

from __future__ import annotations

import logging

from langgraph.store.base import Item
from pydantic import ValidationError

from memory.models import Memory

integrity_log = logging.getLogger("memory.integrity")


def read_memory(item: Item) -> Memory | None:
    """The memory in a store item (a full record or a plain ``{"content": ...}`` item, see
    `Memory.from_item`), or None, reported, when the item is unreadable."""
    try:
        return Memory.from_item(item)
    except (ValidationError, TypeError, ValueError, AttributeError) as exc:
        integrity_log.warning(
            "skipping unreadable memory %s/%s: %s",
            "/".join(item.namespace),
            item.key,
            _first_error(exc),
        )
        return None


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "record"
        return f"{where}: {error['msg']} ({exc.error_count()} problem(s))"
    return f"{type(exc).__name__}: {exc}"
