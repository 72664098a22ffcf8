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

The ``aopen_*`` variants yield the async-capable objects the LangGraph server wants. A
``langgraph.json`` "store"/"checkpointer" path may name a zero-argument function that
returns ``aopen_store(...)``/``aopen_checkpointer(...)``: the server enters the context.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.store.base import BaseStore, IndexConfig
    from langgraph.store.postgres.base import PostgresIndexConfig

STORE_DIR = "store"
"""Sub-directory of a local location that holds the FaissStore."""
CHECKPOINTS_FILE = "checkpoints.sqlite"
"""File of a local location that holds the per-thread checkpoints."""
POSTGRES_SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_S = 10
"""Applied when the URL sets none, so an unreachable host fails fast instead of hanging."""
META_TABLE = "a2a_memory_meta"
"""Records which embedding model filled a Postgres store, as FaissStore does in SQLite."""

BackendKind = Literal["local", "postgres"]
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


class BackendUnavailableError(ConnectionError):
    """The backend a location names cannot be used: unreachable, or missing pgvector."""


@dataclass(frozen=True)
class Location:
    """A parsed location: a local data directory or a PostgreSQL URL."""

    kind: BackendKind
    path: Path | None = None
    url: str | None = None

    @property
    def display(self) -> str:
        """Safe to log or show: the path, or the URL with its password masked."""
        return str(self.path) if self.path is not None else mask_password(self.url or "")


def parse_location(location: str | Path) -> Location:
    """Classify `location`; an unknown URL scheme or an empty location is a ValueError."""
    if isinstance(location, Path):
        return _local(location)
    text = location.strip()
    if not text:
        raise ValueError("memory location is empty: give a data directory or a postgresql:// URL")
    match = _URL_SCHEME.match(text)
    if match is None:
        return _local(Path(text))
    scheme = match.group(1).lower()
    if scheme in POSTGRES_SCHEMES:
        return Location(kind="postgres", url=text)
    raise ValueError(
        f"unsupported memory location {mask_password(text)!r}: scheme {scheme!r} is not "
        "supported; use a data directory path or a postgresql:// (postgres://) URL"
    )


def _local(path: Path) -> Location:
    path = path.expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"memory location {path} is a file; it must be a data directory")
    return Location(kind="local", path=path)


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


# ---- stores ------------------------------------------------------------------------------
@contextmanager
def open_store(
    location: str | Path,
    *,
    index: IndexConfig | None,
    embedding_model: str | None = None,
) -> Iterator[BaseStore]:
    """The store at `location`, set up and ready; closed on exit.

    Raises ValueError for a bad location, BackendUnavailableError when Postgres cannot be
    reached (the URL is named, password masked) and memory.store.StoreConfigError when the
    store holds vectors of another embedding model.
    """
    where = parse_location(location)
    if where.kind == "local":
        assert where.path is not None
        from memory.store import FaissStore

        store = FaissStore(where.path / STORE_DIR, index=index, embedding_model=embedding_model)
        with store:
            yield store
        return
    with _open_postgres_store(where, index, embedding_model) as pg_store:
        yield pg_store


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
    where: Location, index: IndexConfig | None, embedding_model: str | None
) -> Iterator[BaseStore]:
    from langgraph.store.postgres import PostgresStore

    assert where.url is not None
    conninfo = _conninfo(where.url)
    _prepare_postgres(where, conninfo, index, embedding_model)
    pg_index = postgres_index_config(index) if index else None
    with PostgresStore.from_conn_string(conninfo, index=pg_index) as store:
        yield store


@asynccontextmanager
async def aopen_store(
    location: str | Path,
    *,
    index: IndexConfig | None,
    embedding_model: str | None = None,
) -> AsyncIterator[BaseStore]:
    """`open_store` for async code: an AsyncPostgresStore for a URL, else the FaissStore
    (whose abatch serves async callers)."""
    where = parse_location(location)
    if where.kind == "local":
        assert where.path is not None
        from memory.store import FaissStore

        # Opening may rebuild the FAISS index from SQLite: keep it off the event loop.
        store = await asyncio.to_thread(
            FaissStore, where.path / STORE_DIR, index=index, embedding_model=embedding_model
        )
        try:
            yield store
        finally:
            await asyncio.to_thread(store.close)
        return
    async with _aopen_postgres_store(where, index, embedding_model) as pg_store:
        yield pg_store


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


# ---- checkpointers -----------------------------------------------------------------------
@contextmanager
def open_checkpointer(location: str | Path) -> Iterator[BaseCheckpointSaver[Any]]:
    """The per-thread checkpointer at `location`: SQLite (WAL) file or PostgresSaver."""
    where = parse_location(location)
    if where.kind == "local":
        from langgraph.checkpoint.sqlite import SqliteSaver

        with SqliteSaver.from_conn_string(str(_checkpoints_file(where))) as saver:
            saver.setup()  # sets WAL; done now so a bad directory fails here, not mid-run
            yield saver
        return

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
async def aopen_checkpointer(location: str | Path) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """`open_checkpointer` for async code: AsyncSqliteSaver or AsyncPostgresSaver."""
    where = parse_location(location)
    if where.kind == "local":
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with AsyncSqliteSaver.from_conn_string(str(_checkpoints_file(where))) as saver:
            await saver.setup()
            yield saver
        return

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


def _checkpoints_file(where: Location) -> Path:
    assert where.path is not None
    where.path.mkdir(parents=True, exist_ok=True)
    return where.path / CHECKPOINTS_FILE
