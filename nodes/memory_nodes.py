"""The memory nodes of the graphs: retrieve, extract, sync, compact.

The team nodes take the team's declaration and the graph's services as keyword
arguments, bound by ``graphs.team.build_team``.
"""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from memory.extraction import ExtractionContext, extract_from_messages, extract_memories
from memory.extraction.forget_requests import detect_forget_request
from memory.manager import MemoryManager, ScoredMemory
from memory.models import Scope
from memory.sessions import SessionPolicy, compact, needs_compaction
from memory.transcripts import redact_value, redacted_messages
from nodes import services as seams
from nodes.context import ChatContext, TeamContext
from nodes.events import CompactionEvent, MemoryReadEvent, MemoryWriteEvent, SyncEvent, emit
from nodes.grounding import report
from nodes.services import Services
from nodes.state import (
    ChatState,
    HasMessages,
    RetrievedMemory,
    TeamState,
    WrittenMemory,
    latest_user_message,
)
from nodes.subjects import (
    conversation_subject,
    current_checkpointer,
    current_thread_id,
    may_name_a_customer,
    speaker_subject,
)
from nodes.team import TeamSpec

logger = logging.getLogger(__name__)


def as_retrieved(hit: ScoredMemory, agent: str) -> RetrievedMemory:
    m = hit.memory
    return RetrievedMemory(
        memory_id=m.memory_id,
        agent=agent,
        content=m.content,
        type=m.type,
        scope=m.scope,
        confidence=m.confidence,
        score=round(hit.score, 4),
        subject=m.subject,
        attribute=m.attribute,
        value=m.value,
        source_agent=m.provenance.source_agent,
    )


def memory_query(request: str, customer_id: str | None) -> str:
    return f"customer #{customer_id}: {request}" if customer_id else request


def recall(
    manager: MemoryManager,
    query: str,
    limit: int,
    *,
    subject: str | None,
    scopes: tuple[Scope, ...] = ("shared", "private"),
) -> list[RetrievedMemory]:
    """The best memories for `query` in the scopes the agent reads. `subject`: whose
    conversation it is; only their facts and general knowledge come back (None:
    everything, for staff)."""
    hits = [
        h for h in manager.search(query, limit=limit, subject=subject) if h.memory.scope in scopes
    ]
    retrieved = [as_retrieved(h, manager.agent) for h in hits]
    for memory in retrieved:
        emit(
            MemoryReadEvent(
                agent=manager.agent,
                memory_id=memory.memory_id,
                content=memory.content,
                confidence=memory.confidence,
                score=memory.score,
            )
        )
    return retrieved


def _team(ctx: TeamContext | ChatContext, team: TeamSpec) -> str:
    return ctx.team or team.name


def retrieve_memories(state: TeamState, runtime: Runtime[TeamContext], *, team: TeamSpec) -> dict:
    """The coordinator reads the shared memory and its own for this request."""
    ctx = runtime.context
    coordinator = team.coordinator
    manager = seams.manager(runtime.store, _team(ctx, team), coordinator.name)
    query = memory_query(state["request"], state.get("customer_id"))
    subject = conversation_subject(
        team.subject(state.get("customer_id")),
        state["request"],
        current_thread_id(),
        may_name_a_customer(ctx.speaker_role),
    )
    retrieved = recall(manager, query, limit=6, subject=subject, scopes=coordinator.reads)
    return {"retrieved": retrieved}


def record_memories(manager: MemoryManager, memories: list, agent: str) -> list[WrittenMemory]:
    written = []
    for memory in memories:
        result = manager.add(memory)
        stored = result.memory
        written.append(
            WrittenMemory(
                memory_id=stored.memory_id,
                agent=agent,
                action=result.action,
                content=stored.content,
                scope=stored.scope,
                type=stored.type,
            )
        )
        emit(
            MemoryWriteEvent(
                agent=agent,
                action=result.action,
                memory_id=stored.memory_id,
                content=stored.content,
                scope=stored.scope,
                confidence=stored.confidence,
            )
        )
    return written


def extract_turn_memories(
    state: TeamState, runtime: Runtime[TeamContext], *, team: TeamSpec, services: Services
) -> dict:
    """Facts the user stated this turn go to the team's memory (rules, or the LLM)."""
    ctx = runtime.context
    coordinator = team.coordinator.name
    last = latest_user_message(state["messages"])
    extraction = ExtractionContext(
        source_agent=coordinator,
        thread_id=current_thread_id(),
        message_id=last.id if last else None,
        speaker_subject=speaker_subject(
            team.subject(state.get("customer_id")), current_thread_id()
        ),
        speaker_role=ctx.speaker_role,
        scope=team.coordinator.writes,
    )
    declined = memory_request(
        state, runtime, team, extraction.speaker_subject, state.get("correlation_id")
    )
    if declined is not None:
        return declined
    model = seams.extraction_model(ctx, services)
    memories = extract_memories(state["request"], extraction, llm=model)
    manager = seams.manager(runtime.store, _team(ctx, team), coordinator)
    return {"written": record_memories(manager, memories, coordinator)}


def memory_request(
    state: TeamState | ChatState,
    runtime: Runtime[Any],
    team: TeamSpec,
    speaker: str,
    correlation_id: str | None,
) -> dict | None:
    """When the user asked something of the memory itself ("don't remember this call",
    "forget my phone number") or this thread is not to be remembered: act on it, store
    nothing from the turn, and say so at the end of the reply. None otherwise."""
    thread_id = current_thread_id()
    request = detect_forget_request(state["request"])
    if request is None:
        if seams.team_memory(runtime.store, _team(runtime.context, team)).remembers(thread_id):
            return None
        return {"written": []}  # asked earlier in the thread; the reply said so then
    # With the run's checkpointer, a forget also redacts the transcripts that told it.
    memory = seams.team_memory(
        runtime.store, _team(runtime.context, team), checkpointer=current_checkpointer()
    )
    done = memory.honour(
        request, speaker=speaker, thread_id=thread_id, correlation_id=correlation_id
    )
    logger.info("memory request (%s) from %s: %s", request.kind, speaker, done.notice)
    redaction = done.report.redaction if done.report else None
    redaction = redaction.in_thread(thread_id) if redaction else None
    own = redaction is not None and thread_id in redaction.speaker_threads
    answer = state.get("reply", "")
    if redaction and redact_value(answer, redaction, speaker=own) != answer:
        answer = ""  # the answer drafted this turn quotes what was just forgotten
    reply = f"{answer}\n\n{done.notice}".strip()
    update: dict[str, Any] = {"written": [], "reply": reply}
    messages = state.get("messages", [])
    replaced: list[BaseMessage] = []
    if redaction:
        # This thread's own state is checkpointed after this step: the messages that
        # told what was forgotten are replaced here (same ids), redacted, and so are the
        # memories read and the findings of this turn that quote it.
        replaced = redacted_messages(messages, redaction, speaker=own)
        for key in ("retrieved", "findings"):
            value = state.get(key)
            new = redact_value(value, redaction, speaker=own)
            if value is not None and new != value:
                update[key] = new if key == "retrieved" else Overwrite(new)
    last = next((m for m in reversed(messages) if m.type == "ai"), None)
    if last is not None and last.id is not None:
        # Same id: the reply message is replaced (add_messages), not followed by another.
        replaced = [m for m in replaced if m.id != last.id]
        update["messages"] = [*replaced, AIMessage(reply, id=last.id, name=last.name)]
    else:
        update["messages"] = [*replaced, AIMessage(done.notice)]
    return update


def sync_memories(state: TeamState, runtime: Runtime[TeamContext], *, team: TeamSpec) -> dict:
    """A2A sync: what one agent learned this turn goes to the others who worked on it;
    copies made before follow their source when it was reinforced or superseded."""
    ctx = runtime.context
    agents = [agent.name for agent in team.agents]
    bridge = seams.bridge(runtime.store, _team(ctx, team), agents=agents)
    routing = state.get("routing")
    involved = [team.coordinator.name, *routing.specialists] if routing else []
    correlation_id = state.get("correlation_id")
    synced: list[str] = []
    for written in state.get("written", []):
        manager = seams.manager(runtime.store, _team(ctx, team), written.agent)
        memory = manager.get(written.memory_id)
        if memory is None:
            continue
        for previous in manager.superseded_by(memory.memory_id):
            bridge.follow(previous, source_agent=written.agent, correlation_id=correlation_id)
        if written.action not in ("added", "superseded"):
            bridge.follow(memory, source_agent=written.agent, correlation_id=correlation_id)
            continue
        targets = [a for a in involved if a != written.agent]
        report = bridge.sync(
            memory, targets, source_agent=written.agent, correlation_id=correlation_id
        )
        for outcome in report.copied:
            if outcome.action == "unchanged":
                continue
            synced.append(f"{outcome.target}:{outcome.stored.memory_id if outcome.stored else ''}")
            emit(
                SyncEvent(
                    source=written.agent,
                    target=outcome.target,
                    memory_id=written.memory_id,
                    content=memory.content,
                    confidence=outcome.stored.confidence if outcome.stored else None,
                )
            )
    return {"synced": synced}


def compact_session(
    state: HasMessages, runtime: Runtime[Any], *, team: TeamSpec, services: Services
) -> dict:
    """Past 80% of the context budget, compact the thread; dropped facts go to memory first."""
    ctx: TeamContext | ChatContext = runtime.context
    budget = seams.context_budget(ctx, services)
    policy = SessionPolicy(budget_tokens=budget, strategy=ctx.compaction)
    messages: list[BaseMessage] = list(state.get("messages", []))
    if not needs_compaction(messages, policy):
        return {}
    agent = getattr(ctx, "agent", team.coordinator.name)
    manager = seams.manager(runtime.store, _team(ctx, team), agent)

    stated = state.get("customer_id")
    customer = stated if isinstance(stated, str) else ctx.customer_id

    def keep_facts(dropped: list[BaseMessage]) -> None:
        thread_id = current_thread_id()
        if not seams.team_memory(runtime.store, _team(ctx, team)).remembers(thread_id):
            return  # the speaker asked that nothing of this thread be remembered
        extraction = ExtractionContext(
            source_agent=agent,
            thread_id=thread_id,
            speaker_subject=speaker_subject(team.subject(customer), thread_id),
            speaker_role=ctx.speaker_role,
        )
        record_memories(manager, extract_from_messages(dropped, extraction), agent)

    model = seams.chat_model(ctx, services)
    result = compact(messages, policy, llm=model, on_dropped=keep_facts)
    emit(
        CompactionEvent(
            strategy=result.strategy,
            dropped=len(result.dropped),
            tokens_before=result.tokens_before,
            tokens_after=result.tokens_after,
        )
    )
    if result.summary_check is not None:
        report(result.summary_check, agent=agent, step="summary")
    update: dict = {"messages": result.updates}
    if result.fallback_used:
        update["fallbacks"] = ["summary"]
    return update
