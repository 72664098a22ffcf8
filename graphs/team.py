"""Build a team's graphs from its declaration: ``build_team`` and ``build_chat``.

``build_team(team)`` returns the uncompiled builder of the team graph::

    request -> compact? -> start turn -> retrieve (shared + coordinator) -> route
            -> A2A tasks -> one node per specialist, in parallel (Send) -> synthesize
            -> extract memories -> A2A sync -> END

Each specialist is a node of its own, named after the agent, so LangGraph Studio shows
who worked. ``build_chat(team)`` builds the chat with one agent of the team. Both bind
the declaration and a ``Services`` object (the chat model, router embedder and tools;
by default built lazily from the environment) to the nodes; a run's context may bring
its own services.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from langgraph.graph import END, START, StateGraph

from nodes.chat import recall_for_chat, remember_from_chat, reply_in_chat, start_chat_turn
from nodes.context import ChatContext, TeamContext
from nodes.coordinator import dispatch_tasks, route_request, start_turn, synthesize_reply
from nodes.memory_nodes import (
    compact_session,
    extract_turn_memories,
    retrieve_memories,
    sync_memories,
)
from nodes.services import Services
from nodes.specialist import run_specialist
from nodes.state import ChatState, TeamState
from nodes.team import TeamSpec, validate_team

TeamBuilder = StateGraph[TeamState, TeamContext, Any, Any]
ChatBuilder = StateGraph[ChatState, ChatContext, Any, Any]


def build_team(team: TeamSpec, services: Services | None = None) -> TeamBuilder:
    """The team graph's builder for `team` (validated); compile it with a store."""
    validate_team(team)
    services = services if services is not None else Services()
    builder = StateGraph(TeamState, context_schema=TeamContext)
    builder.add_node("compact_session", partial(compact_session, team=team, services=services))
    builder.add_node("start_turn", start_turn)
    builder.add_node("retrieve_memories", partial(retrieve_memories, team=team))
    builder.add_node("route_request", partial(route_request, team=team, services=services))
    for agent in team.specialists:
        # Reached only through Send with a SpecialistTask payload, not the graph state.
        builder.add_node(agent.name, partial(run_specialist, team=team, services=services))
    builder.add_node("synthesize_reply", partial(synthesize_reply, team=team, services=services))
    builder.add_node(
        "extract_memories", partial(extract_turn_memories, team=team, services=services)
    )
    builder.add_node("sync_memories", partial(sync_memories, team=team))

    builder.add_edge(START, "compact_session")
    builder.add_edge("compact_session", "start_turn")
    builder.add_edge("start_turn", "retrieve_memories")
    builder.add_edge("retrieve_memories", "route_request")
    specialists = [agent.name for agent in team.specialists]
    builder.add_conditional_edges("route_request", partial(dispatch_tasks, team=team), specialists)
    for name in specialists:
        builder.add_edge(name, "synthesize_reply")
    builder.add_edge("synthesize_reply", "extract_memories")
    builder.add_edge("extract_memories", "sync_memories")
    builder.add_edge("sync_memories", END)
    return builder


def build_chat(team: TeamSpec, services: Services | None = None) -> ChatBuilder:
    """The chat-with-one-agent graph's builder for `team` (the context names the agent)."""
    validate_team(team)
    services = services if services is not None else Services()
    builder = StateGraph(ChatState, context_schema=ChatContext)
    builder.add_node("compact_session", partial(compact_session, team=team, services=services))
    builder.add_node("start_turn", partial(start_chat_turn, team=team))
    builder.add_node("recall", partial(recall_for_chat, team=team))
    builder.add_node("reply", partial(reply_in_chat, team=team, services=services))
    builder.add_node("remember", partial(remember_from_chat, team=team, services=services))
    builder.add_edge(START, "compact_session")
    builder.add_edge("compact_session", "start_turn")
    builder.add_edge("start_turn", "recall")
    builder.add_edge("recall", "reply")
    builder.add_edge("reply", "remember")
    builder.add_edge("remember", END)
    return builder
