"""What the UI and the agent card need to know about the server's graphs and teams.

The API key header is the server's (graphs/auth.py): the UI's scripts send the key under
it (read from ``/ui/config.json``), and the agent card declares it.
"""

from __future__ import annotations

import os
from typing import Final, NamedTuple, TypedDict

from graphs.auth import API_KEY_HEADER
from graphs.served import GRAPH_TEAMS
from nodes.team import AgentSpec, TeamSpec
from webui.agent_card import CardKind

__all__ = ["API_KEY_HEADER", "GRAPHS", "auth_enabled", "ui_config"]


class ServedGraph(NamedTuple):
    """A graph of langgraph.json, as the UI and the cards see it."""

    team: TeamSpec
    kind: CardKind


CHAT_GRAPH: Final = "chat"
GRAPHS: Final[dict[str, ServedGraph]] = {
    graph_id: ServedGraph(team, "chat" if graph_id == CHAT_GRAPH else "team")
    for graph_id, team in GRAPH_TEAMS.items()
}
"""langgraph.json's graph ids -> the team each one runs, and the card it gets."""


class AgentInfo(TypedDict):
    name: str
    display_name: str
    role: str
    description: str
    coordinator: bool


class TeamInfo(TypedDict):
    graph_id: str
    team: str
    """The memory team (namespaces ("team", team, ...))."""
    subject_label: str
    agents: list[AgentInfo]


class DemoInfo(TypedDict):
    customer_id: str
    request: str
    follow_up: str


class UIConfig(TypedDict):
    teams: list[TeamInfo]
    chat_graph: str
    chat_team: str
    demo: DemoInfo
    api_key_header: str
    auth_required: bool


def auth_enabled() -> bool:
    """Whether the server authenticates callers (``auth`` in langgraph.json)."""
    # The server reads langgraph.json's "auth" into this variable before importing apps.
    return bool(os.environ.get("LANGGRAPH_AUTH", "").strip())


def _agent(agent: AgentSpec, team: TeamSpec) -> AgentInfo:
    return {
        "name": agent.name,
        "display_name": agent.display_name,
        "role": agent.role,
        "description": agent.description,
        "coordinator": agent.name == team.coordinator.name,
    }


def ui_config() -> UIConfig:
    from teams.support.demo import DEMO_CUSTOMER_ID, DEMO_REQUEST, FOLLOW_UP

    teams: list[TeamInfo] = [
        {
            "graph_id": graph_id,
            "team": served.team.name,
            "subject_label": served.team.subject_label,
            "agents": [_agent(a, served.team) for a in served.team.agents],
        }
        for graph_id, served in GRAPHS.items()
        if served.kind == "team"
    ]
    return {
        "teams": teams,
        "chat_graph": CHAT_GRAPH,
        "chat_team": GRAPHS[CHAT_GRAPH].team.name,
        "demo": {"customer_id": DEMO_CUSTOMER_ID, "request": DEMO_REQUEST, "follow_up": FOLLOW_UP},
        "api_key_header": API_KEY_HEADER,
        "auth_required": auth_enabled(),
    }
