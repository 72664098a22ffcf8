"""Which customer a turn is about, and whether the caller may speak about them.

A turn names its customer in one of two ways: the run context (``TeamContext.customer_id``,
Python callers and the CLI) or the run input (``{"customer_id": "12345"}``: the web UI and
A2A clients, whose data part ``{"customer_id": ...}`` the server turns into that input key).
Both given and different is an error, never a silent choice.

Authorization: the server (graphs/auth.py) authenticates every caller and hands a run its
caller as ``configurable["langgraph_auth_permissions"]`` (``["role:customer"]``) and
``configurable["langgraph_auth_user_id"]`` (``"customer"`` or ``"customer:<id>"``). A
customer caller bound to an id may only speak about that customer (naming none means
themselves); an unbound customer key may not name a customer at all. Staff and agents may
name any customer; so may Python callers, which have no server caller.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, NamedTuple

_SUBJECT_ID = re.compile(
    r"^(?:[a-z]+\s*[:#]\s*#?|#)?([A-Za-z0-9][A-Za-z0-9_-]{0,63})$", re.IGNORECASE
)
"""An id as people write it: "12345", "#12345", "customer:12345", "customer #12345"."""


def normalize_customer_id(raw: object) -> str:
    """The canonical id of whom a turn is about ("12345" for "#12345" or "customer:12345")."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ValueError(f"customer_id must be a string or an integer, got {type(raw).__name__}")
    match = _SUBJECT_ID.match(unicodedata.normalize("NFKC", str(raw)).strip())
    if match is None:
        raise ValueError(
            f'malformed customer_id {raw!r}: expected an id like "12345" or "#12345" '
            "(letters, digits, - and _)"
        )
    return match.group(1)


class CustomerNotAllowedError(PermissionError):
    """A customer caller named a customer other than themselves."""


class RunCaller(NamedTuple):
    """Who started a run on the server: its role and, when its key names one, its name."""

    role: str
    name: str | None


def run_caller(configurable: Mapping[str, Any]) -> RunCaller | None:
    """The server's caller of a run, from its configurable (None outside the server)."""
    roles = [
        p.removeprefix("role:")
        for p in configurable.get("langgraph_auth_permissions") or ()
        if isinstance(p, str) and p.startswith("role:")
    ]
    if not roles:
        return None
    identity = str(configurable.get("langgraph_auth_user_id") or "")
    return RunCaller(role=roles[0], name=identity.partition(":")[2] or None)


def resolve_customer(
    stated: object, from_context: str | None, caller: RunCaller | None = None
) -> str | None:
    """The canonical id of the turn's customer, checked against the caller.

    ``stated``: the run input's ``customer_id`` (None when absent); ``from_context``: the
    run context's; ``caller``: the server's caller of the run, when there is one.
    Raises ValueError on a malformed or conflicting id, CustomerNotAllowedError when a
    customer names someone else.
    """
    named = None if stated is None or stated == "" else normalize_customer_id(stated)
    context = None if not from_context else normalize_customer_id(from_context)
    if named and context and named != context:
        raise ValueError(
            f"the input names customer {named} but the run context names customer {context}"
        )
    customer = named or context
    if caller is None or caller.role != "customer":
        return customer
    if caller.name is None:
        if customer is not None:
            raise CustomerNotAllowedError(
                f"this customer key is not bound to a customer id, so it cannot name customer "
                f"#{customer}"
            )
        return None
    own = normalize_customer_id(caller.name)
    if customer is not None and customer != own:
        raise CustomerNotAllowedError(
            f"a customer may only ask about themselves (#{own}), not customer #{customer}"
        )
    return own
