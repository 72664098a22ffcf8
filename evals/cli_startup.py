"""bench-cli: how long the `a2a-memory` command takes to answer, start to finish.

A user runs `a2a-memory memories search ...` or `memories list` as a fresh process each
time, so what they wait for is the interpreter's start, every import, the store's open
and the embedder's load before the answer is printed. This suite times exactly that:
each command runs as a subprocess, ``python -c "from cli.app import main; main()" ARGS``
(what the `a2a-memory` console script runs), on a store prepared once (`a2a-memory
prepare`: the demo's seed memories) in a temporary data directory.

Warm, as a user's second run is: untimed warm-up runs first (the operating system's file
cache holds the libraries, the project's bytecode is written, the int8 embedding model is
already made), and the children may write bytecode even where the caller's environment
says not to (``PYTHONDONTWRITEBYTECODE``), as a user's installed project does. Runs are
interleaved (run i of every command before run i + 1 of any), so load from other
processes falls on every command alike. Reported per command: the median, min and max
wall time, the median CPU time of the child (user + system: what the command itself
costs, less sensitive to what else the machine runs), and the load average around the
run; beside them three more runs under ``python -X importtime`` show where the start-up
goes: the import time by top-level package (the least of the three runs), and whether
LangGraph / LangChain were imported at all.

``--baseline REF`` runs the same commands of another commit too (its files from `git
archive`, with the same interpreter and packages, its own prepared store), interleaved
with this tree's, and reports each command's ratio: a before/after that means something
on a loaded machine, where absolute times do not.

`python -m evals bench-cli` writes reports/cli.{json,md,png}.
"""

from __future__ import annotations

import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rich.console import Console

from evals.report import Report, markdown_table, progress_bar, write_report

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
CLI_MAIN: Final = "from cli.app import main; main()"
TARGET_S: Final = 1.0
"""The issue's target for `memories list` and `memories search`, warm."""
SEARCH_QUERY: Final = "refund window for premium members"
TOP_PACKAGES: Final = 8
PROJECT_PACKAGES: Final = frozenset({"cli", "evals", "graphs", "memory", "nodes", "teams"})
"""Reported per module (memory.store, ...) rather than as one package."""
WATCHED_IMPORTS: Final = ("langgraph", "langchain_core", "onnxruntime", "faiss")
IMPORT_ROUNDS: Final = 3
THIS_TREE: Final = "this tree"


@dataclass(frozen=True)
class CommandCase:
    label: str
    args: tuple[str, ...]
    """The CLI's arguments (`--data-dir` is put first where a store is read); empty for
    the bare interpreter."""
    targeted: bool = False
    """Whether the issue's 1 s target applies."""
    reads_store: bool = False


CASES: Final = (
    CommandCase("python -c pass (the interpreter alone)", ()),
    CommandCase("a2a-memory --help", ("--help",)),
    CommandCase("a2a-memory memories list", ("memories", "list"), True, True),
    CommandCase("a2a-memory memories search", ("memories", "search", SEARCH_QUERY), True, True),
)


@dataclass(frozen=True)
class Tree:
    """A version of the project the commands run from."""

    label: str
    root: Path
    data_dir: Path


@dataclass(frozen=True)
class ImportCost:
    package: str
    ms: float


@dataclass
class CommandTiming:
    label: str
    tree: str
    argv: list[str]
    cwd: str
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


@dataclass(frozen=True)
class Ratio:
    """A command of the baseline over the same command of this tree, medians of one run."""

    label: str
    wall: float
    cpu: float


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
    baseline: str | None = None
    """The git ref run beside this tree, if any."""
    ratios: list[Ratio] = field(default_factory=list)

    def medians(self) -> dict[str, dict[str, float]]:
        return {
            f"{c.label} ({c.tree})": {
                "wall_s": round(c.wall_median_s, 3),
                "cpu_s": round(c.cpu_median_s, 3),
            }
            for c in self.commands
        }


# ---- running the commands ------------------------------------------------------------------
def child_env() -> dict[str, str]:
    """The caller's environment, with bytecode caching allowed (a warm install has it)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def command_argv(case: CommandCase, data_dir: Path) -> list[str]:
    if not case.args:
        return [sys.executable, "-c", "pass"]
    where = ["--data-dir", str(data_dir)] if case.reads_store else []
    return [sys.executable, "-c", CLI_MAIN, *where, *case.args]


def run_checked(
    argv: Sequence[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run `argv` to the end; a failure is an error naming the command and its stderr."""
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} (in {cwd}) exited {done.returncode}: {done.stderr.strip()[-2000:]}"
        )
    return done


def run_timed(argv: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one run of `argv`, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run_checked(argv, env, cwd)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def prepare_store(tree: Tree, env: dict[str, str]) -> int:
    """The demo's seed memories in the tree's data directory (untimed); how many it holds."""
    cli = [sys.executable, "-c", CLI_MAIN, "--data-dir", str(tree.data_dir)]
    run_checked([*cli, "--llm", "none", "prepare"], env, tree.root)
    listed = run_checked([*cli, "memories", "list", "--json"], env, tree.root)
    return len(json.loads(listed.stdout))


def checkout(ref: str, target: Path) -> Path:
    """The files of commit `ref` in `target` (git archive: the repository is not touched)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", ref],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise ValueError(f"no commit {ref!r} in {REPO_ROOT}: {archive.stderr.decode().strip()}")
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


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
        done = run_checked(argv, env, Path(timing.cwd))
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
    baseline: str | None = None,
    json_out: Path | None = None,
    reports: Path | None = None,
    console: Console | None = None,
) -> CliStartupSummary:
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs must be at least 1 and warmup at least 0, got {runs}, {warmup}")
    console = console or Console(stderr=True)
    env = child_env()
    with tempfile.TemporaryDirectory(prefix="a2a-bench-cli-") as scratch:
        trees = [Tree(THIS_TREE, REPO_ROOT, Path(scratch) / "data")]
        if baseline is not None:
            root = checkout(baseline, Path(scratch) / "baseline")
            trees.append(Tree(f"baseline {baseline}", root, Path(scratch) / "baseline-data"))
        memories = prepare_store(trees[0], env)
        for other in trees[1:]:
            prepare_store(other, env)
        timings = [
            CommandTiming(
                label=c.label,
                tree=tree.label,
                argv=command_argv(c, tree.data_dir),
                cwd=str(tree.root),
                targeted=c.targeted,
            )
            for c in CASES
            for tree in trees
            if c.args or tree.label == THIS_TREE  # the bare interpreter is the same for both
        ]
        load_before = os.getloadavg()
        with progress_bar(console) as progress:
            task = progress.add_task("bench-cli: interleaved runs", total=warmup + runs)
            for i in range(warmup + runs):
                for timing in timings:
                    wall, cpu = run_timed(timing.argv, env, Path(timing.cwd))
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
        baseline=baseline,
        ratios=ratios(timings),
    )
    report = Report(
        "cli", summary, render_markdown(summary), {"cli.png": lambda p: _plot(summary, p)}
    )
    write_report(report, reports=reports, json_out=json_out)
    for label, median in summary.medians().items():
        console.print(f"{label}: wall {median['wall_s']:.2f} s, cpu {median['cpu_s']:.2f} s")
    return summary


def ratios(timings: Sequence[CommandTiming]) -> list[Ratio]:
    """For each command run in both trees: the baseline's medians over this tree's."""
    mine = {t.label: t for t in timings if t.tree == THIS_TREE}
    return [
        Ratio(
            t.label,
            wall=t.wall_median_s / mine[t.label].wall_median_s,
            cpu=t.cpu_median_s / mine[t.label].cpu_median_s,
        )
        for t in timings
        if t.tree != THIS_TREE and t.label in mine
    ]


def render_markdown(summary: CliStartupSummary) -> str:
    rows = []
    for c in summary.commands:
        met = ("yes" if c.wall_median_s < TARGET_S else "no") if c.targeted else "-"
        rows.append(
            [
                c.label,
                c.tree,
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
        f'Each command as a fresh process (`python -c "{CLI_MAIN}" ARGS`, what the '
        f"`a2a-memory` script runs) on a store of {summary.memories} memories (the demo's "
        f"seed memories, `a2a-memory prepare`); {summary.warmup} untimed warm-up runs, then "
        f"{summary.runs} timed runs, interleaved. Machine: {summary.cpus} CPUs, load average "
        f"{summary.load_before[0]:.2f} before and {summary.load_after[0]:.2f} after (wall time "
        "grows with load; CPU time less).",
        "",
        markdown_table(
            [
                "command",
                "version",
                "wall s, median (min-max)",
                "CPU s, median",
                "imports ms",
                "imports of",
                f"wall under {TARGET_S:.0f} s",
            ],
            rows,
        ),
    ]
    if summary.ratios:
        lines += [
            "",
            f"## Baseline {summary.baseline} over this tree (same run, medians)",
            "",
            markdown_table(
                ["command", "wall", "CPU"],
                [[r.label, f"{r.wall:.2f}x", f"{r.cpu:.2f}x"] for r in summary.ratios],
            ),
        ]
    lines += [
        "",
        "## Where the start-up goes (imports by package, ms, least of the `-X importtime` runs)",
        "",
    ]
    for c in summary.commands:
        if c.top_imports:
            costs = ", ".join(f"{i.package} {i.ms:.0f}" for i in c.top_imports)
            lines.append(f"- {c.label} ({c.tree}): {costs}")
    lines += ["", "![CLI start-up](cli.png)"]
    return "\n".join(lines)


def _plot(summary: CliStartupSummary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{c.label.replace('a2a-memory ', '')}\n({c.tree})" for c in summary.commands]
    ys = range(len(labels))
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.6 * len(labels)))
    ax.barh([y + 0.2 for y in ys], [c.wall_median_s for c in summary.commands], 0.4, label="wall")
    ax.barh([y - 0.2 for y in ys], [c.cpu_median_s for c in summary.commands], 0.4, label="CPU")
    ax.axvline(TARGET_S, color="red", linestyle="--", label=f"target {TARGET_S:.0f} s")
    ax.set_yticks(list(ys), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds (median)")
    ax.set_title(f"CLI start to answer, {summary.runs} runs, load {summary.load_before[0]:.1f}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
