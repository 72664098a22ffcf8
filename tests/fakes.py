"""The test doubles shared by the unit tests: one deterministic embedder, one scripted chat model.

Unit tests never touch the network or the real models; integration tests use the real ones.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

_WORD = re.compile(r"[a-z0-9]+")


class DeterministicEmbeddings(Embeddings):
    """Hashed bag of words (plus character trigrams), L2-normalised.

    Texts that share words get similar vectors, so similarity search behaves sensibly in
    tests, and the same text always gets the same vector.
    """

    def __init__(self, dims: int = 64, model_name: str = "test-hash-embeddings") -> None:
        self.dims = dims
        self.model_name = model_name
        self.embedded_texts: list[str] = []
        """Every text embedded, in order: tests count how often the hot path embeds."""

    def _bucket(self, token: str) -> tuple[int, float]:
        digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dims, 1.0 if (value >> 32) & 1 else -1.0

    def _embed(self, text: str) -> list[float]:
        self.embedded_texts.append(text)
        vector = np.zeros(self.dims, dtype=np.float64)
        words = _WORD.findall(text.lower())
        for word in words:
            index, sign = self._bucket(word)
            vector[index] += sign
            padded = f"#{word}#"
            for i in range(len(padded) - 2):
                index, sign = self._bucket(padded[i : i + 3])
                vector[index] += 0.25 * sign
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            vector[0] = 1.0
            norm = 1.0
        return (vector / norm).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


class ScriptedChatModel(BaseChatModel):
    """Replies from a script: a list of strings/AIMessages taken in order, or a function.

    Records every prompt it receives in `calls`; `bind_tools` records the tools and returns
    the same model, so code that binds tools runs unchanged.
    """

    script: list[str | AIMessage] | Callable[[list[BaseMessage]], str | AIMessage]
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[Any] = Field(default_factory=list)
    routes: bool = True
    """False plays a model the coordinator does not ask to route (every packaged GGUF)."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> ChatResult:
        self.calls.append(list(messages))
        if callable(self.script):
            reply = self.script(messages)
        else:
            if not self.script:
                raise RuntimeError("ScriptedChatModel ran out of scripted replies")
            reply = self.script.pop(0)
        message = reply if isinstance(reply, AIMessage) else AIMessage(reply)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        self.bound_tools = list(tools)
        return self
