"""The support desk: the demo's customers, orders, shipments and systems, in SQLite.

This is the small real dataset the specialists' tools act on (the seed's customer-service
scenario). ``SupportDesk(path)`` opens the file, creating and seeding it when missing;
seeding is idempotent (fixed keys, ``INSERT OR IGNORE``), so reopening never duplicates
rows and never overwrites what changed since.

The demo customer is #12345: a premium member who prefers email, whose most recent order
has a shipment held up by the carrier - the third delayed shipment of theirs - while
every system is operational.

Ids are forgiving on input ("#12345", 12345 and "customer:12345" are the same customer;
"ORD-1004", "ord-1004", "#1004" and 1004 the same order). Errors:

- a malformed id raises ``InvalidIdError`` (a ``ValueError``);
- an unknown id raises a ``NotFoundError`` subclass (a ``LookupError``):
  ``UnknownCustomerError``, ``UnknownOrderError``, ``UnknownSystemError``;
- an order that has not shipped yet has no shipment: ``shipment_for_order`` returns None.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

Tier = Literal["standard", "premium"]
ContactPreference = Literal["email", "phone", "sms"]
OrderStatus = Literal["processing", "shipped", "delivered", "lost"]
ShipmentStatus = Literal["in_transit", "delayed", "delivered", "lost"]
DelaySource = Literal["carrier", "internal", "customer"]
SystemHealth = Literal["operational", "degraded", "down"]
RefundCondition = Literal["processing", "in_transit", "delayed", "lost", "delivered"]

DEMO_CUSTOMER_ID = "12345"
"""The customer of the seed's scenario."""
DEMO_ORDER_ID = "ORD-1004"
"""That customer's most recent order, whose shipment the carrier delayed."""


class SupportDeskError(Exception):
    """Base of every error the support desk raises on bad input."""


class InvalidIdError(SupportDeskError, ValueError):
    """An id that cannot name any record (wrong shape or type)."""


class NotFoundError(SupportDeskError, LookupError):
    """A well-formed id that names no record."""

    def __init__(self, kind: str, key: str, hint: str = "") -> None:
        super().__init__(f"no {kind} {key!r} in the support desk{hint}")
        self.kind = kind
        self.key = key


class UnknownCustomerError(NotFoundError):
    def __init__(self, customer_id: str) -> None:
        super().__init__("customer", customer_id)


class UnknownOrderError(NotFoundError):
    def __init__(self, order_id: str) -> None:
        super().__init__("order", order_id)


class UnknownSystemError(NotFoundError):
    def __init__(self, system: str, known: Iterable[str]) -> None:
        super().__init__("system", system, f"; known systems: {', '.join(known)}")


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Customer(_Record):
    customer_id: str
    name: str
    email: str
    phone: str
    tier: Tier
    contact_preference: ContactPreference
    member_since: date


class OrderItem(_Record):
    sku: str
    name: str
    quantity: int


class Order(_Record):
    order_id: str
    customer_id: str
    placed_at: datetime
    status: OrderStatus
    total: Decimal
    currency: str
    items: tuple[OrderItem, ...]


class Shipment(_Record):
    shipment_id: str
    order_id: str
    carrier: str
    tracking_number: str
    status: ShipmentStatus
    promised_date: date
    last_scan_at: datetime | None
    last_scan_location: str | None
    delay_reason: str | None
    """Why it is (or was) late; None for a shipment that never was."""
    delay_source: DelaySource | None
    """Whose side the delay is on: the carrier's, ours (internal) or the customer's."""


class DelayRecord(_Record):
    """One delayed shipment in a customer's history (each delayed shipment counts once)."""

    shipment_id: str
    order_id: str
    carrier: str
    recorded_at: datetime
    reason: str
    source: DelaySource
    shipment_status: ShipmentStatus
    """The shipment's status now: a past delay shows as delivered."""


class DelayHistory(_Record):
    customer_id: str
    delays: tuple[DelayRecord, ...]
    """Oldest first, so the last one is the latest delay."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def count(self) -> int:
        return len(self.delays)


class SystemStatus(_Record):
    system: str
    status: SystemHealth
    checked_at: datetime
    note: str


class RefundRule(_Record):
    tier: Tier
    refund_window_hours: int
    """How soon an approved refund reaches the customer."""
    description: str


class RefundEligibility(_Record):
    order_id: str
    customer_id: str
    tier: Tier
    eligible: bool
    window_hours: int
    """The customer's tier's refund window, whether or not this order is eligible."""
    condition: RefundCondition
    reason: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    customer_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('standard', 'premium')),
    contact_preference TEXT NOT NULL CHECK (contact_preference IN ('email', 'phone', 'sms')),
    member_since TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (customer_id),
    placed_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('processing', 'shipped', 'delivered', 'lost')),
    total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
    currency TEXT NOT NULL,
    items TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer_id, placed_at);
CREATE TABLE IF NOT EXISTS shipments (
    shipment_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL UNIQUE REFERENCES orders (order_id),
    carrier TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('in_transit', 'delayed', 'delivered', 'lost')),
    promised_date TEXT NOT NULL,
    last_scan_at TEXT,
    last_scan_location TEXT,
    delay_reason TEXT,
    delay_source TEXT CHECK (delay_source IN ('carrier', 'internal', 'customer'))
);
CREATE TABLE IF NOT EXISTS delay_history (
    shipment_id TEXT PRIMARY KEY REFERENCES shipments (shipment_id),
    recorded_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('carrier', 'internal', 'customer'))
);
CREATE TABLE IF NOT EXISTS system_status (
    system TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('operational', 'degraded', 'down')),
    checked_at TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refund_policy (
    tier TEXT PRIMARY KEY CHECK (tier IN ('standard', 'premium')),
    refund_window_hours INTEGER NOT NULL CHECK (refund_window_hours > 0),
    description TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refund_conditions (
    condition TEXT PRIMARY KEY
        CHECK (condition IN ('processing', 'in_transit', 'delayed', 'lost', 'delivered')),
    eligible INTEGER NOT NULL CHECK (eligible IN (0, 1)),
    explanation TEXT NOT NULL
);
"""

_CUSTOMER_ID = re.compile(r"^(?:customer\s*[:#]?\s*|#)?(\d{3,12})$", re.IGNORECASE)
_ORDER_ID = re.compile(r"^#?(?:ORD[-_ ]?)?(\d{1,12})$", re.IGNORECASE)


def normalize_customer_id(raw: str | int) -> str:
    """The canonical customer id ("12345") of "#12345", 12345 or "customer:12345"."""
    return _id_digits(raw, _CUSTOMER_ID, "customer id", 'like "12345" or "#12345"')


def normalize_order_id(raw: str | int) -> str:
    """The canonical order id ("ORD-1004") of "ORD-1004", "ord 1004", "#1004" or 1004."""
    digits = _id_digits(raw, _ORDER_ID, "order id", 'like "ORD-1004"')
    return f"ORD-{digits}"


def _id_digits(raw: str | int, pattern: re.Pattern[str], kind: str, example: str) -> str:
    # bool is an int: True must not silently become customer 1.
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise InvalidIdError(f"{kind} must be a string or an integer, got {type(raw).__name__}")
    match = pattern.match(str(raw).strip())
    if match is None:
        raise InvalidIdError(f"malformed {kind} {raw!r}: expected an id {example}")
    return match.group(1)


class SupportDesk:
    """The demo dataset, opened on a SQLite file (or ":memory:"). Safe to share across threads."""

    def __init__(self, path: str | Path, *, seed: bool = True) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by every thread, serialised by the lock: sqlite3 objects
        # are not safe for concurrent use, and the queries are tiny.
        # timeout: another process (or a second desk on the same file) may be seeding it
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
        if seed:
            self.seed()

    @classmethod
    def seed_demo(cls, path: str | Path, *, anchor: datetime | None = None) -> SupportDesk:
        """Open `path`, adding any missing demo rows, dated relative to `anchor` (now)."""
        desk = cls(path, seed=False)
        desk.seed(anchor=anchor)
        return desk

    def seed(self, *, anchor: datetime | None = None) -> None:
        """Insert the demo rows that are missing; rows already there are left as they are."""
        rows = _demo_rows(anchor or datetime.now(UTC).replace(second=0, microsecond=0))
        with self._transaction() as conn:
            for table, table_rows in rows.items():
                for row in table_rows:
                    columns = ", ".join(row)
                    marks = ", ".join("?" for _ in row)
                    conn.execute(
                        f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})",
                        tuple(row.values()),
                    )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SupportDesk:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._conn:
            yield self._conn

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def count_rows(self, table: str) -> int:
        """How many rows `table` holds (for checks and reports)."""
        if table not in _TABLES:
            raise ValueError(f"unknown table {table!r}; known: {', '.join(_TABLES)}")
        return int(self._query(f"SELECT COUNT(*) FROM {table}")[0][0])

    def get_customer(self, customer_id: str | int) -> Customer:
        key = normalize_customer_id(customer_id)
        rows = self._query("SELECT * FROM customers WHERE customer_id = ?", (key,))
        if not rows:
            raise UnknownCustomerError(key)
        return Customer.model_validate(dict(rows[0]))

    def recent_orders(self, customer_id: str | int, limit: int = 5) -> list[Order]:
        """The customer's orders, newest first."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        customer = self.get_customer(customer_id)
        rows = self._query(
            "SELECT * FROM orders WHERE customer_id = ? ORDER BY placed_at DESC LIMIT ?",
            (customer.customer_id, limit),
        )
        return [_order(row) for row in rows]

    def order(self, order_id: str | int) -> Order:
        key = normalize_order_id(order_id)
        rows = self._query("SELECT * FROM orders WHERE order_id = ?", (key,))
        if not rows:
            raise UnknownOrderError(key)
        return _order(rows[0])

    def shipment_for_order(self, order_id: str | int) -> Shipment | None:
        """The order's shipment, or None when it has not shipped yet."""
        order = self.order(order_id)
        rows = self._query("SELECT * FROM shipments WHERE order_id = ?", (order.order_id,))
        return Shipment.model_validate(dict(rows[0])) if rows else None

    def delay_history(self, customer_id: str | int) -> DelayHistory:
        """Every delayed shipment of the customer, oldest first."""
        customer = self.get_customer(customer_id)
        rows = self._query(
            """
            SELECT d.shipment_id, s.order_id, s.carrier, d.recorded_at, d.reason, d.source,
                   s.status AS shipment_status
            FROM delay_history d
            JOIN shipments s ON s.shipment_id = d.shipment_id
            JOIN orders o ON o.order_id = s.order_id
            WHERE o.customer_id = ?
            ORDER BY d.recorded_at
            """,
            (customer.customer_id,),
        )
        delays = tuple(DelayRecord.model_validate(dict(row)) for row in rows)
        return DelayHistory(customer_id=customer.customer_id, delays=delays)

    def system_status(self, names: Iterable[str] | None = None) -> list[SystemStatus]:
        """The status of the named systems (all of them when `names` is None), by name."""
        rows = self._query("SELECT * FROM system_status ORDER BY system")
        statuses = {row["system"]: SystemStatus.model_validate(dict(row)) for row in rows}
        if names is None:
            return list(statuses.values())
        wanted = [names] if isinstance(names, str) else list(names)
        for name in wanted:
            if name not in statuses:
                raise UnknownSystemError(name, statuses)
        return [statuses[name] for name in wanted]

    def refund_policy(self) -> list[RefundRule]:
        rows = self._query("SELECT * FROM refund_policy ORDER BY refund_window_hours")
        return [RefundRule.model_validate(dict(row)) for row in rows]

    def refund_eligibility(self, order_id: str | int) -> RefundEligibility:
        """Whether the order can be refunded now, the customer's refund window, and why."""
        order = self.order(order_id)
        customer = self.get_customer(order.customer_id)
        condition = refund_condition(order, self.shipment_for_order(order.order_id))
        rule = self._query(
            "SELECT refund_window_hours FROM refund_policy WHERE tier = ?", (customer.tier,)
        )[0]
        verdict = self._query(
            "SELECT eligible, explanation FROM refund_conditions WHERE condition = ?",
            (condition,),
        )[0]
        hours = int(rule["refund_window_hours"])
        eligible = bool(verdict["eligible"])
        reason = verdict["explanation"]
        if eligible:
            reason += f" As a {customer.tier} member the refund is processed within {hours} hours."
        return RefundEligibility(
            order_id=order.order_id,
            customer_id=customer.customer_id,
            tier=customer.tier,
            eligible=eligible,
            window_hours=hours,
            condition=condition,
            reason=reason,
        )


def refund_condition(order: Order, shipment: Shipment | None) -> RefundCondition:
    """Which refund rule applies: the worst of the order's and its shipment's states."""
    if order.status == "lost" or (shipment is not None and shipment.status == "lost"):
        return "lost"
    if shipment is not None and shipment.status == "delayed":
        return "delayed"
    if order.status == "delivered" or (shipment is not None and shipment.status == "delivered"):
        return "delivered"
    if shipment is None:
        return "processing"
    return "in_transit"


def _order(row: sqlite3.Row) -> Order:
    data = dict(row)
    cents = data.pop("total_cents")
    data["total"] = Decimal(cents).scaleb(-2)
    data["items"] = json.loads(data["items"])
    return Order.model_validate(data)


_TABLES = (
    "customers",
    "orders",
    "shipments",
    "delay_history",
    "system_status",
    "refund_policy",
    "refund_conditions",
)

_Row = dict[str, str | int | None]
_AgoFn = Callable[[float], str]
"""Days before the anchor -> ISO timestamp."""
_DayFn = Callable[[int], str]
"""Days after the anchor (negative: before) -> ISO date."""


def _demo_rows(anchor: datetime) -> dict[str, list[_Row]]:
    """The demo dataset, its dates counted back from `anchor` so it always looks recent."""

    def ago(days: float) -> str:
        return (anchor - timedelta(days=days)).isoformat()

    def day(days_from_anchor: int) -> str:
        return (anchor + timedelta(days=days_from_anchor)).date().isoformat()

    return {
        "customers": _demo_customers(day),
        "orders": _demo_orders(ago),
        "shipments": _demo_shipments(ago, day),
        "delay_history": _demo_delays(ago),
        "system_status": [
            {"system": name, "status": "operational", "checked_at": ago(0.01), "note": note}
            for name, note in _SYSTEM_NOTES.items()
        ],
        "refund_policy": [
            {
                "tier": "premium",
                "refund_window_hours": 48,
                "description": "Premium members get approved refunds within 48 hours.",
            },
            {
                "tier": "standard",
                "refund_window_hours": 120,
                "description": "Standard members get approved refunds within 5 days (120 hours).",
            },
        ],
        "refund_conditions": [
            {"condition": c, "eligible": int(ok), "explanation": text}
            for c, (ok, text) in _REFUND_CONDITIONS.items()
        ],
    }


_SYSTEM_NOTES = {
    "order_api": "All order endpoints answering; p95 latency normal.",
    "shipping_notifications": "Shipping emails and SMS sent on schedule; no queue backlog.",
    "payment_gateway": "Payments and refunds settling normally.",
    "carrier_tracking": "Tracking feeds from all carriers current.",
    "web_storefront": "Site up; checkout and account pages healthy.",
    "mobile_app": "App API healthy; no crash spike.",
}

_REFUND_CONDITIONS: dict[str, tuple[bool, str]] = {
    "processing": (True, "The order has not shipped yet, so it can be cancelled and refunded."),
    "delayed": (
        True,
        "The shipment is late, so the customer may cancel for a full refund or ask for a reship.",
    ),
    "lost": (True, "The shipment was lost, so a full refund or a replacement is owed."),
    "in_transit": (
        False,
        "The shipment is in transit and on schedule; a refund can be requested if it misses "
        "its promised date.",
    ),
    "delivered": (
        False,
        "The order was delivered; delivered items go through the returns process instead.",
    ),
}


def _demo_customers(day: _DayFn) -> list[_Row]:
    people = [
        ("12345", "Maya Chen", "premium", "email", -900),
        ("23456", "John Okafor", "standard", "phone", -400),
        ("34567", "Priya Raman", "premium", "sms", -650),
        ("45678", "Luis Ortega", "standard", "email", -200),
        ("56789", "Hannah Berg", "standard", "email", -90),
    ]
    return [
        {
            "customer_id": cid,
            "name": name,
            "email": f"{name.split()[0].lower()}.{cid}@example.com",
            "phone": f"+1-555-01{cid[-2:]}",
            "tier": tier,
            "contact_preference": preference,
            "member_since": day(since),
        }
        for cid, name, tier, preference, since in people
    ]


def _demo_orders(ago: _AgoFn) -> list[_Row]:
    orders = [
        ("ORD-1001", "12345", 120, "delivered", 6450, [("HDP-220", "Wireless headphones", 1)]),
        ("ORD-1002", "12345", 45, "delivered", 3999, [("CBL-010", "USB-C cable", 3)]),
        ("ORD-1003", "12345", 20, "delivered", 2500, [("MUG-004", "Travel mug", 2)]),
        ("ORD-1004", "12345", 6, "shipped", 18900, [("KBD-870", "Mechanical keyboard", 1)]),
        ("ORD-2001", "23456", 70, "delivered", 8999, [("LMP-310", "Desk lamp", 1)]),
        ("ORD-2002", "23456", 1, "processing", 1250, [("NTB-002", "Notebook set", 1)]),
        ("ORD-3001", "34567", 3, "shipped", 24900, [("MON-270", "27-inch monitor", 1)]),
        ("ORD-4001", "45678", 25, "lost", 5400, [("BAG-115", "Laptop backpack", 1)]),
        ("ORD-5001", "56789", 10, "delivered", 1999, [("PEN-050", "Gel pens", 4)]),
        ("ORD-5002", "56789", 2, "shipped", 7450, [("CHR-900", "Seat cushion", 1)]),
    ]
    return [
        {
            "order_id": oid,
            "customer_id": cid,
            "placed_at": ago(days),
            "status": status,
            "total_cents": cents,
            "currency": "USD",
            "items": json.dumps([{"sku": s, "name": n, "quantity": q} for s, n, q in items]),
        }
        for oid, cid, days, status, cents, items in orders
    ]


_DEMO_DELAYS: dict[str, tuple[float, str, DelaySource]] = {
    # shipment -> (days ago the delay was recorded, reason, whose side)
    "SHP-1001": (116, "NorthPost missed the scheduled pickup from our warehouse.", "carrier"),
    "SHP-1002": (41, "ParcelPro rerouted the parcel after a sorting error.", "carrier"),
    "SHP-1004": (
        2,
        "Carrier backlog at the ParcelPro regional sorting hub; the parcel has not moved "
        "since its last scan.",
        "carrier",
    ),
    "SHP-2001": (66, "Held at the carrier depot for address verification.", "customer"),
}


def _demo_shipments(ago: _AgoFn, day: _DayFn) -> list[_Row]:
    shipments = [
        # id, order, carrier, status, promised (days from anchor), last scan (days ago), where
        ("SHP-1001", "ORD-1001", "NorthPost", "delivered", -114, 113, "Delivered, front door"),
        ("SHP-1002", "ORD-1002", "ParcelPro", "delivered", -41, 39, "Delivered, mailroom"),
        ("SHP-1003", "ORD-1003", "FastShip", "delivered", -16, 16, "Delivered, front door"),
        ("SHP-1004", "ORD-1004", "ParcelPro", "delayed", -2, 3, "ParcelPro hub, Columbus OH"),
        ("SHP-2001", "ORD-2001", "FastShip", "delivered", -65, 63, "Delivered, reception"),
        ("SHP-3001", "ORD-3001", "NorthPost", "in_transit", 2, 0.5, "NorthPost hub, Reno NV"),
        ("SHP-4001", "ORD-4001", "FastShip", "lost", -18, 21, "FastShip hub, Memphis TN"),
        ("SHP-5001", "ORD-5001", "NorthPost", "delivered", -6, 7, "Delivered, front door"),
        ("SHP-5002", "ORD-5002", "ParcelPro", "in_transit", 3, 1, "ParcelPro hub, Newark NJ"),
    ]
    rows: list[_Row] = []
    for sid, oid, carrier, status, promised, scanned, location in shipments:
        delay = _DEMO_DELAYS.get(sid)
        rows.append(
            {
                "shipment_id": sid,
                "order_id": oid,
                "carrier": carrier,
                "tracking_number": f"{carrier[:2].upper()}{sid[4:]}{oid[4:]}0042",
                "status": status,
                "promised_date": day(promised),
                "last_scan_at": ago(scanned),
                "last_scan_location": location,
                # Only a shipment that is still late says why; past delays live in the history.
                "delay_reason": delay[1] if delay and status == "delayed" else None,
                "delay_source": delay[2] if delay and status == "delayed" else None,
            }
        )
    return rows


def _demo_delays(ago: _AgoFn) -> list[_Row]:
    return [
        {"shipment_id": sid, "recorded_at": ago(days), "reason": reason, "source": source}
        for sid, (days, reason, source) in _DEMO_DELAYS.items()
    ]
