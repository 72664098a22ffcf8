"""The seed's demo: prepare the shared memory, send Alex the complex request, follow up.

1. prepare: customer profiles, the refund policy and resolution workflows go into the
   team's shared memory (the seed's /api/memory/demo/prepare);
2. the request goes to the team graph: Alex retrieves, routes to Sam and Jordan, who
   work in parallel; Sam notes the customer's repeated delivery delay for the team;
3. a new thread with Jordan alone asks about the customer and finds that note.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from pydantic import BaseModel, Field

from graphs.app import TeamApp
from nodes.context import ChatContext, LLMChoice, TeamContext
from teams.support.memories import load_demo_memories

DEMO_REQUEST = (
    "A customer reports their recent order never arrived and asks for a refund. They "
    "mentioned before that they prefer email, and they are a premium member."
)
DEMO_CUSTOMER_ID = "12345"
FOLLOW_UP = "Has customer #12345 had delivery problems before?"

EventHandler = Callable[[dict], None]


class FollowUp(BaseModel):
    agent: str
    thread_id: str
    question: str
    retrieved: list[str]
    reply: str


class DemoSummary(BaseModel):
    thread_id: str
    request: str
    specialists: list[str]
    routing_method: str
    routing_reason: str
    parallel: bool
    """The specialists' working intervals overlapped in time."""
    memories_read: list[str]
    memories_written: list[str]
    memories_synced: list[str]
    fallbacks: list[str]
    reply: str
    a2a_messages: int
    timings_ms: dict[str, float] = Field(default_factory=dict)
    follow_up: FollowUp | None = None


def prepare_demo(app: TeamApp) -> int:
    """Load the demo's shared memories; returns how many were new (idempotent)."""
    return load_demo_memories(app.store, app.team)


def _stream(
    graph,
    inputs: dict,
    config: dict,
    context,
    on_event: EventHandler | None,
    timings: dict[str, float],
) -> dict:
    last = time.perf_counter()
    for mode, chunk in graph.stream(
        inputs, config, context=context, stream_mode=["custom", "updates"]
    ):
        now = time.perf_counter()
        if mode == "custom" and on_event:
            on_event(chunk)
        elif mode == "updates":
            for node in chunk:
                timings[node] = timings.get(node, 0.0) + round((now - last) * 1000, 1)
            last = now
    return graph.get_state(config).values


def _overlap(findings: list) -> bool:
    if len(findings) < 2:
        return False
    return max(f.started for f in findings) < min(f.finished for f in findings)


def run_demo(
    app: TeamApp,
    *,
    llm: LLMChoice = "auto",
    thread_id: str | None = None,
    on_event: EventHandler | None = None,
) -> DemoSummary:
    prepare_demo(app)
    thread_id = thread_id or f"demo-{uuid.uuid4().hex[:8]}"
    timings: dict[str, float] = {}
    started = time.perf_counter()
    ctx = TeamContext(team=app.team, customer_id=DEMO_CUSTOMER_ID, llm=llm)
    state = _stream(
        app.team_graph,
        {"messages": [("user", DEMO_REQUEST)]},
        {"configurable": {"thread_id": thread_id}},
        ctx,
        on_event,
        timings,
    )
    timings["team_total"] = round((time.perf_counter() - started) * 1000, 1)

    follow_thread = f"{thread_id}-jordan"
    chat_ctx = ChatContext(agent="jordan", team=app.team, llm=llm)
    follow = _stream(
        app.chat_graph,
        {"messages": [("user", FOLLOW_UP)]},
        {"configurable": {"thread_id": follow_thread}},
        chat_ctx,
        on_event,
        {},
    )
    routing = state["routing"]
    log = app.log.read(correlation_id=state["correlation_id"])
    return DemoSummary(
        thread_id=thread_id,
        request=DEMO_REQUEST,
        specialists=routing.specialists,
        routing_method=routing.method,
        routing_reason=routing.reason,
        parallel=_overlap(state.get("findings", [])),
        memories_read=[m.content for m in state.get("retrieved", [])]
        + [m.content for f in state.get("findings", []) for m in f.memories_read],
        memories_written=[f"{w.agent} {w.action}: {w.content}" for w in state.get("written", [])],
        memories_synced=list(state.get("synced", [])),
        fallbacks=list(state.get("fallbacks", [])),
        reply=state["reply"],
        a2a_messages=len(log),
        timings_ms=timings,
        follow_up=FollowUp(
            agent="jordan",
            thread_id=follow_thread,
            question=FOLLOW_UP,
            retrieved=[m.content for m in follow.get("retrieved", [])],
            reply=follow.get("reply", ""),
        ),
    )
