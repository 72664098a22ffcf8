"""Every prompt sent to a chat model, as pure functions of their inputs: one place.

The nodes build their messages here, the memory layer too (memory extraction, the
session summary), and so does the latency eval (``evals/latency.py``), which must time
the prompts the graphs really send. At run time this module imports only LangChain's
message classes (the nodes' types are for the type checker), so the memory layer uses it
without importing the graphs' nodes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

if TYPE_CHECKING:
    from nodes.state import Finding, RetrievedMemory, SpecialistTask, ToolCallRecord
    from nodes.team import AgentSpec, TeamSpec


def routing_prompt(team: TeamSpec, request: str, *, with_tasks: bool = False) -> list[BaseMessage]:
    """The coordinator chooses specialists, answering JSON (coordinator.route_schema): the
    reason first, so the model says what the request needs before it names anyone; the
    team's worked examples come first as earlier turns. `with_tasks`: it also writes each
    one's task (for models that can act on it)."""
    names = "\n".join(f"- {a.name}: {a.role}. {a.description}" for a in team.specialists)
    tasks = ', "tasks": {"<id>": "one sentence: what to check and for whom"}' if with_tasks else ""
    system = SystemMessage(
        f"{team.coordinator.prompt}\n\nSpecialists (by id):\n{names}\n"
        "For each request, say in one short sentence what it needs, then which specialists "
        "should work on it, by id. Answer JSON: "
        f'{{"reason": "...", "specialists": ["<id>"]{tasks}}}'
    )
    shots: list[BaseMessage] = []
    for example in team.routing_examples:
        answer = {"reason": example.reason, "specialists": list(example.specialists)}
        shots += [HumanMessage(f"Request: {example.request}"), AIMessage(json.dumps(answer))]
    return [system, *shots, HumanMessage(f"Request: {request}")]


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


EXTRACTION_INSTRUCTIONS = """\
You pick out long-term memories from one message sent to a customer-service team.
Keep only what is worth remembering in later conversations: explicit requests to remember,
stated facts and preferences, policies, specific events, how to use a tool, multi-step
procedures. Skip questions, hypotheticals ("if I were...", "maybe"), requests to the agent
("cancel my order"), thanks and small talk. Keep negations ("I don't like calls" -> "The user
does not like phone calls").
type: entity (a fact about a specific customer, person or order), semantic (general
knowledge or policy), episodic (a specific event), skill (how to use a tool), workflow
(a multi-step procedure).
subject: "customer:<number>", "order:<number>", "user" for the speaker's own facts, or null.
attribute and value: the slot a fact fills (contact_preference = email, phone_number,
address, membership ...), else null.
mechanism: "explicit" if the message asks to remember it, else "implicit".
Answer with JSON only, no other text:
{"memories": [{"content": "...", "type": "entity", "subject": "user", "attribute": null,
"value": null, "mechanism": "implicit", "keywords": ["..."]}]}
Answer {"memories": []} when nothing is worth remembering."""


def extraction_prompt(text: str) -> list[BaseMessage]:
    """The memories one message states, as JSON (memory/extraction/llm_extractor.py)."""
    return [SystemMessage(EXTRACTION_INSTRUCTIONS), HumanMessage(text)]


def session_summary_prompt(transcript: str, previous: str | None, words: int) -> list[BaseMessage]:
    """Fold a thread's dropped turns (`transcript`) into its running summary, in at most
    `words` words (memory/sessions.py)."""
    return [
        SystemMessage(
            "You keep the running summary of a conversation between a user and AI agents. "
            "Merge the previous summary and the new conversation excerpt into one updated "
            "summary. Keep facts, identifiers (customer, order and ticket numbers), stated "
            "preferences, decisions, tool results that matter and open questions; leave out "
            "greetings and filler. State nothing the excerpt or the previous summary does not. "
            f"Write plain sentences, at most {words} words, and answer with the summary only."
        ),
        HumanMessage(
            f"Previous summary:\n{previous or '(none)'}\n\n"
            f"Conversation excerpt to fold in:\n{transcript}"
        ),
    ]
