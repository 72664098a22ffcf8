"""The embedded chat model: a GGUF run in-process by llama.cpp (llama-cpp-python).

``make_embedded_chat_model`` loads one of the GGUFs PyPI packages ship (chosen by name,
env ``A2A_EMBEDDED_MODEL``; see ``memory.packaged_models``) or another GGUF by path, once
per process; ``EmbeddedChatModel`` is its LangChain chat model, replying with the GGUF's own
chat template. ``memory.llm.make_chat_model`` chooses between it and Ollama.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from memory.packaged_models import (
    EMBEDDED_MODEL_NAMES,
    PACKAGED_MODELS,
    PackagedModel,
    PackagedModelError,
    embedded_model_name,
    packaged_model_path,
)

logger = logging.getLogger(__name__)

EMBEDDED_MAX_TOKENS = 512
JSON_REPEAT_PENALTY = 1.3
"""Under a JSON grammar SmolLM2 otherwise loops inside arrays until max_tokens (measured on
three routing prompts: 0/3 schema-valid replies at 1.0, 3/3 at 1.3)."""
DEFAULT_THREADS = 2
EMBEDDED_CONTEXT_TOKENS = 8192
"""The context the embedded model runs with unless told otherwise (num_ctx, env
A2A_CONTEXT_TOKENS): SmolLM2's trained length; Qwen2.5's 32k would hold a 0.9 GiB KV cache
(1.5B: 28 layers x 2 KV heads x 128 dims x K and V x fp16 = 28 KiB a token) for prompts
that stay far shorter."""


def make_embedded_chat_model(
    model: str | None = None,
    *,
    num_ctx: int | None = None,
    temperature: float = 0.0,
) -> EmbeddedChatModel:
    """The embedded GGUF model; the weights load once per process (path, n_ctx, threads).

    `model` is a packaged model's name (smollm2, qwen-0.5b, qwen-1.5b) or the path of a
    GGUF file; None reads env A2A_EMBEDDED_MODEL (default smollm2).
    RuntimeError (PackagedModelError) names the package to install when it is missing.
    """
    path, label, packaged = _resolve(model)
    threads = env_int("A2A_LLM_THREADS") or DEFAULT_THREADS
    started = time.perf_counter()
    window = num_ctx or env_int("A2A_CONTEXT_TOKENS") or EMBEDDED_CONTEXT_TOKENS
    loaded = _load_llama(str(path), window, threads)
    chat = EmbeddedChatModel(
        model_path=str(path),
        model_name=label,
        n_ctx=loaded.llama.n_ctx(),
        temperature=temperature,
        extracts=packaged is not None and packaged.extracts,
        routes=packaged is not None and packaged.routes,
    )
    chat._loaded = loaded
    logger.info(
        "embedded model %s ready (n_ctx=%d, threads=%d) in %.2fs",
        chat.model_name,
        chat.n_ctx,
        threads,
        time.perf_counter() - started,
    )
    return chat


def _resolve(model: str | None) -> tuple[Path, str, PackagedModel | None]:
    """(GGUF path, label, its packaged entry: None for a file) of a packaged model's name
    or a file path."""
    if model is None or model.strip().lower() in EMBEDDED_MODEL_NAMES:
        name = embedded_model_name(model)
        packaged = PACKAGED_MODELS[name]
        return packaged_model_path(name), packaged.label, packaged
    path = Path(model)
    if not path.is_file():
        raise PackagedModelError(
            f"embedded model file {path} does not exist (a packaged model is one of "
            f"{', '.join(EMBEDDED_MODEL_NAMES)})"
        )
    return path, path.name.removesuffix(".gguf"), None


def embedded_model_path(model: str | None = None) -> Path:
    """The GGUF file `make_embedded_chat_model(model)` would load, without loading it."""
    return _resolve(model)[0]


@dataclass(frozen=True)
class _LoadedLlama:
    llama: Any
    lock: threading.Lock
    """llama.cpp contexts are not thread-safe; LangGraph runs parallel branches in threads."""


@functools.lru_cache(maxsize=2)
def _load_llama(model_path: str, n_ctx: int, n_threads: int) -> _LoadedLlama:
    # Spinning OpenMP threads collapse throughput on a shared machine (measured: 2 threads
    # fell from ~20 to 1-8 tokens/s under load); the setting only takes effect when set
    # before llama.cpp's OpenMP runtime starts, hence here, before the import.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        from llama_cpp import Llama
    except ImportError as error:
        raise RuntimeError(
            "the embedded model needs llama-cpp-python (pip install llama-cpp-python; it "
            "compiles llama.cpp), or set A2A_LLM=ollama with an Ollama server"
        ) from error
    llama = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
    # Freed before interpreter teardown: llama.cpp's finalizer otherwise runs after its
    # C bindings are gone and prints a TypeError traceback at every exit.
    atexit.register(llama.close)
    return _LoadedLlama(llama=llama, lock=threading.Lock())


def env_int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be a positive integer")
    return value


# --- the embedded model ----------------------------------------------------------------


class EmbeddedChatModel(BaseChatModel):
    """A GGUF chat model run in-process by llama-cpp-python, with the GGUF's chat template.

    Built by `make_embedded_chat_model`, which shares one loaded model per process. Call
    options: max_tokens, temperature, repeat_penalty, and response_format (llama.cpp's
    JSON-schema grammar).
    """

    model_path: str
    model_name: str
    n_ctx: int
    temperature: float = 0.0
    max_tokens: int = EMBEDDED_MAX_TOKENS
    repeat_penalty: float = 1.1
    extracts: bool = False
    """Whether memory extraction asks this model instead of the rules (see
    memory.packaged_models.PackagedModel.extracts)."""
    routes: bool = False
    """Whether the coordinator asks this model to route a request (see
    memory.packaged_models.PackagedModel.routes); a GGUF file of the user's is not asked,
    like the packaged ones, until measured."""
    _loaded: _LoadedLlama | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "embedded-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "n_ctx": self.n_ctx}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._loaded is None:
            raise RuntimeError("EmbeddedChatModel must be built by make_embedded_chat_model")
        params: dict[str, Any] = {
            "temperature": kwargs.get("temperature", self.temperature),
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "repeat_penalty": kwargs.get("repeat_penalty", self.repeat_penalty),
            "stop": stop or [],
            "response_format": kwargs.get("response_format"),
        }
        with self._loaded.lock:
            response = self._loaded.llama.create_chat_completion(
                messages=to_llama_messages(messages), **params
            )
        choice = response["choices"][0]
        usage = response.get("usage", {})
        message = AIMessage(
            content=choice["message"]["content"] or "",
            response_metadata={
                "model_name": self.model_name,
                "finish_reason": choice.get("finish_reason"),
            },
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


_ROLES: dict[str, str] = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


def to_llama_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """Messages as llama.cpp role/content dicts. Tool calls and results become plain text:
    the chat templates of small GGUF models know only text turns."""
    converted = []
    for message in messages:
        content = str(message.text)
        if isinstance(message, AIMessage) and message.tool_calls:
            calls = [{"tool": call["name"], "args": call["args"]} for call in message.tool_calls]
            content = f"{content}\nTool calls: {json.dumps(calls)}".strip()
        if isinstance(message, ToolMessage):
            content = f"Result of {message.name or 'the tool'}: {content}"
        converted.append({"role": _ROLES.get(message.type, "user"), "content": content})
    return converted
