"""The typed stream events the CLI and the web UI read (nodes/events.py)."""

from __future__ import annotations

import pytest

from nodes.events import EVENT_KINDS, RoutingEvent, ToolCallEvent, parse_event


def test_an_event_round_trips_through_its_wire_form() -> None:
    sent = ToolCallEvent(agent="sam", tool="track_shipment", args={"order_id": "ORD-1"}, ok=True)
    wire = sent.model_dump(mode="json")
    assert wire["event"] == "tool_call" and isinstance(wire["at"], float)
    assert parse_event(wire) == sent


def test_every_kind_has_a_class() -> None:
    assert RoutingEvent(specialists=[], reason="", method="llm").event in EVENT_KINDS
    assert len(set(EVENT_KINDS)) == len(EVENT_KINDS) == 9


def test_unknown_kinds_are_skipped_and_malformed_ones_named() -> None:
    assert parse_event({"event": "from-a-newer-server", "at": 1.0}) is None
    with pytest.raises(ValueError, match="malformed 'routing' event"):
        parse_event({"event": "routing", "at": 1.0})
