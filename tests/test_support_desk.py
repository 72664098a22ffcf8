"""The support desk's demo dataset and the tools over it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from nodes.tool_results import tool_error
from teams.support.desk import (
    DEMO_CUSTOMER_ID,
    DEMO_ORDER_ID,
    InvalidIdError,
    SupportDesk,
    UnknownCustomerError,
    UnknownOrderError,
    UnknownSystemError,
    normalize_customer_id,
    normalize_order_id,
)
from teams.support.tools import TOOL_NAMES, make_tools

ANCHOR = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TABLES = (
    "customers",
    "orders",
    "shipments",
    "delay_history",
    "system_status",
    "refund_policy",
    "refund_conditions",
)


@pytest.fixture
def desk_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "support_desk.sqlite"


@pytest.fixture
def desk(desk_path: Path) -> Iterator[SupportDesk]:
    with SupportDesk.seed_demo(desk_path, anchor=ANCHOR) as opened:
        yield opened


@pytest.fixture
def tools(desk: SupportDesk) -> dict[str, BaseTool]:
    return make_tools(desk)


# --- the dataset ---------------------------------------------------------------------


def test_opening_creates_and_seeds_the_file(desk_path: Path) -> None:
    assert not desk_path.exists()
    with SupportDesk(desk_path) as desk:
        assert desk_path.exists()
        assert desk.count_rows("customers") >= 5
        assert desk.count_rows("orders") > desk.count_rows("customers")


def test_seeding_is_idempotent(desk: SupportDesk, desk_path: Path) -> None:
    before = {table: desk.count_rows(table) for table in TABLES}
    desk.seed()
    desk.seed(anchor=datetime(2030, 1, 1, tzinfo=UTC))
    with SupportDesk.seed_demo(desk_path) as again:
        after = {table: again.count_rows(table) for table in TABLES}
    assert after == before
    assert all(count > 0 for count in before.values())


def test_reopening_keeps_data_and_changes(desk: SupportDesk, desk_path: Path) -> None:
    placed_at = desk.order(DEMO_ORDER_ID).placed_at
    desk.close()
    with sqlite3.connect(desk_path) as conn:
        conn.execute("UPDATE system_status SET status = 'down' WHERE system = 'order_api'")
    # A later open seeds with a different "now": existing rows must not be rewritten.
    with SupportDesk(desk_path) as reopened:
        assert reopened.system_status(["order_api"])[0].status == "down"
        assert reopened.order(DEMO_ORDER_ID).placed_at == placed_at


def test_open_without_seed_leaves_tables_empty(tmp_path: Path) -> None:
    with SupportDesk(tmp_path / "empty.sqlite", seed=False) as desk:
        assert desk.count_rows("customers") == 0
        with pytest.raises(UnknownCustomerError):
            desk.get_customer(DEMO_CUSTOMER_ID)


def test_demo_customer_is_premium_and_prefers_email(desk: SupportDesk) -> None:
    customer = desk.get_customer(DEMO_CUSTOMER_ID)
    assert customer.tier == "premium"
    assert customer.contact_preference == "email"
    assert "@" in customer.email


def test_recent_orders_newest_first(desk: SupportDesk) -> None:
    orders = desk.recent_orders(DEMO_CUSTOMER_ID, limit=10)
    assert len(orders) >= 3
    assert orders[0].order_id == DEMO_ORDER_ID
    assert [o.placed_at for o in orders] == sorted((o.placed_at for o in orders), reverse=True)
    assert {o.customer_id for o in orders} == {DEMO_CUSTOMER_ID}
    assert len(desk.recent_orders(DEMO_CUSTOMER_ID, limit=2)) == 2
    with pytest.raises(ValueError, match="limit"):
        desk.recent_orders(DEMO_CUSTOMER_ID, limit=0)


def test_order_total_and_items_are_typed(desk: SupportDesk) -> None:
    order = desk.order(DEMO_ORDER_ID)
    assert order.total == Decimal("189.00")
    assert order.items and order.items[0].quantity >= 1


def test_demo_shipment_is_delayed_by_the_carrier(desk: SupportDesk) -> None:
    shipment = desk.shipment_for_order(DEMO_ORDER_ID)
    assert shipment is not None
    assert shipment.status == "delayed"
    assert shipment.delay_source == "carrier"
    assert shipment.delay_reason and shipment.carrier in shipment.delay_reason
    assert shipment.promised_date < ANCHOR.date()


def test_unshipped_order_has_no_shipment(desk: SupportDesk) -> None:
    assert desk.order("ORD-2002").status == "processing"
    assert desk.shipment_for_order("ORD-2002") is None


def test_demo_customers_latest_delay_is_the_third(desk: SupportDesk) -> None:
    history = desk.delay_history(DEMO_CUSTOMER_ID)
    assert history.count == 3
    assert history.delays[-1].order_id == DEMO_ORDER_ID
    assert len({d.shipment_id for d in history.delays}) == 3
    # Past delays still count after their parcel was delivered.
    assert [d.shipment_status for d in history.delays[:2]] == ["delivered", "delivered"]


def test_delay_history_of_other_customers(desk: SupportDesk) -> None:
    assert desk.delay_history("23456").count == 1
    assert desk.delay_history("56789").count == 0


def test_all_systems_operational(desk: SupportDesk) -> None:
    statuses = desk.system_status()
    names = {s.system for s in statuses}
    assert {"order_api", "shipping_notifications", "payment_gateway", "carrier_tracking"} <= names
    assert all(s.status == "operational" for s in statuses)
    picked = desk.system_status(["payment_gateway", "order_api"])
    assert [s.system for s in picked] == ["payment_gateway", "order_api"]


def test_unknown_system_names_the_known_ones(desk: SupportDesk) -> None:
    with pytest.raises(UnknownSystemError, match=r"known systems: .*order_api"):
        desk.system_status(["order_api", "teleporter"])


def test_premium_demo_order_is_refundable_within_48_hours(desk: SupportDesk) -> None:
    verdict = desk.refund_eligibility(DEMO_ORDER_ID)
    assert verdict.eligible
    assert verdict.window_hours == 48
    assert verdict.tier == "premium"
    assert verdict.condition == "delayed"
    assert "48 hours" in verdict.reason


@pytest.mark.parametrize(
    ("order_id", "condition", "eligible", "window_hours"),
    [
        ("ORD-2002", "processing", True, 120),
        ("ORD-3001", "in_transit", False, 48),
        ("ORD-4001", "lost", True, 120),
        ("ORD-5001", "delivered", False, 120),
    ],
)
def test_refund_rules_follow_order_state_and_tier(
    desk: SupportDesk, order_id: str, condition: str, eligible: bool, window_hours: int
) -> None:
    verdict = desk.refund_eligibility(order_id)
    assert (verdict.condition, verdict.eligible, verdict.window_hours) == (
        condition,
        eligible,
        window_hours,
    )
    assert verdict.reason


def test_refund_policy_rules(desk: SupportDesk) -> None:
    windows = {rule.tier: rule.refund_window_hours for rule in desk.refund_policy()}
    assert windows == {"premium": 48, "standard": 120}


@pytest.mark.parametrize("raw", ["12345", "#12345", 12345, " customer:12345 ", "Customer #12345"])
def test_customer_id_forms(raw: str | int) -> None:
    assert normalize_customer_id(raw) == "12345"


@pytest.mark.parametrize("raw", ["ORD-1004", "ord-1004", "#1004", 1004, "ORD 1004"])
def test_order_id_forms(raw: str | int) -> None:
    assert normalize_order_id(raw) == "ORD-1004"


@pytest.mark.parametrize("raw", ["", "abc", "12a45", "ORD-", "-5", True, 3.5, None])
def test_malformed_ids_are_rejected(raw: object) -> None:
    with pytest.raises(InvalidIdError):
        normalize_customer_id(raw)  # type: ignore[arg-type]
    with pytest.raises(InvalidIdError):
        normalize_order_id(raw)  # type: ignore[arg-type]


def test_unknown_ids_raise_specific_errors(desk: SupportDesk) -> None:
    with pytest.raises(UnknownCustomerError, match="99999"):
        desk.get_customer("99999")
    with pytest.raises(UnknownCustomerError):
        desk.recent_orders("99999")
    with pytest.raises(UnknownCustomerError):
        desk.delay_history("99999")
    with pytest.raises(UnknownOrderError, match="ORD-9999"):
        desk.order("ORD-9999")
    with pytest.raises(UnknownOrderError):
        desk.shipment_for_order("ORD-9999")
    with pytest.raises(UnknownOrderError):
        desk.refund_eligibility("ORD-9999")


def test_concurrent_reads_from_threads(desk: SupportDesk) -> None:
    def read(i: int) -> tuple[int, bool]:
        history = desk.delay_history(DEMO_CUSTOMER_ID)
        return history.count, desk.refund_eligibility(f"ORD-{1001 + i % 4}").eligible

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(read, range(200)))
    assert {count for count, _ in results} == {3}
    # ORD-1004 (i % 4 == 3) is the only refundable order of the four.
    assert [ok for _, ok in results[:4]] == [False, False, False, True]


# --- the tools -----------------------------------------------------------------------


def test_make_tools_builds_every_named_tool(tools: dict[str, BaseTool]) -> None:
    assert tuple(tools) == TOOL_NAMES
    for name, tool in tools.items():
        assert tool.name == name
        assert len(tool.description) > 40


def _ok(result: object) -> dict[str, object]:
    assert tool_error(result) is None, result
    assert isinstance(result, dict)
    json.dumps(result)  # what the model receives must serialise
    return result


def test_lookup_customer_tool(tools: dict[str, BaseTool]) -> None:
    result = _ok(tools["lookup_customer"].invoke({"customer_id": "#12345"}))
    assert result["tier"] == "premium"
    assert result["contact_preference"] == "email"


def test_recent_orders_tool(tools: dict[str, BaseTool]) -> None:
    result = _ok(tools["recent_orders"].invoke({"customer_id": 12345, "limit": 2}))
    orders = result["orders"]
    assert isinstance(orders, list) and len(orders) == 2
    assert orders[0]["order_id"] == DEMO_ORDER_ID
    assert orders[0]["total"] == "189.00"


def test_track_shipment_tool_reports_carrier_delay(tools: dict[str, BaseTool]) -> None:
    result = _ok(tools["track_shipment"].invoke({"order_id": DEMO_ORDER_ID}))
    shipment = result["shipment"]
    assert isinstance(shipment, dict)
    assert shipment["status"] == "delayed"
    assert shipment["delay_source"] == "carrier"
    assert "backlog" in str(shipment["delay_reason"])
    unshipped = _ok(tools["track_shipment"].invoke({"order_id": "ORD-2002"}))
    assert unshipped["shipment"] is None
    assert unshipped["facts"] == ["Order ORD-2002 has not shipped yet; there is no shipment."]


def test_delay_history_tool_finds_third_delay(tools: dict[str, BaseTool]) -> None:
    result = _ok(tools["delay_history"].invoke({"customer_id": "12345"}))
    assert result["count"] == 3
    delays = result["delays"]
    assert isinstance(delays, list) and delays[-1]["order_id"] == DEMO_ORDER_ID


def test_check_systems_tool(tools: dict[str, BaseTool]) -> None:
    everything = _ok(tools["check_systems"].invoke({}))
    assert everything["all_operational"] is True
    assert len(everything["systems"]) >= 4  # type: ignore[arg-type]
    one = _ok(tools["check_systems"].invoke({"systems": ["shipping_notifications"]}))
    assert [s["system"] for s in one["systems"]] == ["shipping_notifications"]  # type: ignore[attr-defined]


def test_check_systems_tool_sees_an_outage(desk: SupportDesk, desk_path: Path) -> None:
    with sqlite3.connect(desk_path) as conn:
        conn.execute("UPDATE system_status SET status = 'degraded' WHERE system = 'order_api'")
    result = _ok(make_tools(desk)["check_systems"].invoke({}))
    assert result["all_operational"] is False


def test_refund_eligibility_tool(tools: dict[str, BaseTool]) -> None:
    result = _ok(tools["check_refund_eligibility"].invoke({"order_id": DEMO_ORDER_ID}))
    assert result["eligible"] is True
    assert result["window_hours"] == 48


@pytest.mark.parametrize(
    ("tool_name", "args", "expected"),
    [
        ("lookup_customer", {"customer_id": "99999"}, "no customer '99999'"),
        ("lookup_customer", {"customer_id": "bob"}, "malformed customer id 'bob'"),
        ("recent_orders", {"customer_id": "99999"}, "no customer '99999'"),
        ("delay_history", {"customer_id": "x1"}, "malformed customer id"),
        ("track_shipment", {"order_id": "ORD-9999"}, "no order 'ORD-9999'"),
        ("check_refund_eligibility", {"order_id": "refund"}, "malformed order id"),
        ("check_systems", {"systems": ["teleporter"]}, "no system 'teleporter'"),
        ("recent_orders", {"customer_id": "12345", "limit": 0}, "invalid arguments"),
        ("track_shipment", {}, "order_id: Field required"),
    ],
)
def test_tools_answer_bad_input_with_an_error(
    tools: dict[str, BaseTool], tool_name: str, args: dict[str, object], expected: str
) -> None:
    message = tool_error(tools[tool_name].invoke(args))
    assert message is not None
    assert expected in message


def test_tool_call_error_is_marked_in_the_tool_message(tools: dict[str, BaseTool]) -> None:
    call = {
        "name": "lookup_customer",
        "args": {"customer_id": "99999"},
        "id": "call-1",
        "type": "tool_call",
    }
    message = tools["lookup_customer"].invoke(call)
    assert isinstance(message, ToolMessage)
    assert message.status == "error"
    assert json.loads(str(message.content)) == {"error": "no customer '99999' in the support desk"}


def test_tool_error_ignores_ordinary_results() -> None:
    assert tool_error({"count": 3}) is None
    assert tool_error("plain text") is None
    assert tool_error('{"error": "boom"}') == "boom"
