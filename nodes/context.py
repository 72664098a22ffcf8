"""Run configuration of the graphs, read by nodes through `Runtime[...]` (context_schema).

Every field but ``services`` is plain JSON, so LangGraph Studio renders the context as a
form (``/assistants/{id}/schemas`` returns its JSON schema). ``services`` (a chat model
object, an embedder, tools) is for Python callers and tests; it is left out of the schema
and, when unset, the services the graph was built with are used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import ConfigDict
from pydantic.json_schema import SkipJsonSchema

from memory.models import SourceRole
from memory.packaged_models import EmbeddedModelName, embedded_model_name
from memory.sessions import Strategy
from nodes.services import Services

LLMChoice = Literal["auto", "ollama", "embedded", "none"]


def default_llm() -> LLMChoice:
    value = os.environ.get("A2A_LLM", "auto")
    if value not in ("auto", "ollama", "embedded", "none"):
        raise ValueError(f"A2A_LLM must be auto, ollama, embedded or none; got {value!r}")
    return value  # type: ignore[return-value]


def default_embedded_model() -> EmbeddedModelName:
    return embedded_model_name()


@dataclass
class TeamContext:
    """Configuration of one run of a team graph."""

    __pydantic_config__ = ConfigDict(arbitrary_types_allowed=True)

    team: str | None = None
    """The team whose memory is used (namespaces ("team", team, ...)); default: the graph's
    team (e.g. "support")."""
    customer_id: str | None = None
    """Who the request is about (a customer; for other teams their subject, e.g. an
    employee), when the channel knows it."""
    speaker_role: SourceRole = "customer"
    """Who writes the user turns: the customer (memory/trust.py decides what of it is kept)."""
    llm: LLMChoice = field(default_factory=default_llm)
    """Which chat model: Ollama, the embedded GGUF, auto (Ollama if it answers), or
    none (every LLM step takes its deterministic fallback)."""
    embedded_model: EmbeddedModelName = field(default_factory=default_embedded_model)
    """Which embedded GGUF (when the embedded model runs): env A2A_EMBEDDED_MODEL."""
    compaction: Strategy = "summarize"
    budget_tokens: int | None = None
    """Context budget of a thread; default: the chat model's context window."""
    services: Annotated[Services | None, SkipJsonSchema()] = None
    """Python callers and tests: the chat model, embedder and tools for this run."""


@dataclass
class ChatContext:
    """Configuration of a chat with one agent."""

    __pydantic_config__ = ConfigDict(arbitrary_types_allowed=True)

    agent: str = "alex"
    """Which agent of the team you talk to."""
    team: str | None = None
    customer_id: str | None = None
    """The customer in the chat, when known; else the thread's anonymous user."""
    speaker_role: SourceRole = "staff"
    """Who is typing. The chat graph is the team's console (Studio, the CLI's chat, the A2A
    endpoint): staff, whose statements about customers and policies are trusted and who
    sees every customer's facts. A channel that puts a customer here says "customer":
    then only their own facts are kept and shown (memory/trust.py)."""
    llm: LLMChoice = field(default_factory=default_llm)
    embedded_model: EmbeddedModelName = field(default_factory=default_embedded_model)
    compaction: Strategy = "summarize"
    budget_tokens: int | None = None
    services: Annotated[Services | None, SkipJsonSchema()] = None
