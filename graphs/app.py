"""The team's graphs wired to durable storage: what the CLI, the demo and Python users open.

``open_team_app(data_dir)`` gives both graphs compiled with the FAISS store and the
SQLite checkpointer in ``data_dir`` (or PostgreSQL by URL), so threads and memories
persist across restarts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from graphs import agent_chat, support_team
from memory.backends import open_checkpointer, open_store
from memory.bridge import A2ALog
from memory.embeddings import embedding_model_name, make_embeddings, memory_index
from memory.manager import MemoryManager
from nodes.support_desk import SupportDesk


@dataclass
class TeamApp:
    team_graph: CompiledStateGraph[Any, Any, Any, Any]
    chat_graph: CompiledStateGraph[Any, Any, Any, Any]
    store: BaseStore
    data_dir: Path
    team: str = "support"

    @property
    def log(self) -> A2ALog:
        return A2ALog(self.store, self.team)

    def manager(self, agent: str) -> MemoryManager:
        return MemoryManager(self.store, team=self.team, agent=agent)

    @property
    def desk(self) -> SupportDesk:
        from nodes.services import desk_at

        return desk_at(str(self.data_dir / "desk.sqlite"))


@contextmanager
def open_team_app(
    data_dir: str | Path,
    *,
    embeddings: Embeddings | None = None,
    store_url: str | None = None,
    team: str = "support",
) -> Iterator[TeamApp]:
    """Both graphs, compiled with the durable store and checkpointer; closed on exit."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    embeddings = embeddings or make_embeddings()
    location = store_url or data_dir
    index = memory_index(embeddings)
    with (
        open_store(
            location, index=index, embedding_model=embedding_model_name(embeddings)
        ) as store,
        open_checkpointer(location) as saver,
    ):
        yield TeamApp(
            team_graph=support_team.builder.compile(store=store, checkpointer=saver),
            chat_graph=agent_chat.builder.compile(store=store, checkpointer=saver),
            store=store,
            data_dir=data_dir,
            team=team,
        )
