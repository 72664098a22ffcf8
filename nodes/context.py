"""Run configuration of the graphs, read by nodes through `Runtime[...]` (context_schema)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from langchain_core.language_models import BaseChatModel

from memory.sessions import Strategy

LLMChoice = Literal["auto", "ollama", "embedded", "none"]


def default_data_dir() -> str:
    return os.environ.get("A2A_MEMORY_DIR", ".a2a-memory")


def default_llm() -> LLMChoice:
    value = os.environ.get("A2A_LLM", "auto")
    if value not in ("auto", "ollama", "embedded", "none"):
        raise ValueError(f"A2A_LLM must be auto, ollama, embedded or none; got {value!r}")
    return value  # type: ignore[return-value]


@dataclass
class TeamContext:
    """Configuration of one run of the support team graph."""

    team: str = "support"
    """The team whose memory is used (namespaces ("team", team, ...))."""
    customer_id: str | None = None
    """The customer the conversation is about, when the channel knows it."""
    llm: LLMChoice = field(default_factory=default_llm)
    """Which chat model: Ollama, the embedded GGUF, auto (Ollama if it answers), or
    none (every LLM step takes its deterministic fallback)."""
    chat_model: BaseChatModel | None = None
    """A ready chat model (Python callers, tests); overrides `llm`."""
    data_dir: str = field(default_factory=default_data_dir)
    """Where the demo support desk lives (the store and checkpointer come from the runtime)."""
    compaction: Strategy = "summarize"
    budget_tokens: int | None = None
    """Context budget of a thread; default: the chat model's context window."""


@dataclass
class ChatContext:
    """Configuration of a chat with one agent."""

    agent: str = "alex"
    team: str = "support"
    llm: LLMChoice = field(default_factory=default_llm)
    chat_model: BaseChatModel | None = None
    data_dir: str = field(default_factory=default_data_dir)
    compaction: Strategy = "summarize"
    budget_tokens: int | None = None
