"""The validated LLM calls every LLM step goes through: structured and text.

``structured_call`` and ``text_call`` wrap each step (routing, synthesis, findings, chat
replies, extraction, summaries, A-MEM notes): they validate the reply and return None
instead of raising, logging "<step>: LLM output invalid (<reason>), using fallback", so
the caller runs its deterministic fallback; a small local model never breaks the workflow.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError

from memory.llama import JSON_REPEAT_PENALTY, EmbeddedChatModel

logger = logging.getLogger(__name__)


BaseModelT = TypeVar("BaseModelT", bound=BaseModel)

DEFAULT_MAX_CHARS = 4000
MIN_REPLY_WORDS = 3
"""Every text step here wants sentences; fewer words is a failed generation."""


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
