"""A team's graphs wired to durable storage: what the CLI, the demo and Python users open.

``open_team_app(data_dir)`` gives the team graph and the chat graph compiled with the
FAISS store and the SQLite checkpointer in ``data_dir`` (or PostgreSQL by URL), so
threads and memories persist across restarts, and one ``Services`` object (chat model,
router embedder, the team's tools over their data in ``data_dir``) bound to both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from graphs.team import build_chat, build_team
from memory.backends import open_checkpointer, open_store
from memory.bridge import A2ALog
from memory.embeddings import embedding_model_name, make_embeddings, memory_index
from memory.manager import MemoryManager
from nodes.services import Services
from nodes.team import TeamSpec
from teams.support.team import SUPPORT_TEAM


@dataclass
class TeamApp:
    team_graph: CompiledStateGraph[Any, Any, Any, Any]
    chat_graph: CompiledStateGraph[Any, Any, Any, Any]
    store: BaseStore
    data_dir: Path
    services: Services
    spec: TeamSpec = SUPPORT_TEAM
    team: str = SUPPORT_TEAM.name
    """The memory team (namespaces ("team", team, ...)); runs pass it on their context."""

    @property
    def log(self) -> A2ALog:
        return A2ALog(self.store, self.team)

    def manager(self, agent: str) -> MemoryManager:
        return MemoryManager(self.store, team=self.team, agent=agent)


@contextmanager
def open_team_app(
    data_dir: str | Path,
    *,
    embeddings: Embeddings | None = None,
    store_url: str | None = None,
    spec: TeamSpec = SUPPORT_TEAM,
    team: str | None = None,
    chat_model: BaseChatModel | None = None,
) -> Iterator[TeamApp]:
    """`spec`'s graphs, compiled with the durable store and checkpointer; closed on exit.

    `team` names the memory team (default: the declaration's name); `chat_model` (any
    LangChain chat model) is used for every run instead of each run's `llm` choice.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    embeddings = embeddings or make_embeddings()
    services = Services(data_dir=data_dir, chat_model=chat_model, embeddings=embeddings)
    location = store_url or data_dir
    index = memory_index(embeddings)
    with (
        open_store(
            location, index=index, embedding_model=embedding_model_name(embeddings)
        ) as store,
        open_checkpointer(location) as saver,
    ):
        yield TeamApp(
            team_graph=_sync_durable(
                build_team(spec, services).compile(store=store, checkpointer=saver)
            ),
            chat_graph=_sync_durable(
                build_chat(spec, services).compile(store=store, checkpointer=saver)
            ),
            store=store,
            data_dir=data_dir,
            services=services,
            spec=spec,
            team=team or spec.name,
        )


def _sync_durable(
    graph: CompiledStateGraph[Any, Any, Any, Any],
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """`graph` writing each step's checkpoint before the next step starts (LangGraph's
    default writes it in the background): a forget asked in conversation rewrites the
    thread's history from inside a step, and a checkpoint still being written then would
    land afterwards with the forgotten text. Runs call the graph without `durability`."""
    from langgraph._internal._constants import CONF, CONFIG_KEY_DURABILITY

    return graph.with_config({CONF: {CONFIG_KEY_DURABILITY: "sync"}})
