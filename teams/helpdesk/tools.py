"""The IT help desk's tools: LangChain tools over its inventory, each stating its facts.

Bad input comes back as ``{"error": "..."}`` (LangChain's tool error handling), never a
traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

from teams.helpdesk.inventory import HelpdeskError, Inventory

TOOL_NAMES: tuple[str, ...] = ("lookup_employee", "account_status", "service_status", "unlock")


class EmployeeArgs(BaseModel):
    employee_id: str | int = Field(description="The employee's id, e.g. 'E-204'.")


class NoArgs(BaseModel):
    pass


def make_tools(inventory: Inventory) -> dict[str, BaseTool]:
    """The help desk tools bound to `inventory`, by name."""

    def lookup_employee(employee_id: str | int) -> dict[str, Any]:
        """Look up an employee: name, department and laptop."""
        e = inventory.employee(employee_id)
        fact = f"Employee {e.employee_id} ({e.name}, {e.department}) uses the laptop {e.laptop}."
        return {**e.model_dump(mode="json"), "facts": [fact]}

    def account_status(employee_id: str | int) -> dict[str, Any]:
        """Whether an employee's account is locked, after how many failed logins, and
        whether VPN access is enabled."""
        e = inventory.employee(employee_id)
        lock = (
            f"is locked after {e.failed_logins} failed logins"
            if e.account_locked
            else "is not locked"
        )
        vpn = "has VPN access" if e.vpn_enabled else "has no VPN access"
        fact = f"The account of employee {e.employee_id} {lock} and {vpn}."
        return {
            "employee_id": e.employee_id,
            "account_locked": e.account_locked,
            "failed_logins": e.failed_logins,
            "vpn_enabled": e.vpn_enabled,
            "facts": [fact],
        }

    def service_status() -> dict[str, Any]:
        """The health of the IT services (vpn, email, sso, wifi)."""
        services = inventory.services()
        facts = [
            f"The {s.service} service is {s.status}: {s.note.rstrip('.')}."
            for s in services
            if s.status != "operational"
        ] or [f"All {len(services)} IT services are operational."]
        return {"services": [s.model_dump(mode="json") for s in services], "facts": facts}

    def unlock(employee_id: str | int) -> dict[str, Any]:
        """Unlock an employee's locked account and reset the failed login count."""
        e = inventory.unlock(employee_id)
        return {
            "employee_id": e.employee_id,
            "facts": [f"The account of {e.employee_id} was unlocked."],
        }

    functions: list[tuple[Callable[..., dict[str, Any]], type[BaseModel]]] = [
        (lookup_employee, EmployeeArgs),
        (account_status, EmployeeArgs),
        (service_status, NoArgs),
        (unlock, EmployeeArgs),
    ]
    return {fn.__name__: _tool(fn, schema) for fn, schema in functions}


def _tool(fn: Callable[..., dict[str, Any]], schema: type[BaseModel]) -> BaseTool:
    def run(**kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = fn(**kwargs)
        except HelpdeskError as error:
            raise ToolException(str(error)) from error
        return result

    return StructuredTool.from_function(
        func=run,
        name=fn.__name__,
        description=" ".join((fn.__doc__ or "").split()),
        args_schema=schema,
        handle_tool_error=lambda error: json.dumps({"error": str(error)}),
        handle_validation_error=lambda error: json.dumps({"error": f"invalid arguments: {error}"}),
    )
