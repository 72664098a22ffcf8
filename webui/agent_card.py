"""The team's A2A agent card, built from the team declaration (nodes/specialists.py).

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

from nodes.specialists import COORDINATOR, SPECIALISTS, Specialist

A2A_PROTOCOL_VERSION: Final = "0.3.0"
"""The A2A version the server's endpoint speaks completely (see the module docstring)."""
TEXT_MODES: Final = ("text/plain", "application/json")

GraphId = Literal["team", "chat"]


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


CUSTOMER_DATA_PART: Final = (
    'To say which customer a message is about, add a data part {"customer_id": "12345"}.'
)

_EXAMPLES: Final[dict[str, list[str]]] = {
    COORDINATOR.name: [
        "A customer reports their recent order never arrived and asks for a refund.",
    ],
    "sam": ["Where is order ORD-1004, and is it eligible for a refund?"],
    "jordan": ["Are our notification and tracking systems working?"],
}


def _skill(agent: Specialist, *, prefix: str = "") -> AgentSkill:
    return {
        "id": f"{prefix}{agent.name}",
        "name": f"{agent.display_name} ({agent.role})",
        "description": agent.description,
        "tags": [agent.role.lower(), *agent.keywords[:8]],
        "examples": _EXAMPLES.get(agent.name, []),
        "inputModes": list(TEXT_MODES),
        "outputModes": ["text/plain"],
    }


def team_skills() -> list[AgentSkill]:
    """The team's skills: the coordinator's (the whole team at work), then each specialist's."""
    team = _skill(COORDINATOR)
    team["id"] = "support-team"
    team["name"] = "Customer support team"
    team["description"] = (
        f"{COORDINATOR.description} Specialists: "
        + "; ".join(f"{s.display_name}, {s.role}: {s.description}" for s in SPECIALISTS.values())
        + f" {CUSTOMER_DATA_PART}"
    )
    return [team, *(_skill(s, prefix="specialist-") for s in SPECIALISTS.values())]


def chat_skills() -> list[AgentSkill]:
    """One skill per agent one can talk to alone (the chat graph, context ``agent``)."""
    return [_skill(agent, prefix="chat-") for agent in (COORDINATOR, *SPECIALISTS.values())]


def build_agent_card(
    graph_id: GraphId,
    endpoint_url: str,
    *,
    version: str,
    api_key_header: str | None = None,
) -> AgentCard:
    """The card of the ``team`` or ``chat`` graph, served at ``endpoint_url``.

    ``api_key_header``: when the server requires an API key, the header it is read from
    (declared as an apiKey security scheme, so clients know to send it).
    """
    if graph_id == "team":
        name = "A2A Memory support team"
        description = (
            "A customer support team with a shared memory: Alex coordinates and routes each "
            "request to specialists who work in parallel (Sam: orders, shipping and refunds; "
            "Jordan: systems and notifications), then replies as one. What the team learns "
            f"is remembered and shared between the agents. {CUSTOMER_DATA_PART}"
        )
        skills = team_skills()
    else:
        name = "A2A Memory agent chat"
        description = (
            "Talk to one agent of the support team with its memory (the shared memory and "
            'its own). Choose the agent with the run context {"agent": "jordan"}; Alex by '
            "default."
        )
        skills = chat_skills()
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
