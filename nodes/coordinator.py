"""The coordinator of any team: route the request, hand out A2A tasks, write the reply.

Every node here reads the team from its declaration (``team``) and its services from
the graph or the run's context, both bound by ``graphs.team.build_team``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any, Literal

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime
from langgraph.types import Send
from pydantic import BaseModel, BeforeValidator, Field, create_model

from memory.bridge import TASK, A2AMessage
from memory.llm import supports_tools
from nodes import services as seams
from nodes.context import TeamContext
from nodes.customer import resolve_customer
from nodes.events import A2AEvent, ReplyEvent, RoutingEvent, emit
from nodes.grounding import ground, one_sentence
from nodes.prompts import routing_prompt, synthesis_prompt
from nodes.routing import keyword_route, route_by_routers, with_keywords
from nodes.services import Services
from nodes.state import (
    Finding,
    RetrievedMemory,
    RoutingDecision,
    SpecialistTask,
    TeamState,
    latest_user_message,
)
from nodes.subjects import (
    conversation_subject,
    current_caller,
    current_thread_id,
    may_name_a_customer,
)
from nodes.team import TeamSpec

logger = logging.getLogger(__name__)


def team_name(ctx: TeamContext, team: TeamSpec) -> str:
    """The memory team of a run: the context's, else the declaration's."""
    return ctx.team or team.name


def route_schema(team: TeamSpec, *, with_tasks: bool = False) -> type[BaseModel]:
    """The routing answer: `reason` first (a model decoding in order says what the request
    needs before it names anyone), `specialists` an enum of the team's ids, so constrained
    decoding (llama.cpp's grammar, Ollama's format) can only name real ones; `tasks` only
    for a model that writes them."""
    ids = tuple(agent.name for agent in team.specialists)
    # Small models capitalise names ("Sam"): matched as the lowercase ids.
    name = Annotated[Literal[ids], BeforeValidator(_lowercase)]  # type: ignore[valid-type]
    fields: dict[str, Any] = {
        "reason": (str, Field(description="One short sentence: what the request needs.")),
        "specialists": (list[name], Field(min_length=1)),
    }
    if with_tasks:
        fields["tasks"] = (dict[str, str], Field(default_factory=dict))
    return create_model("Route", **fields)


def _lowercase(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def route_request(
    state: TeamState, runtime: Runtime[TeamContext], *, team: TeamSpec, services: Services
) -> dict:
    """Decide which specialists to involve (LLM, checked; keyword and semantic backups)."""
    from memory.llm_calls import structured_call

    request = state["request"]
    members = team.by_name
    model = seams.routing_model(runtime.context, services)
    # A model that can act writes each specialist's task; a small one only routes; one
    # that routes worse than the keyword and semantic routers is not asked.
    writes_tasks = supports_tools(model)
    proposal = (
        structured_call(
            model,
            route_schema(team, with_tasks=writes_tasks),
            routing_prompt(team, request, with_tasks=writes_tasks),
            step="routing",
        )
        if model is not None
        else None
    )
    fallbacks: list[str] = []
    if proposal is not None:
        proposed = set(proposal.specialists)  # type: ignore[attr-defined]  # route_schema's
        chosen = with_keywords(proposed, keyword_route(request, members), members)
        written_reason: str = proposal.reason  # type: ignore[attr-defined]  # route_schema's
        reason, fallbacks = grounded_reason(written_reason, request, chosen, team)
        tasks, replaced = grounded_tasks(getattr(proposal, "tasks", {}), chosen, state, team)
        decision = RoutingDecision(specialists=chosen, reason=reason, method="llm", tasks=tasks)
        fallbacks += replaced
    else:
        fallbacks.append("routing")
        routed = route_by_routers(
            request, members, seams.services_for(runtime.context, services).router_embeddings
        )
        decision = RoutingDecision(
            specialists=routed.specialists, reason=routed.reason, method=routed.method
        )
    if decision.method != "llm":
        logger.info("routing: %s router used", decision.method)
    emit(
        RoutingEvent(
            specialists=decision.specialists, reason=decision.reason, method=decision.method
        )
    )
    return {"routing": decision, "fallbacks": fallbacks}


def grounded_reason(
    reason: str, request: str, chosen: list[str], team: TeamSpec
) -> tuple[str, list[str]]:
    """The model's routing reason, shown in the live log, if the request and the chosen
    specialists' roles say all it says; else one composed from their roles.

    It says what the request needs, so the request is its source; not the specialists'
    descriptions, whose words a small model strings into a reason the request never gave
    (SmolLM2 answered "A checkout payment fault and a refund." to "Where is my order?")."""
    picked = [team.agent(name) for name in chosen]
    composed = "The request needs " + " and ".join(f"{a.name} ({a.role})" for a in picked) + "."
    sources = [request, *(a.role for a in picked)]
    coordinator = team.coordinator.name
    verdict = ground(reason, sources, composed, agent=coordinator, step="routing", keep=False)
    return verdict.shown, ["routing reason"] if verdict.replaced else []


def grounded_tasks(
    written: dict[str, str], chosen: list[str], state: TeamState, team: TeamSpec
) -> tuple[dict[str, str], list[str]]:
    """The tasks the coordinator's model wrote for the chosen specialists, each checked
    against the request, the memories the coordinator read and the specialist's declared
    task: one that adds an id, number, name, channel or date they do not state (or words
    beside it they do not say) is replaced by the declared task. Also the steps replaced.

    A task is shown in the live log and steers the specialist's tools, so an invented order
    id in it would be looked up and reported as if the customer had given it."""
    request, customer = state["request"], state.get("customer_id")
    memories = [m.content for m in state.get("retrieved", [])]
    tasks: dict[str, str] = {}
    replaced: list[str] = []
    for name, task in written.items():
        name = name.strip().lower()
        if name not in chosen or not task.strip():
            continue
        spec = team.agent(name)
        declared = spec.task(request, customer, team.subject_label)
        # the declared task is about its subject throughout: its sentences (the request's
        # among them) and the specialist's expertise may be said of the subject together
        sources = [request, *memories, one_sentence(declared, spec.role, spec.description)]
        step = f"task:{name}"
        verdict = ground(
            task.strip(), sources, declared, agent=team.coordinator.name, step=step, keep=False
        )
        tasks[name] = verdict.shown
        replaced += [step] if verdict.replaced else []
    return tasks, replaced


def dispatch_tasks(
    state: TeamState, runtime: Runtime[TeamContext], *, team: TeamSpec
) -> list[Send]:
    """Send each chosen specialist an A2A task; they run in parallel, each in its own node."""
    ctx = runtime.context
    log = seams.a2a_log(runtime.store, team_name(ctx, team))
    sends: list[Send] = []
    for agent in state["routing"].specialists:
        # the task the coordinator's model wrote, else the specialist's declared template
        task = state["routing"].tasks.get(agent) or team.agent(agent).task(
            state["request"], state.get("customer_id"), team.subject_label
        )
        message = A2AMessage(
            source_agent=team.coordinator.name,
            target_agent=agent,
            content_type=TASK,
            payload={"task": task, "request": state["request"]},
            correlation_id=state["correlation_id"],
        )
        log.append(message)
        emit(A2AEvent(source=team.coordinator.name, target=agent, content_type=TASK, text=task))
        payload: SpecialistTask = {
            "agent": agent,
            "task": task,
            "request": state["request"],
            "customer_id": state.get("customer_id"),
            "subject": conversation_subject(
                team.subject(state.get("customer_id")),
                state["request"],
                current_thread_id(),
                may_name_a_customer(ctx.speaker_role),
            ),
            "correlation_id": state["correlation_id"],
            "task_message_id": message.message_id,
        }
        sends.append(Send(agent, payload))
    return sends


def subject_memories(
    retrieved: list[RetrievedMemory], subject: str | None
) -> list[RetrievedMemory]:
    """What memory says about the request's subject: one memory per attribute, best first."""
    seen: set[str] = set()
    out = []
    for memory in retrieved:
        if subject is None or memory.subject != subject or not memory.attribute:
            continue
        if memory.attribute not in seen:
            seen.add(memory.attribute)
            out.append(memory)
    return out


def compose_reply(
    retrieved: list[RetrievedMemory], findings: list[Finding], subject: str | None = None
) -> str:
    """The deterministic reply: the findings' facts and what memory says about the subject,
    in plain sentences; it states nothing that is not in them."""
    lines = ["Thank you for contacting us. Our team has reviewed your case."]
    # two specialists may state the same fact (both tracked the order): say it once
    lines += dict.fromkeys(fact for finding in findings for fact in finding.facts)
    known = " ".join(lines).lower()
    for memory in subject_memories(retrieved, subject):
        if memory.value and memory.value.lower() in known:
            continue  # a finding already states it, fresh from a system of record
        lines.append(f"Noted: {memory.content.rstrip('.')}.")
    return " ".join(lines)


def synthesize_reply(
    state: TeamState, runtime: Runtime[TeamContext], *, team: TeamSpec, services: Services
) -> dict:
    """The coordinator writes the reply from the findings and memory; if the model's reply
    states anything unsupported or drops a fact, the composed reply is used."""
    from memory.llm_calls import text_call

    ctx = runtime.context
    retrieved = state.get("retrieved", [])
    findings = sorted(state.get("findings", []), key=lambda f: f.agent)
    subject = conversation_subject(
        team.subject(state.get("customer_id")),
        state["request"],
        current_thread_id(),
        may_name_a_customer(ctx.speaker_role),
    )
    draft = compose_reply(retrieved, findings, subject)
    reply = text_call(
        seams.chat_model(ctx, services),
        synthesis_prompt(team, state["request"], findings, retrieved, draft),
        step="synthesis",
        max_chars=1500,
    )
    sources = [state["request"], *(m.content for m in retrieved)]
    sources += [fact for f in findings for fact in f.facts]
    verdict = ground(reply, sources, draft, agent=team.coordinator.name, step="synthesis")
    reply = verdict.shown
    fallbacks = ["synthesis"] if verdict.replaced else []
    emit(ReplyEvent(text=reply, fallback=bool(fallbacks), agent=team.coordinator.name))
    message = AIMessage(reply, name=team.coordinator.name)
    return {"reply": reply, "messages": [message], "fallbacks": fallbacks}


def start_turn(state: TeamState, runtime: Runtime[TeamContext]) -> dict:
    """Take the latest user message as this turn's request and settle whom it is about
    (nodes/customer.py); reset per-turn lists."""
    last = latest_user_message(state.get("messages", []))
    request = str(last.content) if last is not None else ""
    if not request.strip():
        raise ValueError("the team graph needs a user message: {'messages': [('user', '...')]}")
    customer = resolve_customer(
        state.get("customer_id"), runtime.context.customer_id, current_caller()
    )
    return {
        "request": request,
        "customer_id": customer,
        "correlation_id": uuid.uuid4().hex,
        "findings": None,
        "written": None,
        "synced": None,
        "fallbacks": None,
    }
