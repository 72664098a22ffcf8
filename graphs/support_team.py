"""The seed's support team graph: Alex routes a request to Sam and Jordan (teams/support).

``builder`` is ``build_team(SUPPORT_TEAM)``; ``graph`` is it compiled without a store
(the LangGraph server provides one; Python callers use ``graphs.app.open_team_app``).
"""

from __future__ import annotations

from graphs.team import build_team
from teams.support.team import SUPPORT_TEAM

builder = build_team(SUPPORT_TEAM)
graph = builder.compile()
graph.name = "support_team"
