"""The LoCoMo report: typed summary, markdown (overall, per category, configuration, ablation,
evidence repairs), the recall plot and the console table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from evals.locomo.ablation import AblationResult, AblationStep, ablation_section, measured
from evals.locomo_data import (
    CATEGORY_NAMES,
    KS,
    Conversation,
)

if TYPE_CHECKING:
    from evals.locomo.scoring import ScoredRun


DRAGON_ANCHOR: Final[dict[str, float]] = {"5": 56.7, "10": 66.2, "25": 76.7, "50": 82.7}
"""Published DRAGON recall (LoCoMo paper, Table 3; all 10 conversations, all categories)."""
Mode = Literal["turns", "memory"]


# ---- reports ------------------------------------------------------------------------------


def recall_row(label: str, recall: dict[str, float]) -> list[object]:
    return [label, *(recall[str(k)] for k in KS)]


def markdown_report(summary: LocomoSummary) -> str:
    from evals.report import markdown_table

    headers = ["", *(f"R@{k}" for k in KS)]
    conversations = summary.conversations
    lines = [
        f"# LoCoMo retrieval: {summary.mode} mode",
        "",
        f"Turn-level evidence recall at k (percent), {summary.questions} questions of "
        f"{len(conversations)} conversations ({', '.join(conversations)}) "
        f"from `{Path(summary.data).name}`; embedder {summary.embedding_model}; "
        f"{summary.seconds:.0f} s.",
        "",
        "## Overall",
        "",
        markdown_table(
            headers,
            [recall_row("ours", summary.recall_at), recall_row("DRAGON (paper)", DRAGON_ANCHOR)],
        ),
        "",
        "DRAGON is the LoCoMo paper's figure on all 10 conversations; ours is on the split above.",
        "",
        "## Per category",
        "",
        markdown_table(
            ["category", "questions", *headers[1:]],
            [
                [name, summary.questions_by_category[name], *(r[str(k)] for k in KS)]
                for name, r in summary.by_category.items()
            ],
        ),
        "",
        "## Configuration",
        "",
        *(f"- `{key}`: {value}" for key, value in summary.settings.items()),
        *(f"- {key.replace('_', ' ')}: {value}" for key, value in summary.notes.items()),
    ]
    if summary.mode == "memory":
        lines += ["", *MEMORY_MODE_NOTES]
    if summary.ablation:
        lines += ["", *ablation_section(summary.ablation)]
        lines += ["", f"![R@10 per ablation step]({ablation_plot_name(summary.mode)})"]
    repairs = [
        f"{sample_id} {r}" for sample_id, found in summary.evidence_repairs.items() for r in found
    ]
    lines += [
        "",
        "## Evidence normalisation",
        "",
        "Ids are split on `;`/`,`, spaces and stray colons removed, unparseable fragments and "
        "ids naming no turn dropped:",
        "",
        *(f"- {r}" for r in repairs or ["none in this data"]),
    ]
    return "\n".join(lines)


def ablation_plot_name(mode: Mode) -> str:
    return f"locomo_{mode}_ablation.png"


MEMORY_MODE_NOTES: Final = [
    "## How memories map back to turns",
    "",
    "Each turn is passed to `extract_memories` (speaker as the subject, dia_id as the "
    "message id, its position in the conversation as `Provenance.turn`) and every memory "
    "goes through `MemoryManager.add`. A hit maps to the turn in "
    "its `provenance.message_id` and to every later turn that reinforced or merged into it. "
    "Every turn is also stored as one episodic memory holding the rendered turn (speaker, "
    "date, caption), so a turn that yields no memory stays retrievable; with `--raw-turns "
    "uncovered` only such turns are. Retrieval is `MemoryManager.search` as the agents use it "
    "(its own fusion and scoring, min_confidence 0), 200 memories deep, mapped to turns in "
    "order until k distinct turns. Nothing of the turns mode's own pipeline is used: what the "
    "product's search does (BM25 weighted 1.5 in the fusion, a memory lifted by the evidence "
    "of the turns up to three before and after it: memory/retrieval_context.py) is what is "
    "measured.",
]


def plot(path: Path, recall: dict[str, float], label: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ks = list(KS)
    ax.plot(ks, [recall[str(k)] for k in ks], marker="o", label=label)
    ax.plot(
        ks,
        [DRAGON_ANCHOR[str(k)] for k in ks],
        marker="s",
        linestyle="--",
        label="DRAGON (paper, 10 conversations)",
    )
    for k in ks:
        ax.annotate(
            f"{recall[str(k)]:.1f}",
            (k, recall[str(k)]),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=8,
        )
    ax.set_xscale("log")
    ax.minorticks_off()  # log-scale minor labels (6x10^0 ...) only clutter four k values
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k (turns retrieved)")
    ax.set_ylabel("evidence recall (%)")
    ax.set_ylim(0, 100)
    ax.set_title("LoCoMo turn-level evidence recall")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


@dataclass(frozen=True)
class LocomoSummary:
    """What one run of the eval measured: the JSON report, and what `run_locomo` returns."""

    mode: Mode
    data: str
    quick: bool
    conversations: list[str]
    embedding_model: str
    settings: dict[str, object]
    recall_at: dict[str, float]
    by_category: dict[str, dict[str, float]]
    questions: int
    questions_by_category: dict[str, int]
    notes: dict[str, int]
    seconds: float
    dragon_anchor: dict[str, float]
    evidence_repairs: dict[str, list[str]]
    ablation: list[AblationResult] = field(default_factory=list)


def summarize(
    mode: Mode,
    run: ScoredRun,
    data: Path,
    quick: bool,
    conversations: list[Conversation],
    model: str,
    settings: dict[str, object],
    steps: list[tuple[AblationStep, ScoredRun]],
) -> LocomoSummary:
    table = run.table
    return LocomoSummary(
        mode=mode,
        data=str(data),
        quick=quick,
        conversations=[c.sample_id for c in conversations],
        embedding_model=model,
        settings=settings,
        recall_at=table.recall_at,
        by_category=table.by_category,
        questions=table.questions,
        questions_by_category=table.questions_by_category,
        notes=run.notes,
        seconds=round(run.seconds, 1),
        dragon_anchor=DRAGON_ANCHOR,
        evidence_repairs={c.sample_id: list(c.evidence_repairs) for c in conversations},
        ablation=[measured(step, scored) for step, scored in steps],
    )


def print_summary(summary: LocomoSummary, out_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    mode = summary.mode
    table = Table(title=f"LoCoMo evidence recall ({mode} mode, {summary.questions} questions)")
    table.add_column("")
    for k in KS:
        table.add_column(f"R@{k}", justify="right")
    table.add_row("overall", *(f"{summary.recall_at[str(k)]:.1f}" for k in KS))
    for name in CATEGORY_NAMES.values():
        if name in summary.by_category:
            table.add_row(name, *(f"{summary.by_category[name][str(k)]:.1f}" for k in KS))
    table.add_row("DRAGON (paper)", *(f"{DRAGON_ANCHOR[str(k)]:.1f}" for k in KS))
    console = Console()
    console.print(table)
    console.print(f"reports: {out_dir / f'locomo_{mode}.md'}, {out_dir / f'locomo_{mode}.png'}")
