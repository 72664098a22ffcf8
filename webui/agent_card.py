"""The team's A2A agent card, built from the team declaration (a ``TeamSpec``).

The LangGraph server's own card is generic ("support_team assistant", one skill) and its
root ``/.well-known/agent-card.json`` needs an ``?assistant_id=``. This card describes what
the team really does: one skill per agent, from its role, description and keywords.

Protocol version: the server's A2A endpoint (langgraph-api 0.16) accepts the 1.0 method
names, but its streaming events keep the 0.3 shape (``{"kind": "status-update", ...}``),
which a 1.x client reads as empty events. Everything works consistently over the 0.3
wire format (``message/send``, ``message/stream``, ``tasks/get``). So the card is an A2A
0.3 card (top-level ``url``, ``protocolVersion: "0.3.0"``): an a2a-sdk 0.3 client uses it
as is, and an a2a-sdk 1.x client reads the version and switches to its 0.3 transport.
"""

from __future__ import annotations

from typing import Final, Literal, TypedDict

from nodes.team import AgentSpec, TeamSpec

A2A_PROTOCOL_VERSION: Final = "0.3.0"
"""The A2A version the server's endpoint speaks completely (see the module docstring)."""
TEXT_MODES: Final = ("text/plain", "application/json")

CardKind = Literal["team", "chat"]
"""A team graph (the coordinator and its specialists) or the chat with one agent."""


class AgentSkill(TypedDict):
    id: str
    name: str
    description: str
    tags: list[str]
    examples: list[str]
    inputModes: list[str]
    outputModes: list[str]


class AgentCapabilities(TypedDict):
    streaming: bool
    pushNotifications: bool
    stateTransitionHistory: bool


class AgentCard(TypedDict, total=False):
    protocolVersion: str
    name: str
    description: str
    url: str
    preferredTransport: str
    version: str
    capabilities: AgentCapabilities
    defaultInputModes: list[str]
    defaultOutputModes: list[str]
    skills: list[AgentSkill]
    securitySchemes: dict[str, dict[str, str]]
    security: list[dict[str, list[str]]]


def subject_data_part(team: TeamSpec) -> str:
    """How a message says whom it is about (the server turns the data part into input)."""
    return (
        f"To say which {team.subject_label} a message is about, add a data part "
        '{"customer_id": "<id>"}.'
    )


def _skill(agent: AgentSpec, *, prefix: str, examples: list[str] | None = None) -> AgentSkill:
    return {
        "id": f"{prefix}{agent.name}",
        "name": f"{agent.display_name} ({agent.role})",
        "description": agent.description,
        "tags": [agent.role.lower(), *agent.keywords[:8]],
        "examples": examples or [],
        "inputModes": list(TEXT_MODES),
        "outputModes": ["text/plain"],
    }


def team_skills(team: TeamSpec, examples: list[str] | None = None) -> list[AgentSkill]:
    """The whole team at work (the coordinator's skill), then each specialist's."""
    whole = _skill(team.coordinator, prefix="", examples=examples)
    whole["id"] = f"{team.name}-team"
    whole["name"] = f"The {team.name} team"
    whole["description"] = (
        f"{team.coordinator.description} Specialists: "
        + "; ".join(f"{s.display_name}, {s.role}: {s.description}" for s in team.specialists)
        + f" {subject_data_part(team)}"
    )
    return [whole, *(_skill(s, prefix="specialist-") for s in team.specialists)]


def chat_skills(team: TeamSpec) -> list[AgentSkill]:
    """One skill per agent one can talk to alone (the chat graph, context ``agent``)."""
    return [_skill(agent, prefix="chat-") for agent in team.agents]


def _team_description(team: TeamSpec) -> str:
    helpers = "; ".join(f"{s.display_name}: {s.role}" for s in team.specialists)
    return (
        f"The {team.name} team with a shared memory: {team.coordinator.display_name} "
        f"coordinates and routes each request to specialists who work in parallel "
        f"({helpers}), then replies as one. What the team learns is remembered and shared "
        f"between the agents. {subject_data_part(team)}"
    )


def build_agent_card(
    team: TeamSpec,
    kind: CardKind,
    endpoint_url: str,
    *,
    version: str,
    api_key_header: str | None = None,
    examples: list[str] | None = None,
) -> AgentCard:
    """The card of a team graph or of the chat graph over `team`, served at ``endpoint_url``.

    ``api_key_header``: when the server requires an API key, the header it is read from
    (declared as an apiKey security scheme, so clients know to send it).
    """
    if kind == "team":
        name = f"A2A Memory {team.name} team"
        description = _team_description(team)
        skills = team_skills(team, examples)
    else:
        name = f"A2A Memory {team.name} agent chat"
        description = (
            f"Talk to one agent of the {team.name} team with its memory (the shared memory "
            "and its own). Choose the agent with the run context "
            f'{{"agent": "<name>"}}; {team.coordinator.display_name} by default.'
        )
        skills = chat_skills(team)
    card: AgentCard = {
        "protocolVersion": A2A_PROTOCOL_VERSION,
        "name": name,
        "description": description,
        "url": endpoint_url,
        "preferredTransport": "JSONRPC",
        "version": version,
        "capabilities": {
            "streaming": True,
            "pushNotifications": False,
            "stateTransitionHistory": False,
        },
        "defaultInputModes": list(TEXT_MODES),
        "defaultOutputModes": ["text/plain"],
        "skills": skills,
    }
    if api_key_header:
        card["securitySchemes"] = {
            "apiKey": {"type": "apiKey", "in": "header", "name": api_key_header}
        }
        card["security"] = [{"apiKey": []}]
    return card
