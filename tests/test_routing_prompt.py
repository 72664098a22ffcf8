"""The coordinator's routing question: enum schema, reason first, the team's examples."""

from __future__ import annotations

from dataclasses import replace

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import ValidationError

from nodes.coordinator import route_schema
from nodes.prompts import routing_prompt
from nodes.team import RoutingExample, validate_team
from teams.helpdesk.team import HELPDESK_TEAM
from teams.support.team import SUPPORT_TEAM


def test_the_schema_asks_the_reason_first_and_only_the_teams_ids() -> None:
    schema = route_schema(SUPPORT_TEAM).model_json_schema()
    assert list(schema["properties"]) == ["reason", "specialists"]
    assert schema["properties"]["specialists"]["items"]["enum"] == ["sam", "jordan"]
    other = route_schema(HELPDESK_TEAM).model_json_schema()
    assert set(other["properties"]["specialists"]["items"]["enum"]) == {
        a.name for a in HELPDESK_TEAM.specialists
    }
    assert "tasks" in route_schema(SUPPORT_TEAM, with_tasks=True).model_json_schema()["properties"]


def test_capitalised_names_are_the_ids_and_unknown_ones_are_refused() -> None:
    schema = route_schema(SUPPORT_TEAM)
    route = schema.model_validate_json('{"reason": "late", "specialists": ["Sam", " JORDAN "]}')
    assert route.specialists == ["sam", "jordan"]  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        schema.model_validate_json('{"reason": "x", "specialists": ["alex"]}')  # not a specialist
    with pytest.raises(ValidationError):
        schema.model_validate_json('{"reason": "x", "specialists": []}')


def test_the_teams_examples_come_as_earlier_turns_that_fit_the_schema() -> None:
    messages = routing_prompt(SUPPORT_TEAM, "Where is my parcel?")
    assert isinstance(messages[0], SystemMessage)
    assert SUPPORT_TEAM.coordinator.prompt in messages[0].text
    shots = messages[1:-1]
    assert len(shots) == 2 * len(SUPPORT_TEAM.routing_examples) >= 6
    schema = route_schema(SUPPORT_TEAM)
    for example, (asked, answered) in zip(
        SUPPORT_TEAM.routing_examples, zip(shots[::2], shots[1::2], strict=True), strict=True
    ):
        assert isinstance(asked, HumanMessage) and example.request in asked.text
        assert isinstance(answered, AIMessage)
        parsed = schema.model_validate_json(answered.text)
        assert tuple(parsed.specialists) == example.specialists  # type: ignore[attr-defined]
    assert messages[-1] == HumanMessage("Request: Where is my parcel?")


def test_a_team_without_examples_is_asked_without_them() -> None:
    bare = replace(SUPPORT_TEAM, routing_examples=())
    assert len(routing_prompt(bare, "hello")) == 2


def test_an_example_naming_no_specialist_of_the_team_is_refused() -> None:
    wrong = replace(
        SUPPORT_TEAM,
        routing_examples=(RoutingExample("Hi", ("taylor",), "greeting"),),
    )
    with pytest.raises(ValueError, match=r"routing example 'Hi' must name some of"):
        validate_team(wrong)
