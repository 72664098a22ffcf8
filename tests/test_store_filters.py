"""The SQL prefilter is a necessary condition of `matches_filter`: it never drops a match."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from memory.store_filters import matches_filter, sql_prefilter

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


def passes_sql(value: dict[str, Any], filter: dict[str, Any]) -> bool:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE items (value TEXT)")
    conn.execute("INSERT INTO items VALUES (?)", (json.dumps(value),))
    where, args = sql_prefilter(filter)
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
