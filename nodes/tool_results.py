"""What a tool's result says, for any LangChain tool.

A team's tool states its result as facts itself: its result (a dict) carries a
``"facts"`` list of plain sentences next to the data (see ``teams/support/tools.py``).
So findings need no switch on tool names here. A tool that does not (any other LangChain
tool) is stated generically: its text, or its JSON, clipped. A failed call (LangChain's
error handlers return ``{"error": ...}`` as text) is stated as a failure.

``ids_in(result)`` finds the ``*_id`` values a result names, so a declared plan can pass
one tool's answer (the customer's latest order) to the next tool's arguments.
"""

from __future__ import annotations

import json
from typing import Any

from nodes.state import ToolCallRecord

FACTS_KEY = "facts"
MAX_FACT_CHARS = 300


def tool_error(result: object) -> str | None:
    """The error message of a tool result, or None when the tool succeeded."""
    if isinstance(result, str):
        try:
            result = json.loads(result)
        except json.JSONDecodeError:
            return None
    if isinstance(result, dict) and isinstance(result.get("error"), str):
        return result["error"]
    return None


def as_result(raw: object) -> dict[str, Any]:
    """A tool's return value as a JSON object: errors as {"error"}, text as {"text"}."""
    if (error := tool_error(raw)) is not None:
        return {"error": error}
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            decoded = json.loads(raw)
        except json.JSONDecodeError:
            return {"text": raw}
        return decoded if isinstance(decoded, dict) else {"value": decoded}
    return {"value": raw if isinstance(raw, int | float | bool | list) else str(raw)}


def facts_of(call: ToolCallRecord) -> list[str]:
    """The facts one tool call established, as the tool states them."""
    result = call.result
    if "error" in result:
        return [f"{call.tool} failed: {result['error']}"]
    stated = result.get(FACTS_KEY)
    if isinstance(stated, list) and all(isinstance(f, str) for f in stated):
        return list(stated)
    if "text" in result and len(result) == 1:
        body = str(result["text"])
    else:
        body = json.dumps(result, default=str, separators=(", ", ": "))
    body = body if len(body) <= MAX_FACT_CHARS else body[: MAX_FACT_CHARS - 1] + "…"
    return [f"{call.tool} returned: {body}"]


def ids_in(result: dict[str, Any]) -> dict[str, str | int]:
    """The ``*_id`` values a result names at its top level or in its first listed record."""
    found: dict[str, str | int] = {}
    for key, value in result.items():
        if key.endswith("_id") and isinstance(value, str | int) and not isinstance(value, bool):
            found.setdefault(key, value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for inner, item in value[0].items():
                if inner.endswith("_id") and isinstance(item, str | int):
                    found.setdefault(inner, item)
    return found
