"""A team as data: its agents and its tools; ``graphs.team.build_team`` builds the graph.

A ``TeamSpec`` names a coordinator and its specialists (``AgentSpec``: name, role,
description, prompt, the tools it may call, the memory scopes it reads and writes, the
task template the coordinator fills in) and a toolkit: a function that builds the team's
LangChain tools for a data directory. Nothing in ``nodes/`` or ``graphs/`` knows any
particular team; ``teams/support`` (the seed's) and ``teams/helpdesk`` are declarations.

``validate_team`` rejects a broken declaration with every problem listed; ``build_team``
calls it, so a bad team fails when its graph is built, not in the middle of a run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from memory.models import Scope

if TYPE_CHECKING:  # LangChain's tools pull its tracers (~2 s of CLI start-up)
    from langchain_core.tools import BaseTool

_AGENT_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
"""Agent names double as namespace labels, graph node names and log keys."""

TASK_FIELDS = ("request", "who", "subject_id")
"""The placeholders a task template may use."""

Toolkit = Callable[[Path], Mapping[str, "BaseTool"]]
"""Builds a team's tools, by name, for a data directory (where their data lives)."""


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a team."""

    name: str
    """Its id: lowercase ("sam"), used in namespaces, node names, provenance and the log."""
    role: str
    """A short title for logs and prompts."""
    description: str
    """Its expertise in plain words; the semantic router embeds it to match requests."""
    prompt: str
    """Its system prompt."""
    tools: tuple[str, ...] = ()
    """Names of the team's tools it may call."""
    plan: tuple[str, ...] | None = None
    """The tools its declared plan calls, in order, when the model cannot call tools
    (default: all its tools). Tools that change things belong in ``tools`` only, for a
    model that decides when to call them."""
    keywords: tuple[str, ...] = ()
    """Lowercase words or phrases that route a request to it when the LLM cannot."""
    task_template: str = "Help with this request from {who}: {request}"
    """The task the coordinator sends it; placeholders: {request}, {who}, {subject_id}."""
    reads: tuple[Scope, ...] = ("shared", "private")
    """The memory scopes it searches: the team's shared memory and/or its own."""
    writes: Scope = "shared"
    """Where what it learns is written: for the whole team, or for itself only."""
    max_steps: int = 6
    """With a tool-calling model: the most model turns its agent loop may take."""

    @property
    def planned_tools(self) -> tuple[str, ...]:
        return self.tools if self.plan is None else self.plan

    @property
    def display_name(self) -> str:
        return self.name.capitalize()

    def task(self, request: str, subject_id: str | None, subject_label: str) -> str:
        """The task text for `request` (the deterministic coordinator's)."""
        who = f"{subject_label} #{subject_id}" if subject_id else f"the {subject_label}"
        return self.task_template.format(request=request, who=who, subject_id=subject_id or "")


@dataclass(frozen=True)
class RoutingExample:
    """A worked routing decision the coordinator's model is shown before the request."""

    request: str
    specialists: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class TeamSpec:
    """A coordinator, its specialists and the tools they use."""

    name: str
    """The team's id, and the default of the memory namespaces ("team", name, ...)."""
    coordinator: AgentSpec
    specialists: tuple[AgentSpec, ...]
    toolkit: Toolkit
    subject_label: str = "customer"
    """Who requests are about: the context's subject id is "<label>:<id>" in memory."""
    tool_names: tuple[str, ...] = field(default=())
    routing_examples: tuple[RoutingExample, ...] = ()
    """Worked routing decisions shown to the coordinator's model (few-shot): small local
    models route far more often right with them (evals/models.py measures it)."""
    """Every tool the toolkit builds (validated against what agents name)."""

    @property
    def agents(self) -> tuple[AgentSpec, ...]:
        """The coordinator followed by every specialist."""
        return (self.coordinator, *self.specialists)

    @property
    def by_name(self) -> dict[str, AgentSpec]:
        return {agent.name: agent for agent in self.specialists}

    def agent(self, name: str) -> AgentSpec:
        """The agent called `name` (case-insensitive), or a KeyError naming the known ones."""
        wanted = name.strip().lower()
        for agent in self.agents:
            if agent.name == wanted:
                return agent
        known = ", ".join(a.name for a in self.agents)
        raise KeyError(f"no agent named {name!r} in team {self.name!r}; known agents: {known}")

    def subject(self, subject_id: str | None) -> str | None:
        """The memory subject of the request's subject id ("customer:12345")."""
        return f"{self.subject_label}:{subject_id}" if subject_id else None


def validate_team(team: TeamSpec) -> None:
    """Raise ValueError listing every problem of the declaration."""
    problems: list[str] = []
    if not team.specialists:
        problems.append("the team has no specialists")
    names = [agent.name for agent in team.agents]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"agent names used twice: {duplicates}")
    available = set(team.tool_names)
    for agent in team.agents:
        problems += _agent_problems(agent, available)
    specialists = {agent.name for agent in team.specialists}
    for example in team.routing_examples:
        if not example.specialists or set(example.specialists) - specialists:
            problems.append(
                f"routing example {example.request!r} must name some of {sorted(specialists)}"
            )
    if problems:
        raise ValueError(f"invalid team {team.name!r}:\n- " + "\n- ".join(problems))


def _agent_problems(agent: AgentSpec, available: set[str]) -> list[str]:
    problems = []
    if not _AGENT_NAME.match(agent.name):
        problems.append(f"agent name {agent.name!r} must be lowercase letters, digits, - or _")
    for name in ("role", "description", "prompt"):
        if not getattr(agent, name).strip():
            problems.append(f"{agent.name}: {name} is empty")
    unknown = [tool for tool in agent.tools if tool not in available]
    if unknown:
        problems.append(f"{agent.name}: unknown tools {unknown}; available: {sorted(available)}")
    outside = [tool for tool in agent.plan or () if tool not in agent.tools]
    if outside:
        problems.append(f"{agent.name}: plan calls {outside}, which are not among its tools")
    if len(set(agent.tools)) != len(agent.tools):
        problems.append(f"{agent.name}: a tool is listed twice in {agent.tools}")
    if any(k != k.lower() or not k.strip() for k in agent.keywords):
        problems.append(f"{agent.name}: keywords must be non-empty lowercase words")
    problems += _template_problems(agent)
    if not agent.reads or any(scope not in ("shared", "private") for scope in agent.reads):
        problems.append(f"{agent.name}: reads must name 'shared' and/or 'private'")
    if agent.writes not in ("shared", "private"):
        problems.append(f"{agent.name}: writes must be 'shared' or 'private'")
    if agent.max_steps < 1:
        problems.append(f"{agent.name}: max_steps must be at least 1")
    return problems


def _template_problems(agent: AgentSpec) -> list[str]:
    fields = set(re.findall(r"{(\w*)}", agent.task_template))
    unknown = sorted(fields - set(TASK_FIELDS))
    if unknown:
        return [f"{agent.name}: task_template uses {unknown}; known fields: {list(TASK_FIELDS)}"]
    return []
