"""Chat with one agent of the support team and its memory.

user message -> compact? -> start turn -> recall -> reply -> remember -> END
The agent (context `agent`) reads the shared memory and its own private memories, and
what the user states is extracted into memory for later threads.
"""

from __future__ import annotations

from graphs.team import build_chat
from teams.support.team import SUPPORT_TEAM

builder = build_chat(SUPPORT_TEAM)
graph = builder.compile()
graph.name = "agent_chat"
