"""The SQL prefilter is a necessary condition of `matches_filter`: it never drops a match."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from memory.store_db import StoreDB
from memory.store_filters import (
    json_extract_sql,
    matches_any,
    matches_filter,
    sql_prefilter,
    sql_prefilter_any,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(-3, 3, allow_nan=False),
    st.sampled_from(["a", "b", "0.5", "2", "true", ""]),
)
values = st.dictionaries(
    st.sampled_from(["x", "y"]), st.one_of(scalars, st.lists(scalars, max_size=2))
)
operators = st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"])
conditions = st.one_of(scalars, st.dictionaries(operators, scalars, min_size=1, max_size=2))
filters = st.dictionaries(st.sampled_from(["x", "y"]), conditions, min_size=1, max_size=2)


def passes_sql(
    value: dict[str, Any], filter: dict[str, Any], *, any_of: list[dict[str, Any]] | None = None
) -> bool:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE items (value TEXT)")
    conn.execute("INSERT INTO items VALUES (?)", (json.dumps(value),))
    where, args = sql_prefilter(filter) if any_of is None else sql_prefilter_any(any_of)
    sql = "SELECT count(*) FROM items" + (" WHERE " + " AND ".join(where) if where else "")
    return bool(conn.execute(sql, args).fetchone()[0])


@settings(max_examples=400, deadline=None)
@given(values, filters)
def test_the_prefilter_never_drops_a_match(value: dict[str, Any], filter: dict[str, Any]) -> None:
    if matches_filter(value, filter):
        assert passes_sql(value, filter)


def test_the_manager_filters_run_in_sql() -> None:
    filter = {"confidence": {"$gte": 0.7}, "valid": True, "family": "declarative"}
    where, _ = sql_prefilter(filter)
    assert len(where) == 3
    assert passes_sql({"confidence": 0.9, "valid": True, "family": "declarative"}, filter)
    assert not passes_sql({"confidence": 0.6, "valid": True, "family": "declarative"}, filter)
    assert not passes_sql({"confidence": 0.9, "valid": False, "family": "declarative"}, filter)
    assert not passes_sql({"confidence": 0.9, "valid": True, "family": "procedural"}, filter)
    assert not passes_sql({"valid": True, "family": "declarative"}, filter)


@settings(max_examples=300, deadline=None)
@given(values, st.lists(filters, min_size=1, max_size=3))
def test_the_prefilter_of_alternatives_never_drops_a_match(
    value: dict[str, Any], any_of: list[dict[str, Any]]
) -> None:
    if matches_any(value, any_of):
        assert passes_sql(value, {}, any_of=any_of)


def test_plain_items_and_filtered_records_are_selected_in_one_sql_condition() -> None:
    records = {"confidence": {"$gte": 0.7}, "valid": True}
    any_of = [records, {"provenance": None}, {"type": None}]
    where, _ = sql_prefilter_any(any_of)
    assert len(where) == 1  # one OR of the three, pushed into SQLite
    record = {"confidence": 0.9, "valid": True, "type": "semantic", "provenance": {}}
    assert passes_sql(record, {}, any_of=any_of)
    assert not passes_sql({**record, "confidence": 0.5}, {}, any_of=any_of)
    assert passes_sql({"content": "a plain item"}, {}, any_of=any_of)
    assert passes_sql({"content": "typed, no provenance", "type": "x"}, {}, any_of=any_of)
    # An alternative SQL cannot express leaves the rows to Python: no condition at all.
    assert sql_prefilter_any([records, {"tags": ["a"]}]) == ([], [])


def test_duplicate_and_slot_lookups_use_the_stores_expression_indexes(tmp_path: Path) -> None:
    """An add looks its text and slot up by equality: an index, not a namespace scan."""
    db = StoreDB(tmp_path)
    db.conn.execute("DROP INDEX items_content_key")  # a store made before the indexes
    db.close()
    db = StoreDB(tmp_path)  # opening adds what is missing
    for key in ("content_key", "subject"):
        where, args = sql_prefilter({key: "customer 7 prefers email", "valid": True})
        plan = db.conn.execute(
            "EXPLAIN QUERY PLAN SELECT item_id FROM items WHERE " + " AND ".join(where), args
        ).fetchall()
        assert f"items_{key}" in str(plan), plan
    db.close()


def test_an_indexed_key_with_a_quote_stays_one_sql_literal() -> None:
    filter = {"content_key": "it's"}
    assert passes_sql({"content_key": "it's"}, filter)
    assert not passes_sql({"content_key": "its"}, filter)
    assert "it''s" not in json_extract_sql("content_key")  # the value is bound, not inlined
    assert json_extract_sql("a'b") == "json_extract(value, '$.\"a''b\"')"
