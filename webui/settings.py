"""What the UI and the agent card need to know about the server and the team.

The API key header is the server's (graphs/auth.py): the UI's scripts send the key under
it (read from ``/ui/config.json``), and the agent card declares it.
"""

from __future__ import annotations

import os
from typing import Final, TypedDict

from graphs.auth import API_KEY_HEADER
from nodes.specialists import COORDINATOR, SPECIALISTS, Specialist

__all__ = ["API_KEY_HEADER", "auth_enabled", "ui_config"]

TEAM: Final = "support"


class AgentInfo(TypedDict):
    name: str
    display_name: str
    role: str
    description: str
    coordinator: bool


class DemoInfo(TypedDict):
    customer_id: str
    request: str
    follow_up: str


class UIConfig(TypedDict):
    team: str
    agents: list[AgentInfo]
    demo: DemoInfo
    api_key_header: str
    auth_required: bool


def auth_enabled() -> bool:
    """Whether the server authenticates callers (``auth`` in langgraph.json)."""
    # The server reads langgraph.json's "auth" into this variable before importing apps.
    return bool(os.environ.get("LANGGRAPH_AUTH", "").strip())


def _agent(agent: Specialist) -> AgentInfo:
    return {
        "name": agent.name,
        "display_name": agent.display_name,
        "role": agent.role,
        "description": agent.description,
        "coordinator": agent.name == COORDINATOR.name,
    }


def ui_config() -> UIConfig:
    from graphs.demo import DEMO_CUSTOMER_ID, DEMO_REQUEST, FOLLOW_UP

    return {
        "team": TEAM,
        "agents": [_agent(a) for a in (COORDINATOR, *SPECIALISTS.values())],
        "demo": {"customer_id": DEMO_CUSTOMER_ID, "request": DEMO_REQUEST, "follow_up": FOLLOW_UP},
        "api_key_header": API_KEY_HEADER,
        "auth_required": auth_enabled(),
    }
