"""Which customer a turn is about, and whether the caller may speak about them.

A turn names its customer in one of two ways: the run context (``TeamContext.customer_id``,
Python callers and the CLI) or the run input (``{"customer_id": "12345"}``: the web UI and
A2A clients, whose data part ``{"customer_id": ...}`` the server turns into that input key).
Both given and different is an error, never a silent choice.

Authorization (the server's, when it authenticates callers): the authenticated user of a
run reaches the graph as ``configurable["langgraph_auth_user"]``. A caller whose user says
it is a customer (``role == "customer"`` with its own ``customer_id``) may only speak about
that customer: naming another is refused, naming none means themselves. Staff, agents and
unauthenticated local callers (no auth configured) may name any customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes.support_desk import normalize_customer_id


class CustomerNotAllowedError(PermissionError):
    """A customer caller named a customer other than themselves."""


def _field(user: Any, name: str) -> Any:
    if isinstance(user, Mapping):
        return user.get(name)
    return getattr(user, name, None)


def caller_customer(user: Any) -> str | None:
    """The customer id of an authenticated customer caller (None for anyone else)."""
    if user is None or _field(user, "role") != "customer":
        return None
    own = _field(user, "customer_id")
    if own is None:
        raise CustomerNotAllowedError("this customer's API key names no customer_id")
    return normalize_customer_id(own)


def resolve_customer(stated: object, from_context: str | None, user: Any = None) -> str | None:
    """The canonical id of the turn's customer, checked against the caller.

    ``stated``: the run input's ``customer_id`` (None when absent); ``from_context``: the
    run context's; ``user``: the server's authenticated user, when there is one.
    Raises ValueError on a malformed or conflicting id, CustomerNotAllowedError when a
    customer names someone else.
    """
    named = None if stated is None or stated == "" else normalize_customer_id(stated)  # type: ignore[arg-type]
    context = None if not from_context else normalize_customer_id(from_context)
    if named and context and named != context:
        raise ValueError(
            f"the input names customer {named} but the run context names customer {context}"
        )
    customer = named or context
    own = caller_customer(user)
    if own is not None:
        if customer is not None and customer != own:
            raise CustomerNotAllowedError(
                f"a customer may only ask about themselves (#{own}), not customer #{customer}"
            )
        return own
    return customer
