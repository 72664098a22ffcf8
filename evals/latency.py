"""End-to-end latency of the memory layer, LLM time excluded, against the seed's figures.

Three series per backend and memory count:

- ``lookup``: ``MemoryManager.search`` with the real query embedding (the embedded model);
- ``context``: what the coordinator does before it calls the LLM: the compaction check on
  a 20-message thread, memory retrieval (limit 6, as ``retrieve_memories``) and the
  routing and synthesis prompts built as nodes/coordinator.py builds them;
- ``sync``: ``A2ABridge.sync`` of a new memory from sam to three agents (each copy is
  deduplicated, linked and embedded by the target's manager), per sync and per message.

Loading N memories through ``MemoryManager.add`` would take minutes, so the store is filled
with ``Memory.to_store_value()`` documents by ``store.batch``: ~2000 distinct synthetic
sentences are embedded once and reused (with varied subjects and ids) until the store holds
N. `PoolEmbeddings` returns those cached vectors and calls the real model for any other
text, so queries and synced memories are embedded for real, inside the timings.

Slow peers can take seconds per call at 10k memories, so each series stops once its time
budget is spent (after at least MIN_QUERIES); the report says how many calls ran.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.store.base import BaseStore, IndexConfig, PutOp
from pydantic import BaseModel, ConfigDict, computed_field
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from evals.bench_store import (
    BACKENDS,
    REFERENCE,
    BackendName,
    Machine,
    Workspace,
    machine,
    open_backend,
    postgres_server,
)
from evals.report import Report, markdown_table, progress_bar, write_report
from memory.bridge import A2ABridge
from memory.embeddings import embedding_dims, embedding_model_name
from memory.manager import MemoryManager
from memory.models import Memory, MemoryType, Provenance, Scope
from memory.namespaces import memory_namespace
from memory.sessions import SessionPolicy, needs_compaction

Metric = Literal["lookup", "context", "sync", "sync_per_message"]
METRICS: tuple[Metric, ...] = get_args(Metric)
METRIC_TITLES: dict[Metric, str] = {
    "lookup": "memory lookup (search incl. query embedding)",
    "context": "context assembly (compaction check + retrieval + prompts)",
    "sync": "A2A sync to 3 agents (per sync)",
    "sync_per_message": "A2A sync (per message)",
}
SEED_MS: dict[Metric, float] = {"lookup": 50.0, "context": 150.0, "sync_per_message": 30.0}
"""The seed's reported figures: vector search at 1000 memories, full context assembly,
A2A routing (per message)."""

TEAM = "t"
COORDINATOR_AGENT = "alex"
WRITERS = ("alex", "sam", "jordan", "taylor")
"""Agents whose private namespaces hold memories besides the shared one."""
SYNC_SOURCE = "sam"
SYNC_TARGETS = ("a1", "a2", "a3")
POOL_SIZE = 2000
PUT_BATCH = 500
MIN_QUERIES = 10
WARMUP = 2
CONTEXT_LIMIT = 6
THREAD_MESSAGES = 20
CONTEXT_BUDGET_TOKENS = 8192
"""nodes.services.DEFAULT_CONTEXT_TOKENS: the budget when no chat model is configured."""
DEFAULT_BUDGET_S = 20.0


# ---- embeddings --------------------------------------------------------------------------
class PoolEmbeddings(Embeddings):
    """Cached vectors for the pool's sentences; the real model for every other text."""

    def __init__(self, inner: Embeddings, cached: dict[str, list[float]], dims: int) -> None:
        self.inner = inner
        self.cached = cached
        self.dims = dims
        self.model_name = embedding_model_name(inner)
        self.misses = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        unseen = [t for t in texts if t not in self.cached]
        self.misses += len(unseen)
        fresh = iter(self.inner.embed_documents(unseen) if unseen else [])
        return [self.cached[t] if t in self.cached else next(fresh) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        if text in self.cached:
            return self.cached[text]
        self.misses += 1
        return self.inner.embed_query(text)


# ---- synthetic data ----------------------------------------------------------------------
_CHANNELS = ("email", "phone", "sms", "chat")
_CITIES = ("Berlin", "Lyon", "Porto", "Austin", "Osaka", "Leeds", "Turin", "Ghent")
_CARRIERS = ("DHL", "UPS", "FedEx", "GLS", "DPD")
_PROBLEMS = ("damaged", "late", "incomplete", "wrongly labelled", "opened")
_SYSTEMS = ("order", "notification", "tracking", "billing", "inventory")


def pool_sentence(i: int) -> tuple[MemoryType, str]:
    """The i-th distinct synthetic memory (each carries a number of its own)."""
    n = 10_000 + i
    kind = i % 5
    if kind == 0:
        channel, topic = _CHANNELS[i % 4], _SYSTEMS[i % 5]
        return "entity", f"Customer #{n} prefers {channel} for {topic} updates."
    if kind == 1:
        city, carrier = _CITIES[i % 8], _CARRIERS[i % 5]
        return "semantic", f"Order {n} to {city} ships with {carrier} in {2 + i % 6} days."
    if kind == 2:
        problem = _PROBLEMS[i % 5]
        return "episodic", f"Customer #{n} reported that order {n + 7} arrived {problem}."
    if kind == 3:
        problem = _PROBLEMS[i % 5]
        return "workflow", (
            f"For a {problem} item on ticket {n}, check the photo, then refund "
            f"within {24 + 24 * (i % 3)} hours."
        )
    system = _SYSTEMS[i % 5]
    return "skill", f"When the {system} system stalls (incident {n}), restart its worker."


_CONFIDENCES = (0.95, 0.7, 0.85, 0.6)
"""Some below the default min_confidence (0.7), so the filter has work to do."""


def memory_document(k: int, pool: list[tuple[MemoryType, str]]) -> tuple[tuple[str, ...], Memory]:
    """The k-th stored memory: a pool sentence, a subject and namespace of its own."""
    memory_type, content = pool[k % len(pool)]
    slot = k % (len(WRITERS) + 1)
    scope: Scope = "shared" if slot == 0 else "private"
    agent = WRITERS[slot - 1] if slot else COORDINATOR_AGENT
    memory = Memory(
        memory_id=f"mem-{k}",
        content=content,
        type=memory_type,
        scope=scope,
        confidence=_CONFIDENCES[k % len(_CONFIDENCES)],
        subject=f"customer:{20_000 + k}",
        provenance=Provenance(source_agent=agent),
        keywords=content.lower().split()[:6],
    )
    return memory_namespace(TEAM, scope, agent), memory


def query_text(j: int) -> str:
    """The j-th request: distinct text, never in the pool, so it is embedded for real."""
    n = 10_000 + (j * 37) % POOL_SIZE
    templates = (
        f"What is the contact preference of customer #{n}?",
        f"Has order {n} shipped yet, and with which carrier?",
        f"My order {n + 7} arrived damaged, I want a refund (request {j}).",
        f"How do we handle a late delivery for ticket {n}?",
        f"Is the tracking system down again? Customer #{n} asks (request {j}).",
    )
    return templates[j % len(templates)]


def sync_memory(j: int) -> Memory:
    """A fresh memory sam learned: unseen text, so syncing embeds it for real."""
    return Memory(
        content=f"Customer #{30_000 + j} asked for a callback about order {40_000 + j}.",
        type="episodic",
        scope="private",
        confidence=0.95,
        mechanism="explicit",
        provenance=Provenance(source_agent=SYNC_SOURCE),
    )


def support_thread(customer: int) -> list[BaseMessage]:
    """A realistic 20-message support thread ending with the customer's request."""
    turns: list[BaseMessage] = []
    for t in range(THREAD_MESSAGES // 2 - 1):
        turns.append(
            HumanMessage(
                f"Hi, this is customer #{customer}. About order {customer + t}: the parcel "
                f"was due on day {t + 3} and tracking still says it is in {_CITIES[t % 8]}."
            )
        )
        turns.append(
            AIMessage(
                f"Thanks for your patience. I checked order {customer + t}: the carrier "
                f"{_CARRIERS[t % 5]} reports a delay; we will update you by email.",
                name="alex",
            )
        )
    turns.append(HumanMessage("Understood, thanks."))
    turns.append(AIMessage("Is there anything else I can help with?", name="alex"))
    return turns


# ---- what the coordinator does before its LLM calls --------------------------------------
def coordinator_prompts(
    request: str, retrieved: list[Any], subject: str
) -> list[list[BaseMessage]]:
    """The routing and synthesis prompts the coordinator sends (nodes/prompts.py).

    Findings come from the specialists after routing, so the synthesis prompt has none here.
    """
    from nodes.coordinator import compose_reply
    from nodes.prompts import routing_prompt, synthesis_prompt
    from teams.support.team import SUPPORT_TEAM

    draft = compose_reply(retrieved, [], subject)
    return [
        routing_prompt(SUPPORT_TEAM, request),
        synthesis_prompt(SUPPORT_TEAM, request, [], retrieved, draft),
    ]


def assemble_context(
    manager: MemoryManager, thread: list[BaseMessage], request: str, customer_id: str
) -> list[list[BaseMessage]]:
    """compact_session's check, retrieve_memories, then the coordinator's prompts."""
    from nodes.memory_nodes import memory_query, recall

    messages = [*thread, HumanMessage(request)]
    policy = SessionPolicy(budget_tokens=CONTEXT_BUDGET_TOKENS)
    if needs_compaction(messages, policy):
        raise RuntimeError("the benchmark thread should fit the context budget")
    subject = f"customer:{customer_id}"
    query = memory_query(request, customer_id)
    retrieved = recall(manager, query, limit=CONTEXT_LIMIT, subject=subject)
    return coordinator_prompts(request, retrieved, subject)


# ---- measuring ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Series:
    """One timed series, in ms."""

    p50: float
    p95: float
    runs: int
    """How many timed calls ran (fewer than asked when the time budget ran out)."""


def time_calls(
    call: Callable[[int], float | None],
    count: int,
    budget_s: float,
    advance: Callable[[], None],
) -> list[float]:
    """Run call(j) for j in range(count) after WARMUP untimed calls; ms per call.

    `call` may return its own figure (ms) instead of the wall time. Stops once `budget_s`
    is spent, after at least min(MIN_QUERIES, count) calls.
    """
    for j in range(WARMUP):
        call(count + j)
    timings: list[float] = []
    started_series = time.perf_counter()
    for j in range(count):
        started = time.perf_counter()
        own = call(j)
        timings.append(own if own is not None else (time.perf_counter() - started) * 1000.0)
        advance()
        spent = time.perf_counter() - started_series
        if len(timings) >= min(MIN_QUERIES, count) and spent > budget_s:
            break
    return timings


def summarize(timings: list[float]) -> Series:
    p50, p95 = np.percentile(timings, [50, 95])
    return Series(p50=float(p50), p95=float(p95), runs=len(timings))


def load_memories(
    store: BaseStore, size: int, pool: list[tuple[MemoryType, str]], advance: Callable[[int], None]
) -> None:
    for first in range(0, size, PUT_BATCH):
        ops = []
        for k in range(first, min(first + PUT_BATCH, size)):
            namespace, memory = memory_document(k, pool)
            ops.append(PutOp(namespace, memory.memory_id, memory.to_store_value()))
        store.batch(ops)
        advance(len(ops))


def measure_store(
    store: BaseStore, queries: int, budget_s: float, advance: Callable[[], None]
) -> dict[Metric, Series]:
    manager = MemoryManager(store, team=TEAM, agent=COORDINATOR_AGENT)
    thread = support_thread(10_000)

    def lookup(j: int) -> None:
        manager.search(query_text(j))

    def context(j: int) -> None:
        assemble_context(manager, thread, query_text(j), str(10_000 + j))

    bridge = A2ABridge(store, TEAM)
    per_message: list[float] = []

    def sync(j: int) -> float:
        # The bridge sends what the sender holds: sam stores it first (not timed).
        learned = bridge.manager(SYNC_SOURCE).add(sync_memory(j)).memory
        started = time.perf_counter()
        report = bridge.sync(learned, list(SYNC_TARGETS), source_agent=SYNC_SOURCE)
        elapsed = (time.perf_counter() - started) * 1000.0
        sent = len({o.message_id for o in report.outcomes if o.message_id})
        if sent != len(SYNC_TARGETS):
            raise RuntimeError(f"sync sent {sent} messages, expected {len(SYNC_TARGETS)}")
        if j < queries:  # warmup calls use j >= queries
            per_message.append(elapsed / sent)
        return elapsed

    results: dict[Metric, Series] = {
        "lookup": summarize(time_calls(lookup, queries, budget_s, advance)),
        "context": summarize(time_calls(context, queries, budget_s, advance)),
        "sync": summarize(time_calls(sync, queries, budget_s, advance)),
    }
    results["sync_per_message"] = summarize(per_message)
    return results


# ---- the run -----------------------------------------------------------------------------
def run_latency(
    *,
    sizes: list[int],
    backends: list[str],
    queries: int,
    json_out: Path | None,
    reports: Path,
    budget_s: float = DEFAULT_BUDGET_S,
    embeddings: Embeddings | None = None,
    pg_url: str | None = None,
) -> LatencySummary:
    """Run the latency eval; write JSON (`json_out` and reports/latency.json), .md and .png.

    `embeddings` defaults to the embedded model (memory.embeddings.make_embeddings()).
    `budget_s` caps each series (at least MIN_QUERIES calls run); `pg_url` (or env
    A2A_BENCH_PG_URL) names a Postgres server instead of a local one.
    """
    chosen = _check_args(sizes, backends, queries, budget_s)
    console = Console()
    if embeddings is None:
        from memory.embeddings import make_embeddings

        embeddings = make_embeddings()
    sizes = sorted(set(sizes))
    pool_size = min(POOL_SIZE, max(sizes))
    console.print(f"embedding {pool_size} pool sentences with {embedding_model_name(embeddings)}")
    pool = [pool_sentence(i) for i in range(pool_size)]
    texts = [content for _, content in pool]
    cached = dict(zip(texts, embeddings.embed_documents(texts), strict=True))
    embedder = PoolEmbeddings(embeddings, cached, embedding_dims(embeddings))
    index = cast(IndexConfig, {"dims": embedder.dims, "embed": embedder, "fields": ["content"]})
    results: dict[BackendName, dict[Metric, dict[int, Series]]] = {}
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="latency-")))
        space = Workspace(directory=directory)
        if "postgres" in chosen:
            space.pg_server_url = stack.enter_context(postgres_server(directory, pg_url))
        progress = stack.enter_context(progress_bar(console))
        for name in chosen:
            results[name] = {}
            for size in sizes:
                for metric, series in _measure(
                    name, size, index, space, pool, queries, budget_s, progress
                ):
                    results[name].setdefault(metric, {})[size] = series
    summary = LatencySummary(
        metrics_ms={m: {name: by[m] for name, by in results.items()} for m in METRICS},
        settings=LatencySettings(
            queries=queries,
            budget_s=budget_s,
            pool_sentences=pool_size,
            embeddings=embedder.model_name,
            dims=embedder.dims,
        ),
        machine=machine(None),
        notes=_notes(results, queries, budget_s),
    )
    report = Report(
        "latency",
        summary,
        render_markdown(summary),
        {"latency.png": lambda path: _plot(summary, path)},
    )
    write_report(report, reports=reports, json_out=json_out)
    Console(width=max(console.width, 132)).print(_rich_table(summary))
    for note in summary.notes:
        console.print(f"[dim]note: {note}[/dim]")
    return summary


def _measure(
    name: BackendName,
    size: int,
    index: IndexConfig,
    space: Workspace,
    pool: list[tuple[MemoryType, str]],
    queries: int,
    budget_s: float,
    progress: Progress,
) -> Iterator[tuple[Metric, Series]]:
    load = progress.add_task(f"{name} {size:>6}: load", total=size)
    timed = progress.add_task(f"{name} {size:>6}: time", total=3 * queries)
    with open_backend(name, size, index, space) as store:
        load_memories(store, size, pool, lambda n: progress.advance(load, n))
        measured = measure_store(store, queries, budget_s, lambda: progress.advance(timed, 1))
    progress.update(timed, completed=3 * queries)
    yield from measured.items()


def _check_args(
    sizes: list[int], backends: list[str], queries: int, budget_s: float
) -> list[BackendName]:
    if not sizes or any(size < 1 for size in sizes):
        raise ValueError(f"sizes must be positive memory counts, got {sizes}")
    if queries < 1:
        raise ValueError(f"queries must be at least 1, got {queries}")
    if budget_s <= 0:
        raise ValueError(f"budget_s must be positive, got {budget_s}")
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        raise ValueError(f"unknown backends {unknown or backends}: choose from {list(BACKENDS)}")
    return [cast(BackendName, b) for b in dict.fromkeys(backends)]


def _notes(
    results: dict[BackendName, dict[Metric, dict[int, Series]]], queries: int, budget_s: float
) -> list[str]:
    notes = [
        "postgres: opened by memory.backends.open_store, which searches exactly (no ANN index)",
        "FAISS store: hybrid retrieval (dense + BM25 through its FTS5 index); the peers have "
        "no lexical_search, so their lookups are dense only",
    ]
    for name, by_metric in results.items():
        for metric in ("lookup", "context", "sync"):
            for size, series in by_metric[metric].items():
                if series.runs < queries:
                    notes.append(
                        f"{name} at {size} memories: {metric} stopped after {series.runs} "
                        f"of {queries} calls ({budget_s:.0f} s budget)"
                    )
    return notes


class LatencySettings(BaseModel):
    queries: int
    budget_s: float
    min_queries: int = MIN_QUERIES
    pool_sentences: int
    embeddings: str
    dims: int
    context_limit: int = CONTEXT_LIMIT
    thread_messages: int = THREAD_MESSAGES + 1
    sync_targets: list[str] = list(SYNC_TARGETS)
    team: str = TEAM
    agent: str = COORDINATOR_AGENT


class LatencySummary(BaseModel):
    """One run: what the JSON, the markdown and the plot show."""

    model_config = ConfigDict(frozen=True)

    metrics_ms: dict[Metric, dict[BackendName, dict[int, Series]]]
    """metric -> backend -> memory count -> its timed series."""
    seed_ms: dict[Metric, float] = dict(SEED_MS)
    settings: LatencySettings
    machine: Machine
    notes: list[str]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ratios(self) -> dict[Metric, dict[str, dict[int, float]]]:
        """Per metric: each peer's p50 over the FAISS store's p50, per size
        (``"<peer>_over_faiss"``); empty when the FAISS store was not run."""
        if REFERENCE not in self.metrics_ms["lookup"]:
            return {}
        out: dict[Metric, dict[str, dict[int, float]]] = {}
        for metric, by_backend in self.metrics_ms.items():
            reference = by_backend[REFERENCE]
            out[metric] = {
                f"{name}_over_{REFERENCE}": {
                    size: series.p50 / reference[size].p50
                    for size, series in sizes.items()
                    if size in reference
                }
                for name, sizes in by_backend.items()
                if name != REFERENCE
            }
        return out


# ---- reports -----------------------------------------------------------------------------
HEADERS = ["backend", "memories", "p50 ms", "p95 ms", f"p50 / {REFERENCE}", "runs", "seed ms"]


def _metric_rows(summary: LatencySummary, metric: Metric) -> list[list[Any]]:
    rows: list[list[Any]] = []
    seed = SEED_MS.get(metric)
    for name, sizes in summary.metrics_ms[metric].items():
        ratios = summary.ratios.get(metric, {}).get(f"{name}_over_{REFERENCE}", {})
        for size, series in sizes.items():
            ratio = 1.0 if name == REFERENCE and ratios == {} else ratios.get(size)
            rows.append(
                [
                    name,
                    size,
                    series.p50,
                    series.p95,
                    ratio if ratio is not None else "-",
                    series.runs,
                    seed if seed is not None else "-",
                ]
            )
    return rows


def render_markdown(summary: LatencySummary) -> str:
    settings, machine = summary.settings, summary.machine
    lines = [
        "# Latency (LLM time excluded)",
        "",
        f"Embedder `{settings.embeddings}` ({settings.dims} dims); stores filled from "
        f"{settings.pool_sentences} embedded sentences reused with varied subjects; "
        f"queries and synced memories embedded for real. Up to {settings.queries} timed "
        f"calls per series, each series capped at {settings.budget_s:.0f} s. Machine: "
        f"{machine.cpus} CPUs, Python {machine.python}.",
        "",
        "Seed figures: vector search ~50 ms at 1000 memories, full context assembly ~150 ms, "
        "A2A routing ~30 ms (per message).",
    ]
    for metric in METRICS:
        lines += ["", f"## {METRIC_TITLES[metric]}", ""]
        lines.append(markdown_table(HEADERS, _metric_rows(summary, metric)))
    if summary.notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in summary.notes)]
    lines += ["", "![latency vs memory count](latency.png)"]
    return "\n".join(lines)


def _rich_table(summary: LatencySummary) -> Table:
    table = Table(title="Latency, LLM excluded (p50 / p95 ms; ratio = p50 over faiss)")
    table.add_column("backend", no_wrap=True)
    table.add_column("memories", justify="right")
    for metric in METRICS:
        table.add_column(metric, justify="right")
    for name, sizes in summary.metrics_ms["lookup"].items():
        for size in sizes:
            cells = []
            for metric in METRICS:
                series = summary.metrics_ms[metric][name][size]
                ratio = summary.ratios.get(metric, {}).get(f"{name}_over_{REFERENCE}", {})
                suffix = f" (x{ratio[size]:.1f})" if size in ratio else ""
                cells.append(f"{series.p50:.1f} / {series.p95:.1f}{suffix}")
            table.add_row(name, str(size), *cells)
    return table


def _plot(summary: LatencySummary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(METRICS), figsize=(16, 4.5))
    for ax, metric in zip(axes, METRICS, strict=True):
        for name, sizes in summary.metrics_ms[metric].items():
            xs = sorted(sizes)
            (line,) = ax.plot(xs, [sizes[x].p50 for x in xs], marker="o", label=name)
            ax.plot(xs, [sizes[x].p95 for x in xs], linestyle="--", color=line.get_color())
        if metric in SEED_MS:
            ax.axhline(SEED_MS[metric], color="grey", linestyle=":", label="seed")
        ax.set_xscale("log")
        ax.set_xlabel("memories")
        ax.set_title(METRIC_TITLES[metric], fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("ms (p50 solid, p95 dashed)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
