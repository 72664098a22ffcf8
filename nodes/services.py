"""The seams to outside services of one app or server: chat model, router embedder, tools.

A ``Services`` object is built by whoever runs the graphs (``graphs.app.open_team_app``,
the server's graph modules, a test) and reaches the nodes in one of two ways: bound to
the graph when ``build_team`` / ``build_chat`` builds it (the default), or on a run's
context (``TeamContext(services=...)``), which wins. Everything it builds it builds
lazily, once, and keeps on the instance: no module-level caches.

The memory layer's objects (manager, bridge, log) are not services: they are cheap views
of the run's store, built per call by the helpers at the end of this module.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from memory.bridge import A2ABridge, A2ALog
from memory.manager import MemoryManager
from memory.team import TeamMemory

if TYPE_CHECKING:
    from memory.packaged_models import EmbeddedModelName
    from nodes.context import ChatContext, LLMChoice, TeamContext
    from nodes.team import TeamSpec

logger = logging.getLogger(__name__)

DEFAULT_CONTEXT_TOKENS = 8192


def default_data_dir() -> Path:
    """Where teams keep their tool data: env A2A_MEMORY_DIR, default ``.a2a-memory``."""
    return Path(os.environ.get("A2A_MEMORY_DIR", "").strip() or ".a2a-memory")


class Services:
    """The chat model, router embedder and team tools of one app or server."""

    def __init__(
        self,
        *,
        data_dir: str | Path | None = None,
        chat_model: BaseChatModel | None = None,
        embeddings: Embeddings | None = None,
    ) -> None:
        """`chat_model` (any LangChain chat model) overrides every run's `llm` choice;
        `embeddings` routes requests when the LLM cannot (default: the embedded MiniLM,
        built on first use); tools keep their data under `data_dir`."""
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self._chat_model = chat_model
        self._embeddings = embeddings
        self._models: dict[tuple[str, str | None], BaseChatModel | None] = {}
        self._tools: dict[str, Mapping[str, BaseTool]] = {}
        self._lock = threading.Lock()  # parallel specialists ask at once

    def chat_model(
        self, choice: LLMChoice, embedded: EmbeddedModelName | None = None
    ) -> BaseChatModel | None:
        """The chat model for a run's `llm` choice (and, when it is the embedded one, its
        `embedded` GGUF; None: env A2A_EMBEDDED_MODEL); None when LLM steps use their
        fallbacks."""
        if self._chat_model is not None:
            return self._chat_model
        if choice == "none":
            return None
        key = (choice, embedded)
        with self._lock:
            if key not in self._models:
                self._models[key] = _build_chat_model(choice, embedded)
            return self._models[key]

    def router_embeddings(self) -> Embeddings:
        with self._lock:
            if self._embeddings is None:
                from memory.embeddings import make_embeddings

                self._embeddings = make_embeddings()
            return self._embeddings

    def tools(self, team: TeamSpec) -> Mapping[str, BaseTool]:
        """The team's tools over its data in `data_dir`, built once."""
        with self._lock:
            if team.name not in self._tools:
                self.data_dir.mkdir(parents=True, exist_ok=True)
                self._tools[team.name] = team.toolkit(self.data_dir)
            return self._tools[team.name]


def _build_chat_model(
    choice: LLMChoice, embedded: EmbeddedModelName | None
) -> BaseChatModel | None:
    from memory.llm import make_chat_model

    try:
        return make_chat_model(choice, embedded=embedded)  # type: ignore[arg-type]  # not "none"
    except RuntimeError as exc:
        if choice != "auto":
            raise
        logger.warning("no chat model can run (%s); every LLM step uses its fallback", exc)
        return None


def services_for(ctx: TeamContext | ChatContext, default: Services) -> Services:
    """The run's services: the context's when it carries some, else the graph's."""
    if ctx.services is None:
        return default
    if not isinstance(ctx.services, Services):
        raise TypeError(
            "context.services must be a nodes.services.Services object built in Python; "
            f"got {type(ctx.services).__name__} (a server run cannot set it)"
        )
    return ctx.services


def chat_model(ctx: TeamContext | ChatContext, default: Services) -> BaseChatModel | None:
    return services_for(ctx, default).chat_model(ctx.llm, ctx.embedded_model)


def extraction_model(ctx: TeamContext | ChatContext, default: Services) -> BaseChatModel | None:
    """The chat model for memory extraction, unless its JSON is not worth asking for (an
    embedded model that does not extract, SmolLM2: the rules extract instead)."""
    return _model_that(ctx, default, "extracts")


def routing_model(ctx: TeamContext | ChatContext, default: Services) -> BaseChatModel | None:
    """The chat model the coordinator asks to route, unless its routing is known to be
    worse than the keyword and semantic routers (an embedded model that does not route:
    every packaged one, see memory.packaged_models.PackagedModel.routes)."""
    return _model_that(ctx, default, "routes")


def _model_that(
    ctx: TeamContext | ChatContext, default: Services, capability: Literal["extracts", "routes"]
) -> BaseChatModel | None:
    """The run's chat model, or None when it declares it does the step `capability` names
    worse than the step's fallback (a model that declares nothing is asked)."""
    model = chat_model(ctx, default)
    if model is not None and not getattr(model, capability, True):
        return None
    return model


def context_budget(ctx: TeamContext | ChatContext, default: Services) -> int:
    if ctx.budget_tokens:
        return ctx.budget_tokens
    model = chat_model(ctx, default)
    if model is None:
        return DEFAULT_CONTEXT_TOKENS
    from memory.llm import context_window

    return context_window(model)


def require_store(store: BaseStore | None) -> BaseStore:
    if store is None:
        raise RuntimeError(
            "this graph needs a LangGraph store: compile it with store=... (see graphs/app.py) "
            "or run it on the LangGraph server, which provides one (langgraph.json)"
        )
    return store


def manager(store: BaseStore | None, team: str, agent: str) -> MemoryManager:
    return MemoryManager(require_store(store), team=team, agent=agent, llm=None)


def team_memory(
    store: BaseStore | None, team: str, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> TeamMemory:
    """Every memory namespace of the team (forgetting, thread requests); with the run's
    `checkpointer`, a forget also redacts the conversation transcripts."""
    return TeamMemory(require_store(store), team, checkpointer=checkpointer)


def bridge(store: BaseStore | None, team: str, agents: Collection[str] | None = None) -> A2ABridge:
    """The team's A2A bridge; with `agents`, syncs to or from anyone else are refused."""
    return A2ABridge(require_store(store), team, agents=agents)


def a2a_log(store: BaseStore | None, team: str) -> A2ALog:
    return A2ALog(require_store(store), team)
