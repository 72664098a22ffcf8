"""Where memories live in a LangGraph store: the one place namespaces are built.

- ``("team", team, "shared")``: the shared scope, read by every agent of the team;
- ``("team", team, "agent", agent)``: one agent's private memories and synced copies.

An agent reads the shared namespace and its own, never another agent's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memory.models import Scope

Namespace = tuple[str, ...]


_LABEL = re.compile(r"[^\s.\x00-\x1f\x7f]{1,64}")
"""A team or agent name: 1-64 characters, no '.', whitespace or control characters
(`' sam '` is not `sam`: it would make a second, invisible namespace)."""


def _check_label(kind: str, label: str) -> str:
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"{kind} name must be a non-empty string, got {label!r}")
    if not _LABEL.fullmatch(label):
        raise ValueError(
            f"{kind} name {label!r} must not contain '.', whitespace or control "
            "characters, and must be at most 64 characters"
        )
    return label


def memory_namespace(team: str, scope: Scope, agent: str | None = None) -> Namespace:
    """The namespace of `scope` memories: shared for the team, or private to `agent`."""
    _check_label("team", team)
    if scope == "shared":
        return ("team", team, "shared")
    if agent is None:
        raise ValueError("a private namespace needs the owning agent's name")
    return ("team", team, "agent", _check_label("agent", agent))


def readable_namespaces(team: str, agent: str) -> tuple[Namespace, Namespace]:
    """The namespaces `agent` may read: the team's shared one and its own private one."""
    return memory_namespace(team, "shared"), memory_namespace(team, "private", agent)


def team_prefix(team: str) -> Namespace:
    """The prefix of every namespace of `team` (for listing and consolidation)."""
    return ("team", _check_label("team", team))


def a2a_log_namespace(team: str) -> Namespace:
    """Where the team's A2A log lives: beside the memories, never read as memories."""
    return (*team_prefix(team), "a2a")


def unremembered_threads_namespace(team: str) -> Namespace:
    """Threads whose speaker asked that nothing of the conversation be remembered."""
    return (*team_prefix(team), "unremembered")


def sync_copies_namespace(team: str) -> Namespace:
    """Where the A2A bridge records which agent got a copy of which memory, and where
    that copy landed (never read as memories either)."""
    return (*team_prefix(team), "copies")


@dataclass(frozen=True)
class MemoryLocation:
    """A memory namespace, read back: whose memories it holds."""

    namespace: Namespace
    team: str
    owner: str | None
    """The agent owning a private namespace; None for the team's shared one."""

    @property
    def scope(self) -> Scope:
        return "shared" if self.owner is None else "private"


def parse_memory_namespace(namespace: Namespace) -> MemoryLocation | None:
    """Whose memories `namespace` holds; None when it is not a memory namespace (the A2A
    log, or anything else an app keeps in the same store)."""
    if len(namespace) < 3 or namespace[0] != "team":
        return None
    if len(namespace) == 3 and namespace[2] == "shared":
        return MemoryLocation(namespace, namespace[1], None)
    if len(namespace) == 4 and namespace[2] == "agent":
        return MemoryLocation(namespace, namespace[1], namespace[3])
    return None
