"""A specialist at work on its A2A task: recall, act with its tools, report, learn.

Two ways to act, chosen by the model:

- a model that calls tools (Ollama phi4-mini, any LangChain chat model with
  ``bind_tools``) runs an agent loop: it chooses which of the specialist's tools and
  memory tools to call and with what arguments, for at most ``max_steps`` model turns,
  then answers with its summary;
- otherwise (the embedded model, or none) the declared plan runs: each of the
  specialist's tools in order, with the arguments the task gives (the subject's id) and
  the ids earlier results name (the latest order's id).

Either way the findings are the facts the tools state (``nodes.tool_results``), and a
summary that states anything the facts do not is replaced by the facts. What the
specialist learns for the team is extracted from its findings (``memory.extraction``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.runtime import Runtime
from pydantic import JsonValue

from memory.bridge import RESULT, A2AMessage
from memory.extraction import ExtractionContext, extract_memories
from memory.llm import supports_tools
from memory.models import EXPLICIT_CONFIDENCE, Memory
from memory.tools import memory_tools
from nodes import services as seams
from nodes.context import TeamContext
from nodes.coordinator import team_name
from nodes.customer import normalize_customer_id
from nodes.events import A2AEvent, ToolCallEvent, emit
from nodes.grounding import ground
from nodes.memory_nodes import current_thread_id, memory_query, recall, record_memories
from nodes.prompts import findings_prompt, specialist_prompt
from nodes.services import Services
from nodes.state import Finding, SpecialistTask, ToolCallRecord
from nodes.subjects import may_name_a_customer
from nodes.team import AgentSpec, TeamSpec
from nodes.tool_results import as_result, facts_of, ids_in

logger = logging.getLogger(__name__)


def _record(agent: str, tool: str, args: dict[str, Any], raw: object) -> ToolCallRecord:
    call = ToolCallRecord(tool=tool, args=args, result=as_result(raw))
    emit(
        ToolCallEvent(
            agent=agent, tool=tool, args=args, ok="error" not in call.result, facts=facts_of(call)
        )
    )
    return call


def run_plan(
    agent: str, tools: Mapping[str, BaseTool], plan: tuple[str, ...], known: dict[str, Any]
) -> list[ToolCallRecord]:
    """Call each tool of `plan` whose required arguments are known; results add ids."""
    known = dict(known)
    calls: list[ToolCallRecord] = []
    for name in plan:
        tool = tools[name]
        args = {k: v for k, v in known.items() if k in tool.args}
        required = {k for k, spec in tool.args.items() if "default" not in spec}
        if not required <= set(args):
            missing = ", ".join(sorted(required - set(args)))
            logger.info("%s: plan skips %s (no value known for %s)", agent, name, missing)
            continue
        call = _record(agent, name, args, tool.invoke(args))
        calls.append(call)
        for key, value in ids_in(call.result).items():
            known.setdefault(key, value)
    return calls


Refusal = Callable[[str, dict[str, Any]], str | None]
"""Why a tool call (tool name, arguments) must not run, or None."""


def run_agent_loop(
    model: BaseChatModel,
    spec: AgentSpec,
    tools: list[BaseTool],
    messages: list[BaseMessage],
    *,
    facts: list[str] | None = None,
    refuse: Refusal | None = None,
) -> tuple[list[ToolCallRecord], str | None]:
    """The model calls tools until it answers, for at most ``spec.max_steps`` turns; each
    call's facts are added to `facts` as it returns (what the agent may remember next).
    A call `refuse` gives a reason for does not run: the model reads the reason instead.

    Returns the calls made and the model's final text (None when it never answered).
    """
    by_name = {tool.name: tool for tool in tools}
    bound = model.bind_tools(tools)
    history = list(messages)
    calls: list[ToolCallRecord] = []
    for _ in range(spec.max_steps):
        reply = bound.invoke(history)
        if not isinstance(reply, AIMessage) or not reply.tool_calls:
            return calls, str(reply.text).strip() or None
        history.append(reply)
        for tool_call in reply.tool_calls:
            tool = by_name.get(tool_call["name"])
            refused = refuse(tool_call["name"], tool_call["args"]) if refuse else None
            if tool is None:
                known = ", ".join(by_name)
                raw: object = {"error": f"no tool {tool_call['name']!r}; your tools: {known}"}
                content = str(raw)
            elif refused is not None:
                raw = {"error": refused}
                content = str(raw)
            else:
                message = tool.invoke(tool_call)
                raw = message.content if isinstance(message, ToolMessage) else message
                content = str(raw)
            calls.append(_record(spec.name, tool_call["name"], dict(tool_call["args"]), raw))
            if facts is not None:
                facts += facts_of(calls[-1])
            history.append(ToolMessage(content, tool_call_id=tool_call["id"] or tool_call["name"]))
    return calls, None


def others_records(key: str, own_id: str | None) -> Refusal:
    """A customer's conversation looks up that customer's records only: a tool call whose
    `key` argument ("customer_id") names anyone else is refused, whatever the model was
    told (a customer's words steer the model; they never widen what it may read)."""

    def refuse(tool: str, args: dict[str, Any]) -> str | None:
        if key not in args:
            return None
        try:
            named = normalize_customer_id(args[key])
        except ValueError as error:
            return str(error)
        if own_id is None:
            return f"this conversation's {key} is unknown: {tool} may not look up {named}"
        if not same_id(named, normalize_customer_id(own_id)):
            return f"this conversation is about {key} {own_id}: {tool} may not look up {named}"
        return None

    return refuse


def same_id(one: str, other: str) -> bool:
    """Whether two spellings name one record: "E-204", "e204" and "204" (without case,
    separators, or a letter prefix that one of them leaves out)."""
    a, b = (re.sub(r"[\W_]", "", ident.casefold()) for ident in (one, other))
    short, long = sorted((a, b), key=len)
    prefix = long[: len(long) - len(short)]
    return bool(short) and long.endswith(short) and (not prefix or prefix.isalpha())


def learned(
    agent: AgentSpec, facts: list[str], subject: str | None, thread_id: str | None
) -> list[Memory]:
    """What the findings teach the team, extracted from them like any statement.

    Tool results come from systems of record, so what is extracted from them carries the
    top confidence; only facts about a subject (a customer, an order) are kept: a system's
    state of the moment is not worth remembering.
    """
    ctx = ExtractionContext(
        source_agent=agent.name,
        thread_id=thread_id,
        speaker_subject=subject or "user",
        speaker_role="system",  # tool results: the systems of record speak
        scope=agent.writes,
    )
    memories = extract_memories(" ".join(facts), ctx)
    return [
        m.model_copy(update={"mechanism": "inferred", "confidence": EXPLICIT_CONFIDENCE})
        for m in memories
        if m.subject is not None
    ]


def run_specialist(
    task: SpecialistTask,
    runtime: Runtime[TeamContext],
    *,
    team: TeamSpec,
    services: Services,
) -> dict:
    """One specialist handles its A2A task; several run in parallel (Send)."""
    from memory.llm_calls import text_call

    started = time.time()
    ctx = runtime.context
    spec = team.agent(task["agent"])
    manager = seams.manager(runtime.store, team_name(ctx, team), spec.name)
    memories = recall(
        manager,
        memory_query(task["task"], task["customer_id"]),
        limit=5,
        subject=task["subject"],
        scopes=spec.reads,
    )
    model = seams.chat_model(ctx, services)
    toolkit = seams.services_for(ctx, services).tools(team)
    subject = team.subject(task["customer_id"])
    if supports_tools(model):
        assert model is not None
        own = [toolkit[name] for name in spec.tools]
        # what it may remember: what it was told and what its tools found, as they find it
        told = [task["request"], task["task"], *(m.content for m in memories)]
        # its memory answers for the conversation's subject, as the coordinator's recall does
        extra = memory_tools(
            manager, subject=task["subject"], scope=spec.writes, given=lambda: told
        )
        prompt = specialist_prompt(spec, task, memories)
        refuse = (
            others_records(f"{team.subject_label}_id", task["customer_id"])
            if not may_name_a_customer(ctx.speaker_role)
            else None
        )
        calls, summary = run_agent_loop(model, spec, own + extra, prompt, facts=told, refuse=refuse)
    else:
        known = {f"{team.subject_label}_id": task["customer_id"]} if task["customer_id"] else {}
        calls = run_plan(spec.name, toolkit, spec.planned_tools, known)
        summary = text_call(
            model,
            findings_prompt(spec, task, memories, calls),
            step=f"findings:{spec.name}",
            max_chars=600,
        )
    facts = [fact for call in calls for fact in facts_of(call)]
    composed = " ".join(facts) or "Nothing found."
    step = f"findings:{spec.name}"
    verdict = ground(
        summary,
        [task["request"], task["task"], *facts],
        composed,
        agent=spec.name,
        step=step,
        keep=False,
    )
    summary = verdict.shown
    fallbacks = [step] if verdict.replaced else []
    # Only its own tools speak for the systems of record: what its memory tools returned
    # is memory already, at its own trust (relearned, a customer's 0.70 became 0.95).
    stated = [fact for call in calls if call.tool in spec.tools for fact in facts_of(call)]
    lessons = learned(spec, stated, subject, current_thread_id())
    finding = Finding(
        agent=spec.name,
        summary=summary,
        facts=facts,
        tool_calls=calls,
        memories_read=memories,
        started=started,
        finished=time.time(),
        task_message_id=task["task_message_id"],
    )
    _report(runtime, team, task, finding)
    return {
        "findings": [finding],
        "written": record_memories(manager, lessons, spec.name),
        "fallbacks": fallbacks,
    }


def _report(
    runtime: Runtime[TeamContext], team: TeamSpec, task: SpecialistTask, finding: Finding
) -> None:
    """The A2A result message to the coordinator, in the log and the live stream."""
    coordinator = team.coordinator.name
    result = A2AMessage(
        source_agent=finding.agent,
        target_agent=coordinator,
        content_type=RESULT,
        payload={
            "summary": finding.summary,
            "facts": list[JsonValue](finding.facts),
            "started": finding.started,
            "finished": finding.finished,
            "in_reply_to": task["task_message_id"],
        },
        correlation_id=task["correlation_id"],
    )
    seams.a2a_log(runtime.store, team_name(runtime.context, team)).append(result)
    emit(
        A2AEvent(
            source=finding.agent, target=coordinator, content_type=RESULT, text=finding.summary
        )
    )
