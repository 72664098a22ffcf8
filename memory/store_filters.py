"""Search filters with the semantics of LangGraph's InMemoryStore (the reference).

A filter maps top-level keys to a value (equality, nested dicts and lists compared
structurally) or to operators ``$eq $ne $gt $gte $lt $lte``. A key missing from the
item never satisfies a comparison operator (InMemoryStore raises there instead).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from operator import ge, gt, le, lt
from typing import Any

VALUE_INDEXES = {"items_content_key": "content_key", "items_subject": "subject"}
"""Expression indexes on value keys that writes look up by equality: a memory's exact
duplicates (content_key) and its slot's holders (subject). Without them every add
scanned its namespace's rows (0.4 s per lookup at 100k items)."""


def json_extract_sql(key: str) -> str:
    """``json_extract(value, '$."key"')`` with the path as a literal, so that SQLite can
    use an expression index on it (a bound path never matches an index)."""
    path = "$." + json.dumps(key)
    return "json_extract(value, '" + path.replace("'", "''") + "')"


INDEXED_KEYS = frozenset(VALUE_INDEXES.values())
OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})
COMPARISONS = frozenset({"$gt", "$gte", "$lt", "$lte"})
"""The operators that compare numbers (a value that is missing or no number fails them)."""


def matches_filter(value: dict[str, Any], filter: dict[str, Any] | None) -> bool:
    return compile_any([filter])(value)


AnyOf = Sequence[dict[str, Any] | None]
"""Filter alternatives: an item matches when it matches one of them (an empty sequence
matches everything)."""


def matches_any(value: dict[str, Any], any_of: AnyOf) -> bool:
    return compile_any(any_of)(value)


Check = Callable[[Any], bool]
"""Whether a value (of one key) satisfies what a filter expects of it."""


def compile_any(any_of: AnyOf) -> Callable[[dict[str, Any]], bool]:
    """`any_of` as one predicate on item values, built once for a search that tests
    hundreds of rows (interpreting the filter per row cost more than reading the row).
    Unknown operators are refused here, before any row is tested."""
    if not any_of:
        return _always
    alternatives = [[(key, _check(want)) for key, want in (f or {}).items()] for f in any_of]
    if any(not checks for checks in alternatives):
        return _always  # an empty alternative matches everything

    def matches(value: dict[str, Any]) -> bool:
        get = value.get
        for checks in alternatives:
            for key, check in checks:
                if not check(get(key)):
                    break
            else:
                return True
        return False

    return matches


def _always(value: dict[str, Any]) -> bool:
    return True


def _check(expected: Any) -> Check:
    if isinstance(expected, dict):
        if any(k.startswith("$") for k in expected):
            operators = [_operator(op, operand) for op, operand in expected.items()]
            if len(operators) == 1:
                return operators[0]
            return lambda actual: all(check(actual) for check in operators)
        fields = [(k, _check(v)) for k, v in expected.items()]
        return lambda actual: (
            isinstance(actual, dict) and all(check(actual.get(k)) for k, check in fields)
        )
    if isinstance(expected, list | tuple):
        items = [_check(e) for e in expected]
        return lambda actual: (
            isinstance(actual, list | tuple)
            and len(actual) == len(items)
            and all(check(a) for check, a in zip(items, actual, strict=True))
        )
    return lambda actual: bool(actual == expected)


def _operator(op: str, operand: Any) -> Check:
    if op not in OPERATORS:
        raise ValueError(f"unsupported filter operator {op!r}; use one of {sorted(OPERATORS)}")
    if op == "$eq":
        return lambda actual: bool(actual == operand)
    if op == "$ne":
        return lambda actual: bool(actual != operand)
    try:
        right = float(operand)
    except (TypeError, ValueError):
        return lambda actual: False
    compare = _NUMERIC[op]

    def check(actual: Any) -> bool:
        try:
            left = float(actual)
        except (TypeError, ValueError):
            return False
        return compare(left, right)

    return check


_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "$gt": gt,
    "$gte": ge,
    "$lt": lt,
    "$lte": le,
}


def validate_filter(filter: dict[str, Any] | None) -> None:
    """Reject operators the store does not know, before any work is done."""
    for expected in (filter or {}).values():
        if isinstance(expected, dict):
            for op in expected:
                if op.startswith("$") and op not in OPERATORS:
                    raise ValueError(
                        f"unsupported filter operator {op!r}; use one of {sorted(OPERATORS)}"
                    )


_SQL_COMPARISONS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_NUMERIC_JSON = "('integer', 'real', 'true', 'false')"


def sql_prefilter(filter: dict[str, Any] | None) -> tuple[list[str], list[Any]]:
    """SQL conditions every match must meet (a necessary condition, not sufficient).

    Pushed into SQLite (json_extract) where SQL agrees with `matches_filter`, so rows that
    cannot match are never read into Python nor parsed: top-level equality to a string,
    a boolean or a number, equality to None (the key is missing or null), and numeric
    comparisons (``$gt $gte $lt $lte``) on numeric JSON values (a string value is left for
    Python, which compares it as a number). Everything else is checked by
    `matches_filter` on the rows.
    """
    clauses: list[str] = []
    args: list[Any] = []
    for key, expected in (filter or {}).items():
        path = f"$.{json.dumps(key)}"
        if (
            isinstance(expected, str | bool | int | float)
            and _finite(expected)
            and key in INDEXED_KEYS
        ):
            # The path as a literal: the store's expression index on this key serves it.
            clauses.append(f"{json_extract_sql(key)} = ?")
            args.append(expected)
            continue
        if expected is None:
            clauses.append("COALESCE(json_type(value, ?), 'null') = 'null'")
            args.append(path)
            continue
        if isinstance(expected, str | bool | int | float) and _finite(expected):
            # JSON true/false read as 1/0, and Python's True == 1 == 1.0 agrees.
            clauses.append("json_extract(value, ?) = ?")
            args += [path, expected]
            continue
        if not isinstance(expected, dict):
            continue
        for operator, operand in expected.items():
            if operator == "$eq" and isinstance(operand, str | bool | int | float):
                if _finite(operand):
                    clauses.append("json_extract(value, ?) = ?")
                    args += [path, operand]
            elif operator in _SQL_COMPARISONS and _is_number(operand):
                clauses.append(
                    f"(json_type(value, ?) NOT IN {_NUMERIC_JSON} "
                    f"OR json_extract(value, ?) {_SQL_COMPARISONS[operator]} ?)"
                )
                args += [path, path, float(operand)]
    return clauses, args


def sql_prefilter_any(any_of: AnyOf) -> tuple[list[str], list[Any]]:
    """`sql_prefilter` of alternatives: one condition OR-ing theirs (none when an
    alternative has no SQL condition, since then any row may match)."""
    if not any_of:
        return [], []
    parts: list[str] = []
    args: list[Any] = []
    for alternative in any_of:
        clauses, more = sql_prefilter(alternative)
        if not clauses:
            return [], []
        parts.append("(" + " AND ".join(clauses) + ")")
        args += more
    return ["(" + " OR ".join(parts) + ")"], args


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and _finite(value)


def _finite(value: Any) -> bool:
    return not isinstance(value, float) or math.isfinite(value)
