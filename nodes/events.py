"""The live events a graph run streams (``stream_mode="custom"``), typed in one place.

Nodes call ``emit(SomeEvent(...))``; the CLI renderer (``cli/render.py``) and the web UI
read them back with ``parse_event``. On the wire (LangGraph's custom stream, the
server's SSE ``custom`` events) each event is a flat JSON object::

    {"event": "<kind>", "at": <unix seconds, float>, ...the fields of its class}

Kinds and their fields (all strings unless noted):

- ``routing``: specialists (list), reason, method ("llm" | "semantic" | "keyword")
- ``a2a``: source, target, content_type (an A2A content type), text
- ``tool_call``: agent, tool, args (object), ok (bool), facts (list of sentences)
- ``memory_read``: agent, memory_id, content, confidence (float), score (float)
- ``memory_write``: agent, action (added / reinforced / superseded / ...), memory_id,
  content, scope, confidence (float)
- ``sync``: source, target, memory_id, content, confidence (float or null)
- ``reply``: text, fallback (bool: composed deterministically, not by the chat model),
  agent
- ``compaction``: strategy, dropped (int), tokens_before (int), tokens_after (int)
- ``grounding``: agent, step ("synthesis", "chat reply", "findings:<agent>", "summary",
  "routing" (the coordinator's reason), "task:<agent>" (a task its model wrote)),
  draft (the model's text, or null), replaced (bool: the grounded text was shown
  instead), claims, words, missing, combinations (lists: what the check found;
  nodes/grounding.py)

Unknown kinds parse as ``None`` (a newer server may send more), so readers skip them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError


class _Event(BaseModel):
    at: float = Field(default_factory=time.time)
    """When it happened (unix seconds)."""


class RoutingEvent(_Event):
    event: Literal["routing"] = "routing"
    specialists: list[str]
    reason: str
    method: str


class A2AEvent(_Event):
    event: Literal["a2a"] = "a2a"
    source: str
    target: str
    content_type: str
    text: str


class ToolCallEvent(_Event):
    event: Literal["tool_call"] = "tool_call"
    agent: str
    tool: str
    args: dict[str, Any]
    ok: bool
    facts: list[str] = Field(default_factory=list)


class MemoryReadEvent(_Event):
    event: Literal["memory_read"] = "memory_read"
    agent: str
    memory_id: str
    content: str
    confidence: float
    score: float


class MemoryWriteEvent(_Event):
    event: Literal["memory_write"] = "memory_write"
    agent: str
    action: str
    memory_id: str
    content: str
    scope: str
    confidence: float


class SyncEvent(_Event):
    event: Literal["sync"] = "sync"
    source: str
    target: str
    memory_id: str
    content: str
    confidence: float | None


class ReplyEvent(_Event):
    event: Literal["reply"] = "reply"
    text: str
    fallback: bool
    agent: str = ""


class GroundingEvent(_Event):
    event: Literal["grounding"] = "grounding"
    agent: str
    step: str
    draft: str | None
    replaced: bool
    claims: list[str] = Field(default_factory=list)
    words: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    combinations: list[str] = Field(default_factory=list)


class CompactionEvent(_Event):
    event: Literal["compaction"] = "compaction"
    strategy: str
    dropped: int
    tokens_before: int
    tokens_after: int


StreamEvent = Annotated[
    RoutingEvent
    | A2AEvent
    | ToolCallEvent
    | MemoryReadEvent
    | MemoryWriteEvent
    | SyncEvent
    | ReplyEvent
    | GroundingEvent
    | CompactionEvent,
    Field(discriminator="event"),
]
"""Any live event of a run."""

EVENT_KINDS: tuple[str, ...] = (
    "routing",
    "a2a",
    "tool_call",
    "memory_read",
    "memory_write",
    "sync",
    "reply",
    "grounding",
    "compaction",
)

_ADAPTER: TypeAdapter[StreamEvent] = TypeAdapter(StreamEvent)


def emit(event: StreamEvent) -> None:
    """Stream `event` to live views (CLI, Studio, web UI); a no-op outside a graph run."""
    # Imported here: the CLI reads these event types to render them, and langgraph.config
    # costs it over a second of start-up; inside a graph run it is loaded already.
    from langgraph.config import get_stream_writer

    with contextlib.suppress(RuntimeError):  # outside a run there is no stream writer
        get_stream_writer()(event.model_dump(mode="json"))


def parse_event(data: Mapping[str, Any]) -> StreamEvent | None:
    """The typed event of a custom stream chunk; None for a kind this version does not know.

    A chunk of a known kind with wrong fields is a ValueError naming them.
    """
    if data.get("event") not in EVENT_KINDS:
        return None
    try:
        return _ADAPTER.validate_python(dict(data))
    except ValidationError as error:
        raise ValueError(f"malformed {data.get('event')!r} event: {error}") from error
