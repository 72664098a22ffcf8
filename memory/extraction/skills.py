"""Skills: how to use a tool ("Use refund_api to process returns")."""

from __future__ import annotations

import re

from memory.extraction.context import Found
from memory.extraction.morphology import sentence_case
from memory.extraction.text import FIRST_PERSON_WORD

_SNAKE_TOOL = re.compile(r"(?<![@\w.])([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b(?![@])")
_NAMED_TOOL = re.compile(
    r"\bthe ((?:[\w-]+ ){0,2}?[\w-]+) "
    r"(tool|api|endpoint|portal|dashboard|script|command|console)\b",
    re.IGNORECASE,
)
_TOOL_VERB = re.compile(
    r"\b(?:use|uses|using|call|calls|run|runs|invoke|query|takes|returns|reports|needs|"
    r"requires|accepts|expects|gives|lists|shows)\b",
    re.IGNORECASE,
)


def detect_skill(clause: str) -> Found | None:
    """How to use a tool: "Use refund_api to process returns"."""
    if FIRST_PERSON_WORD.search(clause) or not _TOOL_VERB.search(clause):
        return None
    if snake := _SNAKE_TOOL.search(clause):
        tool = snake.group(1)
    elif named := _NAMED_TOOL.search(clause):
        tool = "_".join(named.group(1).lower().split())
    else:
        return None
    return Found("skill", sentence_case(clause), subject=f"tool:{tool}", tag="tool-use")
