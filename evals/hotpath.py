"""bench-hotpath: `MemoryManager.search` end to end against its floor and its peers.

Everything is measured interleaved in one run (query j goes to every system before query
j + 1 goes to any), on the same stored memories, with the same vectors and the same live
query embedder (each system has its own instance, so no system sees another's cached
query). Per memory count:

- ``floor``: the least any hybrid search can do: one bare ``embed_query``, one bare FAISS
  scan of all the vectors (flat; above the store's quantize threshold, 5k, the same 8-bit
  scan + exact re-score the store uses), then one bounded BM25 query (FTS5, common words
  left out as the store does) over a bare table of the same texts, one after the other
  (the product runs its scan beside its BM25 query on another core:
  memory/scan_ahead.py). ``floor-dense``: embedding + scan only.
- ``faiss``: this project, ``MemoryManager.search(q, limit=6)`` as the coordinator calls it
  (hybrid, trust- and type-aware) on the FAISS store;
- ``inmemory``, ``sqlite``, ``postgres``: the same call on LangGraph's own stores (dense
  only: they have no lexical search);
- ``mem0``: ``Memory.search`` of mem0 with a local FAISS vector store and the same
  embedder, when the ``mem0ai`` package is installed (skipped with a note otherwise);
- ``store (one namespace)`` / ``store (team)``: ``FaissStore.search`` of one namespace and
  of the whole team, the ratio the README quotes;
- ``faiss, no row cache``: the product on a handle with ``row_cache=0`` (every candidate
  read from SQLite and parsed), what a one-shot command's single search costs.

Also: embedder runs per search and per add (`MiniLMEmbeddings.model_runs`), and
``MemoryManager.add`` throughput on the FAISS store at the largest size, with the real
embedder. Memories are the latency eval's synthetic support-desk sentences (a pool of
distinct sentences embedded once, reused with their own subjects and ids).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

import faiss
import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore, IndexConfig
from rich.console import Console

from evals.bench_store import Workspace, open_backend, postgres_server
from evals.latency import (
    COORDINATOR_AGENT,
    POOL_SIZE,
    TEAM,
    PoolEmbeddings,
    load_memories,
    pool_sentence,
    query_text,
    sync_memory,
)
from evals.report import Report, markdown_table, progress_bar, write_report
from memory.embeddings import MiniLMEmbeddings, embedding_model_name
from memory.lexical import bounded_fts_query, fts_candidates
from memory.manager import MemoryManager
from memory.models import MemoryType
from memory.namespaces import memory_namespace, team_prefix
from memory.retrieval import strip_question_words
from memory.row_cache import DEFAULT_CAPACITY as DEFAULT_ROW_CACHE
from memory.store import FaissStore
from memory.vector_index import QUANTIZE_THRESHOLD

SEARCH_LIMIT = 6
"""What the coordinator asks for (nodes' retrieve_memories)."""
FLOOR, FLOOR_DENSE, PRODUCT = "floor", "floor-dense", "faiss"
STORE_ONE, STORE_TEAM = "store (one namespace)", "store (team)"
UNCACHED = "faiss, no row cache"
"""The product on a handle with `row_cache=0`: every candidate read from SQLite and parsed,
as a store searched once (a one-shot command) or just written by another process does."""
PEERS = ("inmemory", "sqlite", "postgres", "mem0")
SYSTEMS = (FLOOR, FLOOR_DENSE, PRODUCT, *PEERS)
MIN_QUERIES = 5
WARMUP = 2
QUANTIZED_ABOVE = QUANTIZE_THRESHOLD
"""The store's quantize_threshold: above it the floor scans 8-bit codes as the store does."""
RESCORE = 64


@dataclass(frozen=True)
class Series:
    p50_ms: float
    p95_ms: float
    runs: int


@dataclass
class SizeResult:
    size: int
    series: dict[str, Series] = field(default_factory=dict)
    embeds_per_search: float | None = None
    """Embedder runs per `MemoryManager.search` on the FAISS store."""


@dataclass(frozen=True)
class HotpathSettings:
    queries: int
    budget_s: float
    search_limit: int
    pool_sentences: int
    embeddings: str
    systems: list[str]
    adds: int


@dataclass
class HotpathSummary:
    """Everything one run measured: what the JSON, the markdown and the plot show."""

    sizes: list[SizeResult]
    adds_per_s: float | None
    embeds_per_add: float | None
    add_size: int | None
    settings: HotpathSettings
    notes: list[str]

    def ratio(self, size: SizeResult, system: str, over: str) -> float | None:
        a, b = size.series.get(system), size.series.get(over)
        return a.p50_ms / b.p50_ms if a and b and b.p50_ms > 0 else None


# ---- the floor ---------------------------------------------------------------------------
class Floor:
    """One bare embedding, one bare FAISS scan, one bounded BM25 query: nothing else."""

    def __init__(self, vectors: np.ndarray, texts: list[str], embedder: Embeddings) -> None:
        self.embedder = embedder
        dims = vectors.shape[1]
        self.flat = faiss.IndexFlatIP(dims)
        self.flat.add(vectors)
        self.coarse: faiss.Index | None = None
        if len(vectors) > QUANTIZED_ABOVE:
            self.coarse = faiss.IndexScalarQuantizer(
                dims, faiss.ScalarQuantizer.QT_8bit_uniform, faiss.METRIC_INNER_PRODUCT
            )
            self.coarse.train(vectors)
            self.coarse.add(vectors)
        self.vectors = vectors
        self.conn = sqlite3.connect(":memory:")
        self.conn.execute(
            "CREATE VIRTUAL TABLE items_fts USING fts5 (text, tokenize = 'porter unicode61')"
        )
        self.conn.executemany("INSERT INTO items_fts (text) VALUES (?)", [(t,) for t in texts])

    def dense(self, query: str) -> np.ndarray:
        vector = np.asarray([self.embedder.embed_query(query)], dtype=np.float32)
        if self.coarse is None:
            _, ids = self.flat.search(vector, SEARCH_LIMIT * 4)
            return cast(np.ndarray, ids[0])
        _, ids = self.coarse.search(vector, RESCORE)
        exact = self.vectors[ids[0]] @ vector[0]
        return cast(np.ndarray, ids[0][np.argsort(-exact)[: SEARCH_LIMIT * 4]])

    def lexical(self, query: str) -> list[tuple[int, float]]:
        match = bounded_fts_query(self.conn, query)
        if not match:
            return []
        return next(iter(fts_candidates(self.conn, match, first=SEARCH_LIMIT * 4)), [])

    def search(self, query: str) -> None:
        topic = strip_question_words(query)
        self.dense(topic)
        self.lexical(topic)


# ---- mem0 --------------------------------------------------------------------------------
MEM0_MISSING: Final = (
    "mem0 skipped: the mem0ai package is not installed (pip install -e '.[bench]')"
)


def open_mem0(directory: Path, embedder: Embeddings, dims: int) -> Any | None:
    """mem0's Memory with a local FAISS store and our embedder, or None if not installed.

    Dense only: mem0's FAISS store has no keyword search (mem0 says so and scores by
    similarity alone). No LLM runs: the benchmark adds with ``infer=False``, mem0's raw add.
    """
    # mem0 reads this at import: a benchmark sends nothing anywhere.
    os.environ["MEM0_TELEMETRY"] = "False"
    try:
        from mem0 import Memory as Mem0Memory
    except ImportError:
        return None
    config = {
        "vector_store": {
            "provider": "faiss",
            "config": {"path": str(directory / "mem0"), "embedding_model_dims": dims},
        },
        "embedder": {"provider": "langchain", "config": {"model": embedder}},
        # mem0 builds an LLM client at start-up even when nothing calls it; Ollama's client
        # connects lazily, so naming the project's default model costs nothing offline.
        "llm": {"provider": "ollama", "config": {"model": "phi4-mini"}},
        "history_db_path": str(directory / "mem0-history.db"),
    }
    return Mem0Memory.from_config(config)


@contextmanager
def _one_save_at_the_end(mem0: Any) -> Iterator[None]:
    """mem0's FAISS store rewrites its whole index and docstore after every insert, which
    makes loading 100k memories one `add` at a time quadratic (hours). Its saves are held
    back while loading and done once at the end; searches read the index in memory, so
    what is timed is unchanged."""
    store = mem0.vector_store
    path = store.path
    store.path = None  # mem0's FaissDB._save returns early without a path
    try:
        yield
    finally:
        store.path = path
        store._save()


# ---- the run -----------------------------------------------------------------------------
def run_hotpath(
    *,
    sizes: list[int],
    systems: list[str],
    queries: int,
    adds: int,
    budget_s: float,
    json_out: Path | None,
    reports: Path,
    embedder_factory: Callable[[], Embeddings] | None = None,
) -> HotpathSummary:
    """Run the benchmark; write JSON (`json_out`, reports/hotpath.json), markdown and plot."""
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown or not systems or not sizes or min(sizes) < 1 or queries < 1 or budget_s <= 0:
        raise ValueError(
            f"bad arguments: systems {systems} (choose from {list(SYSTEMS)}), sizes {sizes}, "
            f"queries {queries}, budget {budget_s}"
        )
    make = embedder_factory or MiniLMEmbeddings
    console = Console()
    notes: list[str] = []
    sizes = sorted(set(sizes))
    pool_size = min(POOL_SIZE, max(sizes))
    pool = [pool_sentence(i) for i in range(pool_size)]
    texts = [content for _, content in pool]
    seed = make()
    console.print(f"embedding {pool_size} pool sentences with {embedding_model_name(seed)}")
    cached = dict(zip(texts, seed.embed_documents(texts), strict=True))
    results: list[SizeResult] = []
    adds_per_s: float | None = None
    embeds_per_add: float | None = None
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hotpath-")))
        space = Workspace(directory=directory)
        if "postgres" in systems:
            space.pg_server_url = stack.enter_context(postgres_server(directory, None))
        progress = stack.enter_context(progress_bar(console))
        for size in sizes:
            with _systems(size, systems, pool, cached, make, space, notes, progress) as live:
                result = _time_interleaved(size, live, queries, budget_s, progress)
                results.append(result)
                if size == sizes[-1] and adds > 0 and PRODUCT in live.managers:
                    adds_per_s, embeds_per_add = _time_adds(live, adds)
    summary = HotpathSummary(
        sizes=results,
        adds_per_s=adds_per_s,
        embeds_per_add=embeds_per_add,
        add_size=sizes[-1] if adds_per_s is not None else None,
        settings=HotpathSettings(
            queries=queries,
            budget_s=budget_s,
            search_limit=SEARCH_LIMIT,
            pool_sentences=pool_size,
            embeddings=embedding_model_name(seed),
            systems=systems,
            adds=adds,
        ),
        notes=notes,
    )
    _write(summary, json_out, reports, console)
    return summary


@dataclass
class _Live:
    """The systems of one size, ready to be timed."""

    calls: dict[str, Callable[[str], object]] = field(default_factory=dict)
    embedders: dict[str, Embeddings] = field(default_factory=dict)
    managers: dict[str, MemoryManager] = field(default_factory=dict)


@contextmanager
def _systems(
    size: int,
    systems: list[str],
    pool: list[tuple[MemoryType, str]],
    cached: dict[str, list[float]],
    make: Callable[[], Embeddings],
    space: Workspace,
    notes: list[str],
    progress: Any,
) -> Iterator[_Live]:
    live = _Live()
    dims = len(next(iter(cached.values())))
    with ExitStack() as stack:
        for name in systems:
            embedder = PoolEmbeddings(make(), cached, dims)
            if name in (FLOOR, FLOOR_DENSE):
                floor = _floor(size, pool, cached, embedder)
                live.calls[name] = floor.search if name == FLOOR else floor.dense
            elif name == "mem0":
                mem0 = _mem0(size, pool, embedder, dims, space, notes)
                if mem0 is not None:
                    live.calls[name] = _mem0_search(mem0)
            else:
                store = stack.enter_context(_loaded_store(name, size, pool, embedder, space))
                manager = MemoryManager(store, team=TEAM, agent=COORDINATOR_AGENT)
                live.managers[name] = manager
                live.calls[name] = _manager_search(manager)
                if name == PRODUCT:
                    # Other handles on the same directory, each with its own embedder, so
                    # that no series finds the query already embedded by another.
                    one = memory_namespace(TEAM, "private", COORDINATOR_AGENT)
                    for label, where in ((STORE_ONE, one), (STORE_TEAM, team_prefix(TEAM))):
                        handle = stack.enter_context(
                            _store_handle(store, PoolEmbeddings(make(), cached, dims))
                        )
                        live.calls[label] = _store_search(handle, where)
                    uncached = stack.enter_context(
                        _store_handle(store, PoolEmbeddings(make(), cached, dims), row_cache=0)
                    )
                    live.calls[UNCACHED] = _manager_search(
                        MemoryManager(uncached, team=TEAM, agent=COORDINATOR_AGENT)
                    )
            live.embedders[name] = embedder
            progress.console.print(f"{size:>7} memories: {name} ready")
        yield live


@contextmanager
def _store_handle(
    store: BaseStore, embedder: Embeddings, *, row_cache: int = DEFAULT_ROW_CACHE
) -> Iterator[BaseStore]:
    path = cast(FaissStore, store).path
    index = cast(IndexConfig, {**cast(FaissStore, store).index_config, "embed": embedder})  # type: ignore[dict-item]
    with FaissStore(path, index=index, row_cache=row_cache) as handle:
        yield handle


def _manager_search(manager: MemoryManager) -> Callable[[str], object]:
    return lambda q: manager.search(q, limit=SEARCH_LIMIT)


def _store_search(store: BaseStore, where: tuple[str, ...]) -> Callable[[str], object]:
    return lambda q: store.search(where, query=q, limit=SEARCH_LIMIT)


def _mem0_search(mem0: Any) -> Callable[[str], object]:
    return lambda q: mem0.search(q, filters={"user_id": TEAM}, top_k=SEARCH_LIMIT)


def _floor(
    size: int,
    pool: list[tuple[MemoryType, str]],
    cached: dict[str, list[float]],
    embedder: Embeddings,
) -> Floor:
    texts = [pool[k % len(pool)][1] for k in range(size)]
    vectors = np.asarray([cached[t] for t in texts], dtype=np.float32)
    return Floor(vectors, texts, embedder)


@contextmanager
def _loaded_store(
    name: str,
    size: int,
    pool: list[tuple[MemoryType, str]],
    embedder: Embeddings,
    space: Workspace,
) -> Iterator[BaseStore]:
    dims = len(embedder.embed_query(pool[0][1]))
    index = cast(IndexConfig, {"dims": dims, "embed": embedder, "fields": ["content"]})
    with open_backend(name, size, index, space) as store:
        load_memories(store, size, pool, lambda n: None)
        yield store


def _mem0(
    size: int,
    pool: list[tuple[MemoryType, str]],
    embedder: Embeddings,
    dims: int,
    space: Workspace,
    notes: list[str],
) -> Any | None:
    directory = space.directory / f"mem0-{size}"
    directory.mkdir()
    try:
        mem0 = open_mem0(directory, embedder, dims)
    except Exception as exc:  # a peer that fails to start is reported, not fatal
        notes.append(f"mem0 skipped: it failed to start ({type(exc).__name__}: {exc})")
        return None
    if mem0 is None:
        if MEM0_MISSING not in notes:
            notes.append(MEM0_MISSING)
        return None
    with _one_save_at_the_end(mem0):
        for k in range(size):
            mem0.add(pool[k % len(pool)][1], user_id=TEAM, infer=False)
    from importlib.metadata import version

    note = (
        f"mem0 {version('mem0ai')}: FAISS vector store, the same embedder, dense only (its "
        "FAISS store has no keyword search), loaded by its raw add (infer=False, no LLM)"
    )
    if note not in notes:
        notes.append(note)
    return mem0


def _time_interleaved(
    size: int, live: _Live, queries: int, budget_s: float, progress: Any
) -> SizeResult:
    names = list(live.calls)
    timings: dict[str, list[float]] = {name: [] for name in names}
    spent: dict[str, float] = dict.fromkeys(names, 0.0)
    product = live.embedders.get(PRODUCT)
    task = progress.add_task(f"{size:>7} memories: searches", total=queries)
    for j in range(WARMUP):
        for name in names:
            live.calls[name](query_text(queries + j))
    product_runs = product_searches = 0
    for j in range(queries):
        query = query_text(j)
        order = names[j % len(names) :] + names[: j % len(names)]  # rotate who goes first
        for name in order:
            if len(timings[name]) >= MIN_QUERIES and spent[name] > budget_s:
                continue
            runs_before = _model_runs(product) if name == PRODUCT else None
            started = time.perf_counter()
            live.calls[name](query)
            elapsed = time.perf_counter() - started
            spent[name] += elapsed
            timings[name].append(elapsed * 1000.0)
            runs_after = _model_runs(product) if name == PRODUCT else None
            if runs_before is not None and runs_after is not None:
                product_runs += runs_after - runs_before
                product_searches += 1
        progress.advance(task)
    result = SizeResult(size=size)
    for name, values in timings.items():
        if values:
            p50, p95 = np.percentile(values, [50, 95])
            result.series[name] = Series(float(p50), float(p95), len(values))
    if product_searches:
        result.embeds_per_search = product_runs / product_searches
    return result


def _model_runs(embedder: Embeddings | None) -> int | None:
    inner = getattr(embedder, "inner", embedder)
    runs = getattr(inner, "model_runs", None)
    return runs if isinstance(runs, int) else None


def _time_adds(live: _Live, adds: int) -> tuple[float, float | None]:
    manager = live.managers[PRODUCT]
    embedder = live.embedders[PRODUCT]
    before = _model_runs(embedder)
    started = time.perf_counter()
    for j in range(adds):
        manager.add(sync_memory(10_000 + j))
    elapsed = time.perf_counter() - started
    after = _model_runs(embedder)
    per_add = (after - before) / adds if before is not None and after is not None else None
    return adds / elapsed, per_add


# ---- reports -----------------------------------------------------------------------------
def _write(summary: HotpathSummary, json_out: Path | None, reports: Path, console: Console) -> None:
    report = Report(
        "hotpath",
        summary,
        render_markdown(summary),
        {"hotpath.png": lambda path: _plot(summary, path)},
    )
    write_report(report, reports=reports, json_out=json_out, console=console)


def render_markdown(summary: HotpathSummary) -> str:
    settings = summary.settings
    names = list(dict.fromkeys(n for s in summary.sizes for n in s.series))
    headers = ["system", *(f"{s.size:,} p50 / p95 ms" for s in summary.sizes)]
    rows = [
        [
            name,
            *(
                f"{s.series[name].p50_ms:.1f} / {s.series[name].p95_ms:.1f} ({s.series[name].runs})"
                if name in s.series
                else "-"
                for s in summary.sizes
            ),
        ]
        for name in names
    ]
    ratio_rows = []
    for label, system, over in (
        ("this project / floor", PRODUCT, FLOOR),
        ("this project / mem0", PRODUCT, "mem0"),
        ("no row cache / floor", UNCACHED, FLOOR),
        ("no row cache / mem0", UNCACHED, "mem0"),
        ("one namespace / team", STORE_ONE, STORE_TEAM),
        *((f"{peer} / this project", peer, PRODUCT) for peer in ("inmemory", "sqlite", "postgres")),
    ):
        cells = [summary.ratio(s, system, over) for s in summary.sizes]
        if any(c is not None for c in cells):
            ratio_rows.append([label, *(f"{c:.2f}" if c is not None else "-" for c in cells)])
    lines = [
        "# Hot path: search end to end against its floor and its peers",
        "",
        f"`MemoryManager.search(q, limit={SEARCH_LIMIT})`, interleaved query by query, same "
        f"memories, vectors and live embedder (`{settings.embeddings}`); up to "
        f"{settings.queries} queries per system and size, each system capped at "
        f"{settings.budget_s:.0f} s per size (runs in brackets). Memories: "
        f"{settings.pool_sentences} distinct support-desk sentences reused with their own "
        "subjects and ids.",
        "",
        "## Latency",
        "",
        markdown_table(headers, rows),
        "",
        "## Ratios (p50 over p50, same run)",
        "",
        markdown_table(["ratio", *(f"{s.size:,}" for s in summary.sizes)], ratio_rows),
        "",
        "## Embeddings and adds",
        "",
    ]
    for s in summary.sizes:
        if s.embeds_per_search is not None:
            lines.append(
                f"- {s.size:,} memories: {s.embeds_per_search:.2f} embedder runs per search"
            )
    if summary.adds_per_s is not None:
        per_add = (
            f", {summary.embeds_per_add:.2f} embedder runs per add"
            if summary.embeds_per_add is not None
            else ""
        )
        lines.append(
            f"- `MemoryManager.add` at {summary.add_size:,} memories: "
            f"{summary.adds_per_s:.1f} adds/s{per_add}"
        )
    if summary.notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in summary.notes)]
    lines += ["", "![latency vs memories](hotpath.png)"]
    return "\n".join(lines)


def _plot(summary: HotpathSummary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    names = list(dict.fromkeys(n for s in summary.sizes for n in s.series))
    for name in names:
        points = [(s.size, s.series[name].p50_ms) for s in summary.sizes if name in s.series]
        xs, ys = zip(*points, strict=True)
        style = "--" if name.startswith("floor") else "-"
        ax.plot(xs, ys, style, marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("memories")
    ax.set_ylabel("search p50 (ms)")
    ax.set_title(f"search latency, limit {SEARCH_LIMIT}, interleaved")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
