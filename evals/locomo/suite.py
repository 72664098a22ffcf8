"""`python -m evals locomo`: run one mode (and the ablation) and write its report."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from langchain_core.embeddings import Embeddings

from evals.locomo.ablation import ABLATION, command_for, plot_ablation
from evals.locomo.cache import DEFAULT_CACHE_DIR, cached_embeddings
from evals.locomo.memory_mode import MemoryModeConfig, extraction_llm, memory_builder
from evals.locomo.report import (
    Mode,
    ablation_plot_name,
    markdown_report,
    plot,
    print_summary,
    summarize,
)
from evals.locomo.scoring import BuildRanker, ScoredRun, Tracker, evaluate, select
from evals.locomo.turns import TurnsConfig, turns_builder
from evals.locomo_data import (
    DEFAULT_DATA,
    Conversation,
    load_locomo,
)
from memory.embeddings import embedding_model_name


def run_locomo(
    *,
    mode: Mode = "turns",
    data: Path | None = None,
    quick: bool = False,
    turns_config: TurnsConfig | None = None,
    memory_config: MemoryModeConfig | None = None,
    ablation: bool = False,
    embeddings: Embeddings | None = None,
    cache_dir: Path | None = DEFAULT_CACHE_DIR,
    json_out: Path | None = None,
    reports: Path | None = None,
) -> dict[str, object]:
    """Run the eval, write reports/locomo_<mode>.{json,md,png} (with `ablation`, also
    locomo_<mode>_ablation.png; and the JSON at `json_out`), return the summary as JSON data."""
    from evals.report import Plot, Report, summary_json, write_report

    data = data or DEFAULT_DATA
    conversations = select(load_locomo(data), quick)
    embeddings = cached_embeddings(embeddings, cache_dir)
    turns_config = turns_config or TurnsConfig()
    memory_config = memory_config or MemoryModeConfig()
    if mode == "turns":
        settings: dict[str, object] = {**asdict(turns_config), "command": command_for(turns_config)}
        builds = [("turns", turns_builder(turns_config, embeddings))]
        if ablation:
            builds += [(s.name, turns_builder(s.config, embeddings)) for s in ABLATION]
    else:
        settings = {**asdict(memory_config)}
        llm = extraction_llm(memory_config.extractor)
        builds = [("memory", memory_builder(memory_config, embeddings, llm))]
    runs = _run_all(conversations, builds)
    run, steps = runs[0], list(zip(ABLATION, runs[1:], strict=False))
    model = embedding_model_name(embeddings)
    summary = summarize(mode, run, data, quick, conversations, model, settings, steps)
    name = f"locomo_{mode}"
    plots: dict[str, Plot] = {
        f"{name}.png": lambda path: plot(path, summary.recall_at, f"ours ({mode} mode)")
    }
    if summary.ablation:
        plots[ablation_plot_name(mode)] = lambda path: plot_ablation(path, summary.ablation)
    report = Report(name, summary, markdown_report(summary), plots)
    out_dir = write_report(report, reports=reports, json_out=json_out)
    print_summary(summary, out_dir)
    result: dict[str, object] = summary_json(summary)
    return result


def _run_all(
    conversations: list[Conversation], builds: list[tuple[str, BuildRanker]]
) -> list[ScoredRun]:
    from rich.console import Console

    from evals.report import progress_bar

    questions = sum(len(c.questions) for c in conversations)
    runs: list[ScoredRun] = []
    with progress_bar(Console()) as progress:
        for name, build in builds:
            tracker = Tracker(progress, progress.add_task(name, total=questions))
            runs.append(evaluate(conversations, build, tracker=tracker))
    return runs
