"""A location string picks the backend: a directory (FaissStore + SQLite checkpoints) or a
PostgreSQL URL (LangGraph's PostgresStore + PostgresSaver), used by a compiled graph.

The Postgres tests run against a real server (tests/pg.py) and are marked integration.
"""

from __future__ import annotations

import asyncio
import hashlib
import operator
from pathlib import Path
from typing import Annotated, Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import IndexConfig, PutOp
from typing_extensions import TypedDict

from memory.backends import (
    BackendUnavailableError,
    aopen_checkpointer,
    aopen_store,
    mask_password,
    open_checkpointer,
    open_store,
    parse_location,
)
from memory.store import StoreConfigError
from tests.fakes import DeterministicEmbeddings
from tests.pg import pg_database_url, pg_url  # noqa: F401  (fixtures)

SHARED = ("team", "acme", "shared")
EMAIL_FACT = "customer 12345 prefers email contact"
SHIPPING_FACT = "order 777 shipped by UPS ground"
UNREACHABLE = "postgresql://alice:s3cret@127.0.0.1:1/memory"


class State(TypedDict, total=False):
    note: str
    """A fact for the `remember` node to write to the shared namespace."""
    query: str
    """What the `recall` node searches the store for."""
    found: list[str]
    """The texts `recall` found, best first."""
    turns: Annotated[int, operator.add]
    """How many times this thread ran: proves the checkpointer kept the thread's state."""


def remember(state: State, runtime: Runtime) -> dict[str, Any]:
    assert runtime.store is not None
    if note := state.get("note"):
        runtime.store.put(SHARED, hashlib.sha1(note.encode()).hexdigest()[:12], {"text": note})
    return {"turns": 1}


def recall(state: State, runtime: Runtime) -> dict[str, Any]:
    assert runtime.store is not None
    if not (query := state.get("query")):
        return {}
    hits = runtime.store.search(SHARED[:2], query=query, limit=3)
    return {"found": [hit.value["text"] for hit in hits]}


async def arecall(state: State, runtime: Runtime) -> dict[str, Any]:
    assert runtime.store is not None
    if not (query := state.get("query")):
        return {}
    hits = await runtime.store.asearch(SHARED[:2], query=query, limit=3)
    return {"found": [hit.value["text"] for hit in hits]}


def build(recall_node: Any = recall) -> StateGraph:
    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_node("recall", recall_node)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "recall")
    builder.add_edge("recall", END)
    return builder


def thread(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id}}


def index_config(dims: int = 64) -> IndexConfig:
    return {"dims": dims, "embed": DeterministicEmbeddings(dims=dims), "fields": ["text"]}


def round_trip(location: str | Path) -> None:
    """Write in one thread, read in another; reopen with new objects and find both again."""
    with open_store(location, index=index_config()) as store, open_checkpointer(location) as cp:
        graph = build().compile(store=store, checkpointer=cp)
        graph.invoke({"note": EMAIL_FACT}, thread("writer"))
        graph.invoke({"note": SHIPPING_FACT}, thread("writer"))
        read = graph.invoke({"query": "how does customer 12345 want contact"}, thread("reader"))
        assert read["found"][0] == EMAIL_FACT
        assert set(read["found"]) == {EMAIL_FACT, SHIPPING_FACT}

    with open_store(location, index=index_config()) as store, open_checkpointer(location) as cp:
        graph = build().compile(store=store, checkpointer=cp)
        kept = graph.get_state(thread("writer")).values
        assert kept["turns"] == 2
        assert kept["note"] == SHIPPING_FACT
        read = graph.invoke({"query": "was order 777 shipped by UPS"}, thread("reader-2"))
        assert read["found"][0] == SHIPPING_FACT


async def around_trip(location: str | Path) -> None:
    """`round_trip` through the async variants, as the LangGraph server runs graphs."""
    async with (
        aopen_store(location, index=index_config()) as store,
        aopen_checkpointer(location) as cp,
    ):
        graph = build(arecall).compile(store=store, checkpointer=cp)
        await graph.ainvoke({"note": EMAIL_FACT}, thread("writer"))
        await graph.ainvoke({"note": SHIPPING_FACT}, thread("writer"))
        read = await graph.ainvoke({"query": "UPS shipping of order 777"}, thread("reader"))
        assert read["found"][0] == SHIPPING_FACT

    async with (
        aopen_store(location, index=index_config()) as store,
        aopen_checkpointer(location) as cp,
    ):
        graph = build(arecall).compile(store=store, checkpointer=cp)
        kept = (await graph.aget_state(thread("writer"))).values
        assert kept["turns"] == 2
        read = await graph.ainvoke({"query": "customer 12345 email contact"}, thread("r2"))
        assert read["found"][0] == EMAIL_FACT


# ---- a directory: FaissStore + SqliteSaver ----------------------------------------------
def test_directory_round_trip_through_a_graph(tmp_path: Path) -> None:
    round_trip(tmp_path / "data")
    assert (tmp_path / "data" / "store" / "store.sqlite").is_file()
    assert (tmp_path / "data" / "checkpoints.sqlite").is_file()


def test_directory_round_trip_async(tmp_path: Path) -> None:
    asyncio.run(around_trip(tmp_path))


def test_directory_refuses_another_embedding_model(tmp_path: Path) -> None:
    with open_store(tmp_path, index=index_config(), embedding_model="model-a") as store:
        store.put(SHARED, "k", {"text": EMAIL_FACT})
    with (
        pytest.raises(StoreConfigError, match="model-a"),
        open_store(tmp_path, index=index_config(), embedding_model="model-b"),
    ):
        pass


# ---- a PostgreSQL URL: PostgresStore + PostgresSaver ------------------------------------
@pytest.mark.integration
def test_postgres_round_trip_through_a_graph(pg_database_url: str) -> None:  # noqa: F811
    round_trip(pg_database_url)


@pytest.mark.integration
def test_postgres_round_trip_async(pg_database_url: str) -> None:  # noqa: F811
    asyncio.run(around_trip(pg_database_url))


@pytest.mark.integration
def test_postgres_is_langgraphs_store_with_cosine_scores(pg_database_url: str) -> None:  # noqa: F811
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.store.postgres import PostgresStore

    with open_store(pg_database_url, index=index_config()) as store:
        assert isinstance(store, PostgresStore)
        store.put(SHARED, "same", {"text": EMAIL_FACT})
        store.put(("team", "acme", "agent", "sam"), "other", {"text": SHIPPING_FACT})
        hits = store.search(SHARED, query=EMAIL_FACT, limit=5)
        assert [hit.key for hit in hits] == ["same"]  # the namespace restricts the search
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)  # cosine of identical vectors
    with open_checkpointer(pg_database_url) as saver:
        assert isinstance(saver, PostgresSaver)


@pytest.mark.integration
def test_postgres_namespace_search_is_exact(pg_database_url: str) -> None:  # noqa: F811
    """A search of one small namespace beside a large one still fills its limit, with the
    exact cosine ranking (an ANN index filtering after its candidates could come back short)."""
    import numpy as np
    import psycopg

    embed = DeterministicEmbeddings(dims=64)
    texts = [f"note {i} about topic {i % 7} and item {i * 13 % 101}" for i in range(240)]
    mine = ("team", "acme", "agent", "sam")
    with open_store(pg_database_url, index=index_config()) as store:
        store.batch(
            [
                PutOp(mine if i % 8 == 0 else SHARED, f"n{i}", {"text": text})
                for i, text in enumerate(texts)
            ]
        )
        hits = store.search(mine, query="topic 3 item 40", limit=10)

    in_mine = [texts[i] for i in range(len(texts)) if i % 8 == 0]
    scores = np.array(embed.embed_documents(in_mine)) @ np.array(
        embed.embed_query("topic 3 item 40")
    )
    assert len(hits) == 10
    assert {hit.namespace for hit in hits} == {mine}
    # Scores, not keys: equal-scoring items may tie for the last places.
    assert [hit.score for hit in hits] == pytest.approx(sorted(scores)[::-1][:10], abs=1e-5)
    with psycopg.connect(pg_database_url) as conn:
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'store_vectors'"
        ).fetchall()
    assert not [d for (d,) in indexes if "hnsw" in d or "ivfflat" in d]


@pytest.mark.integration
def test_postgres_refuses_another_embedding_model(pg_database_url: str) -> None:  # noqa: F811
    with open_store(pg_database_url, index=index_config(), embedding_model="model-a") as s:
        s.put(SHARED, "k", {"text": EMAIL_FACT})
    with (
        pytest.raises(StoreConfigError, match="model-a"),
        open_store(pg_database_url, index=index_config(), embedding_model="model-b"),
    ):
        pass
    with open_store(pg_database_url, index=index_config(), embedding_model="model-a") as s:
        assert s.get(SHARED, "k") is not None


@pytest.mark.integration
def test_each_test_gets_an_empty_database(pg_database_url: str) -> None:  # noqa: F811
    with open_store(pg_database_url, index=None) as store:
        assert store.list_namespaces() == []


# ---- bad locations ----------------------------------------------------------------------
@pytest.mark.parametrize("location", ["mysql://user:pw@db/x", "sqlite:///tmp/x.db", "  "])
def test_unsupported_location_is_a_clear_value_error(location: str) -> None:
    with pytest.raises(ValueError, match="location") as raised:
        parse_location(location)
    assert "pw" not in str(raised.value)
    with pytest.raises(ValueError), open_store(location, index=None):
        pass
    with pytest.raises(ValueError), open_checkpointer(location):
        pass


def test_a_file_is_not_a_data_directory(tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("x")
    with pytest.raises(ValueError, match="data directory"):
        parse_location(str(file))


def test_postgres_urls_are_recognised() -> None:
    assert parse_location("postgres://u@h/db").kind == "postgres"
    assert parse_location("postgresql://u@h/db").kind == "postgres"
    assert parse_location("./data").kind == "local"


def test_unreachable_postgres_names_the_url_without_the_password() -> None:
    for opener in (
        lambda: open_store(UNREACHABLE, index=None),
        lambda: open_checkpointer(UNREACHABLE),
    ):
        with pytest.raises(BackendUnavailableError) as raised, opener():
            pass
        message = str(raised.value)
        assert "alice:***@127.0.0.1:1/memory" in message
        assert "s3cret" not in message


def test_unreachable_postgres_async() -> None:
    async def open_it() -> None:
        async with aopen_store(UNREACHABLE, index=None):
            pass

    with pytest.raises(BackendUnavailableError, match=r"127\.0\.0\.1:1"):
        asyncio.run(open_it())


def test_mask_password_hides_userinfo_and_query_passwords() -> None:
    masked = mask_password("postgresql://bob:pa55@db:5432/m?sslmode=require&password=pa55")
    assert "pa55" not in masked
    assert masked == "postgresql://bob:***@db:5432/m?sslmode=require&password=***"
    assert mask_password("postgresql://bob@db/m") == "postgresql://bob@db/m"
