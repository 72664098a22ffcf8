"""The conftest guard: a unit test cannot load a real model by accident."""

from __future__ import annotations

import pytest

from memory.embeddings import MiniLMEmbeddings
from memory.llm import make_chat_model


def test_loading_the_embedder_fails_a_unit_test() -> None:
    with pytest.raises(pytest.fail.Exception, match="MiniLM embedder"):
        MiniLMEmbeddings().embed_query("hello")


def test_loading_the_embedded_chat_model_fails_a_unit_test() -> None:
    with pytest.raises(pytest.fail.Exception, match="embedded chat model"):
        make_chat_model("embedded").invoke("hello")
