"""The IT help desk's data: employees, their devices and accounts, and the IT services.

A small SQLite file, created and seeded on first open (idempotent: fixed keys,
``INSERT OR IGNORE``). Employee ids look like "E-204" (also "e204", "#204", 204).
Bad ids raise ``HelpdeskError`` with a message naming the problem.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

ServiceHealth = Literal["operational", "degraded", "down"]


class HelpdeskError(ValueError):
    """A malformed or unknown id."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Employee(_Record):
    employee_id: str
    name: str
    department: str
    laptop: str
    vpn_enabled: bool
    account_locked: bool
    failed_logins: int


class Service(_Record):
    service: str
    status: ServiceHealth
    note: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS employees (
    employee_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    department TEXT NOT NULL,
    laptop TEXT NOT NULL,
    vpn_enabled INTEGER NOT NULL,
    account_locked INTEGER NOT NULL,
    failed_logins INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS services (
    service TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('operational', 'degraded', 'down')),
    note TEXT NOT NULL
);
"""

_EMPLOYEES = [
    ("E-204", "Dana Whitfield", "Finance", "ThinkPad T14 (LT-0871)", 1, 1, 5),
    ("E-317", "Omar Haddad", "Engineering", "MacBook Pro (LT-1102)", 1, 0, 0),
    ("E-425", "Lena Vogel", "Sales", "ThinkPad X1 (LT-0990)", 0, 0, 1),
]
_SERVICES = [
    ("vpn", "degraded", "The Frankfurt VPN gateway drops connections under load."),
    ("email", "operational", ""),
    ("sso", "operational", ""),
    ("wifi", "operational", ""),
]

_EMPLOYEE_ID = re.compile(r"^(?:employee\s*[:#]?\s*|#)?e?-?(\d{1,6})$", re.IGNORECASE)


def normalize_employee_id(raw: str | int) -> str:
    """ "E-204" of "e204", "#204", "employee:E-204" or 204."""
    text = str(raw).strip()
    match = _EMPLOYEE_ID.match(text.replace("employee:E-", "employee:"))
    if match is None:
        raise HelpdeskError(f"malformed employee id {raw!r}: use one like 'E-204'")
    return f"E-{int(match.group(1))}"


class Inventory:
    """The help desk's SQLite file; safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._db.row_factory = sqlite3.Row
        with self._lock, self._db:
            self._db.executescript(_SCHEMA)
            self._db.executemany(
                "INSERT OR IGNORE INTO employees VALUES (?, ?, ?, ?, ?, ?, ?)", _EMPLOYEES
            )
            self._db.executemany("INSERT OR IGNORE INTO services VALUES (?, ?, ?)", _SERVICES)

    def employee(self, employee_id: str | int) -> Employee:
        key = normalize_employee_id(employee_id)
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM employees WHERE employee_id = ?", (key,)
            ).fetchone()
        if row is None:
            raise HelpdeskError(f"no employee {key!r} in the directory")
        return Employee.model_validate(dict(row))

    def services(self) -> list[Service]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM services ORDER BY service").fetchall()
        return [Service.model_validate(dict(row)) for row in rows]

    def unlock(self, employee_id: str | int) -> Employee:
        key = self.employee(employee_id).employee_id
        with self._lock, self._db:
            self._db.execute(
                "UPDATE employees SET account_locked = 0, failed_logins = 0 WHERE employee_id = ?",
                (key,),
            )
        return self.employee(key)
