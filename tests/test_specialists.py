"""The team registry (specialists as data) and the demo's shared memories."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memory.models import EXPLICIT_CONFIDENCE, Memory
from nodes.demo_memories import DEMO_SOURCE_AGENT, demo_memories
from nodes.specialists import (
    COORDINATOR,
    SPECIALISTS,
    Specialist,
    get_specialist,
    team,
    validate_team,
)
from nodes.support_desk import SupportDesk
from nodes.tools import TOOL_NAMES, make_tools
from tests.fakes import DeterministicEmbeddings

# --- the registry --------------------------------------------------------------------


def test_the_seed_team() -> None:
    assert COORDINATOR.name == "alex"
    assert set(SPECIALISTS) == {"sam", "jordan"}
    assert [agent.display_name for agent in team()] == ["Alex", "Sam", "Jordan"]


def test_registry_is_valid() -> None:
    validate_team()


def test_every_tool_named_exists_in_make_tools(tmp_path: Path) -> None:
    with SupportDesk(tmp_path / "desk.sqlite") as desk:
        built = set(make_tools(desk))
    for agent in team():
        assert set(agent.tools) <= built, agent.name


def test_names_unique_and_fields_filled() -> None:
    names = [agent.name for agent in team()]
    assert len(names) == len(set(names))
    for agent in team():
        assert agent.description.strip() and agent.prompt.strip() and agent.role.strip()
        assert agent.keywords


def test_expertise_split_between_sam_and_jordan() -> None:
    assert "check_refund_eligibility" in SPECIALISTS["sam"].tools
    assert "delay_history" in SPECIALISTS["sam"].tools
    assert "check_systems" in SPECIALISTS["jordan"].tools
    assert "check_systems" not in SPECIALISTS["sam"].tools


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("my package is late and I want a refund for the order", "sam"),
        ("the mobile app shows an error at checkout and the website is down", "jordan"),
    ],
)
def test_descriptions_separate_the_specialists_for_a_semantic_router(
    request_text: str, expected: str
) -> None:
    embeddings = DeterministicEmbeddings()
    query = np.array(embeddings.embed_query(request_text))
    names = list(SPECIALISTS)
    vectors = np.array(embeddings.embed_documents([SPECIALISTS[n].description for n in names]))
    assert names[int(np.argmax(vectors @ query))] == expected


def test_keywords_separate_the_specialists() -> None:
    sam, jordan = set(SPECIALISTS["sam"].keywords), set(SPECIALISTS["jordan"].keywords)
    assert {"refund", "delivery"} <= sam
    assert {"outage", "notification"} <= jordan
    assert not sam & jordan


def test_get_specialist() -> None:
    assert get_specialist(" Sam ") is SPECIALISTS["sam"]
    with pytest.raises(KeyError, match="known specialists: sam, jordan"):
        get_specialist("morgan")


def test_specialist_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SPECIALISTS["sam"].name = "samuel"  # type: ignore[misc]


def test_adding_a_specialist_is_adding_an_entry() -> None:
    riley = Specialist(
        name="riley",
        role="Billing",
        description="Billing: invoices, charges, payment methods.",
        tools=("lookup_customer",),
        prompt="You are Riley, the billing specialist.",
        keywords=("invoice", "charge"),
    )
    validate_team({**SPECIALISTS, "riley": riley})


def _invalid(**changes: Any) -> dict[str, Specialist]:
    return {**SPECIALISTS, "sam": dataclasses.replace(SPECIALISTS["sam"], **changes)}


@pytest.mark.parametrize(
    ("specialists", "problem"),
    [
        (_invalid(tools=("recent_orders", "teleport")), r"sam: unknown tools \['teleport'\]"),
        (_invalid(tools=("recent_orders", "recent_orders")), "listed twice"),
        (_invalid(description="  "), "sam: description is empty"),
        (_invalid(prompt=""), "sam: prompt is empty"),
        (_invalid(name="samuel"), "registered as 'sam' is named 'samuel'"),
        (_invalid(keywords=()), "keywords"),
        (_invalid(keywords=("Refund",)), "keywords"),
        (
            {**SPECIALISTS, "Sam Smith": dataclasses.replace(SPECIALISTS["sam"], name="Sam Smith")},
            "must be lowercase",
        ),
        ({**SPECIALISTS, "alex": COORDINATOR}, "coordinator name 'alex'"),
        ({}, "no specialists"),
    ],
)
def test_validation_names_the_problem(specialists: dict[str, Specialist], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        validate_team(specialists)


def test_validation_against_a_smaller_toolset() -> None:
    with pytest.raises(ValueError, match="jordan: unknown tools"):
        validate_team(tool_names=[t for t in TOOL_NAMES if t != "check_systems"])


# --- the demo memories ---------------------------------------------------------------


def _slot(memories: list[Memory], subject: str, attribute: str) -> Memory:
    matches = [m for m in memories if (m.subject, m.attribute) == (subject, attribute)]
    assert len(matches) == 1, (subject, attribute, matches)
    return matches[0]


def test_demo_memories_are_shared_explicit_records() -> None:
    memories = demo_memories()
    assert len(memories) >= 8
    for memory in memories:
        assert Memory.from_store_value(memory.to_store_value()) == memory
        assert memory.scope == "shared"
        assert memory.mechanism == "explicit"
        assert memory.confidence == EXPLICIT_CONFIDENCE
        assert memory.provenance.source_agent == DEMO_SOURCE_AGENT
        assert memory.keywords and memory.tags and memory.context
    assert len({m.memory_id for m in memories}) == len(memories)
    assert len({(m.subject, m.attribute) for m in memories if m.attribute}) == sum(
        1 for m in memories if m.attribute
    )


def test_demo_customer_profile() -> None:
    memories = demo_memories()
    preference = _slot(memories, "customer:12345", "contact_preference")
    assert (preference.type, preference.value) == ("entity", "email")
    tier = _slot(memories, "customer:12345", "tier")
    assert (tier.type, tier.value) == ("entity", "premium")
    other_customers = {
        m.subject for m in memories if m.subject and m.subject.startswith("customer:")
    }
    assert len(other_customers - {"customer:12345"}) >= 2


def test_demo_refund_policy_and_procedures() -> None:
    memories = demo_memories()
    premium = _slot(memories, "policy:refunds", "premium_refund_window")
    assert premium.type == "semantic" and "48 hours" in premium.content
    standard = _slot(memories, "policy:refunds", "standard_refund_window")
    assert "5 days" in standard.content
    workflows = [m.content for m in memories if m.type == "workflow"]
    assert any("verify the order" in w and "check eligibility" in w for w in workflows)
    assert any("carrier tracking" in w and "reship" in w for w in workflows)
    skills = [m.content for m in memories if m.type == "skill"]
    assert any("check_refund_eligibility" in s for s in skills)


def test_demo_skills_name_real_tools() -> None:
    for memory in demo_memories():
        if memory.type == "skill":
            assert any(name in memory.content for name in TOOL_NAMES), memory.content


def test_demo_memories_agree_with_the_dataset(tmp_path: Path) -> None:
    with SupportDesk(tmp_path / "desk.sqlite") as desk:
        for memory in demo_memories():
            if memory.subject and memory.subject.startswith("customer:") and memory.attribute:
                customer = desk.get_customer(memory.subject)
                assert getattr(customer, memory.attribute) == memory.value, memory.content
        policy = {rule.tier: rule.refund_window_hours for rule in desk.refund_policy()}
    assert policy["premium"] == 48


def test_demo_memory_ids_are_stable_per_team() -> None:
    first, again = demo_memories(), demo_memories()
    assert [m.memory_id for m in first] == [m.memory_id for m in again]
    other_team = {m.memory_id for m in demo_memories("billing")}
    assert not other_team & {m.memory_id for m in first}


def test_demo_memories_reject_a_bad_team() -> None:
    with pytest.raises(ValueError, match="team name"):
        demo_memories("a.b")
