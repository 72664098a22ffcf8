"""The eval suites' command line, shared by `python -m evals` and `a2a-memory eval`.

Each suite lives in its own module and is imported only when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, cast

import typer

if TYPE_CHECKING:
    from nodes.context import LLMChoice

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


@app.command("grounding")
def grounding(
    llm: Annotated[
        str, typer.Option(help="Chat model: embedded, ollama, auto or none.")
    ] = "embedded",
    quick: Annotated[bool, typer.Option("--quick", help="5 chat turns and the demo.")] = False,
    json_out: JsonOut = None,
    reports: ReportsDir = Path("reports"),
) -> None:
    """Invented facts in user-visible texts: 44 chat turns, 8 team requests, a compacting
    conversation."""
    from evals.grounding import run_grounding_eval

    run_grounding_eval(llm=_llm_choice(llm), quick=quick, json_out=json_out, reports=reports)


def _llm_choice(llm: str) -> LLMChoice:
    if llm not in ("embedded", "ollama", "auto", "none"):
        typer.echo(f"error: --llm must be embedded, ollama, auto or none; got {llm!r}", err=True)
        raise typer.Exit(2)
    return cast("LLMChoice", llm)


@app.command("models")
def models(
    names: Annotated[
        str, typer.Option("--models", help="Comma-separated: smollm2,qwen-0.5b,qwen-1.5b.")
    ] = "smollm2,qwen-0.5b,qwen-1.5b",
    routing: Annotated[
        int | None, typer.Option(min=0, help="Labeled routing requests (default: all).")
    ] = None,
    extraction: Annotated[int, typer.Option(min=0, help="Labeled utterances.")] = 13,
    chat: Annotated[int, typer.Option(min=0, help="Chat turns besides the demo's.")] = 10,
    json_out: JsonOut = None,
    reports: ReportsDir = Path("reports"),
) -> None:
    """The embedded chat models side by side: routing, extraction, grounding, latency."""
    from evals.models import run_models_eval
    from memory.packaged_models import embedded_model_name

    try:
        chosen = [embedded_model_name(n) for n in names.split(",") if n.strip()]
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    run_models_eval(
        models=chosen,
        routing=routing,
        extraction=extraction,
        chat=chat,
        json_out=json_out,
        reports=reports,
    )


@app.command("extraction")
def extraction(json_out: JsonOut = None, reports: ReportsDir = Path("reports")) -> None:
    """Precision, recall and F1 of memory extraction on the labeled utterances."""
    from evals.extraction import run_extraction_eval

    run_extraction_eval(json_out=json_out, reports=reports)


@app.command("retrieval")
def retrieval(json_out: JsonOut = None, reports: ReportsDir = Path("reports")) -> None:
    """hit@1, hit@5, cross-customer leak and stale hits on a 300-memory support desk."""
    from evals.retrieval import run_retrieval_eval

    run_retrieval_eval(json_out=json_out, reports=reports)


@app.command("timeline")
def timeline(json_out: JsonOut = None, reports: ReportsDir = Path("reports")) -> None:
    """hit@1 and hit@5 of questions naming a period ("on Jan 5", "in March", "last month")."""
    from evals.timeline import run_timeline_eval

    run_timeline_eval(json_out=json_out, reports=reports)


@app.command("index-scale")
def index_scale(
    sizes: Annotated[str, typer.Option(help="Comma-separated vector counts.")] = "100000,1000000",
    dims: Annotated[
        str, typer.Option(help="Vector dims: one for all sizes, or one per size (384,64).")
    ] = "384",
    queries: Annotated[int, typer.Option(help="Timed queries per case and size.")] = 200,
    json_out: JsonOut = None,
    reports: ReportsDir = Path("reports"),
) -> None:
    """FAISS index build time, memory, search p50/p95 and recall@10 per path, up to 1M."""
    from evals.index_scale import parse_dims, run_index_scale

    try:
        size_list = [int(s) for s in sizes.split(",") if s.strip()]
        run_index_scale(
            sizes=size_list,
            dims=parse_dims(dims, size_list),
            queries=queries,
            json_out=json_out,
            reports=reports,
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


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


@app.command("bench-hotpath")
def bench_hotpath(
    sizes: Annotated[str, typer.Option(help="Comma-separated memory counts.")] = (
        "1000,10000,100000"
    ),
    systems: Annotated[
        str,
        typer.Option(help="Comma-separated systems (default: all)."),
    ] = "floor,floor-dense,faiss,inmemory,sqlite,postgres,mem0",
    queries: Annotated[int, typer.Option(help="Timed searches per system and size.")] = 30,
    adds: Annotated[int, typer.Option(help="Timed MemoryManager.add calls, largest size.")] = 30,
    budget: Annotated[float, typer.Option(help="Seconds per system and size.")] = 20.0,
    json_out: JsonOut = None,
    reports: ReportsDir = Path("reports"),
) -> None:
    """Search end to end against its floor and its peers, interleaved; add throughput."""
    from evals.hotpath import run_hotpath

    run_hotpath(
        sizes=[int(s) for s in sizes.split(",") if s.strip()],
        systems=[s.strip() for s in systems.split(",") if s.strip()],
        queries=queries,
        adds=adds,
        budget_s=budget,
        json_out=json_out,
        reports=reports,
    )


@app.command("bench-cli")
def bench_cli(
    runs: Annotated[int, typer.Option(min=1, help="Timed runs of each command.")] = 10,
    warmup: Annotated[int, typer.Option(min=0, help="Untimed runs first.")] = 2,
    baseline: Annotated[
        str | None,
        typer.Option(help="A git commit whose same commands run interleaved, for ratios."),
    ] = None,
    json_out: JsonOut = None,
    reports: ReportsDir = Path("reports"),
) -> None:
    """`a2a-memory memories list` and `memories search` start to answer, as subprocesses."""
    from evals.cli_startup import run_cli_startup

    try:
        run_cli_startup(
            runs=runs, warmup=warmup, baseline=baseline, json_out=json_out, reports=reports
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("locomo")
def locomo(
    mode: Annotated[
        Literal["turns", "memory"],
        typer.Option(help="turns: each dialog turn a unit; memory: turns ingested as memories."),
    ] = "turns",
    data: Annotated[
        Path | None,
        typer.Option(help="LoCoMo JSON file (default: ../shared/data/locomo/locomo_dev.json)."),
    ] = None,
    quick: Annotated[
        bool, typer.Option(help="First conversation, first 60 questions (for CI).")
    ] = False,
    ablation: Annotated[
        bool, typer.Option(help="turns mode: also run every ablation step, into the report.")
    ] = False,
    retriever: Annotated[
        Literal["hybrid", "dense", "bm25"] | None, typer.Option(help="Retrieval (turns mode).")
    ] = None,
    speaker: Annotated[bool | None, typer.Option(help="Speaker name in each unit.")] = None,
    date: Annotated[bool | None, typer.Option(help="Session date in each unit.")] = None,
    caption: Annotated[bool | None, typer.Option(help="Image caption in each unit.")] = None,
    facts: Annotated[
        bool | None, typer.Option(help="Rule-extracted facts as an extra key of each unit.")
    ] = None,
    window: Annotated[
        int | None, typer.Option(min=0, help="Neighbouring turns indexed with each unit.")
    ] = None,
    window_index: Annotated[
        Literal["extra", "replace"] | None,
        typer.Option(help="extra: window as a second key; replace: window only."),
    ] = None,
    neighbour_weight: Annotated[
        float | None, typer.Option(min=0.0, help="Share of a neighbour's score added.")
    ] = None,
    query_rewrite: Annotated[
        Literal["none", "strip"] | None, typer.Option(help="strip: drop question words.")
    ] = None,
    dense_weight: Annotated[float | None, typer.Option(min=0.0, help="RRF weight.")] = None,
    lexical_weight: Annotated[float | None, typer.Option(min=0.0, help="RRF weight.")] = None,
    rrf_k: Annotated[int | None, typer.Option(min=1, help="RRF rank constant.")] = None,
    speaker_boost: Annotated[
        float | None, typer.Option(min=0.0, help="Boost turns of the speaker a question names.")
    ] = None,
    extractor: Annotated[
        Literal["rules", "llm"], typer.Option(help="Memory mode: the extractor.")
    ] = "rules",
    raw_turns: Annotated[
        Literal["all", "uncovered"],
        typer.Option(
            help="Memory mode: turns also stored verbatim (all, or those with no memory)."
        ),
    ] = "all",
    cache_dir: Annotated[
        Path | None, typer.Option(help="Embedding cache (default: reports/.cache in the repo).")
    ] = None,
    json_out: JsonOut = None,
    reports: ReportsDir = Path("reports"),
) -> None:
    """LoCoMo turn-level evidence recall at k = 5, 10, 25, 50, overall and per category.

    Options left out keep the best configuration measured on the dev split.
    """
    from evals.locomo.cache import DEFAULT_CACHE_DIR
    from evals.locomo.memory_mode import MemoryModeConfig
    from evals.locomo.suite import run_locomo
    from evals.locomo.turns import TurnsConfig
    from evals.locomo_data import LocomoDataError

    overrides = {
        name: value
        for name, value in {
            "retriever": retriever,
            "speaker": speaker,
            "date": date,
            "caption": caption,
            "facts": facts,
            "window": window,
            "window_index": window_index,
            "neighbour_weight": neighbour_weight,
            "query_rewrite": query_rewrite,
            "dense_weight": dense_weight,
            "lexical_weight": lexical_weight,
            "rrf_k": rrf_k,
            "speaker_boost": speaker_boost,
        }.items()
        if value is not None
    }
    if mode == "memory" and (overrides or ablation):
        raise typer.BadParameter("turns-mode options and --ablation need --mode turns")
    try:
        run_locomo(
            mode=mode,
            data=data,
            quick=quick,
            turns_config=TurnsConfig(**overrides),  # type: ignore[arg-type]
            memory_config=MemoryModeConfig(extractor=extractor, raw_turns=raw_turns),
            ablation=ablation,
            cache_dir=cache_dir or DEFAULT_CACHE_DIR,
            json_out=json_out,
            reports=reports,
        )
    except LocomoDataError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


Quick = Annotated[bool, typer.Option("--quick", help="The CI-sized run.")]


@app.command("scenarios")
def scenarios(
    json_out: JsonOut = None,
    reports: ReportsDir = Path("reports"),
    quick: Quick = False,
    llm: Annotated[
        str, typer.Option(help="Chat model for the chat turns: none, embedded, ollama, auto.")
    ] = "none",
) -> None:
    """Multi-agent memory scenarios (handoff, isolation, supersession, sync...): pass/fail,
    and invented claims in the chat replies they produce."""
    from evals.scenarios import run_scenarios

    run_scenarios(json_out=json_out, reports=reports, quick=quick, llm=_llm_choice(llm))


@app.command("qa")
def qa(
    data: Annotated[
        Path | None,
        typer.Option(help="LoCoMo JSON file (default: ../shared/data/locomo/locomo_dev.json)."),
    ] = None,
    json_out: JsonOut = None,
    reports: ReportsDir = Path("reports"),
    quick: Annotated[
        bool, typer.Option("--quick", help="First conversation, 60 spread questions.")
    ] = False,
) -> None:
    """LoCoMo question answering from the top-10 retrieved turns, judged by the LLM (Ollama).

    Without an Ollama server it reports "skipped" with the reason (exit code 0).
    """
    from evals.locomo_data import LocomoDataError
    from evals.qa import run_qa

    try:
        run_qa(data=data, json_out=json_out, reports=reports, quick=quick)
    except LocomoDataError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    app()
