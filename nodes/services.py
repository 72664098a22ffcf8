"""The seams to outside services, built once per process: chat model, desk, embedder.

Nodes ask here instead of building services themselves, so tests swap them through the
context (`chat_model=`) or the store they compile with; nothing lives in module globals
except these caches of expensive, stateless-to-share objects.
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langgraph.store.base import BaseStore

from memory.bridge import A2ABridge, A2ALog
from memory.manager import MemoryManager
from nodes.context import ChatContext, LLMChoice, TeamContext
from nodes.support_desk import SupportDesk

logger = logging.getLogger(__name__)

DEFAULT_CONTEXT_TOKENS = 8192


@functools.lru_cache(maxsize=4)
def _chat_model(kind: LLMChoice) -> BaseChatModel | None:
    if kind == "none":
        return None
    from memory.llm import make_chat_model

    try:
        return make_chat_model(kind)
    except RuntimeError as exc:
        if kind != "auto":
            raise
        logger.warning("no chat model can run (%s); every LLM step uses its fallback", exc)
        return None


def chat_model(ctx: TeamContext | ChatContext) -> BaseChatModel | None:
    """The context's chat model, or None when LLM steps must use their fallbacks."""
    return ctx.chat_model if ctx.chat_model is not None else _chat_model(ctx.llm)


def extraction_model(ctx: TeamContext | ChatContext) -> BaseChatModel | None:
    """The chat model for memory extraction: not the tiny embedded one.

    SmolLM2-135M returned no usable extraction JSON on the labeled set (12 of 12) nor on
    LoCoMo turns (6 of 6), so with it extraction goes straight to the rules.
    """
    model = chat_model(ctx)
    if model is not None and getattr(model, "model_path", None):
        return None
    return model


def context_budget(ctx: TeamContext | ChatContext) -> int:
    if ctx.budget_tokens:
        return ctx.budget_tokens
    model = chat_model(ctx)
    if model is None:
        return DEFAULT_CONTEXT_TOKENS
    from memory.llm import context_window

    return context_window(model)


_DESK_LOCK = threading.Lock()


@functools.lru_cache(maxsize=8)
def _open_desk(path: str) -> SupportDesk:
    return SupportDesk(path)


def desk_at(path: str) -> SupportDesk:
    # Parallel specialists ask at once; lru_cache alone would let both open (and seed)
    # the same file concurrently.
    with _DESK_LOCK:
        return _open_desk(path)


def desk(ctx: TeamContext) -> SupportDesk:
    return desk_at(str(Path(ctx.data_dir) / "desk.sqlite"))


def require_store(store: BaseStore | None) -> BaseStore:
    if store is None:
        raise RuntimeError(
            "this graph needs a LangGraph store: compile it with store=... (see graphs/app.py) "
            "or run it on the LangGraph server, which provides one (langgraph.json)"
        )
    return store


def manager(store: BaseStore | None, ctx: TeamContext | ChatContext, agent: str) -> MemoryManager:
    return MemoryManager(require_store(store), team=ctx.team, agent=agent, llm=None)


def bridge(store: BaseStore | None, ctx: TeamContext | ChatContext) -> A2ABridge:
    return A2ABridge(require_store(store), ctx.team)


def a2a_log(store: BaseStore | None, ctx: TeamContext | ChatContext) -> A2ALog:
    return A2ALog(require_store(store), ctx.team)


@functools.lru_cache(maxsize=2)
def router_embeddings() -> Embeddings:
    from memory.embeddings import make_embeddings

    return make_embeddings()
