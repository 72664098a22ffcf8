"""The LoCoMo turns-mode ablation: the cumulative path to the default configuration, the
variants measured against it, and the command that reproduces each step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from evals.locomo.turns import TurnsConfig
from evals.locomo_data import (
    KS,
)

if TYPE_CHECKING:
    from evals.locomo.scoring import ScoredRun


# ---- ablation ------------------------------------------------------------------------------

BASELINE: Final = TurnsConfig(
    speaker=False,
    date=False,
    caption=False,
    window=0,
    neighbour_weight=0.0,
    query_rewrite="none",
    lexical_weight=1.0,
    rrf_k=60,
)
"""Plain hybrid retrieval over the raw turn text: the starting point of the ablation."""


@dataclass(frozen=True)
class AblationStep:
    name: str
    what: str
    config: TurnsConfig
    kept: bool
    """Part of the default configuration (cumulative steps), or measured and not kept."""


def _steps() -> list[AblationStep]:
    best = TurnsConfig()
    cumulative = [
        ("dense", "MiniLM dense alone, raw turn text", replace(BASELINE, retriever="dense")),
        ("bm25", "BM25 (FTS5) alone, raw turn text", replace(BASELINE, retriever="bm25")),
        ("hybrid", "dense + BM25, RRF k=60, equal weights", BASELINE),
        ("+speaker", "unit text starts with the speaker's name", replace(BASELINE, speaker=True)),
        ("+caption", "image caption appended", replace(BASELINE, speaker=True, caption=True)),
        (
            "+date",
            "session date prefixed",
            replace(BASELINE, speaker=True, caption=True, date=True),
        ),
    ]
    rendered = cumulative[-1][2]
    cumulative += [
        (
            "+strip",
            "question words removed from the query",
            replace(rendered, query_rewrite="strip"),
        ),
        (
            "+rrf_k=10",
            "sharper fusion: RRF k 60 -> 10",
            replace(rendered, query_rewrite="strip", rrf_k=10),
        ),
        (
            "+bm25x1.5",
            "weighted RRF, dense:BM25 = 1:1.5",
            replace(rendered, query_rewrite="strip", rrf_k=10, lexical_weight=1.5),
        ),
        ("+window=2", "2 turns each side indexed with each unit (default)", best),
    ]
    variants = [
        ("-window", "default without the indexed window", replace(best, window=0)),
        (
            "+neighbours",
            "0.3 of each neighbouring turn's score added at scoring",
            replace(best, neighbour_weight=0.3),
        ),
        (
            "-window +neighbours",
            "no window, neighbours' scores spread instead",
            replace(best, window=0, neighbour_weight=0.3),
        ),
        ("-strip", "default without query stripping", replace(best, query_rewrite="none")),
        ("-date", "default without the session date", replace(best, date=False)),
        ("-speaker", "default without speaker names", replace(best, speaker=False)),
        ("-caption", "default without image captions", replace(best, caption=False)),
        ("dense only", "default units, dense retrieval only", replace(best, retriever="dense")),
        ("bm25 only", "default units, BM25 only", replace(best, retriever="bm25")),
        ("window=1", "1 turn each side indexed", replace(best, window=1)),
        ("window=3", "3 turns each side indexed", replace(best, window=3)),
        (
            "window replace",
            "window text replaces the turn (no turn boost)",
            replace(best, window_index="replace"),
        ),
        ("rrf_k=20", "RRF k 20", replace(best, rrf_k=20)),
        ("rrf_k=60", "RRF k 60 (the usual constant)", replace(best, rrf_k=60)),
        ("bm25x2", "dense:BM25 = 1:2", replace(best, lexical_weight=2.0)),
        (
            "speaker boost",
            "turns of the speaker the question names x1.3",
            replace(best, speaker_boost=0.3),
        ),
        ("+facts", "rule-extracted facts as an extra key", replace(best, facts=True)),
    ]
    return [AblationStep(n, w, c, True) for n, w, c in cumulative] + [
        AblationStep(n, w, c, False) for n, w, c in variants
    ]


ABLATION: Final[list[AblationStep]] = _steps()


_FLAG_NAMES: Final[dict[str, str]] = {
    "retriever": "--retriever",
    "window": "--window",
    "window_index": "--window-index",
    "neighbour_weight": "--neighbour-weight",
    "query_rewrite": "--query-rewrite",
    "dense_weight": "--dense-weight",
    "lexical_weight": "--lexical-weight",
    "rrf_k": "--rrf-k",
    "speaker_boost": "--speaker-boost",
}
_BOOL_FLAGS: Final = ("speaker", "date", "caption", "facts")


def command_for(config: TurnsConfig) -> str:
    """The `python -m evals locomo` command that runs `config` (only non-default options)."""
    default = TurnsConfig()
    parts = ["python -m evals locomo --mode turns"]
    for f in fields(TurnsConfig):
        value, base = getattr(config, f.name), getattr(default, f.name)
        if value == base:
            continue
        if f.name in _BOOL_FLAGS:
            parts.append(f"--{'' if value else 'no-'}{f.name}")
        else:
            parts.append(f"{_FLAG_NAMES[f.name]} {value}")
    return " ".join(parts)


@dataclass(frozen=True)
class AblationResult:
    """One ablation step as measured."""

    step: str
    what: str
    kept: bool
    command: str
    recall_at: dict[str, float]
    by_category: dict[str, dict[str, float]]


DEFAULT_COMMAND: Final = command_for(TurnsConfig())
"""The command of the default configuration (it names no option)."""


def measured(step: AblationStep, run: ScoredRun) -> AblationResult:
    return AblationResult(
        step=step.name,
        what=step.what,
        kept=step.kept,
        command=command_for(step.config),
        recall_at=run.table.recall_at,
        by_category=run.table.by_category,
    )


def ablation_section(ablation: Sequence[AblationResult]) -> list[str]:
    """Two tables: the cumulative path to the default, and variants measured against it."""
    from evals.report import markdown_table

    headers = ["step", "what", *(f"R@{k}" for k in KS), "ΔR@10", "command"]
    default = next((r for r in ablation if r.command == DEFAULT_COMMAND), None)
    path: list[list[object]] = []
    variants: list[list[object]] = []
    gains: list[tuple[str, float]] = []
    previous: float | None = None
    for result in ablation:
        r10 = result.recall_at["10"]
        against = previous if result.kept else (default.recall_at["10"] if default else None)
        delta = None if against is None else r10 - against
        row = [
            result.step,
            result.what,
            *(result.recall_at[str(k)] for k in KS),
            "" if delta is None else f"{delta:+.1f}",
            f"`{result.command}`",
        ]
        if result.kept:
            path.append(row)
            previous = r10
            if delta is not None and result.step != "bm25":  # bm25 is a baseline, not a step
                gains.append((result.step, delta))
        else:
            variants.append(row)
    gains.sort(key=lambda gain: -gain[1])
    lines = [
        "## Ablation: what helped",
        "",
        "Cumulative steps to the default configuration, ΔR@10 against the row above "
        "(each row's command reproduces it):",
        "",
        markdown_table(headers, path),
        "",
        "R@10 gains along the path, largest first: "
        + ", ".join(f"{name} {delta:+.1f}" for name, delta in gains)
        + ".",
    ]
    if variants:
        lines += [
            "",
            "Variants of the default, ΔR@10 against the default:",
            "",
            markdown_table(headers, variants),
        ]
    return lines


def plot_ablation(path: Path, ablation: Sequence[AblationResult]) -> Path:
    """R@10 of each step: the path to the default, then the variants of it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.3 * len(ablation) + 1.5), dpi=110)
    names = [r.step for r in ablation][::-1]
    values = [r.recall_at["10"] for r in ablation][::-1]
    colors = ["tab:blue" if r.kept else "tab:gray" for r in ablation][::-1]
    ax.barh(names, values, color=colors)
    default = next((r for r in ablation if r.command == DEFAULT_COMMAND), None)
    if default is not None:
        ax.axvline(default.recall_at["10"], color="black", linestyle="--", linewidth=0.8)
    for y, value in enumerate(values):
        ax.annotate(
            f"{value:.1f}",
            (value, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    ax.set_xlabel("R@10 (%); blue: the path to the default (dashed), grey: its variants")
    # steps differ by a few points: the axis starts near the lowest, not at 0
    ax.set_xlim(max(0.0, min(values, default=0.0) - 10), min(100.0, max(values, default=100.0) + 5))
    ax.set_title("LoCoMo turns mode: ablation")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
