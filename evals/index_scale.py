"""The FAISS index at scale: build cost, memory, search latency and recall@10 per path.

Works on `memory.vector_index.VectorIndex` directly (no SQLite), so 1M vectors fit in
minutes. Per size it builds the index the store would build (flat up to
`quantize_threshold`, a quantized scan re-scored exactly up to `hnsw_threshold`, HNSW
above), then times `limit`-hit searches consumed from `ranked()`
exactly as `FaissStore._vector_search` consumes them, in four cases:

- ``unrestricted``: the whole index (HNSW above the threshold: approximate);
- ``small``: one agent namespace holding ~0.5% of the vectors (scored exactly);
- ``medium``: one agent namespace holding ~10% (exact while under 20% of the index);
- ``large``: the shared namespace holding ~40% (HNSW with a bitmap filter: approximate).

Each case's hits are compared with exact brute force (numpy on the same normalised
vectors, in chunks so memory stays bounded) for recall@10, and every search is checked
to return exactly min(limit, matching) hits.

Vectors and queries are i.i.d. uniform on the unit sphere. That is the worst case for
HNSW: no clusters and full intrinsic dimension, so real embeddings (clustered, low
intrinsic dimension) reach at least the recall reported here.
"""

from __future__ import annotations

import os
import platform
import resource
import time
from pathlib import Path
from typing import Any, Literal, get_args

import faiss
import numpy as np
from pydantic import BaseModel

from evals.report import Report, markdown_table, write_report
from memory.vector_index import (
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_M,
    QUANTIZE_THRESHOLD,
    SELECTIVE_FRACTION,
    TINY_SHARE,
    TINY_SUBSET,
    VectorIndex,
    VectorRows,
    normalize_rows,
)

Case = Literal["unrestricted", "small", "medium", "large"]
CASES: tuple[Case, ...] = get_args(Case)
Path_ = Literal[
    "flat", "flat-filtered", "exact-subset", "sq8", "sq8-filtered", "hnsw", "hnsw-filtered"
]

SHARED_NS = "team.t.shared."
MEDIUM_NS = "team.t.agent.a0."
SMALL_NS = "team.t.agent.a1."
CASE_PREFIX: dict[Case, str] = {
    "unrestricted": "",
    "small": SMALL_NS,
    "medium": MEDIUM_NS,
    "large": SHARED_NS,
}
# Shares of the vectors; what is left goes to many small agents, Zipf-skewed.
CASE_SHARE: dict[Case, float] = {"small": 0.005, "medium": 0.10, "large": 0.40}
OTHER_AGENTS = 200
RECALL_K = 10
BRUTE_FORCE_CHUNK = 65_536
WARMUP_QUERIES = 5


class Latency(BaseModel):
    p50_ms: float
    p95_ms: float
    mean_ms: float


class CaseResult(BaseModel):
    case: Case
    prefix: str
    matching: int
    path: Path_
    """The search path the documented rule in vector_index.py selects for this case."""
    latency: Latency
    recall_at_10_mean: float
    recall_at_10_min: float
    short_results: int
    """Searches that returned fewer than min(limit, matching) hits (must be 0)."""


class SizeResult(BaseModel):
    size: int
    dims: int
    kind: Literal["flat", "sq8", "hnsw"]
    build_s: float
    index_bytes: int
    """Vectors plus the HNSW graph, as FAISS holds them."""
    rss_delta_bytes: int
    """Growth of the process's resident memory across the build (index + bookkeeping)."""
    cases: list[CaseResult]


class IndexScaleSettings(BaseModel):
    queries: int
    limit: int
    seed: int
    hnsw_threshold: int
    exact_limit: int
    quantize_threshold: int = QUANTIZE_THRESHOLD
    hnsw_m: int = HNSW_M
    hnsw_ef_construction: int = HNSW_EF_CONSTRUCTION
    hnsw_ef_search: int = HNSW_EF_SEARCH
    faiss_threads: int
    faiss_version: str
    cpu_count: int
    machine: str


class IndexScaleReport(BaseModel):
    settings: IndexScaleSettings
    sizes: list[SizeResult]
    notes: list[str]


# ---- data ----------------------------------------------------------------------------
def random_unit_vectors(n: int, dims: int, rng: np.random.Generator) -> np.ndarray:
    """`n` normalised float32 rows, generated in chunks (no float64 copy of the whole)."""
    out = np.empty((n, dims), dtype=np.float32)
    for start in range(0, n, BRUTE_FORCE_CHUNK):
        stop = min(n, start + BRUTE_FORCE_CHUNK)
        out[start:stop] = normalize_rows(rng.standard_normal((stop - start, dims), np.float32))
    return out


def namespace_plan(n: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Namespace names and each vector's namespace id, shuffled, with exact case shares."""
    names = [SHARED_NS, MEDIUM_NS, SMALL_NS] + [
        f"team.t.agent.a{i}." for i in range(2, 2 + OTHER_AGENTS)
    ]
    counts = [round(n * CASE_SHARE[c]) for c in ("large", "medium", "small")]
    rest = n - sum(counts)
    weights = 1.0 / np.arange(1, OTHER_AGENTS + 1)
    others = rng.multinomial(rest, weights / weights.sum())
    ids = np.repeat(np.arange(len(names), dtype=np.int32), counts + others.tolist())
    rng.shuffle(ids)
    return names, ids


# ---- ground truth --------------------------------------------------------------------
def exact_top_k(
    vectors: np.ndarray, queries: np.ndarray, masks: dict[Case, np.ndarray], k: int
) -> dict[Case, np.ndarray]:
    """Per case, the positions of each query's k best allowed vectors (brute force)."""
    nq = len(queries)
    best_pos = {c: np.full((nq, 0), -1, dtype=np.int64) for c in masks}
    best_score = {c: np.full((nq, 0), -np.inf, dtype=np.float32) for c in masks}
    for start in range(0, len(vectors), BRUTE_FORCE_CHUNK):
        stop = min(len(vectors), start + BRUTE_FORCE_CHUNK)
        scores = queries @ vectors[start:stop].T  # (nq, chunk)
        positions = np.arange(start, stop, dtype=np.int64)
        for case, mask in masks.items():
            chunk_scores = np.where(mask[start:stop], scores, -np.inf).astype(np.float32)
            merged_s = np.concatenate([best_score[case], chunk_scores], axis=1)
            merged_p = np.concatenate(
                [best_pos[case], np.broadcast_to(positions, (nq, stop - start))], axis=1
            )
            keep = min(k, merged_s.shape[1])
            top = np.argpartition(-merged_s, keep - 1, axis=1)[:, :keep]
            best_score[case] = np.take_along_axis(merged_s, top, axis=1)
            best_pos[case] = np.take_along_axis(merged_p, top, axis=1)
    # Slots never filled by an allowed vector hold -inf: drop them.
    return {case: np.where(np.isfinite(best_score[case]), best_pos[case], -1) for case in masks}


def recall(found: list[int], truth: np.ndarray) -> float:
    expected = {int(p) for p in truth if p >= 0}
    if not expected:
        return 1.0
    return len(expected.intersection(found[: len(expected)])) / len(expected)


# ---- searching -----------------------------------------------------------------------
def search_positions(index: VectorIndex, query: np.ndarray, prefix: str, limit: int) -> list[int]:
    """The first `limit` positions of `ranked()`, consumed batch by batch as the store does."""
    found: list[int] = []
    for hits in index.ranked(query, prefix):
        found.extend(h.position for h in hits)
        if len(found) >= limit:
            break
    return found[:limit]


def search_path(index: VectorIndex, matching: int) -> Path_:
    """The path a search over `matching` allowed vectors takes (VectorIndex.scan_for)."""
    restricted = matching < index.size
    match index.scan_for(matching):
        case "tiny":
            return "exact-subset"
        case "approximate":
            return "hnsw-filtered" if restricted else "hnsw"
        case "quantized":
            return "sq8-filtered" if restricted else "sq8"
        case _:
            return "flat-filtered" if restricted else "flat"


def _rss_bytes() -> int:
    """Current resident memory (Linux /proc); elsewhere the peak, a weaker stand-in."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        scale = 1 if platform.system() == "Darwin" else 1024  # Linux reports KiB
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _index_bytes(index: VectorIndex) -> int:
    vectors = index.faiss.ntotal * index.dims * 4
    if index.kind != "hnsw":
        return vectors
    # faiss's type stubs do not describe the HNSW graph's vectors.
    hnsw: Any = faiss.downcast_index(index.faiss).hnsw  # type: ignore[attr-defined]
    offsets = (index.faiss.ntotal + 1) * 8  # one size_t per vector into `neighbors`
    return vectors + hnsw.neighbors.size() * 4 + offsets + hnsw.levels.size() * 4


def _latency(seconds: list[float]) -> Latency:
    ms = np.array(seconds) * 1000.0
    return Latency(
        p50_ms=float(np.percentile(ms, 50)),
        p95_ms=float(np.percentile(ms, 95)),
        mean_ms=float(ms.mean()),
    )


def _log(message: str) -> None:
    print(f"[index-scale {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_size(
    size: int,
    dims: int,
    *,
    queries: int,
    limit: int,
    seed: int,
    hnsw_threshold: int,
    exact_limit: int,
    quantize_threshold: int = QUANTIZE_THRESHOLD,
) -> SizeResult:
    """Build one index of `size` random vectors and measure every case on it."""
    rng = np.random.default_rng(seed)
    _log(f"{size:,} x {dims}: generating vectors")
    vectors = random_unit_vectors(size, dims, rng)
    names, ns_ids = namespace_plan(size, rng)
    query_vectors = random_unit_vectors(queries + WARMUP_QUERIES, dims, rng)
    ids = np.arange(1, size + 1, dtype=np.int64)
    namespaces = [names[i] for i in ns_ids.tolist()]

    _log(f"{size:,} x {dims}: building")
    rss_before = _rss_bytes()
    started = time.perf_counter()
    index = VectorIndex.build(
        dims,
        VectorRows(ids, ids, namespaces, vectors),
        hnsw_threshold=hnsw_threshold,
        exact_limit=exact_limit,
        quantize_threshold=quantize_threshold,
    )
    build_s = time.perf_counter() - started
    rss_delta = max(0, _rss_bytes() - rss_before)
    del namespaces
    _log(f"{size:,} x {dims}: {index.kind} built in {build_s:.1f}s")

    masks = {case: _case_mask(index, CASE_PREFIX[case]) for case in CASES}
    timed = query_vectors[WARMUP_QUERIES:]
    truth = exact_top_k(vectors, timed, masks, RECALL_K)
    cases = [
        _run_case(index, case, masks[case], query_vectors, truth[case], limit) for case in CASES
    ]
    for result in cases:
        _log(
            f"{size:,} {result.case:>12}: p50 {result.latency.p50_ms:.2f} ms "
            f"p95 {result.latency.p95_ms:.2f} ms recall@10 {result.recall_at_10_mean:.3f} "
            f"short {result.short_results}"
        )
    return SizeResult(
        size=size,
        dims=dims,
        kind=index.kind,
        build_s=build_s,
        index_bytes=_index_bytes(index),
        rss_delta_bytes=rss_delta,
        cases=cases,
    )


def _case_mask(index: VectorIndex, prefix: str) -> np.ndarray:
    mask = index.allowed_mask(prefix)
    assert mask is not None
    return mask


def _run_case(
    index: VectorIndex,
    case: Case,
    mask: np.ndarray,
    query_vectors: np.ndarray,
    truth: np.ndarray,
    limit: int,
) -> CaseResult:
    prefix = CASE_PREFIX[case]
    matching = int(mask.sum())
    expected = min(limit, matching)
    for query in query_vectors[:WARMUP_QUERIES]:
        search_positions(index, query, prefix, limit)
    seconds: list[float] = []
    recalls: list[float] = []
    short = 0
    for query, expected_top in zip(query_vectors[WARMUP_QUERIES:], truth, strict=True):
        started = time.perf_counter()
        found = search_positions(index, query, prefix, limit)
        seconds.append(time.perf_counter() - started)
        short += len(found) < expected
        if any(not mask[p] for p in found):
            raise AssertionError(f"{case}: a hit outside namespace {prefix!r}")
        recalls.append(recall(found, expected_top[:RECALL_K]))
    return CaseResult(
        case=case,
        prefix=prefix,
        matching=matching,
        path=search_path(index, matching),
        latency=_latency(seconds),
        recall_at_10_mean=float(np.mean(recalls)),
        recall_at_10_min=float(np.min(recalls)),
        short_results=short,
    )


# ---- the run -------------------------------------------------------------------------
def parse_dims(dims: str, sizes: list[int]) -> list[int]:
    """One dims for every size ("384"), or one per size ("384,64")."""
    try:
        values = [int(d) for d in dims.split(",") if d.strip()]
    except ValueError:
        raise ValueError(f"--dims must be integers separated by commas, got {dims!r}") from None
    if len(values) == 1:
        values *= len(sizes)
    if len(values) != len(sizes):
        raise ValueError(f"--dims gives {len(values)} values for {len(sizes)} sizes")
    if any(v < 2 for v in values):
        raise ValueError(f"--dims values must be at least 2, got {dims!r}")
    return values


def run_index_scale(
    *,
    sizes: list[int],
    dims: list[int],
    queries: int,
    json_out: Path | None,
    reports: Path,
    limit: int = RECALL_K,
    seed: int = 11,
    hnsw_threshold: int = 2_000_000,
    exact_limit: int = 20_000,
    quantize_threshold: int = QUANTIZE_THRESHOLD,
    notes: list[str] | None = None,
) -> IndexScaleReport:
    """Measure each size, write JSON (if `json_out`) and reports/index_scale.{json,md,png}."""
    if not sizes or any(s < 200 for s in sizes):
        raise ValueError(f"sizes must be at least 200 vectors each, got {sizes}")
    if len(dims) != len(sizes):
        raise ValueError(f"{len(dims)} dims values for {len(sizes)} sizes")
    if queries < 1 or limit < 1:
        raise ValueError(f"queries and limit must be positive, got {queries} and {limit}")
    results = [
        run_size(
            size,
            d,
            queries=queries,
            limit=limit,
            seed=seed + i,
            hnsw_threshold=hnsw_threshold,
            exact_limit=exact_limit,
            quantize_threshold=quantize_threshold,
        )
        for i, (size, d) in enumerate(zip(sizes, dims, strict=True))
    ]
    report = IndexScaleReport(
        settings=IndexScaleSettings(
            queries=queries,
            limit=limit,
            seed=seed,
            hnsw_threshold=hnsw_threshold,
            exact_limit=exact_limit,
            quantize_threshold=quantize_threshold,
            faiss_threads=faiss.omp_get_max_threads(),
            faiss_version=faiss.__version__,
            cpu_count=os.cpu_count() or 1,
            machine=f"{platform.machine()} {platform.processor() or platform.system()}",
        ),
        sizes=results,
        notes=_dims_notes(results) + list(notes or []),
    )
    _write(report, json_out, reports)
    return report


def _dims_notes(results: list[SizeResult]) -> list[str]:
    widest = max(r.dims for r in results)
    return [
        f"{r.size:,} vectors ran at {r.dims} dims, not {widest}: building that size at "
        f"{widest} dims would take too long on this machine. Latency and memory scale about "
        "linearly with dims; HNSW recall on random vectors is higher at low dims."
        for r in results
        if r.dims < widest
    ]


def _write(report: IndexScaleReport, json_out: Path | None, reports: Path | None) -> None:
    written = Report(
        "index_scale",
        report,
        render_markdown(report),
        {"index_scale.png": lambda path: _plot(report, path)},
    )
    write_report(written, reports=reports, json_out=json_out)


HEADERS = [
    "size",
    "dims",
    "index",
    "case",
    "matching",
    "path",
    "p50 ms",
    "p95 ms",
    "recall@10",
    "min recall@10",
    "short",
]


def render_markdown(report: IndexScaleReport) -> str:
    s = report.settings
    rows = [
        [
            f"{r.size:,}",
            r.dims,
            r.kind,
            c.case,
            f"{c.matching:,}",
            c.path,
            c.latency.p50_ms,
            c.latency.p95_ms,
            f"{c.recall_at_10_mean:.3f}",
            f"{c.recall_at_10_min:.1f}",
            c.short_results,
        ]
        for r in report.sizes
        for c in r.cases
    ]
    build_rows = [
        [
            f"{r.size:,}",
            r.dims,
            r.kind,
            f"{r.build_s:.1f}",
            f"{r.index_bytes / 2**20:,.0f}",
            f"{r.rss_delta_bytes / 2**20:,.0f}",
        ]
        for r in report.sizes
    ]
    lines = [
        "# FAISS index at scale",
        "",
        "`python -m evals index-scale` on `memory.vector_index.VectorIndex` directly: random "
        "unit vectors (i.i.d. on the sphere, the worst case for HNSW), namespaces skewed as "
        f"in a team: `{SHARED_NS}` ~40%, `{MEDIUM_NS}` ~10%, `{SMALL_NS}` ~0.5%, the rest "
        f"over {OTHER_AGENTS} agents (Zipf). {s.queries} timed queries per case "
        f"(after {WARMUP_QUERIES} warm-up), limit {s.limit}, hits consumed from `ranked()` "
        "as `FaissStore` does. Recall@10 is against exact brute force (numpy) over the same "
        "allowed vectors; *short* counts searches returning fewer than min(limit, matching).",
        "",
        f"Index choice: flat (`IndexFlatIP`, exact) up to {s.quantize_threshold:,} vectors, "
        f"an 8-bit quantized scan with exact re-scoring up to {s.hnsw_threshold:,}, "
        f"HNSW (M={s.hnsw_m}, efConstruction={s.hnsw_ef_construction}, "
        f"efSearch={s.hnsw_ef_search}) above. A handful of allowed vectors (at most "
        f"{TINY_SUBSET:,}, under 1/{TINY_SHARE} of the index) are copied out and scored "
        "exactly (path *exact-subset*); on HNSW, restricted searches over at most "
        f"{s.exact_limit:,} vectors, or under {SELECTIVE_FRACTION:.0%} of the index, are an "
        "exact filtered scan of the flat vectors, broader ones HNSW with a bitmap filter; "
        "the other kinds scan their own index with the bitmap filter.",
        "",
        "## Build and memory",
        "",
        markdown_table(
            ["size", "dims", "index", "build s", "index MiB", "RSS growth MiB"], build_rows
        ),
        "",
        "## Search",
        "",
        markdown_table(HEADERS, rows),
    ]
    if report.notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in report.notes)]
    lines += [
        "",
        f"FAISS {s.faiss_version}, {s.faiss_threads} FAISS thread(s) (vector_index.py pins "
        f"one), {s.cpu_count} CPUs, {s.machine}.",
        "",
        "![latency and recall per case](index_scale.png)",
    ]
    return "\n".join(lines)


def _plot(report: IndexScaleReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (lat_ax, rec_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    width = 0.8 / max(1, len(report.sizes))
    xs = np.arange(len(CASES))
    for i, result in enumerate(report.sizes):
        by_case = {c.case: c for c in result.cases}
        label = f"{result.size:,} x {result.dims} ({result.kind})"
        offset = xs + (i - (len(report.sizes) - 1) / 2) * width
        p50 = [by_case[c].latency.p50_ms for c in CASES]
        p95 = [by_case[c].latency.p95_ms for c in CASES]
        bars = lat_ax.bar(offset, p50, width, label=label)
        lat_ax.scatter(offset, p95, marker="_", s=200, color=bars.patches[0].get_facecolor())
        rec_ax.bar(offset, [by_case[c].recall_at_10_mean for c in CASES], width, label=label)
    for ax in (lat_ax, rec_ax):
        ax.set_xticks(xs, list(CASES))
        ax.grid(True, axis="y", alpha=0.3)
    lat_ax.set_yscale("log")
    lat_ax.set_ylabel("ms")
    lat_ax.set_title("search latency (bar p50, tick p95)")
    rec_ax.set_ylim(0, 1.05)
    rec_ax.set_title("recall@10 vs exact brute force")
    rec_ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
