"""Shared fixtures, and the guard that keeps real models out of unit tests."""

from __future__ import annotations

import sys
from typing import NoReturn

import pytest

from tests.fakes import DeterministicEmbeddings
from tests.pg import pg_database_url, pg_url  # noqa: F401  (shared fixtures)


@pytest.fixture
def embeddings() -> DeterministicEmbeddings:
    return DeterministicEmbeddings()


@pytest.fixture(autouse=True)
def no_real_models_in_unit_tests(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit test that loads the embedded chat model or the ONNX embedder fails here.

    Unit tests use tests/fakes.py; the real models belong to tests marked integration.
    """
    if request.node.get_closest_marker("integration") is not None:
        return

    def refuse(what: str) -> NoReturn:
        pytest.fail(
            f"a unit test loaded the real {what}: use tests/fakes.py or mark it integration"
        )

    from memory import embeddings, llm

    load_llama = llm._load_llama

    def guarded_load_llama(*args: object, **kwargs: object) -> object:
        if sys.modules.get("llama_cpp", True) is None:  # the import is blocked: nothing loads
            return load_llama(*args, **kwargs)  # type: ignore[arg-type]
        refuse("embedded chat model")

    guarded_load_llama.cache_clear = load_llama.cache_clear  # type: ignore[attr-defined]
    monkeypatch.setattr(llm, "_load_llama", guarded_load_llama)
    monkeypatch.setattr(
        embeddings.MiniLMEmbeddings, "_create_runtime", lambda self: refuse("MiniLM embedder")
    )
