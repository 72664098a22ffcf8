"""The chat model seam: one factory chooses the model.

`make_chat_model` returns Ollama (phi4-mini by default) when a server answers, otherwise
the embedded SmolLM2-135M-Instruct run in-process by llama.cpp (``memory.llama``). The
validated calls each LLM step makes are in ``memory.llm_calls``.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from typing import Literal, cast, get_args

from langchain_core.language_models import BaseChatModel

from memory.llama import EmbeddedChatModel, env_int, make_embedded_chat_model

logger = logging.getLogger(__name__)


LLMKind = Literal["ollama", "embedded", "auto"]

DEFAULT_OLLAMA_URL = "http://localhost:11434"
DEFAULT_OLLAMA_MODEL = "phi4-mini"
DEFAULT_OLLAMA_NUM_CTX = 16_384
"""Always sent: Ollama's own default (2048 or 4096 by version) silently drops the start of
longer prompts. Not phi4-mini's full 128k: its KV cache alone would take 16 GiB
(32 layers x 8 KV heads x 128 dims x 2 x fp16 = 128 KiB a token)."""
KNOWN_CONTEXT_WINDOWS: dict[str, int] = {"phi4-mini": 128_000}
"""Documented context lengths of Ollama models, by name without the tag."""
DEFAULT_CONTEXT_TOKENS = 8192
PROBE_TIMEOUT_S = 0.5


# --- the factory -----------------------------------------------------------------------


def make_chat_model(
    kind: LLMKind | None = None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    num_ctx: int | None = None,
    temperature: float = 0.0,
) -> BaseChatModel:
    """Build the chat model: the only place models are built.

    kind None reads env A2A_LLM (default "auto"). "auto" uses Ollama when a server answers
    at base_url (env OLLAMA_BASE_URL), else the embedded model. For Ollama, `model` is the
    model name (env A2A_OLLAMA_MODEL, default phi4-mini) and num_ctx defaults to env
    A2A_CONTEXT_TOKENS or 16384; for the embedded model, `model` may be the path of another
    GGUF file and num_ctx defaults to the model's trained context length.
    Raises RuntimeError when an explicitly chosen model cannot run.
    """
    chosen = _checked_kind(kind if kind is not None else os.environ.get("A2A_LLM") or "auto")
    url = ollama_base_url(base_url)
    if chosen == "embedded":
        logger.info("chat model: embedded llama.cpp model (chosen explicitly)")
        return make_embedded_chat_model(model, num_ctx=num_ctx, temperature=temperature)
    if ollama_available(url):
        logger.info("chat model: Ollama at %s (kind %s)", url, chosen)
        return make_ollama_chat_model(model, base_url=url, num_ctx=num_ctx, temperature=temperature)
    if chosen == "ollama":
        name = model or os.environ.get("A2A_OLLAMA_MODEL") or DEFAULT_OLLAMA_MODEL
        raise RuntimeError(
            f"Ollama was chosen but no Ollama server answers at {url}/api/tags. Start one "
            f"(`ollama serve`, then `ollama pull {name}`), point OLLAMA_BASE_URL at it, "
            "or set A2A_LLM=auto (or embedded) to use the embedded model."
        )
    logger.info("chat model: no Ollama server at %s, using the embedded llama.cpp model", url)
    return make_embedded_chat_model(None, num_ctx=num_ctx, temperature=temperature)


def _checked_kind(value: str) -> LLMKind:
    kind = value.strip().lower()
    if kind not in get_args(LLMKind):
        raise ValueError(
            f"chat model kind (A2A_LLM) must be ollama, embedded or auto; got {value!r}"
        )
    return cast(LLMKind, kind)


def ollama_base_url(base_url: str | None = None) -> str:
    """base_url, else env OLLAMA_BASE_URL, else http://localhost:11434 (no trailing /)."""
    return (base_url or os.environ.get("OLLAMA_BASE_URL") or DEFAULT_OLLAMA_URL).rstrip("/")


def ollama_available(base_url: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when an Ollama server answers GET /api/tags."""
    try:
        with urllib.request.urlopen(f"{ollama_base_url(base_url)}/api/tags", timeout=timeout) as r:
            return bool(r.status == 200)
    except (OSError, ValueError):  # URLError and timeouts are OSErrors
        return False


def make_ollama_chat_model(
    model: str | None = None,
    *,
    base_url: str | None = None,
    num_ctx: int | None = None,
    temperature: float = 0.0,
) -> BaseChatModel:
    """A ChatOllama; building it does not contact the server."""
    from langchain_ollama import ChatOllama

    name = model or os.environ.get("A2A_OLLAMA_MODEL") or DEFAULT_OLLAMA_MODEL
    window = num_ctx or env_int("A2A_CONTEXT_TOKENS") or DEFAULT_OLLAMA_NUM_CTX
    return ChatOllama(
        model=name, base_url=ollama_base_url(base_url), num_ctx=window, temperature=temperature
    )


# --- what a model can hold, and what to call it ------------------------------------------


def context_window(chat_model: BaseChatModel) -> int:
    """The context budget in tokens: what the model is run with when known (Ollama num_ctx,
    embedded n_ctx), else its documented length, else env A2A_CONTEXT_TOKENS or 8192."""
    if isinstance(chat_model, EmbeddedChatModel):
        return chat_model.n_ctx
    if chat_model._llm_type == "chat-ollama":
        num_ctx = getattr(chat_model, "num_ctx", None)
        if num_ctx:
            return int(num_ctx)
        name = str(getattr(chat_model, "model", "")).split(":")[0]
        if name in KNOWN_CONTEXT_WINDOWS:
            return KNOWN_CONTEXT_WINDOWS[name]
    return env_int("A2A_CONTEXT_TOKENS") or DEFAULT_CONTEXT_TOKENS


def model_label(chat_model: BaseChatModel | None) -> str:
    """A short name for logs and reports, e.g. "ollama:phi4-mini"."""
    if chat_model is None:
        return "none (deterministic fallbacks)"
    if isinstance(chat_model, EmbeddedChatModel):
        return f"embedded:{chat_model.model_name}"
    if chat_model._llm_type == "chat-ollama":
        return f"ollama:{getattr(chat_model, 'model', '?')}"
    return chat_model._llm_type


def supports_tools(model: BaseChatModel | None) -> bool:
    """Whether `model` can call tools (it implements ``bind_tools``): Ollama's chat models
    do, the embedded llama.cpp adapter does not."""
    return model is not None and type(model).bind_tools is not BaseChatModel.bind_tools
