"""Chatting with one agent and its memory (graphs/agent_chat.py)."""

from __future__ import annotations

from langchain_core.messages import AIMessage, SystemMessage
from langgraph.runtime import Runtime

from memory.extraction import ExtractionContext, extract_memories
from nodes import services
from nodes.context import ChatContext
from nodes.coordinator import emit
from nodes.memory_nodes import current_thread_id, recall, record_memories
from nodes.specialists import COORDINATOR, SPECIALISTS, Specialist
from nodes.state import ChatState, RetrievedMemory, latest_user_message


def agent_spec(name: str) -> Specialist:
    team = {COORDINATOR.name: COORDINATOR, **SPECIALISTS}
    if name not in team:
        raise ValueError(f"unknown agent {name!r}; the team is {', '.join(team)}")
    return team[name]


def start_chat_turn(state: ChatState, runtime: Runtime[ChatContext]) -> dict:
    agent_spec(runtime.context.agent)
    last = latest_user_message(state.get("messages", []))
    if last is None or not str(last.content).strip():
        raise ValueError("the chat graph needs a user message: {'messages': [('user', '...')]}")
    return {"request": str(last.content), "written": None, "fallbacks": None}


def recall_for_chat(state: ChatState, runtime: Runtime[ChatContext]) -> dict:
    manager = services.manager(runtime.store, runtime.context, runtime.context.agent)
    return {"retrieved": recall(manager, state["request"], limit=5)}


def _remembered(retrieved: list[RetrievedMemory]) -> str:
    if not retrieved:
        return "I have nothing in memory about that yet. Tell me, and I will remember it."
    lines = [f"- {m.content} (confidence {m.confidence:.2f})" for m in retrieved[:3]]
    return "Here is what I remember:\n" + "\n".join(lines)


def reply_in_chat(state: ChatState, runtime: Runtime[ChatContext]) -> dict:
    """The agent answers from its memories (LLM when available, else a recall summary)."""
    from memory.llm import text_call

    ctx = runtime.context
    spec = agent_spec(ctx.agent)
    retrieved = state.get("retrieved", [])
    memories = "\n".join(f"- {m.content}" for m in retrieved) or "(none)"
    history = state["messages"][-8:]
    reply = text_call(
        services.chat_model(ctx),
        [SystemMessage(f"{spec.prompt}\nWhat you remember:\n{memories}"), *history],
        step="chat reply",
        max_chars=1500,
    )
    fallbacks = [] if reply else ["chat reply"]
    reply = reply or _remembered(retrieved)
    emit("reply", text=reply, fallback=bool(fallbacks))
    return {"reply": reply, "messages": [AIMessage(reply, name=ctx.agent)], "fallbacks": fallbacks}


def remember_from_chat(state: ChatState, runtime: Runtime[ChatContext]) -> dict:
    ctx = runtime.context
    extraction = ExtractionContext(source_agent=ctx.agent, thread_id=current_thread_id())
    memories = extract_memories(state["request"], extraction, llm=services.extraction_model(ctx))
    manager = services.manager(runtime.store, ctx, ctx.agent)
    return {"written": record_memories(manager, memories, ctx.agent)}
