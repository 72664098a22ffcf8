"""The store and checkpointer of the LangGraph server, named by ``langgraph.json``::

    "store": {"path": "./graphs/server.py:make_store"},
    "checkpointer": {"path": "./graphs/server.py:make_checkpointer"}

The server (langgraph-api) calls each zero-argument factory once at startup and enters the
async context manager it returns, on its event loop; it exits it at shutdown. Both follow
one memory location, as ``graphs/app.py`` does for Python callers:

- env ``A2A_STORE_URL`` (a ``postgresql://`` URL): LangGraph's AsyncPostgresStore (pgvector)
  and AsyncPostgresSaver, so several servers and processes share one memory;
- otherwise the data directory of env ``A2A_MEMORY_DIR`` (default ``.a2a-memory``, relative
  to the directory the server runs in): the FaissStore in ``<dir>/store/`` and the SQLite
  checkpointer in ``<dir>/checkpoints.sqlite``.

The store indexes memories as ``open_team_app`` does (``memory.embeddings.memory_index``: their
``content`` field), with the embedder of ``memory.embeddings.make_embeddings()``: the
embedded MiniLM (384 dims) unless env ``A2A_EMBEDDINGS`` chooses Ollama. So the server and
the Python app can open the same data directory.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

from memory.backends import aopen_checkpointer, aopen_store, parse_url_location

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.store.base import BaseStore, IndexConfig

ENV_MEMORY_DIR: Final = "A2A_MEMORY_DIR"
ENV_STORE_URL: Final = "A2A_STORE_URL"
DEFAULT_MEMORY_DIR: Final = ".a2a-memory"


def memory_location(environ: Mapping[str, str] | None = None) -> str:
    """Where the server's memory lives: ``A2A_STORE_URL`` if set, else ``A2A_MEMORY_DIR``.

    A set but empty variable counts as unset. ``A2A_STORE_URL`` must be a PostgreSQL URL
    (a data directory belongs in ``A2A_MEMORY_DIR``): anything else is a ValueError.
    """
    env = os.environ if environ is None else environ
    url = env.get(ENV_STORE_URL, "").strip()
    if url:
        try:
            parse_url_location(url)
        except ValueError as exc:
            raise ValueError(
                f"{ENV_STORE_URL}: {exc}; set {ENV_MEMORY_DIR} for a local data directory"
            ) from None
        return url
    return env.get(ENV_MEMORY_DIR, "").strip() or DEFAULT_MEMORY_DIR


def _open_args() -> tuple[IndexConfig, str]:
    """The store's index (the app's, see graphs/app.py) and the embedding model it records."""
    from memory.embeddings import embedding_model_name, make_embeddings, memory_index

    embeddings = make_embeddings()
    return memory_index(embeddings), embedding_model_name(embeddings)


@asynccontextmanager
async def make_store() -> AsyncIterator[BaseStore]:
    """The server's long-term memory store (``langgraph.json`` "store.path")."""
    location = memory_location()
    # Building the embedder may probe an Ollama server for its dimension: off the loop.
    index, model = await asyncio.to_thread(_open_args)
    async with aopen_store(location, index=index, embedding_model=model) as store:
        yield store


@asynccontextmanager
async def make_checkpointer() -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """The server's per-thread checkpointer (``langgraph.json`` "checkpointer.path")."""
    async with aopen_checkpointer(memory_location()) as saver:
        yield saver
