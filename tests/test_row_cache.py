"""The FAISS store keeps the rows its searches read (memory/row_cache.py): later searches
return exactly what a store without the cache returns, whatever was written in between,
by this handle, another handle or inside a transaction that rolled back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import PutOp

from memory.row_cache import RowCache
from memory.store import FaissStore
from tests.fakes import DeterministicEmbeddings

NS = ("team", "support", "shared")
QUERY = "refund for damaged parcels"


def open_store(path: Path, **options: Any) -> FaissStore:
    index = {"dims": 64, "embed": DeterministicEmbeddings(64), "fields": ["content"]}
    return FaissStore(path, index=index, **options)  # type: ignore[arg-type]


def fill(store: FaissStore, count: int = 10) -> None:
    """`count` items; up to 12 each ranking returns them all."""
    content = "damaged parcel {} gets a refund"
    store.batch(
        [
            PutOp(NS, f"k{n}", {"content": content.format(n), "owner": f"c{n % 3}"})
            for n in range(count)
        ]
    )


def found(store: FaissStore, **filter: Any) -> list[tuple[str, Any]]:
    """Both rankings of one hybrid search, as (key, value) in order."""
    dense, lexical = store.hybrid_candidates(
        [NS], QUERY, any_of=[filter] if filter else [], dense_limit=12, lexical_limit=12
    )
    return [(h.key, h.value) for h in dense] + [(h.key, h.value) for h in lexical]


def uncached(path: Path, **filter: Any) -> list[tuple[str, Any]]:
    """What a fresh handle (an empty cache) finds: the reference."""
    with open_store(path) as fresh:
        return found(fresh, **filter)


def test_later_searches_read_rows_from_the_cache(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill(store)
        first = found(store)
        assert len(store._rows) > 0
        calls: list[int] = []
        original = store._db.rows

        def counting(ids: list[int], *args: Any) -> Any:
            calls.append(len(ids))
            return original(ids, *args)

        store._db.rows = counting  # type: ignore[method-assign]
        assert found(store) == first
        assert calls == []  # every row came from the cache


def test_this_handles_writes_change_what_later_searches_return(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill(store)
        found(store)  # cached
        store.put(NS, "k1", {"content": "damaged parcel 1 gets a refund and a voucher"})
        store.delete(NS, "k2")
        store.put(NS, "k_new", {"content": "a damaged parcel refund note"})
        after = found(store)
        assert after == uncached(tmp_path)
        keys = [k for k, _ in after]
        assert "k2" not in keys and "k_new" in keys
        assert dict(after)["k1"]["content"].endswith("voucher")


def test_another_handles_writes_are_seen(tmp_path: Path) -> None:
    with open_store(tmp_path) as store, open_store(tmp_path) as other:
        fill(store)
        found(store)  # cached
        other.put(NS, "k3", {"content": "damaged parcel 3: refund refused", "owner": "c0"})
        other.delete(NS, "k4")
        after = found(store)
        assert dict(after)["k3"]["content"] == "damaged parcel 3: refund refused"
        assert "k4" not in dict(after)
        assert after == uncached(tmp_path)


def test_a_rolled_back_write_leaves_nothing_behind(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill(store)
        before = found(store)
        with pytest.raises(RuntimeError), store.atomic():
            store.put(NS, "k5", {"content": "damaged parcel 5: rolled back", "owner": "c2"})
            inside = found(store)  # reads the transaction's own write
            assert dict(inside)["k5"]["content"] == "damaged parcel 5: rolled back"
            raise RuntimeError("undo")
        assert found(store) == before == uncached(tmp_path)


def test_verdicts_are_kept_per_filter(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill(store)
        for owner in ("c0", "c1", "c0", "c2"):
            hits = found(store, owner=owner)
            assert hits and {v["owner"] for _, v in hits} == {owner}
            assert hits == uncached(tmp_path, owner=owner)


def test_a_caller_changing_a_result_does_not_change_the_next(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill(store)
        first = store.search(NS, query=QUERY, limit=3)
        first[0].value["content"] = "tampered"
        again = store.search(NS, query=QUERY, limit=3)
        assert again[0].value["content"] != "tampered"


def test_a_small_cache_gives_the_same_results(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill(store, 40)
        store._rows = RowCache(capacity=5)
        for _ in range(3):
            assert found(store) == uncached(tmp_path)
            assert len(store._rows) <= 5


def test_a_store_hiding_expired_items_reads_them_each_time(tmp_path: Path) -> None:
    ttl = {"default_ttl": 60, "refresh_on_read": False, "omit_expired": True}
    with open_store(tmp_path, ttl=ttl) as store:
        fill(store)
        assert found(store)
        assert len(store._rows) == 0  # a cached row could outlive its expiry


@pytest.mark.parametrize("capacity", [-1, 2.5, True, "many"])
def test_the_cache_refuses_a_nonsense_capacity(tmp_path: Path, capacity: Any) -> None:
    with pytest.raises(ValueError, match="row cache capacity"):
        open_store(tmp_path, row_cache=capacity)


def test_a_store_without_a_cache_reads_sqlite_each_time(tmp_path: Path) -> None:
    with open_store(tmp_path, row_cache=0) as store:
        fill(store)
        assert found(store) == found(store) == uncached(tmp_path)
        assert len(store._rows) == 0


def test_the_second_search_fills_the_cache_with_the_newest_rows(tmp_path: Path) -> None:
    with open_store(tmp_path, row_cache=25) as store:
        fill(store, 40)
        found(store)
        touched = len(store._rows)
        assert touched < 25
        found(store)
        assert len(store._rows) == 25
        newest = store._db.conn.execute("SELECT max(item_id) FROM items").fetchone()[0]
        assert store._rows.rows.get(newest) is not None
        assert found(store) == uncached(tmp_path)
