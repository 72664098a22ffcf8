"""The memory nodes of the graphs: retrieve, extract, sync, compact."""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.runtime import Runtime

from memory.extraction import ExtractionContext, extract_from_messages, extract_memories
from memory.manager import MemoryManager, ScoredMemory
from memory.sessions import SessionPolicy, compact, needs_compaction
from nodes import services
from nodes.context import ChatContext, TeamContext
from nodes.coordinator import emit
from nodes.specialists import COORDINATOR
from nodes.state import (
    HasMessages,
    RetrievedMemory,
    TeamState,
    WrittenMemory,
    latest_user_message,
)

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


def recall(manager: MemoryManager, query: str, limit: int) -> list[RetrievedMemory]:
    hits = manager.search(query, limit=limit)
    retrieved = [as_retrieved(h, manager.agent) for h in hits]
    for memory in retrieved:
        emit(
            "memory_read",
            agent=manager.agent,
            memory_id=memory.memory_id,
            content=memory.content,
            confidence=memory.confidence,
            score=memory.score,
        )
    return retrieved


def retrieve_memories(state: TeamState, runtime: Runtime[TeamContext]) -> dict:
    """The coordinator reads the shared memory and its own for this request."""
    ctx = runtime.context
    manager = services.manager(runtime.store, ctx, COORDINATOR.name)
    query = memory_query(state["request"], ctx.customer_id)
    return {"retrieved": recall(manager, query, limit=6)}


def _speaker_subject(customer_id: str | None) -> str:
    return f"customer:{customer_id}" if customer_id else "user"


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
            "memory_write",
            agent=agent,
            action=result.action,
            memory_id=stored.memory_id,
            content=stored.content,
            scope=stored.scope,
            confidence=stored.confidence,
        )
    return written


def extract_turn_memories(state: TeamState, runtime: Runtime[TeamContext]) -> dict:
    """Facts the user stated this turn go to the team's memory (rules, or the LLM)."""
    ctx = runtime.context
    last = latest_user_message(state["messages"])
    extraction = ExtractionContext(
        source_agent=COORDINATOR.name,
        thread_id=current_thread_id(),
        message_id=last.id if last else None,
        speaker_subject=_speaker_subject(ctx.customer_id),
    )
    memories = extract_memories(state["request"], extraction, llm=services.extraction_model(ctx))
    manager = services.manager(runtime.store, ctx, COORDINATOR.name)
    return {"written": record_memories(manager, memories, COORDINATOR.name)}


def current_thread_id() -> str | None:
    """The thread of the current run (None outside a run)."""
    from langgraph.config import get_config

    try:
        return get_config().get("configurable", {}).get("thread_id")
    except RuntimeError:
        return None


def sync_memories(state: TeamState, runtime: Runtime[TeamContext]) -> dict:
    """A2A sync: what one agent learned this turn goes to the others who worked on it."""
    ctx = runtime.context
    bridge = services.bridge(runtime.store, ctx)
    routing = state.get("routing")
    involved = [COORDINATOR.name, *routing.specialists] if routing else []
    synced: list[str] = []
    for written in state.get("written", []):
        if written.action not in ("added", "superseded"):
            continue
        memory = services.manager(runtime.store, ctx, written.agent).get(written.memory_id)
        if memory is None:
            continue
        targets = [a for a in involved if a != written.agent]
        report = bridge.sync(
            memory, targets, source_agent=written.agent, correlation_id=state.get("correlation_id")
        )
        for outcome in report.copied:
            synced.append(f"{outcome.target}:{outcome.stored.memory_id if outcome.stored else ''}")
            emit(
                "sync",
                source=written.agent,
                target=outcome.target,
                memory_id=written.memory_id,
                content=memory.content,
                confidence=outcome.stored.confidence if outcome.stored else None,
            )
    return {"synced": synced}


def compact_session(state: HasMessages, runtime: Runtime[Any]) -> dict:
    """Past 80% of the context budget, compact the thread; dropped facts go to memory first."""
    ctx: TeamContext | ChatContext = runtime.context
    policy = SessionPolicy(budget_tokens=services.context_budget(ctx), strategy=ctx.compaction)
    messages: list[BaseMessage] = list(state.get("messages", []))
    if not needs_compaction(messages, policy):
        return {}
    agent = getattr(ctx, "agent", COORDINATOR.name)
    manager = services.manager(runtime.store, ctx, agent)

    def keep_facts(dropped: list[BaseMessage]) -> None:
        extraction = ExtractionContext(source_agent=agent, thread_id=current_thread_id())
        record_memories(manager, extract_from_messages(dropped, extraction), agent)

    result = compact(messages, policy, llm=services.chat_model(ctx), on_dropped=keep_facts)
    emit(
        "compaction",
        strategy=result.strategy,
        dropped=len(result.dropped),
        tokens_before=result.tokens_before,
        tokens_after=result.tokens_after,
    )
    update: dict = {"messages": result.updates}
    if result.fallback_used:
        update["fallbacks"] = ["summary"]
    return update
