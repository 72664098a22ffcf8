"""Shared fixtures, and the guard that keeps real models out of unit tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from memory.store import FaissStore
from tests.fakes import DeterministicEmbeddings
from tests.pg import pg_database_url, pg_url  # noqa: F401  (shared fixtures)
from tests.store_backends import memory_index


@pytest.fixture
def embeddings() -> DeterministicEmbeddings:
    return DeterministicEmbeddings()


@pytest.fixture(params=["inmemory", "faiss"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseStore]:
    """The memory-layer tests' store, on LangGraph's reference store and on ours (a test
    module may define its own `store` instead)."""
    if request.param == "inmemory":
        yield InMemoryStore(index=memory_index())  # type: ignore[arg-type]
    else:
        with FaissStore(tmp_path / "store", index=memory_index()) as faiss_store:  # type: ignore[arg-type]
            yield faiss_store


_REAL_MODELS_ALLOWED = {"now": False}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture of a test (module-scoped ones too): may it load real models?"""
    _REAL_MODELS_ALLOWED["now"] = item.get_closest_marker("integration") is not None


@pytest.fixture(scope="session", autouse=True)
def no_real_models_in_unit_tests() -> Iterator[None]:
    """A unit test (or a fixture it uses) that loads the embedded chat model or the ONNX
    embedder fails here. Unit tests use tests/fakes.py; the real models belong to tests
    marked integration.
    """
    from memory import embeddings, llama

    def refuse(what: str) -> NoReturn:
        pytest.fail(
            f"a unit test loaded the real {what}: use tests/fakes.py or mark it integration"
        )

    load_llama = llama._load_llama
    create_runtime = embeddings.MiniLMEmbeddings._create_runtime

    def guarded_load_llama(*args: object, **kwargs: object) -> object:
        blocked = sys.modules.get("llama_cpp", True) is None  # import blocked: nothing loads
        if _REAL_MODELS_ALLOWED["now"] or blocked:
            return load_llama(*args, **kwargs)  # type: ignore[arg-type]
        refuse("embedded chat model")

    def guarded_runtime(self: embeddings.MiniLMEmbeddings) -> object:
        if _REAL_MODELS_ALLOWED["now"]:
            return create_runtime(self)
        refuse("MiniLM embedder")

    guarded_load_llama.cache_clear = load_llama.cache_clear  # type: ignore[attr-defined]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(llama, "_load_llama", guarded_load_llama)
        patch.setattr(embeddings.MiniLMEmbeddings, "_create_runtime", guarded_runtime)
        yield
