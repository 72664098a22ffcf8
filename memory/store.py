"""A durable LangGraph `BaseStore`: items in SQLite (WAL), vector search by FAISS.

Use it wherever LangGraph takes a store: ``graph.compile(store=FaissStore(path, index=...))``
or ``"store": {"path": "memory/store.py:make_store"}`` in ``langgraph.json``.

What lives where (one directory):
- ``store.sqlite``: items, their vectors and a full-text (FTS5, BM25) index, written in
  one transaction per batch with ``synchronous=FULL``: a put that has returned is on disk.
- ``vectors.faiss``: the FAISS index, a cache of the vectors in SQLite. It is saved
  atomically on ``close()``/``flush()``; a missing, damaged or stale file is repaired
  from SQLite on open, losing nothing.

Concurrency: a lock serialises this object's work (LangGraph's parallel branches share
one store); several processes may open the same directory: SQLite serialises their
writes, and each process catches up with the others' writes (new vectors and a
deletion log) before it searches.

Search: ``search(query=...)`` keeps LangGraph's semantics (cosine similarity, max over an
item's vectors). Namespace and filter restrictions are applied inside the ranking, not
after a fixed top-k, so a search returns ``limit`` hits whenever that many match.
``lexical_search`` ranks by BM25 over the same indexed text, for hybrid retrieval.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import math
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
    validate_op_namespace,
)

from memory.fusion import RRF_K, Fused, fuse_ranks
from memory.lexical import (
    MAX_SCOPED_NAMESPACES,
    bounded_match,
    fts_candidates,
    fts_query,
    namespace_token,
    scoped_match,
    worth_scoping,
)
from memory.row_cache import DEFAULT_CAPACITY as DEFAULT_ROW_CACHE
from memory.row_cache import RowCache
from memory.scan_ahead import ScanWorker, worth_overlapping
from memory.store_db import (
    DB_FILE,
    ItemRow,
    StoreBusyError,
    StoreDB,
    decode_namespace,
    encode_namespace,
    now,
    parse_value,
    text_hash,
)
from memory.store_filters import (
    AnyOf,
    compile_any,
    sql_prefilter_any,
    validate_filter,
)

if TYPE_CHECKING:
    # numpy and FAISS load with the vector index: a store opened without one (the CLI's
    # listings) never pays for them.
    import numpy as np

    from memory.vector_index import VectorIndex

logger = logging.getLogger(__name__)

INDEX_FILE = "vectors.faiss"
INDEX_CHECKSUM_KEY = "index_checksum"
"""meta key: the checksum of the index file this store saved last."""
__all__ = [
    "DB_FILE",
    "INDEX_FILE",
    "FaissStore",
    "StoreBusyError",
    "StoreConfigError",
    "fts_query",
]


Found = tuple[ItemRow, dict[str, Any], float | None]
"""A search hit: its row, its value (parsed once) and its score."""


class Reads:
    """The rows one search has read, each parsed at most once, so that its two rankings
    (dense and BM25), which mostly find the same items, read them once; with `cache`,
    rows earlier searches read (memory/row_cache.py) are taken from there, not SQLite."""

    def __init__(self, cache: RowCache | None = None) -> None:
        self.rows: dict[int, ItemRow | None] = {}
        """item_id -> its row (None: expired, deleted or failing the SQL prefilter)."""
        self._found: dict[int, tuple[ItemRow, dict[str, Any]] | None] = {}
        self.cache = cache
        self._verdicts: dict[int, bool] = {}
        """The cache's verdicts for this search's filters (`RowCache.verdicts`)."""
        self._matches: Callable[[dict[str, Any]], bool] | None = None

    def filtered_by(self, any_of: AnyOf) -> None:
        """The filters of the search (the same for all its rankings)."""
        if self._matches is None:
            self._matches = compile_any(any_of)
            if self.cache is not None:
                self._verdicts = self.cache.verdicts(repr(list(any_of)))

    def unread(self, item_ids: list[int]) -> list[int]:
        """Those of `item_ids` this search has not read yet, nor the cache holds (those
        it holds are read from it)."""
        read = self.rows
        unread = [i for i in item_ids if i not in read]
        if self.cache is None or not unread:
            return unread
        cached = self.cache.rows
        missing = []
        for item_id in unread:
            row = cached.get(item_id)
            if row is None:
                missing.append(item_id)
            else:
                read[item_id] = row
        return missing

    def read(self, item_ids: list[int], rows: dict[int, ItemRow]) -> None:
        """What SQLite answered for `item_ids` (absent: no live row passing the filter)."""
        self.rows.update((i, rows.get(i)) for i in item_ids)
        if self.cache is not None:
            self.cache.put(rows)

    def matching(
        self, item_id: int, scopes: tuple[str, ...]
    ) -> tuple[ItemRow, dict[str, Any]] | None:
        """A row read before and its parsed value, if it is under one of `scopes` and
        matches the search's filters (`filtered_by`), else None."""
        assert self._matches is not None, "filtered_by first"
        found = self._found.get(item_id, _UNJUDGED)
        if found is not _UNJUDGED:
            return found
        row = self.rows.get(item_id)
        found = None
        # SQLite has the last word on namespace and filter: a damaged index may cost
        # speed, never isolation.
        if row is not None and row[1].startswith(scopes):
            cache = self.cache
            if cache is None:
                value = parse_value(row[3])  # parsed once: filtered, then returned
                found = (row, value) if self._matches(value) else None
            else:  # parsed and judged once while the row stays cached
                value = cache.value(item_id, row)
                verdict = self._verdicts.get(item_id)
                if verdict is None:
                    verdict = self._matches(value)
                    if cache.rows.get(item_id) is row:
                        self._verdicts[item_id] = verdict
                found = (row, value) if verdict else None
        self._found[item_id] = found
        return found


_UNJUDGED: Any = object()
"""`Reads.matching`: an item this search has not judged yet."""


class StoreConfigError(ValueError):
    """The store was opened with settings that contradict what it holds."""


def _check_value(op: PutOp) -> str | None:
    if op.value is None:
        return None
    if not isinstance(op.value, Mapping):
        raise ValueError(
            f"value for {op.namespace}/{op.key} must be a mapping (dict), "
            f"got {type(op.value).__name__}"
        )
    try:
        text = json.dumps(dict(op.value), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"value for {op.namespace}/{op.key} is not JSON-serializable: {exc}"
        ) from exc
    _check_unicode(text, f"value for {op.namespace}/{op.key}")
    return text


def _check_unicode(text: str, what: str) -> None:
    """SQLite and the embedders need valid UTF-8: a lone surrogate is refused by name."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode (it holds a lone surrogate)") from None


MAX_KEY_CHARS = 1024


def _check_op(op: Op) -> None:
    validate_op_namespace(op)
    if isinstance(op, PutOp | GetOp):
        if not op.namespace:
            raise InvalidNamespaceError("Namespace cannot be empty.")
        if not isinstance(op.key, str):
            raise ValueError(f"key must be a string, got {type(op.key).__name__}")
        if not op.key or len(op.key) > MAX_KEY_CHARS:
            raise ValueError(f"key must hold 1 to {MAX_KEY_CHARS} characters, got {op.key!r:.60}")
        _check_unicode(op.key, "key")
    if isinstance(op, SearchOp):
        validate_filter(op.filter)
        if op.query is not None:
            if not isinstance(op.query, str):
                raise ValueError(f"query must be a string, got {type(op.query).__name__}")
            _check_unicode(op.query, "query")
        for name in ("limit", "offset"):
            number = getattr(op, name)
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {number!r}")
    if isinstance(op, PutOp) and op.namespace[0] == "langgraph":
        raise InvalidNamespaceError(f'Root label cannot be "langgraph": {op.namespace}')


class FaissStore(BaseStore):
    """LangGraph store with SQLite durability, FAISS vector search and FTS5 BM25 search.

    Args:
        path: data directory (created if missing).
        index: LangGraph ``IndexConfig`` (``dims``, ``embed``, optional ``fields``); without
            it the store keeps and lists items but has no vector search.
        embedding_model: the embedding model's name, recorded on first use; opening the
            store later with another model (or dimension) is refused. Defaults to the
            embedder's ``model_name``/``model`` attribute or class name.
        ttl: LangGraph ``TTLConfig`` (default_ttl minutes, refresh_on_read, sweep interval).
        quantize_threshold: above this many vectors, searches scan an 8-bit quantized copy
            first and re-score its candidates exactly (vector_index.QUANTIZE_THRESHOLD, the
            default: see vector_index.py).
        hnsw_threshold: above this many vectors the FAISS index is HNSW (approximate).
        exact_limit: on HNSW, restricted searches over at most this many vectors are exact.
        read_only: open without writing anything (no schema, no index save): a reader
            never waits for a writer; the directory must hold a store already.
        row_cache: item rows kept parsed in memory for searches (memory/row_cache.py;
            ~4.5 KB each, 10k by default); 0 reads every candidate from SQLite.
    """

    supports_ttl = True

    def __init__(
        self,
        path: str | Path,
        *,
        index: IndexConfig | None = None,
        embedding_model: str | None = None,
        ttl: TTLConfig | None = None,
        hnsw_threshold: int = 2_000_000,
        quantize_threshold: int = 5_000,
        exact_limit: int = 20_000,
        read_only: bool = False,
        row_cache: int = DEFAULT_ROW_CACHE,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            self.path.mkdir(parents=True, exist_ok=True)
        self._hnsw_threshold = hnsw_threshold
        self._quantize_threshold = quantize_threshold
        self._exact_limit = exact_limit
        self.ttl_config = ttl
        self._closed = False
        self._sweeper: threading.Thread | None = None
        self._sweeper_stop = threading.Event()
        self.index_config: IndexConfig | None = None
        self.embeddings: Embeddings | None = None
        self._fields: list[tuple[str, Any]] = []
        self.embedding_model: str | None = None
        self._db = StoreDB(self.path, read_only=read_only)
        self._lock = self._db.lock
        if index:
            self._configure_index(index, embedding_model)
        self._data_version = self._db.data_version()
        self._vectors: VectorIndex | None = None
        self._rows = RowCache(row_cache)
        """Rows searches read, kept parsed for later searches (memory/row_cache.py)."""
        self._scan_worker = ScanWorker(f"faiss-scan-{self.path.name}")
        """Runs a search's vector scan beside its BM25 query (memory/scan_ahead.py)."""
        self._saved_marks: tuple[int, int] | None = None
        """The index's (max vec_id, max deletion seq) when it matched the saved file: a
        store that took in nothing since then does not save again on close (a 100k index
        is ~190 MB, 1.4 s to write)."""
        if self.index_config:
            self._vectors = self._open_vector_index()
        if ttl and ttl.get("sweep_interval_minutes"):
            self.start_ttl_sweeper()

    # ---- setup -----------------------------------------------------------------------
    def _configure_index(self, index: IndexConfig, embedding_model: str | None) -> None:
        dims = index.get("dims")
        if not isinstance(dims, int) or dims <= 0:
            raise StoreConfigError(f"index['dims'] must be a positive integer, got {dims!r}")
        embed = index.get("embed")
        if embed is None:
            raise StoreConfigError("index['embed'] is required for vector search")
        self.index_config = dict(index)  # type: ignore[assignment]
        self.embeddings = ensure_embeddings(embed)
        model = embedding_model or _model_name(embed)
        fields = index.get("fields") or ["$"]
        self._fields = [(f, f if f == "$" else tokenize_path(f)) for f in fields]
        stored = self._db.meta()
        if "embedding_model" not in stored and not self.read_only:
            with self._db.write() as conn:
                conn.executemany(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                    [("embedding_model", model), ("dims", str(dims))],
                )
            stored = self._db.meta()
        if "embedding_model" in stored and (
            stored["embedding_model"] != model or int(stored["dims"]) != dims
        ):
            raise StoreConfigError(
                f"store at {self.path} holds vectors of embedding model "
                f"{stored['embedding_model']!r} ({stored['dims']} dims); it cannot be "
                f"opened with {model!r} ({dims} dims): vectors of two models "
                "must not be mixed. Use another directory or the same model."
            )
        self.embedding_model = model

    @property
    def _dims(self) -> int:
        assert self.index_config is not None
        return int(self.index_config["dims"])

    def _open_vector_index(self) -> VectorIndex:
        """The saved index if SQLite vouches for it, caught up; else one rebuilt from SQLite.

        SQLite records the checksum of the index file each save wrote, so a file that is
        not the one this store saved (copied in, edited, restored from elsewhere) is
        refused, as is one whose contents disagree with SQLite after catching up.
        """
        from memory.vector_index import VectorIndex, integrity_log

        assert self.embedding_model
        loaded = VectorIndex.load(
            self.path / INDEX_FILE,
            dims=self._dims,
            model=self.embedding_model,
            hnsw_threshold=self._hnsw_threshold,
            quantize_threshold=self._quantize_threshold,
            exact_limit=self._exact_limit,
            checksum=self._db.meta().get(INDEX_CHECKSUM_KEY, ""),
        )
        if loaded is not None:
            problem = self._disagreement(loaded)
            if problem is None:
                self._saved_marks = _marks(loaded)
                self._catch_up(loaded)
                problem = self._count_disagreement(loaded)
            if problem is None:
                return loaded
            self._saved_marks = None
            integrity_log.warning(
                "vector index %s disagrees with SQLite (%s); rebuilding it from SQLite",
                self.path / INDEX_FILE,
                problem,
            )
        index = self._rebuild_from_sqlite()
        self._catch_up(index)
        return index

    def _disagreement(self, index: VectorIndex) -> str | None:
        max_vec, max_seq = self._db.vector_marks()
        if index.max_vec_id > max_vec or index.max_deletion_seq > max_seq:
            return "it is ahead of SQLite"
        return None

    def _count_disagreement(self, index: VectorIndex) -> str | None:
        _, vectors = self._db.counts()
        if index.size != vectors:
            return f"{index.size} live vectors, SQLite holds {vectors}"
        return None

    def _rebuild_from_sqlite(self) -> VectorIndex:
        from memory.vector_index import VectorIndex

        index = VectorIndex.build(
            self._dims,
            self._db.vectors_after(0, self._dims),
            hnsw_threshold=self._hnsw_threshold,
            quantize_threshold=self._quantize_threshold,
            exact_limit=self._exact_limit,
        )
        max_vec, max_seq = self._db.vector_marks()
        index.max_deletion_seq = max_seq
        index.max_vec_id = max(index.max_vec_id, max_vec)
        return index

    def _catch_up(self, index: VectorIndex) -> None:
        """Take in what SQLite committed since the index last looked (any process)."""
        index.sync(
            self._db.vectors_after(index.max_vec_id, self._dims),
            self._db.deletions_after(index.max_deletion_seq),
        )

    def _refresh_from_other_processes(self) -> None:
        if self._db.depth:
            return  # inside `atomic()`: caught up when it began, nobody else can write
        if self._others_wrote() and self._vectors is not None:
            self._catch_up(self._vectors)

    def _after_write(self) -> None:
        if self._db.depth:
            # Inside `atomic()` the vectors are not committed yet: the index takes them in
            # after the commit, never ones a rollback would take back (and reuse the ids of).
            return
        with self._lock:
            self._others_wrote()
            if self._vectors is not None:
                self._catch_up(self._vectors)

    def _others_wrote(self) -> bool:
        """Whether another connection (any process) committed since this one last looked;
        if so, what was read from SQLite before is forgotten."""
        version = self._db.data_version()
        if version == self._data_version:
            return False
        self._data_version = version
        self._db.term_docs.clear()
        self._rows.clear()
        return True

    # ---- transactions ----------------------------------------------------------------
    @contextmanager
    def atomic(self) -> Iterator[None]:
        """``with store.atomic():`` every store call inside is one SQLite transaction.

        A read-modify-write (read a memory, add a link, write it back) inside it cannot
        lose another process's write made between the read and the write: the IMMEDIATE
        transaction holds the database's write lock from the first read to the commit
        (other processes wait, up to the busy timeout). An error inside rolls all of it
        back. Call the store from this thread only while inside (its lock is held).
        """
        with self._lock:
            self._ensure_open()
            if self.read_only:
                raise PermissionError(f"the store at {self.path} was opened read-only")
            outermost = self._db.depth == 0
            with self._db.write():
                if outermost and self._vectors is not None:
                    self._catch_up(self._vectors)  # what others committed before the lock
                yield
            if outermost:
                self._after_write()

    # ---- batch -----------------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        puts, queries = self._plan(ops)
        query_vectors = self._embed_queries(queries)
        put_vectors = self._embed_puts(puts)
        return self._execute(ops, puts, query_vectors, put_vectors)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        puts, queries = self._plan(ops)
        query_vectors: dict[str, np.ndarray] = {}
        put_vectors: dict[str, np.ndarray] = {}
        if self.embeddings is not None:
            if queries:
                embedded = await asyncio.gather(*(self.embeddings.aembed_query(q) for q in queries))
                query_vectors = self._as_vectors(dict(zip(queries, embedded, strict=True)))
            # SQLite reads off the event loop (LangGraph's server forbids blocking there)
            texts = await asyncio.to_thread(self._texts_needing_vectors, puts)
            if texts:
                embedded_docs = await self.embeddings.aembed_documents(texts)
                put_vectors = self._as_vectors(dict(zip(texts, embedded_docs, strict=True)))
        return await asyncio.to_thread(self._execute, ops, puts, query_vectors, put_vectors)

    def _plan(self, ops: list[Op]) -> tuple[dict[tuple[tuple[str, ...], str], PutOp], list[str]]:
        self._ensure_open()
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        queries: list[str] = []
        for op in ops:
            _check_op(op)
            if isinstance(op, PutOp):
                _check_value(op)
                puts[(op.namespace, op.key)] = op  # the last put to a key wins, as in LangGraph
            elif isinstance(op, SearchOp) and op.query and self.embeddings is not None:
                if op.query not in queries:
                    queries.append(op.query)
            elif not isinstance(op, GetOp | SearchOp | ListNamespacesOp):
                raise ValueError(f"Unknown operation type: {type(op).__name__}")
        return puts, queries

    def _embed_queries(self, queries: list[str]) -> dict[str, np.ndarray]:
        if not queries or self.embeddings is None:
            return {}
        if len(queries) == 1:
            return self._as_vectors({queries[0]: self.embeddings.embed_query(queries[0])})
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            embedded = list(pool.map(self.embeddings.embed_query, queries))
        return self._as_vectors(dict(zip(queries, embedded, strict=True)))

    def _embed_puts(self, puts: dict[Any, PutOp]) -> dict[str, np.ndarray]:
        texts = self._texts_needing_vectors(puts)
        if not texts or self.embeddings is None:
            return {}
        return self._as_vectors(
            dict(zip(texts, self.embeddings.embed_documents(texts), strict=True))
        )

    def _as_vectors(self, embedded: Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
        import numpy as np

        from memory.vector_index import normalize_rows

        dims = self._dims
        out: dict[str, np.ndarray] = {}
        for text, vector in embedded.items():
            array = np.asarray(vector, dtype=np.float32).reshape(-1)
            if array.shape[0] != dims:
                raise ValueError(
                    f"embedding has {array.shape[0]} dimensions, the store expects {dims} "
                    f"(model {self.embedding_model!r}); text starts {text[:40]!r}"
                )
            if not np.all(np.isfinite(array)):
                raise ValueError(f"embedding contains NaN or infinity; text starts {text[:40]!r}")
            out[text] = normalize_rows(array.reshape(1, -1))[0]
        return out

    def _index_texts(self, op: PutOp) -> list[tuple[str, str]]:
        """(field path, text) pairs to embed for a put, as LangGraph's stores name them."""
        if op.value is None or op.index is False or not self.index_config:
            return []
        fields = (
            self._fields
            if op.index is None
            else [(f, f if f == "$" else tokenize_path(f)) for f in op.index]
        )
        pairs: list[tuple[str, str]] = []
        for path, tokens in fields:
            texts = get_text_at_path(dict(op.value), tokens)
            if len(texts) == 1:
                pairs.append((path, texts[0]))
            else:
                pairs.extend((f"{path}.{i}", t) for i, t in enumerate(texts))
        return pairs

    def _texts_needing_vectors(self, puts: dict[Any, PutOp]) -> list[str]:
        """Texts of the puts that have no vector yet (unchanged text keeps its vector)."""
        wanted = {text for op in puts.values() for _, text in self._index_texts(op)}
        if not wanted:
            return []
        hashes = {text_hash(t): t for t in wanted}
        known: set[str] = set()
        with self._lock:
            for (namespace, key), _op in puts.items():
                rows = self._db.conn.execute(
                    "SELECT v.text_hash FROM vectors v JOIN items i USING (item_id) "
                    "WHERE i.ns = ? AND i.key = ?",
                    (encode_namespace(namespace), key),
                ).fetchall()
                known.update(r[0] for r in rows)
        return [text for h, text in hashes.items() if h not in known]

    def _execute(
        self,
        ops: list[Op],
        puts: dict[tuple[tuple[str, ...], str], PutOp],
        query_vectors: dict[str, np.ndarray],
        put_vectors: dict[str, np.ndarray],
    ) -> list[Result]:
        results: list[Result] = []
        with self._lock:
            self._ensure_open()
            self._refresh_from_other_processes()
            for op in ops:
                if isinstance(op, GetOp):
                    results.append(self._get(op))
                elif isinstance(op, SearchOp):
                    results.append(self._search(op, query_vectors.get(op.query or "")))
                elif isinstance(op, ListNamespacesOp):
                    results.append(self._list_namespaces(op))
                else:
                    results.append(None)
            if puts and self.read_only:
                raise PermissionError(f"the store at {self.path} was opened read-only")
            if puts:
                self._apply_puts(puts, put_vectors)
        return results

    # ---- reads -----------------------------------------------------------------------
    def _live_after(self) -> float | None:
        """With ``omit_expired``: the moment before which expired items are hidden."""
        if self.ttl_config and self.ttl_config.get("omit_expired"):
            return now().timestamp()
        return None

    def _reads(self) -> Reads:
        """A search's reads, from the row cache where it may be used: not inside a write
        transaction (a rollback would leave it holding what never was; a read-modify-write
        reads SQLite), nor where expired items are hidden (a cached row may expire)."""
        if self._db.depth or self._live_after() is not None or not self._rows.capacity:
            return Reads(None)
        if self._rows.due_to_warm():
            self._rows.warm(self._db.newest_rows(self._rows.capacity))
        return Reads(self._rows)

    def _get(self, op: GetOp) -> Item | None:
        row = self._db.get_row(encode_namespace(op.namespace), op.key, self._live_after())
        if row is None:
            return None
        if op.refresh_ttl:
            self._db.refresh_ttl([row[0]])
        return _item(row)

    def _search(self, op: SearchOp, query_vector: np.ndarray | None) -> list[SearchItem]:
        if op.limit <= 0 or op.offset < 0:
            return []
        if op.query and query_vector is not None and self._vectors is not None:
            found = self._vector_search(op, query_vector)
        else:
            found = [(row, value, None) for row, value in self._scan(op, op.offset, op.limit)]
        if op.refresh_ttl:
            self._db.refresh_ttl([row[0] for row, _, _ in found])
        return [_search_item(row, value, score) for row, value, score in found]

    def _vector_search(self, op: SearchOp, query_vector: np.ndarray) -> list[Found]:
        need = op.offset + op.limit
        prefix = encode_namespace(op.namespace_prefix)
        ranked = self._dense_ranked(query_vector, (prefix,), [op.filter], need)
        page = ranked[op.offset : need]
        if len(page) < op.limit:
            # Items that have no vector (index=False) come last, unscored, as in LangGraph.
            missing = op.limit - len(page)
            page.extend(
                (row, value, None) for row, value in self._scan(op, 0, missing, vectorless=True)
            )
        return page

    def _dense_ranked(
        self,
        query_vector: np.ndarray,
        scopes: tuple[str, ...],
        any_of: AnyOf,
        need: int,
        reads: Reads | None = None,
    ) -> list[Found]:
        """The first `need` items under one of `scopes` (encoded namespace prefixes)
        matching one of the filters `any_of`, by cosine similarity (max over an item's
        vectors), in one walk of the index's ranking."""
        batches = self._dense_batches(query_vector, scopes, need)
        return self._first_matching(batches, scopes, any_of, need, reads=reads)

    def _dense_batches(
        self, query_vector: np.ndarray, scopes: tuple[str, ...], need: int
    ) -> Iterator[list[tuple[int, float]]]:
        """The vector index's ranking under `scopes` as (item_id, score) batches."""
        assert self._vectors is not None
        # A first batch of 4x what is needed: filters keep part of it, and each wider
        # batch is another scan.
        return self._vectors.ranked_items(
            query_vector, scopes[0] if len(scopes) == 1 else scopes, first=4 * need
        )

    def _scanned_beside(self, scopes: tuple[str, ...]) -> bool:
        """Whether a vector scan under `scopes` is worth running beside BM25 (scan_ahead)."""
        vectors = self._vectors
        if vectors is None:
            return False
        mask, allowed = vectors.allowed(scopes[0] if len(scopes) == 1 else scopes)
        return vectors.scan_for(allowed, len(mask)) != "tiny" and worth_overlapping(allowed)

    def _first_matching(
        self,
        batches: Iterable[list[tuple[int, float]]],
        scopes: tuple[str, ...],
        any_of: AnyOf,
        need: int,
        enough: int | None = None,
        reads: Reads | None = None,
    ) -> list[Found]:
        """The first `need` candidates (item_id, score), taken in ranking order, whose row
        is live, under one of `scopes` and matches one of `any_of`; with `enough`, no
        further batch is asked for once that many are found.

        Rows are read in slices sized by what is still missing and the share of rows that
        matched so far: a ranking may hold thousands of candidates, and reading and
        parsing them all cost more than the ranking. Filters run in SQL where they can
        (store_filters.sql_prefilter), then on each row parsed once. `reads`: what an
        earlier ranking of the same search (same scopes and filters) read already.
        """
        live_after = self._live_after()
        reads = self._reads() if reads is None else reads
        reads.filtered_by(any_of)
        # Without the cache, rows that cannot match stay in SQLite.
        pre_sql, pre_args = sql_prefilter_any(any_of) if reads.cache is None else ([], [])
        ranked: list[Found] = []
        read = 0
        for candidates in batches:
            start = 0
            while start < len(candidates) and len(ranked) < need:
                # The share of rows that matched so far, smoothed; first assumed to be all:
                # rows are read with the filter in SQL, so most rows read usually match.
                share = (len(ranked) + 1) / (read + 1)
                size = max(int(1.2 * (need - len(ranked)) / share) + 1, 16)
                part = candidates[start : start + size]
                start += len(part)
                read += len(part)
                unread = reads.unread([i for i, _ in part])
                if unread:
                    # With the cache, whole rows whatever this search's filters: it keeps
                    # them for every later search (SQLite parses a row's JSON again for each
                    # json_extract of a prefilter, which cost more than it saved here).
                    reads.read(unread, self._db.rows(unread, live_after, pre_sql, pre_args))
                for item_id, score in part:
                    if len(ranked) >= need:
                        break  # the rest of the slice is not parsed
                    found = reads.matching(item_id, scopes)
                    if found is not None:
                        ranked.append((*found, score))
            if len(ranked) >= (need if enough is None else enough):
                break
        return ranked[:need]

    def _scan(
        self, op: SearchOp, offset: int, limit: int, *, vectorless: bool = False
    ) -> list[tuple[ItemRow, dict[str, Any]]]:
        prefix = encode_namespace(op.namespace_prefix)
        return self._scan_any(prefix, [op.filter], offset, limit, vectorless=vectorless)

    def _scan_any(
        self, prefix: str, any_of: AnyOf, offset: int, limit: int, *, vectorless: bool = False
    ) -> list[tuple[ItemRow, dict[str, Any]]]:
        if not any(any_of):  # no filter: SQLite pages, so a page parses only its own rows
            rows = self._db.scan(
                prefix, [], [], self._live_after(), vectorless=vectorless, page=(offset, limit)
            )
            return [(row, parse_value(row[3])) for row in rows]
        pre_sql, pre_args = sql_prefilter_any(any_of)
        rows = self._db.scan(prefix, pre_sql, pre_args, self._live_after(), vectorless=vectorless)
        out: list[tuple[ItemRow, dict[str, Any]]] = []
        skipped = 0
        matches = compile_any(any_of)
        for row in rows:
            value = parse_value(row[3])
            if not matches(value):
                continue
            if skipped < offset:
                skipped += 1
                continue
            out.append((row, value))
            if len(out) >= limit:
                break
        return out

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        namespaces = [decode_namespace(ns) for ns in self._db.namespaces(self._live_after())]
        for condition in op.match_conditions or ():
            namespaces = [ns for ns in namespaces if _matches(condition, ns)]
        if op.max_depth is not None:
            namespaces = sorted({ns[: op.max_depth] for ns in namespaces})
        else:
            namespaces = sorted(namespaces)
        return namespaces[op.offset : op.offset + op.limit]

    # ---- writes ----------------------------------------------------------------------
    def _apply_puts(
        self, puts: dict[tuple[tuple[str, ...], str], PutOp], vectors: dict[str, np.ndarray]
    ) -> None:
        moment = now()
        with self._db.write() as conn:
            for (namespace, key), op in puts.items():
                ns = encode_namespace(namespace)
                row = conn.execute(
                    "SELECT item_id FROM items WHERE ns = ? AND key = ?", (ns, key)
                ).fetchone()
                if op.value is None:
                    if row is not None:
                        self._rows.discard([row[0]])
                        self._db.delete_item(conn, row[0])
                    continue
                self._write_item(conn, op, ns, row[0] if row else None, moment, vectors)
        self._after_write()

    def _write_item(
        self,
        conn: sqlite3.Connection,
        op: PutOp,
        ns: str,
        item_id: int | None,
        moment: datetime,
        vectors: dict[str, np.ndarray],
    ) -> None:
        value = _check_value(op)
        ttl = self._ttl_minutes(op)
        expires = moment.timestamp() + ttl * 60 if ttl is not None else None
        if item_id is None:
            item_id = conn.execute(
                "INSERT INTO items (ns, key, value, created_at, updated_at, expires_at, "
                "ttl_minutes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ns, op.key, value, moment.isoformat(), moment.isoformat(), expires, ttl),
            ).lastrowid
        else:
            conn.execute(
                "UPDATE items SET value = ?, updated_at = ?, expires_at = ?, ttl_minutes = ? "
                "WHERE item_id = ?",
                (value, moment.isoformat(), expires, ttl, item_id),
            )
        assert item_id is not None
        self._rows.discard([item_id])  # its old row, or a deleted row's whose id it took
        pairs = self._index_texts(op)
        conn.execute("DELETE FROM items_fts WHERE rowid = ?", (item_id,))
        if pairs:
            conn.execute(
                "INSERT INTO items_fts (rowid, text, ns) VALUES (?, ?, ?)",
                (item_id, "\n".join(text for _, text in pairs), namespace_token(ns)),
            )
        self._replace_vectors(conn, item_id, pairs, vectors)

    def _replace_vectors(
        self,
        conn: sqlite3.Connection,
        item_id: int,
        pairs: list[tuple[str, str]],
        vectors: dict[str, np.ndarray],
    ) -> None:
        import numpy as np

        existing = conn.execute(
            "SELECT vec_id, field, text_hash FROM vectors WHERE item_id = ?", (item_id,)
        ).fetchall()
        keep = {(field, text_hash(text)) for field, text in pairs}
        stale = [vec_id for vec_id, field, h in existing if (field, h) not in keep]
        have = {(field, h) for _, field, h in existing}
        if stale:
            self._db.drop_vectors(conn, stale)
        for field, text in pairs:
            h = text_hash(text)
            if (field, h) in have:
                continue
            vector = vectors.get(text)
            if vector is None:
                # Another writer replaced the vector between embedding and commit.
                vector = self._as_vectors({text: self._embed_one(text)})[text]
            conn.execute(
                "INSERT INTO vectors (item_id, field, text_hash, embedding) VALUES (?, ?, ?, ?)",
                (item_id, field, h, vector.astype(np.float32).tobytes()),
            )

    def _embed_one(self, text: str) -> list[float]:
        assert self.embeddings is not None
        return self.embeddings.embed_documents([text])[0]

    def _ttl_minutes(self, op: PutOp) -> float | None:
        ttl = op.ttl
        if ttl is None and self.ttl_config:
            ttl = self.ttl_config.get("default_ttl")
        if ttl is None:
            return None
        if (
            isinstance(ttl, bool)
            or not isinstance(ttl, int | float)
            or not math.isfinite(ttl)
            or ttl <= 0
        ):
            raise ValueError(f"ttl must be a positive number of minutes, got {ttl!r}")
        return float(ttl)

    # ---- lexical search --------------------------------------------------------------
    def lexical_search(
        self,
        namespace_prefix: tuple[str, ...],
        query: str,
        *,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        within: Sequence[tuple[str, ...]] | None = None,
    ) -> list[SearchItem]:
        """Items ranked by BM25 (SQLite FTS5) over their indexed text; score = -bm25.

        The words of `query` are OR-ed, so any shared word makes a hit and rarer words
        weigh more; words found in more than `MAX_TERM_DOCS` documents are left out while a
        rarer one is there (lexical.bounded_fts_query), so the cost stays bounded at scale.
        Namespace prefix and filter apply as in `search`; `within` further keeps only
        items under one of those namespaces (one ranking for several scopes).
        """
        _check_op(SearchOp(namespace_prefix, filter, limit, offset, query))
        if not fts_query(query) or limit <= 0:
            return []
        prefix = encode_namespace(namespace_prefix)
        # Under the prefix and under one of `within`: the longer of each pair, when nested.
        scopes = (
            tuple(
                max(s, prefix, key=len)
                for s in map(encode_namespace, within)
                if s.startswith(prefix) or prefix.startswith(s)
            )
            if within
            else (prefix,)
        )
        need = offset + limit
        with self._lock:
            self._ensure_open()
            self._refresh_from_other_processes()
            ranked = self._lexical_ranked(query, scopes, [filter], need, enough=need)
        return [_search_item(row, value, score) for row, value, score in ranked[offset:need]]

    def _lexical_ranked(
        self,
        query: str,
        scopes: tuple[str, ...],
        any_of: AnyOf,
        need: int,
        *,
        first: int = 4,
        enough: int,
        reads: Reads | None = None,
    ) -> list[Found]:
        """The first `need` items under one of `scopes` matching one of `any_of`, by BM25
        (score = -bm25), from the best `first` x `need` matches of the whole index, and
        from all of them when those held fewer than `enough` (0: never)."""
        if not scopes:
            return []
        match, matching = bounded_match(self._db.conn, query, self._db.term_docs)
        if not match:
            return []
        namespaces = self._fts_namespaces(scopes, matching)
        if namespaces == []:
            return []  # no indexed text under the scopes
        if namespaces is None and enough == 0:
            # Ranked everywhere: the namespaces' matches may lie past the first batch.
            enough = need
        match = scoped_match(match, namespaces)
        batches = (
            [(item_id, -float(rank)) for item_id, rank in candidates]
            # FTS5 ranks every match for each batch, and sorting more of them costs too
            # (LIMIT 384 ~1.5x LIMIT 64 at 10k): the first batch is a small multiple of
            # what is needed (filters keep part of it).
            for candidates in fts_candidates(self._db.conn, match, first=first * need)
        )
        return self._first_matching(batches, scopes, any_of, need, enough=enough, reads=reads)

    def _fts_namespaces(self, scopes: tuple[str, ...], matching: int) -> list[str] | None:
        """The namespaces under `scopes` for BM25 to rank alone (None: rank every document),
        for a query matching about `matching` documents.

        Items with indexed text are the items with vectors, so the vector index (caught up
        with SQLite before every search) knows their namespaces and how many each holds."""
        vectors = self._vectors
        if not self._db.fts_namespaces or vectors is None or "" in scopes:
            return None
        names = [ns for ns in vectors.namespaces if ns.startswith(scopes)]
        if len(names) > MAX_SCOPED_NAMESPACES:
            return None
        if names:
            _, in_names = vectors.allowed(scopes[0] if len(scopes) == 1 else scopes)
            if not worth_scoping(matching, in_names, vectors.size):
                return None
        return names

    def hybrid_candidates(
        self,
        namespaces: Sequence[tuple[str, ...]],
        query: str,
        *,
        any_of: AnyOf = (),
        dense_limit: int,
        lexical_limit: int,
    ) -> tuple[list[SearchItem], list[SearchItem]]:
        """Both rankings hybrid retrieval fuses, in one call: the first `dense_limit` items
        by cosine similarity and the first `lexical_limit` by BM25, under any of
        `namespaces`, each matching one of the filters `any_of`.

        The query is embedded once and the readable namespaces are scanned together: one
        vector walk and one BM25 query however many namespaces and filter alternatives
        there are (a `search` per namespace and filter repeated both).
        """
        dense, lexical = self._both_ranked(namespaces, query, any_of, dense_limit, lexical_limit)
        return (
            [_search_item(row, value, score) for row, value, score in dense],
            [_search_item(row, value, score) for row, value, score in lexical],
        )

    def hybrid_fused(
        self,
        namespaces: Sequence[tuple[str, ...]],
        query: str,
        *,
        any_of: AnyOf = (),
        dense_limit: int,
        lexical_limit: int,
        weights: tuple[float, float] = (1.0, 1.0),
        rrf_k: int = RRF_K,
        keep: int,
    ) -> list[Fused]:
        """`hybrid_candidates`' two rankings fused by rank (memory/fusion.py), the best
        `keep`: the same hits as fusing its SearchItems, with an item built only for each
        hit kept (a search keeps a third of its candidates). Each hit's item is the dense
        ranking's where it is there (score: the cosine), else BM25's."""
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise ValueError(f"keep must be a non-negative integer, got {keep!r}")
        dense, lexical = self._both_ranked(namespaces, query, any_of, dense_limit, lexical_limit)
        # An item in both rankings is the dense one's: its score is the cosine.
        found = {row[0]: (row, value, score) for row, value, score in lexical}
        found.update((row[0], (row, value, score)) for row, value, score in dense)
        ranked = fuse_ranks(
            [[row[0] for row, _, _ in dense], [row[0] for row, _, _ in lexical]],
            weights,
            rrf_k=rrf_k,
        )
        out = []
        for item_id, relevance, (dense_rank, lexical_rank) in ranked[:keep]:
            row, value, score = found[item_id]
            out.append(
                Fused(
                    _search_item(row, value, score),
                    relevance,
                    score if dense_rank is not None else None,
                    dense_rank,
                    lexical_rank,
                )
            )
        return out

    def _both_ranked(
        self,
        namespaces: Sequence[tuple[str, ...]],
        query: str,
        any_of: AnyOf,
        dense_limit: int,
        lexical_limit: int,
    ) -> tuple[list[Found], list[Found]]:
        """The two rankings of `hybrid_candidates` as found rows, before any item is built."""
        for alternative in any_of:
            _check_op(SearchOp((), alternative, 1, 0, query))
        for number in (dense_limit, lexical_limit):
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                raise ValueError(f"limit must be a non-negative integer, got {number!r}")
        self._ensure_open()
        scopes = tuple(encode_namespace(ns) for ns in namespaces)
        vector = None
        if self.embeddings is not None and self._vectors is not None and dense_limit and scopes:
            vector = self._embed_queries([query])[query]
        lexical_wanted = bool(lexical_limit) and bool(fts_query(query))
        with self._lock:
            self._ensure_open()
            self._refresh_from_other_processes()
            reads = self._reads()  # both rankings mostly find the same items: each read once
            batches = None
            if vector is not None:
                batches = self._dense_batches(vector, scopes, dense_limit)
            scan: AbstractContextManager[Iterator[list[tuple[int, float]]] | None]
            scan = nullcontext(batches)
            if batches is not None and lexical_wanted and self._scanned_beside(scopes):
                # The scan runs on another core while BM25 ranks here (scan_ahead).
                scan = self._scan_worker.started(batches)
            with scan as batches:
                # Bounded: one FTS5 ranking per search, the best 16x `lexical_limit` matches
                # of the whole index, kept to the namespaces and filters. Ranking every match
                # a second time cost 2-3x the first at 10k; a first batch of 4x lost 2 points
                # of hit@5 in the retrieval eval (a customer's own facts ranked below other
                # customers').
                lexical = (
                    self._lexical_ranked(
                        query, scopes, any_of, lexical_limit, first=16, enough=0, reads=reads
                    )
                    if lexical_wanted
                    else []
                )
                dense = (
                    self._first_matching(batches, scopes, any_of, dense_limit, reads=reads)
                    if batches is not None
                    else []
                )
            for scope in scopes:
                # Items that have no vector (index=False, or no index at all) come last,
                # unscored, as in `search`.
                if len(dense) >= dense_limit:
                    break
                missing = dense_limit - len(dense)
                dense += [
                    (row, value, None)
                    for row, value in self._scan_any(
                        scope, any_of, 0, missing, vectorless=vector is not None
                    )
                ]
        return dense, lexical

    async def ahybrid_fused(
        self,
        namespaces: Sequence[tuple[str, ...]],
        query: str,
        *,
        any_of: AnyOf = (),
        dense_limit: int,
        lexical_limit: int,
        weights: tuple[float, float] = (1.0, 1.0),
        rrf_k: int = RRF_K,
        keep: int,
    ) -> list[Fused]:
        """`hybrid_fused` off the event loop (SQLite and the embedder block)."""
        return await asyncio.to_thread(
            self.hybrid_fused,
            namespaces,
            query,
            any_of=any_of,
            dense_limit=dense_limit,
            lexical_limit=lexical_limit,
            weights=weights,
            rrf_k=rrf_k,
            keep=keep,
        )

    async def alexical_search(
        self,
        namespace_prefix: tuple[str, ...],
        query: str,
        *,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        within: Sequence[tuple[str, ...]] | None = None,
    ) -> list[SearchItem]:
        return await asyncio.to_thread(
            self.lexical_search,
            namespace_prefix,
            query,
            filter=filter,
            limit=limit,
            offset=offset,
            within=within,
        )

    def scrub(self) -> bool:
        """After deleting for good (a forget): zeroed pages are already the rule
        (``secure_delete``); this also merges the FTS5 index and truncates the WAL, so
        the deleted text is in no file. False when another process's open read kept
        part of the WAL (run it again when it is idle)."""
        with self._lock:
            self._ensure_open()
            if self.read_only:
                raise PermissionError(f"the store at {self.path} was opened read-only")
            done = self._db.scrub()
        if not done:
            logger.warning("store %s: the WAL could not be truncated (a reader is open)", self.path)
        return done

    # ---- TTL -------------------------------------------------------------------------
    def sweep_ttl(self) -> int:
        """Delete expired items; returns how many."""
        with self._lock:  # no search runs between the deletes and the cache's clearing
            swept = self._db.sweep_expired()
            if swept:
                self._rows.clear()
        if swept:
            self._after_write()
        return swept

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> threading.Thread:
        """Sweep expired items in a daemon thread every `sweep_interval_minutes`."""
        interval = (
            sweep_interval_minutes or (self.ttl_config or {}).get("sweep_interval_minutes") or 5
        )
        if self._sweeper is not None and self._sweeper.is_alive():
            return self._sweeper

        def loop() -> None:
            while not self._sweeper_stop.wait(float(interval) * 60):
                try:
                    self.sweep_ttl()
                except Exception:  # a failed sweep must not kill the thread
                    logger.exception("TTL sweep failed")

        self._sweeper_stop.clear()
        self._sweeper = threading.Thread(target=loop, name="faiss-store-ttl", daemon=True)
        self._sweeper.start()
        return self._sweeper

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        if self._sweeper is None:
            return True
        self._sweeper_stop.set()
        self._sweeper.join(timeout)
        stopped = not self._sweeper.is_alive()
        if stopped:
            self._sweeper = None
        return stopped

    # ---- lifecycle -------------------------------------------------------------------
    def flush(self) -> None:
        """Save the FAISS index now (it is also saved on close).

        The file and its checksum in SQLite change in one write transaction, so two
        processes saving at once cannot leave SQLite vouching for the other's file.
        """
        with self._lock:
            self._ensure_open()
            if self._vectors is None or not self.embedding_model or self.read_only:
                return
            if self._saved_marks == _marks(self._vectors):
                return  # the file on disk already holds exactly these vectors
            with self._db.write() as conn:
                checksum = self._vectors.save(self.path / INDEX_FILE, model=self.embedding_model)
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    (INDEX_CHECKSUM_KEY, checksum),
                )
            self._saved_marks = _marks(self._vectors)

    def close(self) -> None:
        if self._closed:
            return
        self.stop_ttl_sweeper(timeout=5)
        with self._lock:
            try:
                self.flush()
            except StoreBusyError as exc:
                # The index file is only a cache: the next open catches up from SQLite.
                logger.warning("vector index not saved on close: %s", exc)
            finally:
                self._closed = True
                self._db.close()
                self._scan_worker.shutdown()

    def _ensure_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"store at {self.path} is closed")

    def __enter__(self) -> FaissStore:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def stats(self) -> dict[str, Any]:
        """Counts and index kind, for the CLI and the benchmark."""
        with self._lock:
            items, vectors = self._db.counts()
        return {
            "path": str(self.path),
            "items": items,
            "vectors": vectors,
            "index_kind": self._vectors.kind if self._vectors else None,
            "embedding_model": self.embedding_model,
        }


def _marks(index: VectorIndex) -> tuple[int, int]:
    """What the index has taken in from SQLite: its highest vec_id and deletion seq."""
    return index.max_vec_id, index.max_deletion_seq


def _matches(condition: Any, namespace: tuple[str, ...]) -> bool:
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    pairs = (
        zip(namespace, path, strict=False)
        if condition.match_type == "prefix"
        else zip(reversed(namespace), reversed(path), strict=False)
    )
    return all(p == "*" or n == p for n, p in pairs)


def _item(row: ItemRow) -> Item:
    return Item(
        value=parse_value(row[3]),
        key=row[2],
        namespace=decode_namespace(row[1]),
        created_at=datetime.fromisoformat(row[4]),
        updated_at=datetime.fromisoformat(row[5]),
    )


def _search_item(row: ItemRow, value: dict[str, Any], score: float | None) -> SearchItem:
    return SearchItem(
        namespace=decode_namespace(row[1]),
        key=row[2],
        # A copy: the value may be the row cache's, which later searches hand out too.
        # Nested lists and dicts stay shared (LangGraph's InMemoryStore shares the whole
        # value): a caller changing a result's nested values changes the cached row.
        value=dict(value),
        created_at=datetime.fromisoformat(row[4]),
        updated_at=datetime.fromisoformat(row[5]),
        score=score,
    )


def _model_name(embed: Any) -> str:
    for attribute in ("model_name", "model"):
        name = getattr(embed, attribute, None)
        if isinstance(name, str) and name:
            return name
    return getattr(embed, "__qualname__", None) or type(embed).__name__
