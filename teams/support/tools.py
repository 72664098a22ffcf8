"""The support team's tools: LangChain tools over the support desk's demo dataset.

``make_tools(desk)`` builds them bound to one ``SupportDesk``. Each returns a
JSON-serialisable dict whose ``"facts"`` list states the result in plain sentences (the
specialists' findings, and what the team may learn from them; see
``nodes.tool_results``). Bad input never raises: an unknown or malformed id, or arguments
that do not fit the tool's schema (a missing id, a zero limit), come back as the JSON text
``{"error": "<what is wrong>"}`` (LangChain's error handlers return text), and a
``ToolMessage`` built from a tool call is marked ``status="error"``.
``nodes.tool_results.tool_error(result)`` tells an error from a result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field, ValidationError

from teams.support.desk import SupportDesk, SupportDeskError
from teams.support.tool_names import TOOL_NAMES as TOOL_NAMES  # re-exported with the tools

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


def make_tools(desk: SupportDesk) -> dict[str, BaseTool]:
    """The support tools bound to `desk`, by name (the names of ``TOOL_NAMES``)."""

    def lookup_customer(customer_id: str | int) -> ToolResult:
        """Look up a customer's profile: name, email, phone, membership tier (standard or
        premium) and preferred contact channel (email, phone or sms)."""
        customer = desk.get_customer(customer_id)
        fact = (
            f"Customer #{customer.customer_id} ({customer.name}) is a {customer.tier} member "
            f"and prefers to be contacted by {customer.contact_preference}."
        )
        return {**customer.model_dump(mode="json"), "facts": [fact]}

    def recent_orders(customer_id: str | int, limit: int = 5) -> ToolResult:
        """List a customer's most recent orders, newest first, with status (processing,
        shipped, delivered, lost), total and items. Use it to find which order a customer
        means by "my recent order"."""
        orders = desk.recent_orders(customer_id, limit)
        who = desk.get_customer(customer_id).customer_id
        facts = (
            [
                f"The most recent order of customer #{who} is {orders[0].order_id} "
                f"({orders[0].status})."
            ]
            if orders
            else [f"Customer #{who} has no orders."]
        )
        return {
            "customer_id": who,
            "orders": [order.model_dump(mode="json") for order in orders],
            "facts": facts,
        }

    def track_shipment(order_id: str | int) -> ToolResult:
        """Track an order's shipment: carrier, tracking number, status (in_transit, delayed,
        delivered, lost), promised date, last scan, and for a late shipment the delay reason
        and whether the delay is on the carrier's side or ours."""
        order = desk.order(order_id)
        shipment = desk.shipment_for_order(order.order_id)
        if shipment is None:
            fact = f"Order {order.order_id} has not shipped yet; there is no shipment."
        else:
            reason = f": {shipment.delay_reason.rstrip('.')}" if shipment.delay_reason else ""
            status = shipment.status.replace("_", " ")
            fact = (
                f"Order {order.order_id} is {status} with the carrier {shipment.carrier}{reason}."
            )
        return {
            "order_id": order.order_id,
            "order_status": order.status,
            "shipment": shipment.model_dump(mode="json") if shipment else None,
            "facts": [fact],
        }

    def delay_history(customer_id: str | int) -> ToolResult:
        """Count and list every delayed shipment a customer has had, oldest first, including
        the current one: tells whether a delay is a first or a repeated problem."""
        history = desk.delay_history(customer_id)
        if not history.delays:
            facts = [f"Customer #{history.customer_id} has had no delivery delays."]
        else:
            latest, nth = history.delays[-1], ordinal(history.count)
            facts = [
                f"Customer #{history.customer_id} experienced a {nth} delivery delay "
                f"({nth} occurrence): order {latest.order_id}, carrier {latest.carrier}."
            ]
        return {**history.model_dump(mode="json"), "facts": facts}

    def check_systems(systems: list[str] | None = None) -> ToolResult:
        """Check the health of our systems (order_api, shipping_notifications,
        payment_gateway, carrier_tracking, web_storefront, mobile_app): each is operational,
        degraded or down. Use it to tell a system-wide outage from a one-off problem."""
        # An empty list from a model means "no filter", not "check nothing".
        statuses = desk.system_status(systems or None)
        bad = [s.system for s in statuses if s.status != "operational"]
        fact = (
            f"Systems with problems: {', '.join(bad)}."
            if bad
            else f"All {len(statuses)} of our systems checked are operational, so the "
            "problem is not on our side."
        )
        return {
            "all_operational": not bad,
            "systems": [status.model_dump(mode="json") for status in statuses],
            "facts": [fact],
        }

    def check_refund_eligibility(order_id: str | int) -> ToolResult:
        """Check whether an order can be refunded now and how fast: eligibility, the reason,
        and the customer's refund window in hours (premium 48, standard 120). Call it before
        promising a refund."""
        verdict = desk.refund_eligibility(order_id)
        fact = (
            f"Order {verdict.order_id} is eligible for a refund within "
            f"{verdict.window_hours} hours."
            if verdict.eligible
            else f"Order {verdict.order_id} is not eligible for a refund: "
            f"{verdict.reason.rstrip('.')}."
        )
        return {**verdict.model_dump(mode="json"), "facts": [fact]}

    functions: list[tuple[Callable[..., ToolResult], type[BaseModel]]] = [
        (lookup_customer, CustomerArgs),
        (recent_orders, RecentOrdersArgs),
        (track_shipment, OrderArgs),
        (delay_history, CustomerArgs),
        (check_systems, SystemsArgs),
        (check_refund_eligibility, OrderArgs),
    ]
    return {fn.__name__: _structured_tool(fn, schema) for fn, schema in functions}


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


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
