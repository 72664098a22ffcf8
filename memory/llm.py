"""The chat model seam: one factory chooses the model.

`make_chat_model` returns Ollama (phi4-mini by default) when a server answers, otherwise
an embedded GGUF run in-process by llama.cpp (``memory.llama``; which one: env
A2A_EMBEDDED_MODEL, ``memory.packaged_models``). The validated calls each LLM step makes
are in ``memory.llm_calls``.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Sequence
from typing import Literal, cast, get_args

from langchain_core.language_models import BaseChatModel

from memory.llama import EmbeddedChatModel, env_int, make_embedded_chat_model

logger = logging.getLogger(__name__)
notice_log = logging.getLogger("memory.notice")
"""Choices an operator must know about (a model missing): shown by the CLI without -v."""


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
    embedded: str | None = None,
) -> BaseChatModel:
    """Build the chat model: the only place models are built.

    kind None reads env A2A_LLM (default "auto"). "auto" uses Ollama when a server answers
    at base_url (env OLLAMA_BASE_URL), else the embedded model. For Ollama, `model` is the
    model name (env A2A_OLLAMA_MODEL, default phi4-mini) and num_ctx defaults to env
    A2A_CONTEXT_TOKENS or 16384. The embedded model is `embedded` (a packaged model's name,
    smollm2, qwen-0.5b or qwen-1.5b, or a GGUF path; default env A2A_EMBEDDED_MODEL, else
    smollm2); for kind "embedded", `model` may name it too.
    Raises RuntimeError when an explicitly chosen model cannot run.
    """
    chosen = _checked_kind(kind if kind is not None else os.environ.get("A2A_LLM") or "auto")
    url = ollama_base_url(base_url)
    if chosen == "embedded":
        logger.info("chat model: embedded llama.cpp model (chosen explicitly)")
        return make_embedded_chat_model(embedded or model, num_ctx=num_ctx, temperature=temperature)
    name = model or os.environ.get("A2A_OLLAMA_MODEL") or DEFAULT_OLLAMA_MODEL
    pulled = ollama_models(url)
    if pulled is not None and _is_pulled(name, pulled):
        logger.info("chat model: Ollama at %s, model %s (kind %s)", url, name, chosen)
        return make_ollama_chat_model(name, base_url=url, num_ctx=num_ctx, temperature=temperature)
    if pulled is not None:
        problem = (
            f"the Ollama server at {url} has no model {name!r} "
            f"(it has: {', '.join(pulled) or 'none'}); run `ollama pull {name}`"
        )
        if chosen == "ollama":
            raise ChatModelUnavailableError(
                f"Ollama was chosen but {problem}, or set A2A_OLLAMA_MODEL to a model it has"
            )
        notice_log.warning("%s; using the embedded llama.cpp model instead", problem)
        return make_embedded_chat_model(embedded, num_ctx=num_ctx, temperature=temperature)
    if chosen == "ollama":
        raise ChatModelUnavailableError(
            f"Ollama was chosen but no Ollama server answers at {url}/api/tags. Start one "
            f"(`ollama serve`, then `ollama pull {name}`), point OLLAMA_BASE_URL at it, "
            "or set A2A_LLM=auto (or embedded) to use the embedded model."
        )
    logger.info("chat model: no Ollama server at %s, using the embedded llama.cpp model", url)
    return make_embedded_chat_model(embedded, num_ctx=num_ctx, temperature=temperature)


class ChatModelUnavailableError(RuntimeError):
    """The chosen chat model cannot run here (no server, model not pulled): a configuration
    problem the message explains, not a bug."""


def _is_pulled(name: str, pulled: Sequence[str]) -> bool:
    """`name` ("phi4-mini" or "phi4-mini:latest") is among the server's models."""
    wanted = name if ":" in name else f"{name}:latest"
    return any(model in (wanted, name) for model in pulled)


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
    return ollama_models(base_url, timeout) is not None


def ollama_models(
    base_url: str | None = None, timeout: float = PROBE_TIMEOUT_S
) -> list[str] | None:
    """The model names an Ollama server has pulled (GET /api/tags); None when none answers."""
    try:
        with urllib.request.urlopen(f"{ollama_base_url(base_url)}/api/tags", timeout=timeout) as r:
            if r.status != 200:
                return None
            body = json.loads(r.read() or b"{}")
    except (OSError, ValueError):  # URLError and timeouts are OSErrors; bad JSON ValueError
        return None
    models = body.get("models") if isinstance(body, dict) else None
    if not isinstance(models, list):
        return []
    return [str(m["name"]) for m in models if isinstance(m, dict) and "name" in m]


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
