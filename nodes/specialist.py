"""A specialist at work: read its memories, call its tools, report findings, note lessons.

Specialists are data (nodes/specialists.py). The tool plan is generic: each of the
specialist's tools is called with the arguments the task provides (customer id, and the
order id the customer's latest order gives). Findings are stated as facts from the tool
results; the LLM only words the summary, and its summary is replaced by the facts when
it fails.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import JsonValue

from memory.bridge import RESULT, A2AMessage
from memory.models import Memory, Provenance
from nodes import services
from nodes.context import TeamContext
from nodes.coordinator import emit
from nodes.memory_nodes import current_thread_id, memory_query, recall, record_memories
from nodes.specialists import COORDINATOR, SPECIALISTS
from nodes.state import Finding, SpecialistTask, ToolCallRecord
from nodes.tools import make_tools, tool_error

ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}


def _ordinal(n: int) -> str:
    return ORDINALS.get(n, f"{n}th")


def run_tools(
    ctx: TeamContext, tool_names: tuple[str, ...], customer_id: str | None
) -> list[ToolCallRecord]:
    tools = make_tools(services.desk(ctx))
    known: dict[str, Any] = {"customer_id": customer_id} if customer_id else {}
    calls: list[ToolCallRecord] = []
    for name in tool_names:
        tool = tools[name]
        fields = set(tool.args)
        args = {k: v for k, v in known.items() if k in fields}
        required = {k for k, spec in tool.args.items() if "default" not in spec}
        if not required <= set(args):
            continue
        result = tool.invoke(args)
        if isinstance(result, str):  # an error result, as JSON text
            result = {"error": tool_error(result) or result}
        calls.append(ToolCallRecord(tool=name, args=args, result=result))
        orders = result.get("orders") if isinstance(result, dict) else None
        if orders and "order_id" not in known:
            known["order_id"] = orders[0]["order_id"]
    return calls


def facts_from(calls: list[ToolCallRecord], customer_id: str | None) -> list[str]:
    """Plain sentences stating what the tools returned (the deterministic findings)."""
    facts: list[str] = []
    for call in calls:
        r = call.result
        if "error" in r:
            facts.append(f"{call.tool} failed: {r['error']}")
        elif call.tool == "track_shipment" and r.get("shipment"):
            s = r["shipment"]
            reason = f": {s['delay_reason'].rstrip('.')}" if s.get("delay_reason") else ""
            facts.append(
                f"Order {r.get('order_id', s.get('order_id'))} is {s['status'].replace('_', ' ')} "
                f"with the carrier {s['carrier']}{reason}."
            )
        elif call.tool == "delay_history" and r.get("delays"):
            count = _ordinal(len(r["delays"]))
            facts.append(f"This is the {count} delivery delay for customer #{customer_id}.")
        elif call.tool == "check_systems":
            systems = r.get("systems", [])
            if r.get("all_operational"):
                facts.append(
                    f"All {len(systems)} of our systems are operational, so the "
                    "problem is not on our side."
                )
            else:
                bad = [s["system"] for s in systems if s.get("status") != "operational"]
                facts.append(f"Systems with problems: {', '.join(bad)}.")
        elif call.tool == "check_refund_eligibility":
            if r.get("eligible"):
                facts.append(
                    f"The order is eligible for a refund within {r['window_hours']} hours."
                )
            else:
                facts.append(f"The order is not eligible for a refund: {r.get('reason')}.")
    return facts


def lessons(
    agent: str,
    calls: list[ToolCallRecord],
    customer_id: str | None,
    ctx: TeamContext,
    thread_id: str | None,
) -> list[Memory]:
    """What is worth remembering for the team: a repeated delivery delay, as an episode."""
    out: list[Memory] = []
    for call in calls:
        delays = call.result.get("delays") if call.tool == "delay_history" else None
        count = len(delays) if isinstance(delays, list) else None
        if customer_id and isinstance(count, int) and count >= 2:
            latest = delays[-1] if delays else {}
            carrier = latest.get("carrier", "the carrier")
            out.append(
                Memory(
                    content=(
                        f"Customer #{customer_id} delivery delay - {_ordinal(count)} occurrence "
                        f"(order {latest.get('order_id', '?')}, carrier {carrier})"
                    ),
                    type="episodic",
                    scope="shared",
                    # observed in the systems of record, not guessed: the seed's 0.95
                    mechanism="inferred",
                    confidence=0.95,
                    subject=f"customer:{customer_id}",
                    attribute="delivery_delay_count",
                    value=str(count),
                    provenance=Provenance(source_agent=agent, thread_id=thread_id),
                )
            )
    return out


def run_specialist(task: SpecialistTask, runtime: Runtime[TeamContext]) -> dict:
    """One specialist handles its A2A task; several run in parallel (Send)."""
    from memory.llm import text_call

    started = time.time()
    ctx = runtime.context
    agent = task["agent"]
    spec = SPECIALISTS[agent]
    manager = services.manager(runtime.store, ctx, agent)
    memories = recall(manager, memory_query(task["task"], task["customer_id"]), limit=5)
    calls = run_tools(ctx, spec.tools, task["customer_id"])
    facts = facts_from(calls, task["customer_id"])
    summary = text_call(
        services.chat_model(ctx),
        [
            SystemMessage(spec.prompt),
            HumanMessage(
                f"Task: {task['task']}\nTool results: {[c.result for c in calls]}\n"
                "Summarize your findings in 2 sentences."
            ),
        ],
        step=f"findings:{agent}",
        max_chars=600,
    )
    fallbacks = [] if summary else [f"findings:{agent}"]
    written = record_memories(
        manager, lessons(agent, calls, task["customer_id"], ctx, current_thread_id()), agent
    )
    finding = Finding(
        agent=agent,
        summary=summary or " ".join(facts) or "Nothing found.",
        facts=facts,
        tool_calls=calls,
        memories_read=memories,
        started=started,
        finished=time.time(),
        task_message_id=task["task_message_id"],
    )
    result = A2AMessage(
        source_agent=agent,
        target_agent=COORDINATOR.name,
        content_type=RESULT,
        payload={
            "summary": finding.summary,
            "facts": list[JsonValue](facts),
            "started": started,
            "finished": finding.finished,
            "in_reply_to": task["task_message_id"],
        },
        correlation_id=task["correlation_id"],
    )
    services.a2a_log(runtime.store, ctx).append(result)
    emit("a2a", source=agent, target=COORDINATOR.name, content_type=RESULT, text=finding.summary)
    return {"findings": [finding], "written": written, "fallbacks": fallbacks}
