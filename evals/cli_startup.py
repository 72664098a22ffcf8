"""bench-cli: how long the `a2a-memory` command takes to answer, start to finish.

A user runs `a2a-memory memories search ...` or `memories list` as a fresh process each
time, so what they wait for is the interpreter's start, every import, the store's open
and the embedder's load before the answer is printed. This suite times exactly that:
each command runs as a subprocess of the installed console script on a store prepared
once (`a2a-memory prepare`: the demo's seed memories) in a temporary data directory.

Warm, as a user's second run is: untimed warm-up runs first (the operating system's file
cache holds the libraries, the project's bytecode is written, the int8 embedding model is
already made), and the children may write bytecode even where the caller's environment
says not to (``PYTHONDONTWRITEBYTECODE``), as a user's installed project does. Runs are
interleaved (run i of every command before run i + 1 of any), so load from other
processes falls on every command alike. Reported per command: the median, min and max
wall time, the median CPU time of the child (user + system: what the command itself
costs, whatever else the machine runs), and the load average around the run; beside them
three more runs under ``python -X importtime`` show where the start-up goes: the import
time by top-level package (the least of the three runs), and whether LangGraph /
LangChain were imported at all.

`python -m evals bench-cli` writes reports/cli.{json,md,png}.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rich.console import Console

from evals.report import Report, markdown_table, progress_bar, write_report

TARGET_S: Final = 1.0
"""The issue's target for `memories list` and `memories search`, warm."""
SEARCH_QUERY: Final = "refund window for premium members"
TOP_PACKAGES: Final = 8
PROJECT_PACKAGES: Final = frozenset({"cli", "evals", "graphs", "memory", "nodes", "teams"})
"""Reported per module (memory.store, ...) rather than as one package."""
WATCHED_IMPORTS: Final = ("langgraph", "langchain_core", "onnxruntime", "faiss")
IMPORT_ROUNDS: Final = 3


@dataclass(frozen=True)
class CommandCase:
    label: str
    args: tuple[str, ...]
    """Arguments after the console script (`--data-dir` is put first); empty for the bare
    interpreter."""
    targeted: bool = False
    """Whether the issue's 1 s target applies."""


CASES: Final = (
    CommandCase("python -c pass (the interpreter alone)", ()),
    CommandCase("a2a-memory --help", ("--help",)),
    CommandCase("a2a-memory memories list", ("memories", "list"), targeted=True),
    CommandCase("a2a-memory memories search", ("memories", "search", SEARCH_QUERY), targeted=True),
)


@dataclass(frozen=True)
class ImportCost:
    package: str
    ms: float


@dataclass
class CommandTiming:
    label: str
    argv: list[str]
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    targeted: bool = False
    import_ms: float | None = None
    """Import time under -X importtime, all modules (self times summed; least of the runs)."""
    top_imports: list[ImportCost] = field(default_factory=list)
    imported: dict[str, bool] = field(default_factory=dict)
    """For each of WATCHED_IMPORTS: whether the command imported it."""

    @property
    def wall_median_s(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def cpu_median_s(self) -> float:
        return statistics.median(self.cpu_s)


@dataclass
class CliStartupSummary:
    """What one run measured: what the JSON, the markdown and the plot show."""

    commands: list[CommandTiming]
    memories: int
    runs: int
    warmup: int
    cpus: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    console_script: str

    def medians(self) -> dict[str, dict[str, float]]:
        return {
            c.label: {"wall_s": round(c.wall_median_s, 3), "cpu_s": round(c.cpu_median_s, 3)}
            for c in self.commands
        }


# ---- running the commands ------------------------------------------------------------------
def console_script() -> Path:
    """The installed `a2a-memory` script of this interpreter's environment."""
    script = Path(sys.executable).parent / "a2a-memory"
    if not script.is_file():
        raise FileNotFoundError(
            f"no a2a-memory console script next to {sys.executable}: install the project "
            "(pip install -e .) in this environment"
        )
    return script


def child_env() -> dict[str, str]:
    """The caller's environment, with bytecode caching allowed (a warm install has it)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def command_argv(case: CommandCase, script: Path, data_dir: Path) -> list[str]:
    if not case.args:
        return [sys.executable, "-c", "pass"]
    if case.args == ("--help",):
        return [sys.executable, str(script), "--help"]
    return [sys.executable, str(script), "--data-dir", str(data_dir), *case.args]


def run_checked(argv: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `argv` to the end; a failure is an error naming the command and its stderr."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-2000:]}"
        )
    return done


def run_timed(argv: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one run of `argv`, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run_checked(argv, env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def prepare_store(script: Path, data_dir: Path, env: dict[str, str]) -> int:
    """The demo's seed memories in `data_dir` (untimed); how many memories it holds."""
    cli = [sys.executable, str(script), "--data-dir", str(data_dir)]
    run_checked([*cli, "--llm", "none", "prepare"], env)
    listed = run_checked([*cli, "memories", "list", "--json"], env)
    return len(json.loads(listed.stdout))


# ---- where the start-up goes ---------------------------------------------------------------
def import_costs(importtime_output: str) -> tuple[float, Counter[str], set[str]]:
    """From `python -X importtime` stderr: the total import ms (self times summed), the ms
    per top-level package (per module for the project's own packages), and every module."""
    per_package: Counter[str] = Counter()
    modules: set[str] = set()
    total_us = 0
    for line in importtime_output.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.split(":", 1)[1].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        self_us, name = int(parts[0]), parts[2].strip()
        modules.add(name)
        total_us += self_us
        top = name.split(".")[0]
        per_package[".".join(name.split(".")[:2]) if top in PROJECT_PACKAGES else top] += self_us
    return total_us / 1000.0, Counter({k: v / 1000.0 for k, v in per_package.items()}), modules


def profile_imports(timing: CommandTiming, env: dict[str, str], rounds: int) -> None:
    """Import costs of `rounds` runs under -X importtime: per package, the least of the
    rounds (the run least disturbed by other processes)."""
    argv = [timing.argv[0], "-X", "importtime", *timing.argv[1:]]
    totals: list[float] = []
    least: dict[str, float] = {}
    modules: set[str] = set()
    for _ in range(rounds):
        done = run_checked(argv, env)
        total_ms, per_package, seen = import_costs(done.stderr)
        totals.append(total_ms)
        modules |= seen
        for package, ms in per_package.items():
            least[package] = min(ms, least.get(package, ms))
    timing.import_ms = min(totals)
    ranked = sorted(least.items(), key=lambda item: item[1], reverse=True)[:TOP_PACKAGES]
    timing.top_imports = [ImportCost(package, ms) for package, ms in ranked]
    tops = {m.split(".")[0] for m in modules}
    timing.imported = {name: name in tops for name in WATCHED_IMPORTS}


# ---- the suite -----------------------------------------------------------------------------
def run_cli_startup(
    *,
    runs: int = 10,
    warmup: int = 2,
    json_out: Path | None = None,
    reports: Path | None = None,
    console: Console | None = None,
) -> CliStartupSummary:
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs must be at least 1 and warmup at least 0, got {runs}, {warmup}")
    console = console or Console(stderr=True)
    script = console_script()
    env = child_env()
    with tempfile.TemporaryDirectory(prefix="a2a-bench-cli-") as scratch:
        data_dir = Path(scratch) / "data"
        memories = prepare_store(script, data_dir, env)
        timings = [
            CommandTiming(c.label, command_argv(c, script, data_dir), targeted=c.targeted)
            for c in CASES
        ]
        load_before = os.getloadavg()
        with progress_bar(console) as progress:
            task = progress.add_task("bench-cli: interleaved runs", total=warmup + runs)
            for i in range(warmup + runs):
                for timing in timings:
                    wall, cpu = run_timed(timing.argv, env)
                    if i >= warmup:
                        timing.wall_s.append(wall)
                        timing.cpu_s.append(cpu)
                progress.advance(task)
        load_after = os.getloadavg()
        for timing in timings:
            profile_imports(timing, env, rounds=min(runs, IMPORT_ROUNDS))
    summary = CliStartupSummary(
        commands=timings,
        memories=memories,
        runs=runs,
        warmup=warmup,
        cpus=os.cpu_count() or 1,
        load_before=load_before,
        load_after=load_after,
        console_script=str(script),
    )
    report = Report(
        "cli", summary, render_markdown(summary), {"cli.png": lambda p: _plot(summary, p)}
    )
    write_report(report, reports=reports, json_out=json_out)
    for label, median in summary.medians().items():
        console.print(f"{label}: wall {median['wall_s']:.2f} s, cpu {median['cpu_s']:.2f} s")
    return summary


def render_markdown(summary: CliStartupSummary) -> str:
    rows = []
    for c in summary.commands:
        met = (
            ("yes" if c.wall_median_s < TARGET_S else "no")
            if c.targeted
            else "-"  # no target for the reference rows
        )
        rows.append(
            [
                c.label,
                f"{c.wall_median_s:.2f} ({min(c.wall_s):.2f}-{max(c.wall_s):.2f})",
                f"{c.cpu_median_s:.2f}",
                f"{c.import_ms:.0f}" if c.import_ms is not None else "-",
                ", ".join(name for name, yes in c.imported.items() if yes) or "none",
                met,
            ]
        )
    lines = [
        "# CLI start-up: a command from start to answer",
        "",
        f"Each command as a fresh process of `{Path(summary.console_script).name}`, on a store "
        f"of {summary.memories} memories (the demo's seed memories, `a2a-memory prepare`); "
        f"{summary.warmup} untimed warm-up runs, then {summary.runs} timed runs, interleaved. "
        f"Machine: {summary.cpus} CPUs, load average {summary.load_before[0]:.2f} before and "
        f"{summary.load_after[0]:.2f} after (wall time grows with load; CPU time much less).",
        "",
        markdown_table(
            [
                "command",
                "wall s, median (min-max)",
                "CPU s, median",
                "imports ms",
                "imports of",
                f"under {TARGET_S:.0f} s",
            ],
            rows,
        ),
        "",
        "## Where the start-up goes (imports by package, ms, least of the `-X importtime` runs)",
        "",
    ]
    for c in summary.commands:
        if c.top_imports:
            costs = ", ".join(f"{i.package} {i.ms:.0f}" for i in c.top_imports)
            lines.append(f"- {c.label}: {costs}")
    lines += ["", "![CLI start-up](cli.png)"]
    return "\n".join(lines)


def _plot(summary: CliStartupSummary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [c.label.replace("a2a-memory ", "") for c in summary.commands]
    ys = range(len(labels))
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.barh([y + 0.2 for y in ys], [c.wall_median_s for c in summary.commands], 0.4, label="wall")
    ax.barh([y - 0.2 for y in ys], [c.cpu_median_s for c in summary.commands], 0.4, label="CPU")
    ax.axvline(TARGET_S, color="red", linestyle="--", label=f"target {TARGET_S:.0f} s")
    ax.set_yticks(list(ys), labels)
    ax.invert_yaxis()
    ax.set_xlabel("seconds (median)")
    ax.set_title(f"CLI start to answer, {summary.runs} runs, load {summary.load_before[0]:.1f}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
