"""The CLI's start-up: what each command imports, and the bench-cli suite that times it.

Start-up time itself is measured by `python -m evals bench-cli` (reports/cli.md), never
asserted here; these tests check what makes it short: a command does not load what it
does not use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import CliServices, app
from evals import cli_startup
from evals.cli_startup import CommandTiming, child_env, import_costs
from evals.locomo_data import REPO_ROOT
from memory.backends import STORE_DIR, open_store
from memory.embeddings import embedding_model_name, memory_index
from memory.manager import MemoryManager
from memory.models import Memory, Provenance
from memory.store import INDEX_FILE
from tests.fakes import DeterministicEmbeddings

IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       120 |        120 |   _io
import time:      1500 |       1620 | numpy
import time:       300 |        300 |     memory.store_db
import time:      2000 |       2300 |   memory.store
import time:        50 |         50 |       langgraph.store.base.embed
import time:       700 |        750 |     langgraph.store.base
"""


def test_import_costs_sum_self_times_by_package_and_by_project_module() -> None:
    total_ms, per_package, modules = import_costs(IMPORTTIME)
    assert total_ms == pytest.approx(4.67)
    assert per_package["numpy"] == pytest.approx(1.5)
    assert per_package["memory.store"] == pytest.approx(2.0)  # the project's, per module
    assert per_package["memory.store_db"] == pytest.approx(0.3)
    assert per_package["langgraph"] == pytest.approx(0.75)  # third party, per package
    assert "langgraph.store.base.embed" in modules and "_io" in modules


def timing(tree: str, wall: list[float], cpu: list[float]) -> CommandTiming:
    return CommandTiming("a2a-memory memories list", tree, [], "", wall_s=wall, cpu_s=cpu)


def test_the_baseline_is_compared_command_by_command_on_medians() -> None:
    ratios = cli_startup.ratios(
        [
            timing(cli_startup.THIS_TREE, [1.0, 0.5, 0.6], [0.4, 0.4, 0.5]),
            timing("baseline abc", [1.2, 1.5, 9.0], [1.0, 1.0, 0.2]),
        ]
    )
    assert [(r.label, r.wall, r.cpu) for r in ratios] == [
        ("a2a-memory memories list", pytest.approx(1.5 / 0.6), pytest.approx(1.0 / 0.4))
    ]


def test_a_baseline_is_read_from_git_without_touching_the_repository(tmp_path: Path) -> None:
    tree = cli_startup.checkout("HEAD", tmp_path / "head")
    assert (tree / "cli" / "app.py").read_text() == git_show("HEAD:cli/app.py")
    with pytest.raises(ValueError, match="no commit 'no-such-ref'"):
        cli_startup.checkout("no-such-ref", tmp_path / "none")


def git_show(spec: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO_ROOT), "show", spec], capture_output=True, text=True, check=True
    ).stdout


def test_children_may_write_bytecode_whatever_the_caller_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("A2A_SOMETHING", "kept")
    env = child_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env and env["A2A_SOMETHING"] == "kept"


def run_cli(*args: str) -> tuple[set[str], str]:
    """`a2a-memory ARGS` in a fresh interpreter: every module it imported, and its output."""
    command = [sys.executable, "-X", "importtime", "-c", "from cli.app import main; main()"]
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [*command, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return import_costs(done.stderr)[2], done.stdout


NEVER_ON_READS = (
    "langgraph.graph",  # the team graphs
    "langgraph.checkpoint",  # conversations (only a forget redacts them)
    "langchain_core.language_models.chat_models",  # chat models
    "memory.extraction.rules",  # extraction runs on adds only
    "memory.extraction.llm_extractor",
    "evals.cli",  # the eval suites' commands, built only for `a2a-memory eval`
    "teams.support.desk",  # the demo desk's tools
)
"""What neither `memories list` nor `memories search` needs, so neither may load it."""


def loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.startswith(prefixes))


def test_memories_list_loads_no_model_no_graph_and_no_extraction(tmp_path: Path) -> None:
    embeddings = DeterministicEmbeddings(384)
    data_dir = tmp_path / "data"
    with open_store(
        data_dir, index=memory_index(embeddings), embedding_model=embedding_model_name(embeddings)
    ) as store:
        memory = Memory(
            content="Customer 12345 prefers email",
            type="semantic",
            scope="shared",
            provenance=Provenance(source_agent="alex"),
        )
        MemoryManager(store, team="support", agent="alex").add(memory)
    modules, output = run_cli("--data-dir", str(data_dir), "memories", "list", "--agent", "sam")
    assert "Customer 12345 prefers email" in output  # the command did its work
    assert loaded(modules, NEVER_ON_READS) == []
    assert (
        loaded(modules, ("onnxruntime", "tokenizers", "memory.embeddings", "numpy", "faiss")) == []
    )


@pytest.mark.integration
def test_memories_search_loads_the_embedder_but_no_graph_and_no_extraction(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    prepare = [sys.executable, "-c", "from cli.app import main; main()"]
    subprocess.run(
        [*prepare, "--data-dir", str(data_dir), "--llm", "none", "prepare"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    modules, output = run_cli(
        "--data-dir", str(data_dir), "memories", "search", "refund window", "--json"
    )
    assert json.loads(output)  # the seed memories hold the refund policy
    assert "onnxruntime" in modules  # the query is embedded
    assert loaded(modules, NEVER_ON_READS) == []


@pytest.mark.integration
def test_bench_cli_times_list_and_search_and_writes_its_report(tmp_path: Path) -> None:
    out, reports = tmp_path / "out.json", tmp_path / "reports"
    command = [sys.executable, "-m", "evals", "bench-cli", "--runs", "1", "--warmup", "0"]
    done = subprocess.run(
        [*command, "--json", str(out), "--reports", str(reports)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    labels = [c["label"] for c in result["commands"]]
    assert "a2a-memory memories list" in labels and "a2a-memory memories search" in labels
    assert result["memories"] > 0 and result["runs"] == 1
    for command_result in result["commands"]:
        assert len(command_result["wall_s"]) == 1 and command_result["wall_s"][0] > 0
        assert command_result["import_ms"] > 0 and command_result["top_imports"]
    search = next(c for c in result["commands"] if c["label"].endswith("search"))
    assert search["imported"]["onnxruntime"] is True  # the query is embedded
    for name in ("cli.json", "cli.md", "cli.png"):
        assert (reports / name).stat().st_size > 0
    assert "| a2a-memory memories search |" in (reports / "cli.md").read_text()


def test_reading_commands_leave_the_saved_index_as_it_was(tmp_path: Path) -> None:
    """A store nothing was written to is not saved again on close (a 100k index is ~190 MB)."""
    runner = CliRunner(env={"COLUMNS": "200", "A2A_MEMORY_DIR": None, "A2A_STORE_URL": None})
    services = CliServices(embeddings=DeterministicEmbeddings(384))
    data = ["--data-dir", str(tmp_path / "data")]
    added = runner.invoke(
        app, [*data, "memories", "add", "Customer 12345 prefers email"], obj=services
    )
    assert added.exit_code == 0, added.output
    index_file = tmp_path / "data" / STORE_DIR / INDEX_FILE
    saved = index_file.stat().st_mtime_ns, index_file.read_bytes()
    for command in (
        ["memories", "search", "how to contact customer 12345"],
        ["memories", "list"],
        ["info"],
        ["logs"],
    ):
        result = runner.invoke(app, [*data, *command], obj=services)
        assert result.exit_code == 0, result.output
        assert (index_file.stat().st_mtime_ns, index_file.read_bytes()) == saved, command
    assert "prefers email" in runner.invoke(app, [*data, "memories", "list"], obj=services).output
