"""The graphs the server serves (``langgraph.json``), the team each runs, and who may run it.

The server gives each graph a default assistant whose id is
uuid5(``langgraph_api.graph.NAMESPACE_GRAPH``, graph id); a run names an assistant, so
authorization (graphs/auth.py) and the web UI map ids back to graphs through here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Final

from nodes.team import TeamSpec
from teams.helpdesk.team import HELPDESK_TEAM
from teams.support.team import SUPPORT_TEAM

GRAPH_TEAMS: Final[Mapping[str, TeamSpec]] = {
    "team": SUPPORT_TEAM,
    "chat": SUPPORT_TEAM,
    "helpdesk": HELPDESK_TEAM,
}
"""langgraph.json's graph ids -> the team each one runs."""

GRAPH_NAMESPACE: Final = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
"""langgraph-api's namespace for the default assistant of each graph
(``langgraph_api.graph.NAMESPACE_GRAPH``)."""


def default_assistant_id(graph_id: str) -> str:
    """The id the server gives the default assistant of ``graph_id``."""
    return str(uuid.uuid5(GRAPH_NAMESPACE, graph_id))


def runnable_graphs(role: str, name: str | None) -> tuple[str, ...]:
    """The graphs a non-staff caller may run: a customer those of customer-facing teams,
    an agent those of the team it belongs to. Staff run any graph (not asked here)."""
    if role == "customer":
        return tuple(g for g, team in GRAPH_TEAMS.items() if team.subject_label == "customer")
    if role == "agent":
        return tuple(
            g for g, team in GRAPH_TEAMS.items() if any(a.name == name for a in team.agents)
        )
    return ()
