"""The shared memory the demo prepares before the customer's request (the seed's
``/api/memory/demo/prepare``): customer profiles, the refund policy, resolution workflows
and a tool skill.

Every memory is shared, explicit (confidence 0.95) and written by ``DEMO_SOURCE_AGENT``.
Its ``memory_id`` is derived from the team and a fixed key, so preparing the demo twice
writes the same records again instead of adding copies.

The customer facts agree with the support desk's dataset (``teams.support.desk``); the
demo customer's delay history is deliberately absent: Sam discovers it during the demo.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from langgraph.store.base import BaseStore

from memory.manager import MemoryManager
from memory.models import EXPLICIT_CONFIDENCE, Memory, MemoryType, Provenance
from memory.namespaces import memory_namespace

DEMO_SOURCE_AGENT = "system"
"""The demo's memories were loaded by the system, not learned by an agent in a conversation."""

_DEMO_ID_NAMESPACE = uuid.UUID("6f1c2a52-4b1e-4c59-9a57-0d5e0c1b7a11")


@dataclass(frozen=True)
class _Seed:
    key: str
    type: MemoryType
    content: str
    context: str
    keywords: tuple[str, ...]
    tags: tuple[str, ...]
    subject: str | None = None
    attribute: str | None = None
    value: str | None = None


_SEEDS: tuple[_Seed, ...] = (
    _Seed(
        key="customer:12345/contact_preference",
        type="entity",
        content="Customer #12345 prefers to be contacted by email.",
        context="Customer profile: contact channel for customer #12345.",
        keywords=("customer 12345", "email", "contact preference"),
        tags=("customer-profile",),
        subject="customer:12345",
        attribute="contact_preference",
        value="email",
    ),
    _Seed(
        key="customer:12345/tier",
        type="entity",
        content="Customer #12345 is a premium member.",
        context="Customer profile: membership tier of customer #12345.",
        keywords=("customer 12345", "premium", "membership tier"),
        tags=("customer-profile",),
        subject="customer:12345",
        attribute="tier",
        value="premium",
    ),
    _Seed(
        key="customer:23456/contact_preference",
        type="entity",
        content="Customer #23456 (John Okafor) prefers to be contacted by phone.",
        context="Customer profile: contact channel for customer #23456.",
        keywords=("customer 23456", "phone", "contact preference"),
        tags=("customer-profile",),
        subject="customer:23456",
        attribute="contact_preference",
        value="phone",
    ),
    _Seed(
        key="customer:34567/contact_preference",
        type="entity",
        content="Customer #34567 (Priya Raman) prefers to be contacted by SMS.",
        context="Customer profile: contact channel for customer #34567.",
        keywords=("customer 34567", "sms", "contact preference"),
        tags=("customer-profile",),
        subject="customer:34567",
        attribute="contact_preference",
        value="sms",
    ),
    _Seed(
        key="customer:34567/tier",
        type="entity",
        content="Customer #34567 (Priya Raman) is a premium member.",
        context="Customer profile: membership tier of customer #34567.",
        keywords=("customer 34567", "premium", "membership tier"),
        tags=("customer-profile",),
        subject="customer:34567",
        attribute="tier",
        value="premium",
    ),
    _Seed(
        key="episode:23456/address-hold",
        type="episodic",
        content=(
            "We resolved John Okafor's (customer #23456) late delivery of order ORD-2001 "
            "after the carrier held it for address verification."
        ),
        context="A past delivery issue the team resolved.",
        keywords=("customer 23456", "delivery delay", "address verification", "ORD-2001"),
        tags=("resolved-case", "delivery"),
        subject="customer:23456",
    ),
    _Seed(
        key="policy:refunds/premium",
        type="semantic",
        content="Premium members get refunds within 48 hours.",
        context="Refund policy for premium members.",
        keywords=("refund", "premium", "48 hours", "refund window"),
        tags=("refund-policy", "policy"),
        subject="policy:refunds",
        attribute="premium_refund_window",
        value="48 hours",
    ),
    _Seed(
        key="policy:refunds/standard",
        type="semantic",
        content="Standard members get refunds within 5 days (120 hours).",
        context="Refund policy for standard members.",
        keywords=("refund", "standard", "5 days", "refund window"),
        tags=("refund-policy", "policy"),
        subject="policy:refunds",
        attribute="standard_refund_window",
        value="5 days",
    ),
    _Seed(
        key="workflow:refund",
        type="workflow",
        content="Refund workflow: 1) verify the order 2) check eligibility 3) process the refund.",
        context="How the team handles a refund request.",
        keywords=("refund", "workflow", "verify order", "eligibility", "process refund"),
        tags=("workflow", "refund"),
    ),
    _Seed(
        key="workflow:delivery-delay",
        type="workflow",
        content=(
            "Delivery delay workflow: 1) check carrier tracking for the order 2) check our "
            "systems for an outage 3) offer the customer a refund or a reship."
        ),
        context="How the team handles an order that has not arrived.",
        keywords=("delivery delay", "workflow", "carrier tracking", "systems", "reship"),
        tags=("workflow", "delivery"),
    ),
    _Seed(
        key="skill:check_refund_eligibility",
        type="skill",
        content="Use check_refund_eligibility before promising a customer a refund.",
        context="Tool use for refunds.",
        keywords=("check_refund_eligibility", "refund", "tool"),
        tags=("skill", "refund"),
    ),
    _Seed(
        key="skill:check_systems",
        type="skill",
        content="Use check_systems to rule out an outage before blaming a delay on the carrier.",
        context="Tool use for delivery and notification problems.",
        keywords=("check_systems", "outage", "carrier", "tool"),
        tags=("skill", "systems"),
    ),
)


def demo_memory_id(team: str, key: str) -> str:
    """The stable id of the demo memory `key` of `team`."""
    return uuid.uuid5(_DEMO_ID_NAMESPACE, f"{team}/{key}").hex


def demo_memories(team: str = "support") -> list[Memory]:
    """The shared memories the demo loads for `team`, built fresh on each call."""
    memory_namespace(team, "shared")  # rejects a team name no namespace can hold
    return [
        Memory(
            memory_id=demo_memory_id(team, seed.key),
            content=seed.content,
            type=seed.type,
            scope="shared",
            mechanism="explicit",
            confidence=EXPLICIT_CONFIDENCE,
            subject=seed.subject,
            attribute=seed.attribute,
            value=seed.value,
            provenance=Provenance(source_agent=DEMO_SOURCE_AGENT, thread_id="demo-prepare"),
            keywords=list(seed.keywords),
            tags=["demo", *seed.tags],
            context=seed.context,
        )
        for seed in _SEEDS
    ]


def load_demo_memories(store: BaseStore, team: str = "support") -> int:
    """Put the demo's shared memories into `store` (the seed's
    ``/api/memory/demo/prepare``); returns how many were new. Idempotent: a memory
    already there (by its stable id) is left as it is."""
    manager = MemoryManager(store, team=team, agent=DEMO_SOURCE_AGENT)
    added = 0
    for memory in demo_memories(team):
        if manager.get(memory.memory_id) is None:
            manager.add(memory)
            added += 1
    return added
