"""The eval suites' command line, shared by `python -m evals` and `a2a-memory eval`.

Each suite lives in its own module and is imported only when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Eval suites and benchmarks of the A2A memory layer. Each writes JSON, a markdown "
    "report and plots to the reports directory.",
    no_args_is_help=True,
    add_completion=False,
)

JsonOut = Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")]
ReportsDir = Annotated[
    Path, typer.Option("--reports", help="Directory for the markdown report and plots.")
]


@app.command("bench-store")
def bench_store(
    sizes: Annotated[str, typer.Option(help="Comma-separated item counts.")] = "1000,10000,100000",
    backends: Annotated[
        str, typer.Option(help="Comma-separated: faiss,inmemory,sqlite,postgres.")
    ] = "faiss,inmemory,sqlite,postgres",
    queries: Annotated[int, typer.Option(help="Search queries timed per size.")] = 200,
    json_out: JsonOut = None,
    reports: ReportsDir = Path("reports"),
) -> None:
    """Store search p50/p95 and put throughput on random unit vectors, against the peers."""
    from evals.bench_store import run_bench_store

    run_bench_store(
        sizes=[int(s) for s in sizes.split(",") if s.strip()],
        backends=[b.strip() for b in backends.split(",") if b.strip()],
        queries=queries,
        json_out=json_out,
        reports=reports,
    )


@app.command("extraction")
def extraction(json_out: JsonOut = None, reports: ReportsDir = Path("reports")) -> None:
    """Precision, recall and F1 of memory extraction on the labeled utterances."""
    from evals.extraction import run_extraction_eval

    run_extraction_eval(json_out=json_out, reports=reports)


@app.command("latency")
def latency(
    sizes: Annotated[str, typer.Option(help="Comma-separated memory counts.")] = "1000,10000",
    backends: Annotated[
        str, typer.Option(help="Comma-separated: faiss,inmemory,sqlite,postgres.")
    ] = "faiss,inmemory,sqlite,postgres",
    queries: Annotated[int, typer.Option(help="Timed calls per series.")] = 50,
    budget: Annotated[float, typer.Option(help="Seconds per series before it stops.")] = 20.0,
    json_out: JsonOut = None,
    reports: ReportsDir = Path("reports"),
) -> None:
    """Lookup, context assembly and A2A sync latency (LLM excluded), against the peers."""
    from evals.latency import run_latency

    run_latency(
        sizes=[int(s) for s in sizes.split(",") if s.strip()],
        backends=[b.strip() for b in backends.split(",") if b.strip()],
        queries=queries,
        json_out=json_out,
        reports=reports,
        budget_s=budget,
    )


def main() -> None:
    app()
