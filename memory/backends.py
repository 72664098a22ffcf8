"""Where memory lives: one location string chooses the store and checkpointer backends.

- A directory path (``./data``, ``~/.a2a-memory``): the embedded backend for one machine.
  ``<dir>/store/`` holds the FAISS-backed store (``memory.store.FaissStore``) and
  ``<dir>/checkpoints.sqlite`` LangGraph's SQLite checkpointer (WAL).
- ``postgresql://...`` or ``postgres://...``: LangGraph's own ``PostgresStore`` (pgvector,
  cosine distance, exact search) and ``PostgresSaver``, so many processes and hosts share
  one memory.

Both yield plain LangGraph objects for ``builder.compile(store=..., checkpointer=...)``::

    with open_store(location, index=index) as store, open_checkpointer(location) as saver:
        graph = builder.compile(store=store, checkpointer=saver)

Each backend is one entry of the registry `BACKENDS` (its URL schemes and how its store
and checkpointer open, sync and async); everything here dispatches through it.

The ``aopen_*`` variants yield the async-capable objects the LangGraph server wants. A
``langgraph.json`` "store"/"checkpointer" path may name a zero-argument function that
returns ``aopen_store(...)``/``aopen_checkpointer(...)``: the server enters the context.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    AsyncExitStack,
    ExitStack,
    asynccontextmanager,
    closing,
    contextmanager,
)
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.store.base import BaseStore, IndexConfig
    from langgraph.store.postgres.base import PostgresIndexConfig

STORE_DIR = "store"
"""Sub-directory of a local location that holds the FaissStore."""
CHECKPOINTS_FILE = "checkpoints.sqlite"
CHECKPOINTS_WHAT = "the conversations' checkpoint file"
"""File of a local location that holds the per-thread checkpoints."""
POSTGRES_SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_S = 10
"""Applied when the URL sets none, so an unreachable host fails fast instead of hanging."""
META_TABLE = "a2a_memory_meta"
"""Records which embedding model filled a Postgres store, as FaissStore does in SQLite."""

_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


class BackendUnavailableError(ConnectionError):
    """The backend a location names cannot be used: unreachable, or missing pgvector."""


@dataclass(frozen=True)
class Location:
    """A parsed location: a local data directory or the URL of a shared backend."""

    kind: str
    """The name of its backend in `BACKENDS`."""
    path: Path | None = None
    url: str | None = None

    @property
    def display(self) -> str:
        """Safe to log or show: the path, or the URL with its password masked."""
        return str(self.path) if self.path is not None else mask_password(self.url or "")

    @property
    def backend(self) -> Backend:
        return BACKENDS[self.kind]


def parse_location(location: str | Path) -> Location:
    """Classify `location`; an unknown URL scheme or an empty location is a ValueError."""
    if isinstance(location, Path):
        return _local(location)
    text = location.strip()
    if not text:
        raise ValueError(
            f"memory location is empty: give a data directory or a URL ({_url_forms()})"
        )
    match = _URL_SCHEME.match(text)
    if match is None:
        return _local(Path(text))
    scheme = match.group(1).lower()
    for backend in BACKENDS.values():
        if scheme in backend.schemes:
            return Location(kind=backend.name, url=text)
    raise ValueError(
        f"unsupported memory location {mask_password(text)!r}: scheme {scheme!r} is not "
        f"supported; use a data directory path or a URL ({_url_forms()})"
    )


def parse_url_location(text: str) -> Location:
    """A location that must name a shared backend by URL (not a data directory)."""
    where = parse_location(text)  # rejects unknown schemes, password masked
    if where.url is None:
        raise ValueError(f"{where.display!r} is not a URL ({_url_forms()})")
    return where


def _url_forms() -> str:
    return ", ".join(f"{s}://" for b in BACKENDS.values() for s in b.schemes)


def _local(path: Path) -> Location:
    path = path.expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"memory location {path} is a file; it must be a data directory")
    return Location(kind=LOCAL, path=path)


def mask_password(url: str) -> str:
    """The URL with any password (in the authority or a ``password=`` query) replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostinfo}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        masked = [(k, "***" if k.lower() == "password" else v) for k, v in pairs]
        query = urlencode(masked, safe="/*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _conninfo(url: str) -> str:
    """libpq connection info for `url`, with a connect timeout unless the URL sets one."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # psycopg reports bad URLs as ProgrammingError
        raise ValueError(f"invalid PostgreSQL URL {mask_password(url)!r}: {exc}") from None
    if "connect_timeout" in params:
        return url
    return make_conninfo(url, connect_timeout=CONNECT_TIMEOUT_S)


def _unreachable(location: Location, exc: Exception) -> BackendUnavailableError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    password = urlsplit(location.url or "").password
    if password:
        detail = detail.replace(password, "***")
    return BackendUnavailableError(f"cannot connect to PostgreSQL at {location.display}: {detail}")


def _no_pgvector(location: Location, exc: Exception) -> BackendUnavailableError:
    return BackendUnavailableError(
        f"PostgreSQL at {location.display} cannot create the pgvector extension ({exc}); "
        "install pgvector on the server, or open the store without an index config"
    )


def postgres_index_config(index: IndexConfig) -> PostgresIndexConfig:
    """`index` for PostgresStore: cosine distance and exact search, unless the caller chose.

    Exact (``kind: flat``, no pgvector ANN index) because PostgreSQL may rank through an
    HNSW index, which returns a fixed number of approximate candidates and filters
    namespaces afterwards: a search of one agent's namespace can then come back short.
    The FAISS and in-memory stores answer exactly, and so does this. Pass your own
    ``ann_index_config`` to trade recall for speed on large tables.
    """
    config: dict[str, Any] = {"distance_type": "cosine", "ann_index_config": {"kind": "flat"}}
    config.update(index)
    return config  # type: ignore[return-value]


def embedding_model_label(index: IndexConfig, embedding_model: str | None) -> str:
    """The name recorded for the index's embedder: explicit, else the embedder's own."""
    if embedding_model:
        return embedding_model
    embed = index.get("embed")
    for attribute in ("model_name", "model"):
        name = getattr(embed, attribute, None)
        if isinstance(name, str) and name:
            return name
    return getattr(embed, "__qualname__", None) or type(embed).__name__


# ---- the embedding-model guard for Postgres ------------------------------------------
_META_DDL = f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key text PRIMARY KEY, value text NOT NULL)"
_META_INSERT = (
    f"INSERT INTO {META_TABLE} (key, value) VALUES ('embedding_model', %s), ('dims', %s) "
    "ON CONFLICT (key) DO NOTHING"
)
_META_SELECT = f"SELECT key, value FROM {META_TABLE} WHERE key IN ('embedding_model', 'dims')"


def _check_recorded_model(
    location: Location, recorded: dict[str, str], model: str, dims: int
) -> None:
    if recorded.get("embedding_model") == model and recorded.get("dims") == str(dims):
        return
    from memory.store import StoreConfigError

    raise StoreConfigError(
        f"store at {location.display} holds vectors of embedding model "
        f"{recorded.get('embedding_model')!r} ({recorded.get('dims')} dims); it cannot be "
        f"opened with {model!r} ({dims} dims): vectors of two models must not be mixed"
    )


def _guard_model(location: Location, conninfo: str, model: str, dims: int) -> None:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(_META_DDL)
        conn.execute(_META_INSERT, (model, str(dims)))
        rows = conn.execute(_META_SELECT).fetchall()
    _check_recorded_model(location, {str(k): str(v) for k, v in rows}, model, dims)


# ---- the public entry points: dispatch through the registry -----------------------------
@contextmanager
def open_store(
    location: str | Path,
    *,
    index: IndexConfig | None,
    embedding_model: str | None = None,
    read_only: bool = False,
) -> Iterator[BaseStore]:
    """The store at `location`, set up and ready; closed on exit.

    With `read_only` a local store is opened without writing (a missing one is a
    FileNotFoundError, never created) so it neither waits for nor blocks a writer.

    Raises ValueError for a bad location, BackendUnavailableError when Postgres cannot be
    reached (the URL is named, password masked) and memory.store.StoreConfigError when the
    store holds vectors of another embedding model.
    """
    where = parse_location(location)
    with where.backend.open_store(where, index, embedding_model, read_only) as store:
        yield store


@asynccontextmanager
async def aopen_store(
    location: str | Path,
    *,
    index: IndexConfig | None,
    embedding_model: str | None = None,
) -> AsyncIterator[BaseStore]:
    """`open_store` for async code (the LangGraph server): an async-capable store."""
    where = parse_location(location)
    async with where.backend.aopen_store(where, index, embedding_model) as store:
        yield store


@contextmanager
def open_checkpointer(location: str | Path) -> Iterator[BaseCheckpointSaver[Any]]:
    """The per-thread checkpointer at `location`, reading with `checkpoint_serde`."""
    where = parse_location(location)
    with where.backend.open_checkpointer(where) as saver:
        saver.serde = checkpoint_serde()
        yield saver


@asynccontextmanager
async def aopen_checkpointer(location: str | Path) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """`open_checkpointer` for async code."""
    where = parse_location(location)
    async with where.backend.aopen_checkpointer(where) as saver:
        saver.serde = checkpoint_serde()
        yield saver


def checkpoint_serde() -> JsonPlusSerializer:
    """LangGraph's serializer with a strict allowlist: a checkpoint read back may rebuild
    LangGraph's safe types (messages, dates, Send, ...) and the graphs' state classes
    (`nodes.state.CHECKPOINT_TYPES`), never import and call a class a tampered file
    names. By default LangGraph still allows any class, with a warning."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from nodes.state import CHECKPOINT_TYPES  # the graphs' state: what checkpoints hold

    return JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINT_TYPES)


# ---- local: FaissStore + SQLite checkpointer in a data directory -----------------------
@contextmanager
def _open_local_store(
    where: Location, index: IndexConfig | None, embedding_model: str | None, read_only: bool
) -> Iterator[BaseStore]:
    from memory.store import FaissStore

    assert where.path is not None
    path = where.path / STORE_DIR
    with FaissStore(
        path, index=index, embedding_model=embedding_model, read_only=read_only
    ) as store:
        yield store


@asynccontextmanager
async def _aopen_local_store(
    where: Location, index: IndexConfig | None, embedding_model: str | None
) -> AsyncIterator[BaseStore]:
    from memory.store import FaissStore

    assert where.path is not None
    # Opening may rebuild the FAISS index from SQLite: keep it off the event loop.
    store = await asyncio.to_thread(
        FaissStore, where.path / STORE_DIR, index=index, embedding_model=embedding_model
    )
    try:
        yield store
    finally:
        await asyncio.to_thread(store.close)


@contextmanager
def _open_local_checkpointer(where: Location) -> Iterator[BaseCheckpointSaver[Any]]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    from memory.store_db import named_file_errors

    path = _checkpoints_file(where)
    with named_file_errors(path, CHECKPOINTS_WHAT):
        conn = sqlite3.connect(str(path), check_same_thread=False)  # as from_conn_string
    with closing(conn):
        saver = SqliteSaver(conn)
        with named_file_errors(path, CHECKPOINTS_WHAT):
            saver.setup()  # sets WAL; done now so a bad file fails here, not mid-run
        # Deleted conversation state (a forget's redaction) is zeroed in the file.
        saver.conn.execute("PRAGMA secure_delete=ON")
        yield saver


@asynccontextmanager
async def _aopen_local_checkpointer(where: Location) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from memory.store_db import named_file_errors

    path = _checkpoints_file(where)
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        with named_file_errors(path, CHECKPOINTS_WHAT):
            await saver.setup()
        await saver.conn.execute("PRAGMA secure_delete=ON")
        yield saver


def _checkpoints_file(where: Location) -> Path:
    assert where.path is not None
    where.path.mkdir(parents=True, exist_ok=True)
    return where.path / CHECKPOINTS_FILE


# ---- postgres: LangGraph's PostgresStore and PostgresSaver -----------------------------
def _prepare_postgres(
    where: Location, conninfo: str, index: IndexConfig | None, embedding_model: str | None
) -> None:
    """Run the store's migrations and check the embedding model, on a connection of its own.

    Synchronous for both variants: AsyncPostgresStore.setup ignores the migrations'
    conditions and fails on ``kind: flat`` (langgraph-checkpoint-postgres 3.2.0).
    """
    import psycopg
    from langgraph.store.postgres import PostgresStore

    pg_index = postgres_index_config(index) if index else None
    with ExitStack() as stack:
        try:
            store = stack.enter_context(PostgresStore.from_conn_string(conninfo, index=pg_index))
        except psycopg.OperationalError as exc:
            raise _unreachable(where, exc) from exc
        try:
            store.setup()
        except (psycopg.errors.FeatureNotSupported, psycopg.errors.UndefinedFile) as exc:
            raise _no_pgvector(where, exc) from exc
    if index:
        model = embedding_model_label(index, embedding_model)
        _guard_model(where, conninfo, model, int(index["dims"]))


@contextmanager
def _open_postgres_store(
    where: Location, index: IndexConfig | None, embedding_model: str | None, read_only: bool
) -> Iterator[BaseStore]:
    # read_only is not needed here: PostgreSQL readers never wait for writers.
    from langgraph.store.postgres import PostgresStore

    assert where.url is not None
    conninfo = _conninfo(where.url)
    _prepare_postgres(where, conninfo, index, embedding_model)
    pg_index = postgres_index_config(index) if index else None
    with PostgresStore.from_conn_string(conninfo, index=pg_index) as store:
        yield store


@asynccontextmanager
async def _aopen_postgres_store(
    where: Location, index: IndexConfig | None, embedding_model: str | None
) -> AsyncIterator[BaseStore]:
    from langgraph.store.postgres.aio import AsyncPostgresStore

    assert where.url is not None
    conninfo = _conninfo(where.url)
    await asyncio.to_thread(_prepare_postgres, where, conninfo, index, embedding_model)
    pg_index = postgres_index_config(index) if index else None
    async with AsyncPostgresStore.from_conn_string(conninfo, index=pg_index) as store:
        yield store


@contextmanager
def _open_postgres_checkpointer(where: Location) -> Iterator[BaseCheckpointSaver[Any]]:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

    assert where.url is not None
    with ExitStack() as stack:
        try:
            pg_saver = stack.enter_context(PostgresSaver.from_conn_string(_conninfo(where.url)))
        except psycopg.OperationalError as exc:
            raise _unreachable(where, exc) from exc
        pg_saver.setup()
        yield pg_saver


@asynccontextmanager
async def _aopen_postgres_checkpointer(
    where: Location,
) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    import psycopg
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    assert where.url is not None
    async with AsyncExitStack() as stack:
        try:
            pg_saver = await stack.enter_async_context(
                AsyncPostgresSaver.from_conn_string(_conninfo(where.url))
            )
        except psycopg.OperationalError as exc:
            raise _unreachable(where, exc) from exc
        await pg_saver.setup()
        yield pg_saver


# ---- the registry ------------------------------------------------------------------------
StoreOpener = Callable[
    [Location, "IndexConfig | None", "str | None", bool], AbstractContextManager["BaseStore"]
]
"""(location, index, embedding model, read only) -> the store, closed on exit."""
AsyncStoreOpener = Callable[
    [Location, "IndexConfig | None", "str | None"], AbstractAsyncContextManager["BaseStore"]
]
SaverOpener = Callable[[Location], AbstractContextManager["BaseCheckpointSaver[Any]"]]
AsyncSaverOpener = Callable[[Location], AbstractAsyncContextManager["BaseCheckpointSaver[Any]"]]


@dataclass(frozen=True)
class Backend:
    """One way to keep memory: how a location names it and how its parts open.

    A new backend is one entry in `BACKENDS` (plus one parameter of the store
    conformance suite, tests/test_store_conformance.py).
    """

    name: str
    schemes: tuple[str, ...]
    """URL schemes that choose it; () for the data-directory backend."""
    store_label: str
    """The store's name in benchmarks and reports."""
    open_store: StoreOpener
    aopen_store: AsyncStoreOpener
    open_checkpointer: SaverOpener
    aopen_checkpointer: AsyncSaverOpener


LOCAL = "local"
BACKENDS: dict[str, Backend] = {
    backend.name: backend
    for backend in (
        Backend(
            name=LOCAL,
            schemes=(),
            store_label="faiss",
            open_store=_open_local_store,
            aopen_store=_aopen_local_store,
            open_checkpointer=_open_local_checkpointer,
            aopen_checkpointer=_aopen_local_checkpointer,
        ),
        Backend(
            name="postgres",
            schemes=POSTGRES_SCHEMES,
            store_label="postgres",
            open_store=_open_postgres_store,
            aopen_store=_aopen_postgres_store,
            open_checkpointer=_open_postgres_checkpointer,
            aopen_checkpointer=_aopen_postgres_checkpointer,
        ),
    )
}
