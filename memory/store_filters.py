"""Search filters with the semantics of LangGraph's InMemoryStore (the reference).

A filter maps top-level keys to a value (equality, nested dicts and lists compared
structurally) or to operators ``$eq $ne $gt $gte $lt $lte``. A key missing from the
item never satisfies a comparison operator (InMemoryStore raises there instead).
"""

from __future__ import annotations

import json
from typing import Any

OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})


def matches_filter(value: dict[str, Any], filter: dict[str, Any] | None) -> bool:
    if not filter:
        return True
    return all(_compare(value.get(key), expected) for key, expected in filter.items())


def _compare(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        if any(k.startswith("$") for k in expected):
            return all(_apply(actual, op, operand) for op, operand in expected.items())
        if not isinstance(actual, dict):
            return False
        return all(_compare(actual.get(k), v) for k, v in expected.items())
    if isinstance(expected, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(expected)
            and all(_compare(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def _apply(actual: Any, operator: str, operand: Any) -> bool:
    if operator not in OPERATORS:
        raise ValueError(
            f"unsupported filter operator {operator!r}; use one of {sorted(OPERATORS)}"
        )
    if operator == "$eq":
        return bool(actual == operand)
    if operator == "$ne":
        return bool(actual != operand)
    try:
        left, right = float(actual), float(operand)
    except (TypeError, ValueError):
        return False
    if operator == "$gt":
        return left > right
    if operator == "$gte":
        return left >= right
    if operator == "$lt":
        return left < right
    return left <= right


def validate_filter(filter: dict[str, Any] | None) -> None:
    """Reject operators the store does not know, before any work is done."""
    for expected in (filter or {}).values():
        if isinstance(expected, dict):
            for op in expected:
                if op.startswith("$") and op not in OPERATORS:
                    raise ValueError(
                        f"unsupported filter operator {op!r}; use one of {sorted(OPERATORS)}"
                    )


def sql_prefilter(filter: dict[str, Any] | None) -> tuple[list[str], list[Any]]:
    """SQL conditions every match must meet (a necessary condition, not sufficient).

    Only plain top-level string equality is pushed into SQLite (json_extract), which is
    exact for strings; everything else is checked by `matches_filter` on the rows.
    """
    clauses: list[str] = []
    args: list[Any] = []
    for key, expected in (filter or {}).items():
        if isinstance(expected, str):
            clauses.append("json_extract(value, ?) = ?")
            args += [f"$.{json.dumps(key)}", expected]
    return clauses, args
