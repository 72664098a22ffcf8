"""Memory as tools: search, remember and forget, for any LangChain / LangGraph agent.

``memory_tools(manager, subject=...)`` returns three LangChain tools bound to one agent's
``MemoryManager`` (in the spirit of LangMem's manage/search memory tools, with this
layer's trust rules):

- ``search_memory(query, limit)``: the shared memories and the agent's own, best first,
  with their confidence;
- ``remember(text)``: ``MemoryManager.remember(text, source="agent")``: extracted like
  any statement and stored as the agent's inference (mechanism "inferred", confidence at
  most 0.70). Refused: policies, skills and workflows (they change only through trusted
  sources: staff, the seed, a system of record), and facts about another subject than
  the one the agent works for; with ``given`` (what the agent was told: its task, the
  memories it read, its tools' facts), also a fact that states an id, number, name,
  channel or date, or binds one to words, that none of them states
  (``nodes.grounding``): a guess of the model does not become the team's memory;
- ``forget(memory_id)``: only a memory the agent itself wrote.

Every refusal or bad input comes back as ``{"error": "..."}`` for the model to read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from memory.manager import MemoryManager, searched_subject, shown_to
from memory.models import Scope
from memory.team import TeamMemory


class SearchArgs(BaseModel):
    query: str = Field(min_length=1, description="What to look for, in plain words.")
    limit: int = Field(default=5, ge=1, le=20, description="How many memories at most.")


class RememberArgs(BaseModel):
    text: str = Field(min_length=1, description="The fact to remember, in one sentence.")


class ForgetArgs(BaseModel):
    memory_id: str = Field(min_length=1, description="The memory_id search_memory returned.")


def memory_tools(
    manager: MemoryManager,
    *,
    subject: str | None = None,
    scope: Scope = "shared",
    given: Callable[[], Sequence[str]] | None = None,
) -> list[BaseTool]:
    """search_memory, remember and forget for `manager`'s agent.

    `subject` ("customer:12345") is who the agent works for: search shows their facts and
    general knowledge only, first-person facts are theirs, facts about another subject of
    the same kind are refused, and only their memories (or general ones) may be forgotten;
    None: anyone's (staff). `scope` is where what it remembers goes. `given` returns what
    the agent was told so far; `remember` refuses what it does not state.
    """

    owner = searched_subject(subject)

    def search_memory(query: str, limit: int = 5) -> dict[str, Any]:
        """Search the team's shared memory and your own for facts, events and procedures."""
        hits = manager.search(query, limit=limit, subject=subject)
        return {
            "memories": [
                {
                    "memory_id": hit.memory.memory_id,
                    "content": hit.memory.content,
                    "type": hit.memory.type,
                    "confidence": round(hit.memory.confidence, 2),
                }
                for hit in hits
            ],
            "facts": [hit.memory.content for hit in hits],
        }

    def remember(text: str) -> dict[str, Any]:
        """Remember a fact you learned for later conversations (about the person you help,
        an order, or an event). Policies and procedures cannot be changed this way."""
        if given is not None and (problems := _unstated(text, given())):
            return {"error": f"not remembered: nothing you were told states it ({problems})"}
        try:
            results = manager.remember(text, subject=subject, source="agent", scope=scope)
        except ValueError as error:
            return {"error": str(error)}
        return {
            "stored": [
                {"memory_id": r.memory.memory_id, "action": r.action, "content": r.memory.content}
                for r in results
            ]
        }

    def forget(memory_id: str) -> dict[str, Any]:
        """Forget a memory you wrote yourself (by its memory_id)."""
        memory = manager.get(memory_id)
        if memory is None or not shown_to(memory, owner):
            return {"error": f"no memory {memory_id!r} that you can read"}
        if memory.provenance.source_agent != manager.agent:
            return {
                "error": f"memory {memory_id!r} was written by "
                f"{memory.provenance.source_agent!r}; you can only forget your own"
            }
        # Forgotten everywhere: the copies synced from it and the values it superseded too.
        TeamMemory(manager.store, manager.team).forget(
            memory_id, agent=manager.agent, requested_by=manager.agent
        )
        return {"forgotten": memory_id}

    return [
        StructuredTool.from_function(search_memory, args_schema=SearchArgs),
        StructuredTool.from_function(remember, args_schema=RememberArgs),
        StructuredTool.from_function(forget, args_schema=ForgetArgs),
    ]


def _unstated(text: str, sources: Sequence[str]) -> str:
    """What `text` states that `sources` do not (empty when grounded), for the model."""
    from nodes.grounding import check  # pure text checks, shared with every shown text

    return "; ".join(check(text, sources, "", keep=False).problems)
