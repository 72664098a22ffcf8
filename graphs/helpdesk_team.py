"""The IT help desk example team's graph (teams/helpdesk), for `langgraph dev`."""

from __future__ import annotations

from graphs.team import build_team
from teams.helpdesk.team import HELPDESK_TEAM

builder = build_team(HELPDESK_TEAM)
graph = builder.compile()
graph.name = "helpdesk_team"
