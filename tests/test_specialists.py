"""Teams as data: the declaration, its validation, and the seed's support team."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from memory.models import EXPLICIT_CONFIDENCE, Memory
from nodes.team import AgentSpec, TeamSpec, validate_team
from teams.support.desk import SupportDesk
from teams.support.memories import DEMO_SOURCE_AGENT, demo_memories
from teams.support.team import COORDINATOR, JORDAN, SAM, SUPPORT_TEAM
from teams.support.tools import TOOL_NAMES, make_tools
from tests.fakes import DeterministicEmbeddings

# --- the declaration -----------------------------------------------------------------


def test_the_seed_team() -> None:
    assert SUPPORT_TEAM.coordinator is COORDINATOR and COORDINATOR.name == "alex"
    assert [a.name for a in SUPPORT_TEAM.specialists] == ["sam", "jordan"]
    assert [agent.display_name for agent in SUPPORT_TEAM.agents] == ["Alex", "Sam", "Jordan"]


def test_declaration_is_valid() -> None:
    validate_team(SUPPORT_TEAM)


def test_every_tool_named_exists_in_the_toolkit(tmp_path: Path) -> None:
    built = set(SUPPORT_TEAM.toolkit(tmp_path))
    assert built == set(TOOL_NAMES)
    for agent in SUPPORT_TEAM.agents:
        assert set(agent.tools) <= built, agent.name


def test_expertise_split_between_sam_and_jordan() -> None:
    assert "check_refund_eligibility" in SAM.tools
    assert "delay_history" in SAM.tools
    assert "check_systems" in JORDAN.tools
    assert "check_systems" not in SAM.tools


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
    names = [a.name for a in SUPPORT_TEAM.specialists]
    descriptions = [a.description for a in SUPPORT_TEAM.specialists]
    vectors = np.array(embeddings.embed_documents(descriptions))
    assert names[int(np.argmax(vectors @ query))] == expected


def test_keywords_separate_the_specialists() -> None:
    sam, jordan = set(SAM.keywords), set(JORDAN.keywords)
    assert {"refund", "delivery"} <= sam
    assert {"outage", "notification"} <= jordan
    assert not sam & jordan


def test_agent_lookup_is_case_insensitive() -> None:
    assert SUPPORT_TEAM.agent(" Sam ") is SAM
    assert SUPPORT_TEAM.agent("ALEX") is COORDINATOR
    with pytest.raises(KeyError, match="known agents: alex, sam, jordan"):
        SUPPORT_TEAM.agent("morgan")


def test_agent_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SAM.name = "samuel"  # type: ignore[misc]


def test_task_template_fills_in_the_subject() -> None:
    task = SAM.task("my order is late", "12345", "customer")
    assert "customer #12345" in task and "my order is late" in task
    assert "the customer" in SAM.task("my order is late", None, "customer")


def test_adding_a_specialist_is_adding_an_entry() -> None:
    riley = AgentSpec(
        name="riley",
        role="Billing",
        description="Billing: invoices, charges, payment methods.",
        tools=("lookup_customer",),
        prompt="You are Riley, the billing specialist.",
        keywords=("invoice", "charge"),
    )
    validate_team(dataclasses.replace(SUPPORT_TEAM, specialists=(SAM, JORDAN, riley)))


def _with_sam(**changes: object) -> TeamSpec:
    sam = dataclasses.replace(SAM, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(SUPPORT_TEAM, specialists=(sam, JORDAN))


@pytest.mark.parametrize(
    ("team", "problem"),
    [
        (_with_sam(tools=("recent_orders", "teleport")), r"sam: unknown tools \['teleport'\]"),
        (_with_sam(tools=("recent_orders", "recent_orders")), "listed twice"),
        (_with_sam(description="  "), "sam: description is empty"),
        (_with_sam(prompt=""), "sam: prompt is empty"),
        (_with_sam(keywords=("Refund",)), "keywords"),
        (_with_sam(name="Sam Smith"), "must be lowercase"),
        (_with_sam(name="alex"), "agent names used twice"),
        (_with_sam(task_template="Do {what}"), r"task_template uses \['what'\]"),
        (_with_sam(reads=()), "reads must name"),
        (_with_sam(max_steps=0), "max_steps"),
        (dataclasses.replace(SUPPORT_TEAM, specialists=()), "no specialists"),
    ],
)
def test_validation_names_the_problem(team: TeamSpec, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        validate_team(team)


def test_validation_against_a_smaller_toolset() -> None:
    smaller = tuple(t for t in TOOL_NAMES if t != "check_systems")
    with pytest.raises(ValueError, match="jordan: unknown tools"):
        validate_team(dataclasses.replace(SUPPORT_TEAM, tool_names=smaller))


def test_make_tools_builds_every_named_tool(tmp_path: Path) -> None:
    with SupportDesk(tmp_path / "desk.sqlite") as desk:
        assert set(make_tools(desk)) == set(TOOL_NAMES)


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
