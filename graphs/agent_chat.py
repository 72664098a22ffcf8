"""Chat with one agent of the team and its memory.

user message -> compact? -> start turn -> recall -> reply -> remember -> END
The agent (context `agent`) reads the shared memory and its own private memories, and
what the user states is extracted into memory for later threads.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from nodes.chat import recall_for_chat, remember_from_chat, reply_in_chat, start_chat_turn
from nodes.context import ChatContext
from nodes.memory_nodes import compact_session
from nodes.state import ChatState

builder = StateGraph(ChatState, context_schema=ChatContext)
builder.add_node("compact_session", compact_session)
builder.add_node("start_turn", start_chat_turn)
builder.add_node("recall", recall_for_chat)
builder.add_node("reply", reply_in_chat)
builder.add_node("remember", remember_from_chat)
builder.add_edge(START, "compact_session")
builder.add_edge("compact_session", "start_turn")
builder.add_edge("start_turn", "recall")
builder.add_edge("recall", "reply")
builder.add_edge("reply", "remember")
builder.add_edge("remember", END)

graph = builder.compile()
graph.name = "agent_chat"
