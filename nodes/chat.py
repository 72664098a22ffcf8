"""Chatting with one agent of a team and its memory (graphs/agent_chat.py).

The nodes take the team's declaration and the graph's services as keyword arguments,
bound by ``graphs.team.build_chat``. The agent's reply is grounded: if it states a
number, id, channel, name or date its memories and the conversation do not, the reply
recalling those memories is used instead.
"""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from memory.extraction import ExtractionContext, extract_memories
from nodes import services as seams
from nodes.context import ChatContext
from nodes.events import ReplyEvent, emit
from nodes.grounding import ground
from nodes.memory_nodes import current_thread_id, memory_request, recall, record_memories
from nodes.prompts import chat_prompt
from nodes.services import Services
from nodes.state import ChatState, RetrievedMemory, latest_user_message
from nodes.subjects import may_name_a_customer, named_subject, speaker_subject
from nodes.team import AgentSpec, TeamSpec


def agent_spec(team: TeamSpec, name: str) -> AgentSpec:
    try:
        return team.agent(name)
    except KeyError as error:
        raise ValueError(error.args[0]) from None


def _team(ctx: ChatContext, team: TeamSpec) -> str:
    return ctx.team or team.name


def start_chat_turn(state: ChatState, runtime: Runtime[ChatContext], *, team: TeamSpec) -> dict:
    agent_spec(team, runtime.context.agent)
    last = latest_user_message(state.get("messages", []))
    if last is None or not str(last.content).strip():
        raise ValueError("the chat graph needs a user message: {'messages': [('user', '...')]}")
    return {"request": str(last.content), "written": None, "fallbacks": None}


def recall_for_chat(state: ChatState, runtime: Runtime[ChatContext], *, team: TeamSpec) -> dict:
    ctx = runtime.context
    spec = agent_spec(team, ctx.agent)
    manager = seams.manager(runtime.store, _team(ctx, team), spec.name)
    subject = (
        # a customer is who the channel says (never whom their words name)
        speaker_subject(team.subject(ctx.customer_id), current_thread_id())
        if not may_name_a_customer(ctx.speaker_role)
        # Staff see every customer's facts, except in a conversation about one customer:
        # then no other customer's facts reach the prompt or the reply.
        else named_subject(team.subject(ctx.customer_id), state["request"])
    )
    retrieved = recall(manager, state["request"], limit=5, subject=subject, scopes=spec.reads)
    return {"retrieved": retrieved}


def remembered(retrieved: list[RetrievedMemory]) -> str:
    """The grounded chat reply: what memory holds, word for word."""
    if not retrieved:
        return "I have nothing in memory about that yet. Tell me, and I will remember it."
    lines = [f"- {m.content} (confidence {m.confidence:.2f})" for m in retrieved[:3]]
    return "Here is what I remember:\n" + "\n".join(lines)


def reply_in_chat(
    state: ChatState, runtime: Runtime[ChatContext], *, team: TeamSpec, services: Services
) -> dict:
    """The agent answers from its memories (LLM when grounded, else a recall summary)."""
    from memory.llm_calls import text_call

    ctx = runtime.context
    spec = agent_spec(team, ctx.agent)
    retrieved = state.get("retrieved", [])
    history = state["messages"][-8:]
    reply = text_call(
        seams.chat_model(ctx, services),
        chat_prompt(spec, retrieved, history),
        step="chat reply",
        max_chars=1500,
    )
    sources = [m.content for m in retrieved] + [str(m.content) for m in history]
    verdict = ground(
        reply, sources, remembered(retrieved), agent=spec.name, step="chat reply", keep=False
    )
    reply = verdict.shown
    fallbacks = ["chat reply"] if verdict.replaced else []
    emit(ReplyEvent(text=reply, fallback=bool(fallbacks), agent=spec.name))
    return {"reply": reply, "messages": [AIMessage(reply, name=spec.name)], "fallbacks": fallbacks}


def remember_from_chat(
    state: ChatState, runtime: Runtime[ChatContext], *, team: TeamSpec, services: Services
) -> dict:
    ctx = runtime.context
    spec = agent_spec(team, ctx.agent)
    thread_id = current_thread_id()
    last = latest_user_message(state["messages"])
    extraction = ExtractionContext(
        source_agent=spec.name,
        thread_id=thread_id,
        message_id=last.id if last else None,
        speaker_subject=speaker_subject(team.subject(ctx.customer_id), thread_id),
        speaker_role=ctx.speaker_role,
        scope=spec.writes,
    )
    # The speaker's own subject: "forget my phone number" is about whoever speaks.
    declined = memory_request(state, runtime, team, extraction.speaker_subject, None)
    if declined is not None:
        return declined
    model = seams.extraction_model(ctx, services)
    memories = extract_memories(state["request"], extraction, llm=model)
    manager = seams.manager(runtime.store, _team(ctx, team), spec.name)
    return {"written": record_memories(manager, memories, spec.name)}
