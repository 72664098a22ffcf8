"""Alex, the coordinator: route the request, hand out A2A tasks, synthesize the reply."""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import Send
from pydantic import BaseModel, Field

from memory.bridge import TASK, A2AMessage
from nodes import services
from nodes.context import TeamContext
from nodes.routing import keyword_route, semantic_route
from nodes.specialists import COORDINATOR, SPECIALISTS
from nodes.state import (
    Finding,
    RetrievedMemory,
    RoutingDecision,
    SpecialistTask,
    TeamState,
    latest_user_message,
)

logger = logging.getLogger(__name__)


def emit(event: str, **data: object) -> None:
    """A custom stream event for live views (CLI, Studio); ignored outside a stream."""
    with contextlib.suppress(RuntimeError):  # outside a graph run there is no stream
        get_stream_writer()({"event": event, "at": time.time(), **data})


class _Route(BaseModel):
    specialists: list[str] = Field(min_length=1)
    reason: str = ""


def route_request(state: TeamState, runtime: Runtime[TeamContext]) -> dict:
    """Decide which specialists to involve (LLM, checked; keyword and semantic backups)."""
    from memory.llm import structured_call

    request = state["request"]
    names = ", ".join(f"{n} ({s.role}: {s.description})" for n, s in SPECIALISTS.items())
    proposal = structured_call(
        services.chat_model(runtime.context),
        _Route,
        [
            SystemMessage(COORDINATOR.prompt),
            HumanMessage(
                f"Specialists: {names}\nRequest: {request}\nWhich specialists should work on "
                'it? Answer JSON like {"specialists": ["sam"], "reason": "..."}.'
            ),
        ],
        step="routing",
    )
    keyword = keyword_route(request, SPECIALISTS)
    fallbacks: list[str] = []
    if proposal is not None and set(proposal.specialists) <= set(SPECIALISTS):
        chosen = sorted(set(proposal.specialists) | set(keyword))
        decision = RoutingDecision(specialists=chosen, reason=proposal.reason, method="llm")
    elif keyword:
        fallbacks.append("routing")
        decision = RoutingDecision(
            specialists=keyword,
            reason="keywords of their expertise in the request",
            method="keyword",
        )
    else:
        fallbacks.append("routing")
        chosen, sims = semantic_route(request, SPECIALISTS, services.router_embeddings())
        reason = "closest expertise: " + ", ".join(f"{n} {sims[n]:.2f}" for n in chosen)
        decision = RoutingDecision(specialists=chosen, reason=reason, method="semantic")
    if fallbacks:
        logger.info("routing: fallback router used (%s)", decision.method)
    emit(
        "routing", specialists=decision.specialists, reason=decision.reason, method=decision.method
    )
    return {"routing": decision, "fallbacks": fallbacks}


def _task_text(agent: str, request: str, customer_id: str | None) -> str:
    who = f"customer #{customer_id}" if customer_id else "the customer"
    if agent == "sam":
        return f"Check the order status, delivery history and refund eligibility for {who}."
    if agent == "jordan":
        return "Check that our systems (order, notification, tracking) work for this case."
    return f"Help with this request from {who}: {request}"


def dispatch_tasks(state: TeamState, runtime: Runtime[TeamContext]) -> list[Send]:
    """Send each chosen specialist an A2A task; they run in parallel."""
    log = services.a2a_log(runtime.store, runtime.context)
    sends: list[Send] = []
    for agent in state["routing"].specialists:
        task = _task_text(agent, state["request"], runtime.context.customer_id)
        message = A2AMessage(
            source_agent=COORDINATOR.name,
            target_agent=agent,
            content_type=TASK,
            payload={"task": task, "request": state["request"]},
            correlation_id=state["correlation_id"],
        )
        log.append(message)
        emit("a2a", source=message.source_agent, target=agent, content_type=TASK, text=task)
        payload: SpecialistTask = {
            "agent": agent,
            "task": task,
            "request": state["request"],
            "customer_id": runtime.context.customer_id,
            "correlation_id": state["correlation_id"],
            "task_message_id": message.message_id,
        }
        sends.append(Send("run_specialist", payload))
    return sends


_CHANNEL = re.compile(r"\b(email|phone|sms|text message|chat)\b", re.I)


def _preferred_channel(retrieved: list[RetrievedMemory]) -> str | None:
    for memory in retrieved:
        if memory.attribute == "contact_preference" and memory.value:
            return memory.value
    for memory in retrieved:
        if "prefer" in memory.content.lower() and (m := _CHANNEL.search(memory.content)):
            return m.group(1).lower()
    return None


def _refund_window(retrieved: list[RetrievedMemory], findings: list[Finding]) -> str | None:
    for finding in findings:
        for call in finding.tool_calls:
            hours = call.result.get("window_hours")
            if call.tool == "check_refund_eligibility" and call.result.get("eligible") and hours:
                return f"{hours} hours"
    for memory in retrieved:
        m = re.search(r"\b(\d+)\s*(hours|hrs|h)\b", memory.content)
        if m and "refund" in memory.content.lower():
            return f"{m.group(1)} hours"
    return None


def compose_reply(retrieved: list[RetrievedMemory], findings: list[Finding]) -> str:
    """The deterministic reply: the findings and what memory says, in plain sentences."""
    lines = ["Thank you for contacting us. Our team has reviewed your case."]
    for finding in findings:
        lines += finding.facts[:4]
    if window := _refund_window(retrieved, findings):
        lines.append(
            f"Your refund qualifies for our expedited process and will be handled within {window}."
        )
    if channel := _preferred_channel(retrieved):
        lines.append(f"We will send the confirmation by {channel}, as you prefer.")
    return " ".join(lines)


def _required_facts(reply: str, draft: str) -> bool:
    """An LLM reply must keep the channel, refund window and numbers the draft states."""
    for token in re.findall(r"\b(?:email|phone|sms|\d+ hours|carrier|delay\w*)\b", draft, re.I):
        if token.lower() not in reply.lower():
            return False
    return True


def synthesize_reply(state: TeamState, runtime: Runtime[TeamContext]) -> dict:
    """Alex writes the reply from the findings and memory; facts are checked, else composed."""
    from memory.llm import text_call

    retrieved = state.get("retrieved", [])
    findings = sorted(state.get("findings", []), key=lambda f: f.agent)
    draft = compose_reply(retrieved, findings)
    notes = "\n".join(f"- {f.agent}: {f.summary}" for f in findings)
    memories = "\n".join(f"- {m.content} (confidence {m.confidence:.2f})" for m in retrieved)
    reply = text_call(
        services.chat_model(runtime.context),
        [
            SystemMessage(COORDINATOR.prompt),
            HumanMessage(
                f"Customer request: {state['request']}\nTeam findings:\n{notes}\nShared memory:\n"
                f"{memories}\nFacts the reply must state: {draft}\nWrite the reply to the "
                "customer in 3-5 sentences."
            ),
        ],
        step="synthesis",
        max_chars=1500,
    )
    fallbacks: list[str] = []
    if reply is None or not _required_facts(reply, draft):
        if reply is not None:
            logger.warning("synthesis: LLM reply dropped required facts, using composed reply")
        fallbacks.append("synthesis")
        reply = draft
    emit("reply", text=reply, fallback=bool(fallbacks))
    return {"reply": reply, "messages": [AIMessage(reply, name="alex")], "fallbacks": fallbacks}


def start_turn(state: TeamState) -> dict:
    """Take the latest user message as this turn's request; reset per-turn lists."""
    last = latest_user_message(state.get("messages", []))
    request = str(last.content) if last is not None else ""
    if not request.strip():
        raise ValueError("the team graph needs a user message: {'messages': [('user', '...')]}")
    return {
        "request": request,
        "correlation_id": uuid.uuid4().hex,
        "findings": None,
        "written": None,
        "synced": None,
        "fallbacks": None,
    }
