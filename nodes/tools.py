"""The specialists' tools: LangChain tools over the support desk's demo dataset.

``make_tools(desk)`` builds them bound to one ``SupportDesk``. Each returns a
JSON-serialisable dict. Bad input never raises: an unknown or malformed id, or arguments
that do not fit the tool's schema (a missing id, a zero limit), come back as the JSON text
``{"error": "<what is wrong>"}`` (LangChain's error handlers return text), and a
``ToolMessage`` built from a tool call is marked ``status="error"``. ``tool_error(result)``
tells an error from a result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field, ValidationError

from nodes.support_desk import SupportDesk, SupportDeskError

TOOL_NAMES: tuple[str, ...] = (
    "lookup_customer",
    "recent_orders",
    "track_shipment",
    "delay_history",
    "check_systems",
    "check_refund_eligibility",
)
"""Every tool ``make_tools`` builds; specialists name theirs from this set."""

ToolResult = dict[str, Any]
"""A tool's JSON-serialisable result when it succeeds."""

_CUSTOMER_ID = "The customer's id, e.g. '12345' or '#12345'."
_ORDER_ID = "The order's id, e.g. 'ORD-1004'."


class CustomerArgs(BaseModel):
    customer_id: str | int = Field(description=_CUSTOMER_ID)


class RecentOrdersArgs(BaseModel):
    customer_id: str | int = Field(description=_CUSTOMER_ID)
    limit: int = Field(default=5, ge=1, le=50, description="How many orders, newest first.")


class OrderArgs(BaseModel):
    order_id: str | int = Field(description=_ORDER_ID)


class SystemsArgs(BaseModel):
    systems: list[str] | None = Field(
        default=None,
        description=(
            "System names to check, e.g. ['shipping_notifications', 'carrier_tracking']; "
            "omit to check every system."
        ),
    )


def tool_error(result: object) -> str | None:
    """The error message of a tool result, or None when the tool succeeded."""
    if isinstance(result, str):
        try:
            result = json.loads(result)
        except json.JSONDecodeError:
            return None
    if isinstance(result, dict) and isinstance(result.get("error"), str):
        return result["error"]
    return None


def make_tools(desk: SupportDesk) -> dict[str, BaseTool]:
    """The support tools bound to `desk`, by name (the names of ``TOOL_NAMES``)."""

    def lookup_customer(customer_id: str | int) -> ToolResult:
        """Look up a customer's profile: name, email, phone, membership tier (standard or
        premium) and preferred contact channel (email, phone or sms)."""
        return desk.get_customer(customer_id).model_dump(mode="json")

    def recent_orders(customer_id: str | int, limit: int = 5) -> ToolResult:
        """List a customer's most recent orders, newest first, with status (processing,
        shipped, delivered, lost), total and items. Use it to find which order a customer
        means by "my recent order"."""
        orders = desk.recent_orders(customer_id, limit)
        return {
            "customer_id": desk.get_customer(customer_id).customer_id,
            "orders": [order.model_dump(mode="json") for order in orders],
        }

    def track_shipment(order_id: str | int) -> ToolResult:
        """Track an order's shipment: carrier, tracking number, status (in_transit, delayed,
        delivered, lost), promised date, last scan, and for a late shipment the delay reason
        and whether the delay is on the carrier's side or ours."""
        order = desk.order(order_id)
        shipment = desk.shipment_for_order(order.order_id)
        return {
            "order_id": order.order_id,
            "order_status": order.status,
            "shipment": shipment.model_dump(mode="json") if shipment else None,
            "note": "" if shipment else "The order has not shipped yet; there is no shipment.",
        }

    def delay_history(customer_id: str | int) -> ToolResult:
        """Count and list every delayed shipment a customer has had, oldest first, including
        the current one: tells whether a delay is a first or a repeated problem."""
        return desk.delay_history(customer_id).model_dump(mode="json")

    def check_systems(systems: list[str] | None = None) -> ToolResult:
        """Check the health of our systems (order_api, shipping_notifications,
        payment_gateway, carrier_tracking, web_storefront, mobile_app): each is operational,
        degraded or down. Use it to tell a system-wide outage from a one-off problem."""
        # An empty list from a model means "no filter", not "check nothing".
        statuses = desk.system_status(systems or None)
        return {
            "all_operational": all(s.status == "operational" for s in statuses),
            "systems": [status.model_dump(mode="json") for status in statuses],
        }

    def check_refund_eligibility(order_id: str | int) -> ToolResult:
        """Check whether an order can be refunded now and how fast: eligibility, the reason,
        and the customer's refund window in hours (premium 48, standard 120). Call it before
        promising a refund."""
        return desk.refund_eligibility(order_id).model_dump(mode="json")

    functions: list[tuple[Callable[..., ToolResult], type[BaseModel]]] = [
        (lookup_customer, CustomerArgs),
        (recent_orders, RecentOrdersArgs),
        (track_shipment, OrderArgs),
        (delay_history, CustomerArgs),
        (check_systems, SystemsArgs),
        (check_refund_eligibility, OrderArgs),
    ]
    return {fn.__name__: _structured_tool(fn, schema) for fn, schema in functions}


def _structured_tool(fn: Callable[..., ToolResult], schema: type[BaseModel]) -> BaseTool:
    name = fn.__name__
    return StructuredTool.from_function(
        func=_raising_tool_exceptions(fn),
        name=name,
        description=" ".join((fn.__doc__ or "").split()),
        args_schema=schema,
        handle_tool_error=_error_text,
        handle_validation_error=lambda error: _validation_message(name, error),
    )


def _raising_tool_exceptions(fn: Callable[..., ToolResult]) -> Callable[..., ToolResult]:
    """`fn`, turning bad ids into ToolException, which LangChain hands back to the model."""

    def run(**kwargs: Any) -> ToolResult:
        try:
            return fn(**kwargs)
        except SupportDeskError as error:
            raise ToolException(str(error)) from error

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def _error_text(error: ToolException) -> str:
    return json.dumps({"error": str(error)})


def _validation_message(tool_name: str, error: ValidationError | Exception) -> str:
    problems = (
        "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        if isinstance(error, ValidationError)
        else str(error)
    )
    return json.dumps({"error": f"invalid arguments for {tool_name}: {problems}"})
