"""The typed state of the graphs: every key, its reducer, and what it holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage, BaseMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, Field, JsonValue
from typing_extensions import TypedDict

RouteMethod = Literal["llm", "semantic", "keyword"]


def turn_list(left: list | None, right: list | None) -> list:
    """Append within a turn; a `None` update (sent by `start_turn`) starts the list anew.

    The checkpointer keeps state across turns, so per-turn lists must be reset rather
    than grow for the life of the thread.
    """
    if right is None:
        return []
    return [*(left or []), *right]


class RetrievedMemory(BaseModel):
    """A memory an agent read, as kept in state and shown in logs."""

    memory_id: str
    agent: str
    content: str
    type: str
    scope: str
    confidence: float
    score: float
    subject: str | None = None
    attribute: str | None = None
    value: str | None = None
    source_agent: str


class RoutingDecision(BaseModel):
    specialists: list[str]
    reason: str
    method: RouteMethod
    tasks: dict[str, str] = Field(default_factory=dict)
    """The task the coordinator's model wrote for a specialist (by name); a specialist
    without one gets its declared task template."""


class ToolCallRecord(BaseModel):
    """One tool call of a specialist: its arguments and its result as a JSON object."""

    tool: str
    args: dict[str, JsonValue]
    result: dict[str, Any]


class Finding(BaseModel):
    """What one specialist found, returned to the coordinator."""

    agent: str
    summary: str
    facts: list[str] = Field(default_factory=list)
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    memories_read: list[RetrievedMemory] = Field(default_factory=list)
    started: float
    finished: float
    task_message_id: str


class WrittenMemory(BaseModel):
    memory_id: str
    agent: str
    action: str
    content: str
    scope: str
    type: str


def latest_user_message(messages: Sequence[BaseMessage]) -> BaseMessage | None:
    """The most recent human message of a conversation, if any."""
    return next((m for m in reversed(messages) if m.type == "human"), None)


class HasMessages(TypedDict, total=False):
    """What nodes shared by both graphs (compaction) read: the conversation."""

    messages: Annotated[list[AnyMessage], add_messages]


class TeamState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation; compaction replaces old turns by a summary."""
    request: str
    """The latest user request, as text."""
    customer_id: str | None
    """The customer this turn is about (run input, e.g. an A2A data part, or the run
    context), checked against the caller by `start_turn` (nodes/customer.py)."""
    correlation_id: str
    """Ties this turn's A2A messages together."""
    retrieved: list[RetrievedMemory]
    """Memories the coordinator read for this turn."""
    routing: RoutingDecision
    """Which specialists work on the request, and why."""
    findings: Annotated[list[Finding], turn_list]
    """One entry per specialist, appended as they finish (in parallel)."""
    reply: str
    """The coordinator's answer to the user."""
    written: Annotated[list[WrittenMemory], turn_list]
    """Memories written this turn."""
    synced: Annotated[list[str], turn_list]
    """Synced copies made this turn ("agent:memory_id")."""
    fallbacks: Annotated[list[str], turn_list]
    """LLM steps that used their deterministic fallback this turn."""


class SpecialistTask(TypedDict):
    """What `Send` hands one specialist."""

    agent: str
    task: str
    request: str
    customer_id: str | None
    subject: str
    """Whose conversation it is: the specialist recalls only their facts and general ones."""
    correlation_id: str
    task_message_id: str


class ChatState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation with the agent."""
    request: str
    """The latest user message."""
    retrieved: list[RetrievedMemory]
    """Memories the agent read for this turn."""
    reply: str
    written: Annotated[list[WrittenMemory], turn_list]
    fallbacks: Annotated[list[str], turn_list]


CHECKPOINT_TYPES: tuple[type[BaseModel], ...] = (
    RetrievedMemory,
    RoutingDecision,
    ToolCallRecord,
    Finding,
    WrittenMemory,
)
"""The classes graph state holds beside LangGraph's own safe types: the only ones a
checkpoint may name when it is read back (memory/backends.py, `checkpoint_serde`)."""
