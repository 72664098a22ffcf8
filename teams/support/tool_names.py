"""The names of the support tools, apart from the tools.

The team declaration names its tools; reading it (the CLI checking an ``--agent``) should
not import LangChain's tool machinery, over a second of start-up.
"""

from __future__ import annotations

TOOL_NAMES: tuple[str, ...] = (
    "lookup_customer",
    "recent_orders",
    "track_shipment",
    "delay_history",
    "check_systems",
    "check_refund_eligibility",
)
"""Every tool ``make_tools`` builds; specialists name theirs from this set."""
