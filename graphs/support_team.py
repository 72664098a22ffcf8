"""The support team: Alex routes a request to specialists who work in parallel.

request -> compact? -> start turn -> retrieve (shared + coordinator) -> route
        -> A2A tasks -> specialists in parallel (Send) -> join -> synthesize
        -> extract memories -> A2A sync -> END
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from nodes.context import TeamContext
from nodes.coordinator import dispatch_tasks, route_request, start_turn, synthesize_reply
from nodes.memory_nodes import (
    compact_session,
    extract_turn_memories,
    retrieve_memories,
    sync_memories,
)
from nodes.specialist import run_specialist
from nodes.state import TeamState

builder = StateGraph(TeamState, context_schema=TeamContext)
builder.add_node("compact_session", compact_session)
builder.add_node("start_turn", start_turn)
builder.add_node("retrieve_memories", retrieve_memories)
builder.add_node("route_request", route_request)
# Reached only through Send with a SpecialistTask payload, not the graph state, which
# LangGraph's add_node typing cannot express.
builder.add_node("run_specialist", run_specialist)  # type: ignore[arg-type]
builder.add_node("synthesize_reply", synthesize_reply)
builder.add_node("extract_memories", extract_turn_memories)
builder.add_node("sync_memories", sync_memories)

builder.add_edge(START, "compact_session")
builder.add_edge("compact_session", "start_turn")
builder.add_edge("start_turn", "retrieve_memories")
builder.add_edge("retrieve_memories", "route_request")
builder.add_conditional_edges("route_request", dispatch_tasks, ["run_specialist"])
builder.add_edge("run_specialist", "synthesize_reply")
builder.add_edge("synthesize_reply", "extract_memories")
builder.add_edge("extract_memories", "sync_memories")
builder.add_edge("sync_memories", END)

graph = builder.compile()
graph.name = "support_team"
