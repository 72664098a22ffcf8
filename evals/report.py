"""Writing eval results where people read them: JSON, a markdown report and PNG plots.

Every suite ends the same way: it builds one `Report` (its typed summary, the markdown
made from it, the plots drawn from it) and hands it to `write_report`, the one writer:
reports/<name>.json, reports/<name>.md, each plot next to them, and the JSON again where
``--json`` asks.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from pydantic import BaseModel, TypeAdapter
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

DEFAULT_REPORTS_DIR = Path(os.environ.get("A2A_REPORTS_DIR", "reports"))


TypedSummary = Union[BaseModel, "DataclassInstance"]
"""What a suite measured, as a dataclass or a pydantic model."""

Plot = Callable[[Path], object]
"""Draws one figure into the PNG file it is given."""


@dataclass(frozen=True)
class Report:
    """One suite's results as written: the summary, its markdown and its plots."""

    name: str
    """File stem: reports/<name>.json and reports/<name>.md."""
    summary: TypedSummary
    """The typed summary (a dataclass or a pydantic model): the JSON is made from it, and
    so are the markdown and the plots."""
    markdown: str
    plots: Mapping[str, Plot] = field(default_factory=dict)
    """PNG file name -> the function drawing it."""

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise ValueError(f"a report name is a plain file stem, got {self.name!r}")
        bad = [n for n in self.plots if not n.endswith(".png") or "/" in n]
        if bad:
            raise ValueError(f"plot file names must be plain .png names, got {bad}")
        if not _is_typed(self.summary):
            raise TypeError(
                f"the summary of report {self.name!r} must be a dataclass or a pydantic "
                f"model, got {type(self.summary).__name__}"
            )


def _is_typed(summary: object) -> bool:
    is_dataclass = dataclasses.is_dataclass(summary) and not isinstance(summary, type)
    return is_dataclass or isinstance(summary, BaseModel)


def summary_json(summary: TypedSummary) -> Any:
    """The summary as JSON-able data, by pydantic: a dataclass summary may hold pydantic
    models, and fields are written under their serialization aliases."""
    return TypeAdapter(type(summary)).dump_python(summary, mode="json", by_alias=True)


def write_report(
    report: Report,
    *,
    reports: str | Path | None = None,
    json_out: str | Path | None = None,
    console: Console | None = None,
) -> Path:
    """Write `report` under the reports directory (and its JSON at `json_out`), show its
    markdown on `console` when given; returns the directory."""
    out = reports_dir(reports)
    data = summary_json(report.summary)
    write_json(out / f"{report.name}.json", data)
    if json_out is not None:
        write_json(json_out, data)
    write_markdown(out / f"{report.name}.md", report.markdown)
    for file_name, draw in report.plots.items():
        draw(out / file_name)
    if console is not None:
        console.print(report.markdown, markup=False)
    return out


def write_json(path: str | Path, data: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    return path


def write_markdown(path: str | Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip() + "\n")
    return path


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured markdown table; floats shown with 2 decimals."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.2f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


Bars = Mapping[str, Mapping[str, float]]
"""Grouped bars: x-axis group -> series (the legend) -> value."""


def bar_panels(
    path: Path,
    panels: Mapping[str, Bars],
    *,
    title: str,
    ylabel: str,
    ylim: tuple[float, float] = (0.0, 1.05),
    lines: Mapping[str, float] | None = None,
) -> Path:
    """Draw one grouped-bar panel per entry of `panels` (panel title -> bars) side by side,
    with dashed horizontal reference `lines` (label -> value) on each, into `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    widest = max((len(bars) for bars in panels.values()), default=1)
    width = max(6.0, 0.7 * widest)  # many groups (scenario families) need the room
    fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), 5), squeeze=False)
    for ax, (panel, bars) in zip(axes[0], panels.items(), strict=True):
        groups = list(bars)
        series = list(dict.fromkeys(s for values in bars.values() for s in values))
        width = 0.8 / max(len(series), 1)
        for k, name in enumerate(series):
            xs = [g + (k - (len(series) - 1) / 2) * width for g in range(len(groups))]
            ax.bar(xs, [bars[g].get(name, 0.0) for g in groups], width, label=name)
        for n, (label, value) in enumerate((lines or {}).items()):
            ax.axhline(value, color="grey", linestyle=("--", ":", "-.")[n % 3], label=label)
        slant = 15 if len(groups) <= 8 else 35
        ax.set_xticks(
            range(len(groups)), groups, rotation=slant, ha="right" if slant > 15 else "center"
        )
        ax.set_ylim(*ylim)
        ax.set_title(panel)
        ax.set_ylabel(ylabel)
        ax.grid(True, axis="y", alpha=0.3)
        # beside the panel: bars reach 1.0, where a legend inside would hide them
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def reports_dir(directory: str | Path | None = None) -> Path:
    path = Path(directory) if directory else DEFAULT_REPORTS_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def progress_bar(console: Console) -> Progress:
    """The suites' progress display: description, bar, done/total, elapsed."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
