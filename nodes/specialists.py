"""The support team as data: the coordinator and the specialists it can call on.

The seed's team: Alex coordinates, Sam knows orders (shipping, delivery, refunds, order
history), Jordan knows the systems (status, notifications, app and site errors, outages).
Adding a specialist is adding an entry to ``SPECIALISTS``; ``validate_team`` checks the
registry (it runs at import, so a broken entry fails loudly and early).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nodes.tools import TOOL_NAMES

_AGENT_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
"""Agent names double as namespace labels and log keys: lowercase, no dots."""


@dataclass(frozen=True)
class Specialist:
    """One agent of the team."""

    name: str
    """Its id: lowercase ("sam"), used in namespaces, provenance and the A2A log."""
    role: str
    """A short title for logs and prompts."""
    description: str
    """Its expertise in plain words; the semantic router embeds it to match requests."""
    tools: tuple[str, ...]
    """Names of the tools it may call (keys of ``nodes.tools.make_tools``)."""
    prompt: str
    """Its system prompt."""
    keywords: tuple[str, ...]
    """Lowercase words or phrases that route a request to it when the other routers fail."""

    @property
    def display_name(self) -> str:
        return self.name.capitalize()


_SHARED_RULES = """
Rules:
- Use your tools to get facts; never invent order numbers, dates, statuses or policies.
- Memories given to you come from the team's shared notebook; trust them in proportion to
  their confidence, and prefer a tool's fresh answer when the two disagree.
- If a tool returns an error, say what was missing or wrong instead of guessing.
- Report findings briefly and concretely: what you checked, what you found, what it means.
""".strip()

COORDINATOR = Specialist(
    name="alex",
    role="Coordinator",
    description=(
        "Coordinates the support team: reads the customer's request and the shared memory, "
        "decides which specialists to involve, and writes the single reply to the customer."
    ),
    tools=("lookup_customer",),
    prompt=f"""You are Alex, the coordinator of a customer support team.
Your specialists: Sam (orders: shipping, delivery, refunds, order history) and Jordan
(technical: system status, notifications, app and site errors, outages).
Read the request and what the shared memory says about the customer, decide which
specialists to involve and what to ask each of them, then combine their findings into one
reply to the customer: what happened, why, and what the team is doing about it. Respect
the customer's contact preference and membership tier when you answer.
{_SHARED_RULES}""",
    keywords=("help", "support", "customer", "complaint", "question"),
)

SPECIALISTS: dict[str, Specialist] = {
    "sam": Specialist(
        name="sam",
        role="Orders specialist",
        description=(
            "Orders specialist: order status and order history, shipping and delivery, "
            "tracking a package, late, delayed, missing or lost parcels, carriers, "
            "refunds, cancellations, returns and replacements."
        ),
        tools=(
            "lookup_customer",
            "recent_orders",
            "track_shipment",
            "delay_history",
            "check_refund_eligibility",
        ),
        prompt=f"""You are Sam, the orders specialist of a customer support team.
You handle order status and history, shipping and delivery, delays and lost parcels,
refunds, cancellations and returns. For a delivery problem: find the customer's recent
order, track its shipment, check whether the customer has had delays before, and check
refund eligibility before promising a refund, stating the refund window.
{_SHARED_RULES}""",
        keywords=(
            "order",
            "orders",
            "shipping",
            "shipment",
            "delivery",
            "delivered",
            "arrived",
            "package",
            "parcel",
            "tracking",
            "late",
            "delay",
            "delayed",
            "lost",
            "refund",
            "return",
            "cancel",
            "carrier",
        ),
    ),
    "jordan": Specialist(
        name="jordan",
        role="Technical support",
        description=(
            "Technical support: system status and outages, order and payment systems, "
            "shipping notifications and emails not arriving, carrier tracking feeds, "
            "website, checkout and mobile app errors, login and bugs."
        ),
        tools=("check_systems", "track_shipment"),
        prompt=f"""You are Jordan, the technical support specialist of a customer support team.
You check whether our systems work: the order API, shipping notifications, the payment
gateway, carrier tracking, the website and the mobile app. Tell a system-wide outage apart
from a one-off problem, and say plainly whether an issue is on our side or elsewhere (for
example with the carrier).
{_SHARED_RULES}""",
        keywords=(
            "system",
            "systems",
            "outage",
            "down",
            "error",
            "bug",
            "crash",
            "app",
            "website",
            "site",
            "login",
            "notification",
            "notifications",
            "email",
            "payment",
            "checkout",
            "technical",
        ),
    ),
}


def team() -> tuple[Specialist, ...]:
    """The coordinator followed by every specialist."""
    return (COORDINATOR, *SPECIALISTS.values())


def get_specialist(name: str) -> Specialist:
    """The specialist called `name` (case-insensitive), or a KeyError naming the known ones."""
    specialist = SPECIALISTS.get(name.strip().lower())
    if specialist is None:
        known = ", ".join(SPECIALISTS)
        raise KeyError(f"no specialist named {name!r}; known specialists: {known}")
    return specialist


def validate_team(
    specialists: Mapping[str, Specialist] | None = None,
    coordinator: Specialist | None = None,
    tool_names: Iterable[str] = TOOL_NAMES,
) -> None:
    """Raise ValueError listing every problem of the registry (the module's by default)."""
    specialists = SPECIALISTS if specialists is None else specialists
    coordinator = COORDINATOR if coordinator is None else coordinator
    problems = [*_registry_problems(specialists, coordinator)]
    available = set(tool_names)
    for agent in (coordinator, *specialists.values()):
        problems += _agent_problems(agent, available)
    if problems:
        raise ValueError("invalid support team:\n- " + "\n- ".join(problems))


def _registry_problems(specialists: Mapping[str, Specialist], coordinator: Specialist) -> list[str]:
    problems = [
        f"specialist registered as {key!r} is named {agent.name!r}"
        for key, agent in specialists.items()
        if key != agent.name
    ]
    if not specialists:
        problems.append("the team has no specialists")
    if coordinator.name in specialists:
        problems.append(f"coordinator name {coordinator.name!r} is also a specialist's")
    return problems


def _agent_problems(agent: Specialist, available: set[str]) -> list[str]:
    problems = []
    if not _AGENT_NAME.match(agent.name):
        problems.append(f"agent name {agent.name!r} must be lowercase letters, digits, - or _")
    for field in ("role", "description", "prompt"):
        if not getattr(agent, field).strip():
            problems.append(f"{agent.name}: {field} is empty")
    unknown = [tool for tool in agent.tools if tool not in available]
    if unknown:
        problems.append(f"{agent.name}: unknown tools {unknown}; available: {sorted(available)}")
    if len(set(agent.tools)) != len(agent.tools):
        problems.append(f"{agent.name}: a tool is listed twice in {agent.tools}")
    if not agent.keywords or any(k != k.lower() or not k.strip() for k in agent.keywords):
        problems.append(f"{agent.name}: keywords must be non-empty lowercase words")
    return problems


validate_team()
