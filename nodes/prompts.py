"""Every prompt the graphs send a chat model, as pure functions of their inputs.

The nodes build their messages here, and so does the latency eval (``evals/latency.py``),
which must time the prompts the graphs really send.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from nodes.state import Finding, RetrievedMemory, SpecialistTask, ToolCallRecord
from nodes.team import AgentSpec, TeamSpec


def routing_prompt(team: TeamSpec, request: str, *, with_tasks: bool = False) -> list[BaseMessage]:
    """The coordinator chooses specialists (answered as JSON, see coordinator._Route);
    `with_tasks`: and writes each one's task (for models that can act on it)."""
    names = ", ".join(f"{a.name} ({a.role}: {a.description})" for a in team.specialists)
    example = team.specialists[0].name if team.specialists else "name"
    if with_tasks:
        ask = (
            "Which specialists should work on it, and what exactly should each check? Answer "
            f'JSON like {{"specialists": ["{example}"], "reason": "...", "tasks": '
            f'{{"{example}": "one sentence: what to check and for whom"}}}}.'
        )
    else:
        ask = (
            "Which specialists should work on it? Answer JSON like "
            f'{{"specialists": ["{example}"], "reason": "..."}}.'
        )
    return [
        SystemMessage(team.coordinator.prompt),
        HumanMessage(f"Specialists: {names}\nRequest: {request}\n{ask}"),
    ]


def synthesis_prompt(
    team: TeamSpec,
    request: str,
    findings: Sequence[Finding],
    retrieved: Sequence[RetrievedMemory],
    draft: str,
) -> list[BaseMessage]:
    """The coordinator words the reply; `draft` is the composed reply it must keep."""
    notes = "\n".join(f"- {f.agent}: {f.summary}" for f in findings)
    memories = "\n".join(f"- {m.content} (confidence {m.confidence:.2f})" for m in retrieved)
    return [
        SystemMessage(team.coordinator.prompt),
        HumanMessage(
            f"Request: {request}\nTeam findings:\n{notes}\nShared memory:\n{memories}\n"
            f"Facts the reply must state: {draft}\nWrite the reply in 3-5 sentences, "
            "stating no number, name, id, date or channel that is not above."
        ),
    ]


def specialist_prompt(
    spec: AgentSpec, task: SpecialistTask, memories: Sequence[RetrievedMemory]
) -> list[BaseMessage]:
    """A specialist's task, with what the team's memory says about it."""
    known = "\n".join(f"- {m.content}" for m in memories) or "(nothing)"
    return [
        SystemMessage(f"{spec.prompt}\nWhat the team's memory says:\n{known}"),
        HumanMessage(f"Task: {task['task']}\nRequest: {task['request']}"),
    ]


def findings_prompt(
    spec: AgentSpec,
    task: SpecialistTask,
    memories: Sequence[RetrievedMemory],
    calls: Sequence[ToolCallRecord],
) -> list[BaseMessage]:
    """A specialist that ran its declared plan summarises the tool results."""
    results = "\n".join(f"- {c.tool}: {c.result}" for c in calls) or "(no tool could run)"
    return [
        *specialist_prompt(spec, task, memories),
        HumanMessage(f"Tool results:\n{results}\nSummarize your findings in 2 sentences."),
    ]


def chat_prompt(
    spec: AgentSpec, memories: Sequence[RetrievedMemory], history: Sequence[BaseMessage]
) -> list[BaseMessage]:
    """One agent answers the user from what it remembers."""
    known = "\n".join(f"- {m.content}" for m in memories) or "(none)"
    return [SystemMessage(f"{spec.prompt}\nWhat you remember:\n{known}"), *history]
