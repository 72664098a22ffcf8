"""The SQLite layer of the FAISS store: schema, transactions, item rows, TTL and vectors.

Everything durable lives here, in one file (``store.sqlite``, WAL): items, their vectors
(float32 blobs), a deletion log other processes replay, and a full-text (FTS5) index.
``synchronous=FULL``: a write that has returned is on disk. The FAISS index is only a
cache of the ``vectors`` table (see vector_index.py).

A connection is shared by one store object and serialised by its lock (LangGraph's
parallel branches share one store); several processes may open the same file and SQLite
serialises their writes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import orjson

from memory.lexical import FTS_COLUMNS, RANK, namespace_token
from memory.store_filters import VALUE_INDEXES, json_extract_sql

if TYPE_CHECKING:
    from memory.vector_index import VectorRows  # numpy and FAISS: loaded with the index

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    item_id INTEGER PRIMARY KEY AUTOINCREMENT,
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    expires_at REAL,
    ttl_minutes REAL,
    UNIQUE (ns, key)
);
CREATE INDEX IF NOT EXISTS items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS vectors (
    vec_id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL,
    field TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_item ON vectors (item_id);
CREATE TABLE IF NOT EXISTS vector_deletions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    vec_id INTEGER NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5 (FTS_COLUMNS);
INSERT INTO items_fts (items_fts, rank) VALUES ('rank', 'RANK');
""".replace("FTS_COLUMNS", FTS_COLUMNS).replace("RANK", RANK)

DB_FILE = "store.sqlite"
BUSY_TIMEOUT_S = 30.0
ITEM_COLUMNS = "item_id, ns, key, value, created_at, updated_at"
"""The columns of an item row, in the order `ItemRow` indexes them."""

ItemRow = tuple[Any, ...]
"""(item_id, ns, key, value JSON, created_at ISO, updated_at ISO)."""


def encode_namespace(namespace: Sequence[str]) -> str:
    """("team", "t") -> "team.t." : a prefix of namespaces is a prefix of strings."""
    return "".join(f"{label}." for label in namespace)


@functools.lru_cache(maxsize=4096)
def decode_namespace(text: str) -> tuple[str, ...]:
    """ "team.t." -> ("team", "t") (cached: a search decodes the same few namespaces for
    every hit)."""
    return tuple(text.split(".")[:-1])


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def parse_value(text: str) -> dict[str, Any]:
    """An item's stored JSON, parsed: by orjson (3x faster than the standard library; a
    search parses ~70 rows), except a text with a number orjson would read as a float
    (over 64 bits: 19 digits or more in a row) or one it refuses, which the standard
    library reads exactly. (The digit check by translation costs a tenth of a regex.)"""
    data = text.encode()
    if _LONG_NUMBER not in data.translate(_DIGITS_AS_ZERO):
        try:
            return cast(dict[str, Any], orjson.loads(data))
        except orjson.JSONDecodeError:
            pass
    return cast(dict[str, Any], json.loads(text))


def now() -> datetime:
    return datetime.now(UTC)


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class StoreBusyError(RuntimeError):
    """Another process holds the store's SQLite write lock for longer than we wait."""


class StoreFileError(ValueError):
    """A data directory's SQLite file cannot be opened: damaged, not SQLite, a directory."""


_UNOPENABLE = ("unable to open", "disk i/o error", "not a database", "malformed")


@contextmanager
def named_file_errors(path: Path, what: str) -> Iterator[None]:
    """SQLite's "file is not a database" or "disk I/O error" names no file: raise a
    StoreFileError naming `path` (`what` it holds) and what to do instead. A busy or
    locked database is left to its own handling."""
    if path.is_dir():
        raise StoreFileError(f"{what} {path} is a directory, not a SQLite file")
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if not any(words in str(exc).lower() for words in _UNOPENABLE):
            raise
        raise StoreFileError(
            f"{what} {path} cannot be read ({exc}): it is damaged or not a SQLite file; "
            "restore it from a backup, or choose another data directory"
        ) from exc


class StoreDB:
    """One SQLite connection to a store's database, with the lock that serialises it.

    With `read_only` the file is opened ``mode=ro`` and nothing is ever written: in WAL
    mode a reader neither waits for a writer nor makes one wait.
    """

    def __init__(self, directory: Path, *, read_only: bool = False) -> None:
        self.path = directory / DB_FILE
        self.read_only = read_only
        self.lock = threading.RLock()
        self.depth = 0
        """How many `write()` transactions are open (nested ones join the outermost)."""
        self._fts_namespaces: bool | None = None
        self.term_docs: dict[str, int] = {}
        """Document counts of BM25 query words (lexical.bounded_fts_query) as the data
        stand: emptied by every write transaction and when another process commits (the
        store checks before each search), so a count is never read from older data."""
        if read_only and not self.path.exists():
            raise FileNotFoundError(f"no memory store at {directory} ({DB_FILE} is missing)")
        with named_file_errors(self.path, "the memory store's database"):
            self._open(read_only)

    def _open(self, read_only: bool) -> None:
        target = f"file:{self.path}?mode=ro" if read_only else str(self.path)
        self.conn = sqlite3.connect(
            target,
            uri=read_only,
            check_same_thread=False,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_S,
        )
        self.conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        self.conn.execute("PRAGMA schema_version")  # reads the header: a foreign file fails now
        if read_only:
            return
        # Deleted and overwritten content is zeroed, not left in free pages: a forgotten
        # fact must not be readable from the file (see `scrub` for the WAL and FTS5).
        self.conn.execute("PRAGMA secure_delete=ON")
        with self.busy_guard():
            # Switching an already-WAL file would wait for a writer's lock: only switch once.
            if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            if not self._has_schema():
                with self.lock:
                    self.conn.executescript(SCHEMA)  # runs in its own transaction
            self._add_value_indexes()
            self._add_fts_namespaces()

    @property
    def fts_namespaces(self) -> bool:
        """Whether the full-text index has the namespace column (a store made before it
        existed, opened read-only, has not: its BM25 ranks every namespace's documents)."""
        if self._fts_namespaces is None:
            columns = self.conn.execute("SELECT * FROM items_fts LIMIT 0").description
            self._fts_namespaces = "ns" in {c[0] for c in columns}
        return self._fts_namespaces

    def _add_fts_namespaces(self) -> None:
        """Rebuild the full-text index of a store made before it held namespaces (once: the
        text is copied from the old index, the namespace from the items)."""
        if self.fts_namespaces:
            return
        with self.write() as conn:
            self._fts_namespaces = None  # another process may have done it meanwhile
            if self.fts_namespaces:
                return
            conn.execute(f"CREATE VIRTUAL TABLE items_fts_ns USING fts5 ({FTS_COLUMNS})")
            conn.execute(
                "INSERT INTO items_fts_ns (items_fts_ns, rank) VALUES ('rank', ?)", (RANK,)
            )
            rows = conn.execute(
                "SELECT f.rowid, f.text, i.ns FROM items_fts f JOIN items i ON i.item_id = f.rowid"
            )
            conn.executemany(
                "INSERT INTO items_fts_ns (rowid, text, ns) VALUES (?, ?, ?)",
                ((rowid, text, namespace_token(ns)) for rowid, text, ns in rows),
            )
            conn.execute("DROP TABLE items_fts")
            conn.execute("ALTER TABLE items_fts_ns RENAME TO items_fts")
            self._fts_namespaces = True

    def _add_value_indexes(self) -> None:
        """Create the expression indexes a store made before they existed lacks (once:
        a few seconds at 100k items; the check itself takes no write lock)."""
        names = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master")}
        missing = [(n, key) for n, key in VALUE_INDEXES.items() if n not in names]
        for name, key in missing:
            with self.lock:
                self.conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {name} ON items ({json_extract_sql(key)})"
                )

    def _has_schema(self) -> bool:
        names = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master")}
        return {"meta", "items", "vectors", "vector_deletions", "items_fts"} <= names

    def busy_guard(self) -> _BusyGuard:
        """Turns SQLite's "database is locked" into a StoreBusyError naming the file."""
        return _BusyGuard(self.path)

    def close(self) -> None:
        self.conn.close()

    def write(self) -> Transaction:
        """``with db.write() as conn:`` one IMMEDIATE transaction, committed on success
        (inside another one: part of it)."""
        return Transaction(self)

    def data_version(self) -> int:
        """Changes when another connection commits (SQLite's PRAGMA data_version)."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    # ---- meta --------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    # ---- items -------------------------------------------------------------------------
    def get_row(self, ns: str, key: str, live_after: float | None) -> ItemRow | None:
        live, args = live_clause(live_after)
        row: ItemRow | None = self.conn.execute(
            f"SELECT {ITEM_COLUMNS} FROM items WHERE ns = ? AND key = ?{live}",
            (ns, key, *args),
        ).fetchone()
        return row

    def rows(
        self,
        item_ids: list[int],
        live_after: float | None,
        where: Sequence[str] = (),
        where_args: Sequence[Any] = (),
    ) -> dict[int, ItemRow]:
        """Item rows by id (missing or expired ids, and rows failing `where`, are absent)."""
        live, args = live_clause(live_after)
        extra = "".join(f" AND {clause}" for clause in where)
        found: dict[int, ItemRow] = {}
        for start in range(0, len(item_ids), 10_000):  # under SQLite's variable limit
            chunk = item_ids[start : start + 10_000]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT {ITEM_COLUMNS} FROM items WHERE item_id IN ({marks}){extra}{live}",
                (*chunk, *where_args, *args),
            ).fetchall()
            found.update((row[0], row) for row in rows)
        return found

    def newest_rows(self, limit: int) -> list[ItemRow]:
        """The `limit` most recently inserted item rows, newest first."""
        rows: list[ItemRow] = self.conn.execute(
            f"SELECT {ITEM_COLUMNS} FROM items ORDER BY item_id DESC LIMIT ?", (limit,)
        ).fetchall()
        return rows

    def scan(
        self,
        prefix: str,
        where: Sequence[str],
        args: Sequence[Any],
        live_after: float | None,
        *,
        vectorless: bool = False,
        page: tuple[int, int] | None = None,
    ) -> Iterable[ItemRow]:
        """Item rows under a namespace prefix matching extra SQL conditions, by item_id;
        with `page` (offset, limit), only those."""
        clauses = ["ns >= ?", "ns < ?"] if prefix else ["1 = 1"]
        params: list[Any] = [prefix, prefix[:-1] + "/"] if prefix else []
        if vectorless:
            clauses.append("NOT EXISTS (SELECT 1 FROM vectors v WHERE v.item_id = items.item_id)")
        clauses.extend(where)
        params.extend(args)
        live, live_args = live_clause(live_after)
        params.extend(live_args)
        sql = (
            f"SELECT {ITEM_COLUMNS} FROM items WHERE {' AND '.join(clauses)}{live} ORDER BY item_id"
        )
        if page is not None:
            offset, limit = page
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return self.conn.execute(sql, params)

    def namespaces(self, live_after: float | None) -> list[str]:
        live, args = live_clause(live_after)
        rows = self.conn.execute(f"SELECT DISTINCT ns FROM items WHERE 1 = 1{live}", args)
        return [r[0] for r in rows]

    def counts(self) -> tuple[int, int]:
        """(items, vectors)."""
        items = self.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        vectors = self.conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
        return int(items), int(vectors)

    # ---- writes (inside `write()`) -----------------------------------------------------
    def delete_item(self, conn: sqlite3.Connection, item_id: int) -> None:
        vec_ids = [
            r[0] for r in conn.execute("SELECT vec_id FROM vectors WHERE item_id = ?", (item_id,))
        ]
        if vec_ids:
            self.drop_vectors(conn, vec_ids)
        conn.execute("DELETE FROM items_fts WHERE rowid = ?", (item_id,))
        conn.execute("DELETE FROM items WHERE item_id = ?", (item_id,))

    def drop_vectors(self, conn: sqlite3.Connection, vec_ids: list[int]) -> None:
        """Delete vectors and log the deletion, so other processes' indexes drop them too."""
        marks = ",".join("?" * len(vec_ids))
        conn.execute(f"DELETE FROM vectors WHERE vec_id IN ({marks})", vec_ids)
        conn.executemany(
            "INSERT INTO vector_deletions (vec_id) VALUES (?)", [(v,) for v in vec_ids]
        )

    def scrub(self) -> bool:
        """Leave nothing deleted readable in the files: FTS5 merges its index segments
        (a deleted document's terms stay in them until a merge) and the WAL is copied
        into the database and truncated (it holds the pages as they were written).
        False when another connection's open read kept part of the WAL."""
        with self.write() as conn:
            conn.execute("INSERT INTO items_fts (items_fts) VALUES ('optimize')")
        with self.lock, self.busy_guard():
            busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return not busy

    # ---- TTL ---------------------------------------------------------------------------
    def refresh_ttl(self, item_ids: list[int]) -> None:
        if not item_ids or self.read_only:
            return  # a read-only reader leaves expiry to the writers
        moment = now().timestamp()
        with self.write() as conn:
            conn.executemany(
                "UPDATE items SET expires_at = ? + ttl_minutes * 60 "
                "WHERE item_id = ? AND ttl_minutes IS NOT NULL",
                [(moment, i) for i in item_ids],
            )

    def sweep_expired(self) -> int:
        """Delete expired items; returns how many."""
        with self.write() as conn:
            expired = [
                r[0]
                for r in conn.execute(
                    "SELECT item_id FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?",
                    (now().timestamp(),),
                )
            ]
            for item_id in expired:
                self.delete_item(conn, item_id)
        return len(expired)

    # ---- vectors, for the FAISS index --------------------------------------------------
    def vectors_after(self, vec_id: int, dims: int) -> VectorRows:
        """Vectors committed with a higher vec_id (all of them for 0), in vec_id order."""
        from memory.vector_index import VectorRows

        rows = self.conn.execute(
            "SELECT v.vec_id, v.item_id, i.ns, v.embedding FROM vectors v "
            "JOIN items i USING (item_id) WHERE v.vec_id > ? ORDER BY v.vec_id",
            (vec_id,),
        ).fetchall()
        return VectorRows.from_rows(rows, dims)

    def deletions_after(self, seq: int) -> list[tuple[int, int]]:
        """(seq, vec_id) of the deletion log past `seq`."""
        return self.conn.execute(
            "SELECT seq, vec_id FROM vector_deletions WHERE seq > ? ORDER BY seq", (seq,)
        ).fetchall()

    def vector_marks(self) -> tuple[int, int]:
        """(highest vec_id ever allocated, highest deletion seq): where an index must stand."""
        allocated, max_vec, max_seq = self.conn.execute(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'vectors'),"
            " (SELECT COALESCE(MAX(vec_id), 0) FROM vectors),"
            " (SELECT COALESCE(MAX(seq), 0) FROM vector_deletions)"
        ).fetchone()
        return max(int(allocated), int(max_vec)), int(max_seq)


class Transaction:
    """Holds the store's lock and one BEGIN IMMEDIATE transaction.

    Re-entrant in the thread holding it: a transaction opened inside another is a
    SAVEPOINT of it, so a read-modify-write spanning several store calls is one
    transaction; an error inside undoes the inner part, and the outer one if it spreads.
    """

    def __init__(self, db: StoreDB) -> None:
        self.db = db
        self.outermost = False

    def __enter__(self) -> sqlite3.Connection:
        if self.db.read_only:
            raise PermissionError(f"the store at {self.db.path.parent} was opened read-only")
        self.db.lock.acquire()
        self.db.term_docs.clear()
        self.outermost = self.db.depth == 0
        try:
            with self.db.busy_guard():
                self.db.conn.execute("BEGIN IMMEDIATE" if self.outermost else "SAVEPOINT inner")
        except BaseException:
            self.db.lock.release()
            raise
        self.db.depth += 1
        return self.db.conn

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.db.depth -= 1
        self.db.term_docs.clear()  # counted inside, or undone by a rollback
        try:
            if self.outermost:
                self.db.conn.execute("ROLLBACK" if exc_type else "COMMIT")
            else:
                if exc_type:
                    self.db.conn.execute("ROLLBACK TO inner")
                self.db.conn.execute("RELEASE inner")
        finally:
            self.db.lock.release()


class _BusyGuard:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise StoreBusyError(
                f"the memory store {self.path} is busy: another process has held its "
                f"SQLite write lock for over {BUSY_TIMEOUT_S:g} s ({exc}); wait for that "
                "writer to finish, or read with a read-only command"
            ) from exc


def live_clause(live_after: float | None) -> tuple[str, tuple[Any, ...]]:
    """SQL keeping items not expired at `live_after` (a timestamp; None: keep all)."""
    if live_after is None:
        return "", ()
    return " AND (expires_at IS NULL OR expires_at > ?)", (live_after,)
