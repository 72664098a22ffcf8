"""The `a2a-memory` command line, driven through typer's CliRunner in temporary data dirs.

The memory commands run against the real FaissStore and the real embedded MiniLM model
(loaded once for the module and handed to the CLI through its `CliServices` seam). The
demo and chat commands run the real graphs and are marked integration.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore
from typer.testing import CliRunner, Result

from cli.app import CliServices, app, describe_failure
from memory.backends import open_store
from memory.bridge import MEMORY_SYNC, RESULT, TASK, A2ABridge, A2AMessage
from memory.embeddings import embedding_model_name, make_embeddings, memory_index
from memory.manager import MemoryManager
from memory.models import Memory, Provenance
from tests.fakes import DeterministicEmbeddings

CLEAN_ENV = {
    "COLUMNS": "200",  # wide tables: one row per memory, nothing folded
    "A2A_MEMORY_DIR": None,
    "A2A_STORE_URL": None,
    "A2A_LLM": None,
    "A2A_EMBEDDINGS": None,
}


@pytest.fixture
def minilm(request: pytest.FixtureRequest) -> Embeddings:
    """The real MiniLM for integration tests; the deterministic embedder (at MiniLM's 384
    dimensions) for unit tests, which never load a real model."""
    if request.node.get_closest_marker("integration") is None:
        return DeterministicEmbeddings(384)
    return make_embeddings("embedded")


@pytest.fixture
def cli(tmp_path: Path, minilm: Embeddings) -> Any:
    """Run `a2a-memory --data-dir <tmp> ARGS`; returns the Result."""
    runner = CliRunner(env=CLEAN_ENV)

    def run(*args: str, input: str | None = None, data_dir: Path | None = None) -> Result:
        where = str(data_dir or tmp_path / "data")
        return runner.invoke(
            app, ["--data-dir", where, *args], input=input, obj=CliServices(embeddings=minilm)
        )

    return run


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def as_json(result: Result) -> Any:
    return json.loads(ok(result).stdout)


def flat(text: str) -> str:
    """Output with rich's panel borders removed and whitespace collapsed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def failed_cleanly(result: Result, exit_code: int) -> str:
    """The error text, after checking the exit code and that no exception escaped."""
    assert result.exit_code == exit_code, result.output
    # CliRunner records an escaped exception here; SystemExit means the CLI exited itself.
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return flat(result.output)


@pytest.fixture
def store_of(tmp_path: Path, minilm: Embeddings) -> Any:
    """Open the CLI's store directly, to arrange data the CLI then reads."""

    def opened(data_dir: Path | None = None) -> AbstractContextManager[BaseStore]:
        return open_store(
            data_dir or tmp_path / "data",
            index=memory_index(minilm),
            embedding_model=embedding_model_name(minilm),
        )

    return opened


# ---- memories ----------------------------------------------------------------------------
def test_add_list_search_forget_round_trip(cli: Any) -> None:
    added = ok(
        cli("memories", "add", "Premium members get refunds within 48 hours.", "--type", "semantic")
    )
    assert "added" in added.stdout
    ok(cli("memories", "add", "Customer #12345 prefers to be contacted by email."))

    listed = as_json(cli("memories", "list", "--json"))
    by_content = {m["content"]: m for m in listed}
    policy = by_content["Premium members get refunds within 48 hours."]
    assert (policy["type"], policy["scope"], policy["mechanism"]) == (
        "semantic",
        "shared",
        "explicit",
    )
    assert policy["confidence"] == pytest.approx(0.95)
    assert policy["provenance"]["source_agent"] == "alex"  # the coordinator by default
    contact = by_content["Customer #12345 prefers to be contacted by email."]
    assert (contact["type"], contact["subject"], contact["mechanism"]) == (
        "entity",
        "customer:12345",
        "implicit",
    )

    hits = as_json(
        cli("memories", "search", "what is the refund window for premium members", "--json")
    )
    assert hits[0]["memory"]["memory_id"] == policy["memory_id"]
    assert hits[0]["score"] > 0
    assert (
        as_json(cli("memories", "search", "refund window", "--min-confidence", "0.99", "--json"))
        == []
    )

    table = ok(cli("memories", "list")).stdout
    assert policy["memory_id"][:8] in table and "48 hours" in table

    forgotten = ok(cli("memories", "forget", policy["memory_id"][:8]))
    assert policy["memory_id"] in forgotten.stdout
    remaining = [m["memory_id"] for m in as_json(cli("memories", "list", "--all", "--json"))]
    assert remaining == [contact["memory_id"]]


def test_forget_subject_removes_every_fact_of_the_subject(cli: Any) -> None:
    ok(cli("memories", "add", "Customer #12345 prefers to be contacted by email."))
    ok(cli("memories", "add", "Customer #12345 prefers to be contacted by SMS."))  # supersedes
    ok(cli("memories", "add", "Customer #777 prefers to be contacted by phone."))
    assert len(as_json(cli("memories", "list", "--all", "--json"))) == 3

    report = flat(ok(cli("memories", "forget-subject", "customer:12345")).stdout)

    assert "2 removed" in report and "email" in report and "SMS" in report
    remaining = as_json(cli("memories", "list", "--all", "--json"))
    assert [m["subject"] for m in remaining] == ["customer:777"]
    assert "Nothing to forget" in ok(cli("memories", "forget-subject", "customer:12345")).stdout
    phone = as_json(cli("memories", "list", "--json"))[0]["memory_id"]
    kept = ok(cli("memories", "forget", phone[:8], "--only-this")).stdout
    assert "1 removed" in flat(kept)


def test_restating_reinforces_and_a_new_value_supersedes(cli: Any) -> None:
    ok(cli("memories", "add", "Customer #12345 prefers to be contacted by email."))
    again = ok(cli("memories", "add", "Customer #12345 prefers to be contacted by email."))
    assert "reinforced" in again.stdout
    [email] = as_json(cli("memories", "list", "--json"))
    assert email["mention_count"] == 2 and email["confidence"] > 0.7

    changed = ok(cli("memories", "add", "Customer #12345 prefers to be contacted by SMS."))
    assert "superseded" in changed.stdout
    [current] = as_json(cli("memories", "list", "--json"))
    assert "SMS" in current["content"]
    history = {m["content"]: m for m in as_json(cli("memories", "list", "--all", "--json"))}
    old = history["Customer #12345 prefers to be contacted by email."]
    assert old["invalidated_at"] is not None and old["superseded_by"] == current["memory_id"]


def test_confidence_override_and_private_scope(cli: Any) -> None:
    ok(
        cli(
            "memories",
            "add",
            "Escalate outages to the on-call engineer.",
            "--type",
            "skill",
            "--scope",
            "private",
            "--agent",
            "jordan",
            "--confidence",
            "0.8",
        )
    )
    [skill] = as_json(cli("memories", "list", "--agent", "jordan", "--json"))
    assert (skill["type"], skill["scope"], skill["owner"]) == ("skill", "private", "jordan")
    assert skill["confidence"] == pytest.approx(0.8)


def test_private_memory_of_one_agent_is_invisible_to_another(cli: Any) -> None:
    ok(
        cli(
            "memories",
            "add",
            "Priya Raman likes short answers.",
            "--type",
            "semantic",
            "--agent",
            "sam",
            "--scope",
            "private",
        )
    )
    ok(
        cli(
            "memories",
            "add",
            "The order API is rate limited to 100 calls a minute.",
            "--type",
            "semantic",
        )
    )
    [secret] = [m for m in as_json(cli("memories", "list", "--json")) if m["owner"] == "sam"]

    sam_sees = {
        m["memory_id"] for m in as_json(cli("memories", "list", "--agent", "sam", "--json"))
    }
    jordan_sees = as_json(cli("memories", "list", "--agent", "jordan", "--json"))
    assert secret["memory_id"] in sam_sees and len(sam_sees) == 2
    assert [m["content"] for m in jordan_sees] == [
        "The order API is rate limited to 100 calls a minute."
    ]
    jordan_hits = as_json(
        cli(
            "memories",
            "search",
            "Priya Raman short answers",
            "--agent",
            "jordan",
            "--min-confidence",
            "0",
            "--json",
        )
    )
    assert secret["memory_id"] not in {h["memory"]["memory_id"] for h in jordan_hits}
    sam_hits = as_json(
        cli("memories", "search", "Priya Raman short answers", "--agent", "sam", "--json")
    )
    assert sam_hits[0]["memory"]["memory_id"] == secret["memory_id"]

    private_only = as_json(cli("memories", "list", "--scope", "private", "--json"))
    assert [m["memory_id"] for m in private_only] == [secret["memory_id"]]
    refused = failed_cleanly(cli("memories", "forget", secret["memory_id"], "--agent", "jordan"), 1)
    assert "no memory with id" in refused and "readable by jordan" in refused
    assert secret["memory_id"] in sam_sees  # still there
    ok(cli("memories", "forget", secret["memory_id"], "--agent", "sam"))


def test_teams_do_not_share_memories(cli: Any) -> None:
    ok(
        cli(
            "--team",
            "billing",
            "memories",
            "add",
            "Invoices go out on the 1st.",
            "--type",
            "semantic",
        )
    )
    assert as_json(cli("memories", "list", "--json")) == []
    assert len(as_json(cli("--team", "billing", "memories", "list", "--json"))) == 1


def test_consolidate_resolves_a_conflict_between_agents(cli: Any, store_of: Any) -> None:
    with store_of() as store:
        old = Memory(
            content="Customer #12345 prefers phone calls.",
            type="entity",
            subject="customer:12345",
            attribute="contact_preference",
            value="phone",
            provenance=Provenance(source_agent="sam"),
            scope="private",
            created_at=datetime(2025, 1, 1, tzinfo=UTC),
            updated_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
        MemoryManager(store, team="support", agent="sam").add(old)
    ok(cli("memories", "add", "Customer #12345 prefers to be contacted by email."))

    report = flat(ok(cli("memories", "consolidate")).stdout)
    assert "1 conflicts resolved" in report and f"resolved {old.memory_id[:8]}" in report
    sams = as_json(cli("memories", "list", "--agent", "sam", "--json"))
    assert [m["value"] for m in sams] == ["email"]  # the phone memory is invalidated
    assert "Nothing to consolidate" in ok(cli("memories", "consolidate")).stdout


def test_forget_rejects_an_ambiguous_prefix(cli: Any, store_of: Any) -> None:
    with store_of() as store:
        manager = MemoryManager(store, team="support", agent="alex")
        for memory_id, content in (
            ("abc1" + "0" * 28, "The warehouse closes at 6pm."),
            ("abc2" + "0" * 28, "Refunds go to the original card."),
        ):
            manager.add(
                Memory(
                    memory_id=memory_id,
                    content=content,
                    type="semantic",
                    provenance=Provenance(source_agent="alex"),
                )
            )
    message = failed_cleanly(cli("memories", "forget", "abc"), 2)
    assert "matches 2 memories" in message
    ok(cli("memories", "forget", "abc2"))
    assert [m["memory_id"][:4] for m in as_json(cli("memories", "list", "--json"))] == ["abc1"]


# ---- the A2A log -------------------------------------------------------------------------
def _fill_log(store: Any) -> None:
    bridge = A2ABridge(store, "support")
    bridge.send(
        A2AMessage(
            source_agent="alex",
            target_agent="sam",
            content_type=TASK,
            payload={"task": "Check order ORD-1004."},
            created=datetime(2025, 1, 1, tzinfo=UTC),
        )
    )
    bridge.send(
        A2AMessage(
            source_agent="sam",
            target_agent="alex",
            content_type=RESULT,
            payload={"summary": "ORD-1004 is delayed at the carrier."},
            created=datetime(2025, 6, 1, tzinfo=UTC),
        )
    )
    note = (
        bridge.manager("sam")
        .add(
            Memory(
                content="Customer #12345 had 3 delivery delays.",
                type="episodic",
                scope="private",
                mechanism="explicit",
                confidence=0.95,
                provenance=Provenance(source_agent="sam"),
            )
        )
        .memory
    )
    report = bridge.sync(note, ["jordan"], source_agent="sam")
    assert len(report.copied) == 1


def test_logs_filter_by_agent_type_time_and_limit(cli: Any, store_of: Any) -> None:
    with store_of() as store:
        _fill_log(store)

    everything = as_json(cli("logs", "--json"))
    assert [m["content_type"] for m in everything] == [TASK, RESULT, MEMORY_SYNC]
    syncs = as_json(cli("logs", "--agent", "jordan", "--type", "memory-sync", "--json"))
    assert [(m["source_agent"], m["target_agent"]) for m in syncs] == [("sam", "jordan")]
    assert [m["content_type"] for m in as_json(cli("logs", "--agent", "jordan", "--json"))] == [
        MEMORY_SYNC
    ]
    tasks = as_json(cli("logs", "--type", "task", "--json"))
    assert [m["payload"]["task"] for m in tasks] == ["Check order ORD-1004."]
    since = as_json(cli("logs", "--since", "2025-03-01", "--json"))
    assert [m["content_type"] for m in since] == [RESULT, MEMORY_SYNC]
    assert [m["content_type"] for m in as_json(cli("logs", "--limit", "1", "--json"))] == [
        MEMORY_SYNC
    ]

    table = ok(cli("logs")).stdout
    assert "sam → jordan" in table and "memory-sync" in table
    assert "Customer #12345 had 3 delivery delays." in table


def test_prepare_loads_the_seed_memories_once(cli: Any) -> None:
    assert "12 added" in flat(ok(cli("prepare")).stdout)
    assert "0 added" in flat(ok(cli("prepare")).stdout)
    found = as_json(cli("memories", "search", "refund window for premium members", "--json"))
    assert any("48 hours" in hit["memory"]["content"] for hit in found)


def test_logs_rejects_a_bad_time(cli: Any) -> None:
    message = failed_cleanly(cli("logs", "--since", "last tuesday"), 2)
    assert "not an ISO 8601 time" in message


# ---- info --------------------------------------------------------------------------------
def test_info_describes_without_creating_the_data_dir(cli: Any, tmp_path: Path) -> None:
    fresh = tmp_path / "never-created"
    shown = flat(ok(cli("--llm", "none", "info", data_dir=fresh)).stdout)
    assert not fresh.exists()
    # the embedder in use is named (the deterministic one in unit tests)
    assert "nothing stored yet" in shown and "test-hash-embeddings" in shown
    assert "deterministic fallback" in shown and "alex, sam, jordan" in shown


def test_info_counts_memories_and_messages(cli: Any, store_of: Any) -> None:
    with store_of() as store:
        _fill_log(store)
    ok(cli("memories", "add", "Refunds go to the original card.", "--type", "semantic"))
    shown = flat(ok(cli("info")).stdout)
    assert "memories shared, valid 1" in shown
    assert "memories private (sam), valid 1" in shown and "memories private (jordan)" in shown
    assert "A2A messages 3" in shown


def test_the_cli_offers_the_llm_choices_of_the_graphs() -> None:
    from typing import get_args

    from cli.app import LLMChoice
    from nodes.context import LLMChoice as GraphLLMChoice

    assert get_args(LLMChoice) == get_args(GraphLLMChoice)


# ---- errors ------------------------------------------------------------------------------
def test_unknown_agent_lists_the_team(cli: Any) -> None:
    message = failed_cleanly(cli("memories", "list", "--agent", "bob"), 2)
    assert "unknown agent 'bob'" in message and "alex (coordinator), sam, jordan" in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("memories", "list", "--scope", "team"), "--scope"),
        (("memories", "add", "x", "--type", "fact"), "--type"),
        (("memories", "add", "   "), "must not be empty"),
        (("memories", "search", ""), "must not be empty"),
        (("memories", "search", "x", "--min-confidence", "1.5"), "--min-confidence"),
        (("--llm", "gpt", "info"), "--llm"),
        (("--team", "a.b", "info"), "must not contain '.'"),
        (("--store-url", "mysql://u:secret@db/x", "info"), "scheme 'mysql' is not supported"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(
    cli: Any, args: tuple[str, ...], expected: str
) -> None:
    message = failed_cleanly(cli(*args), 2)
    assert expected in message
    assert "secret" not in message


def test_unreachable_postgres_names_the_url_with_the_password_masked(cli: Any) -> None:
    url = "postgresql://u:secret@127.0.0.1:1/db"
    message = failed_cleanly(cli("--store-url", url, "memories", "list"), 1)
    assert "cannot connect to PostgreSQL at postgresql://u:***@127.0.0.1:1/db" in message
    assert "secret" not in message


def test_a_store_of_another_embedding_model_is_refused(cli: Any, tmp_path: Path) -> None:
    other = DeterministicEmbeddings()
    with open_store(
        tmp_path / "data", index={"dims": other.dims, "embed": other, "fields": ["content"]}
    ) as store:
        store.put(("team", "support", "shared"), "m1", {"content": "hashed vectors"})
    message = failed_cleanly(cli("memories", "search", "hashed vectors"), 1)
    assert "test-hash-embeddings" in message and "cannot be opened" in message
    assert "A2A_EMBEDDINGS" in message and "memories re-embed" in message
    # Listing reads no vectors: it works whatever model embedded them.
    listed = as_json(cli("memories", "list", "--json"))
    assert [row["content"] for row in listed] == ["hashed vectors"]
    # re-embed migrates the store to the CLI's embedder; then it searches.
    migrated = ok(cli("memories", "re-embed")).output
    assert "Re-embedded 1 vectors of 1 memories" in migrated and "test-hash-embeddings" in migrated
    hits = as_json(cli("memories", "search", "hashed vectors", "--json"))
    assert [hit["memory"]["content"] for hit in hits] == ["hashed vectors"]


def test_text_with_nothing_to_remember_asks_for_a_type(cli: Any) -> None:
    message = failed_cleanly(cli("memories", "add", "Can you check my order?"), 1)
    assert "nothing to remember" in message and "--type" in message
    # Nothing was written: not even the data directory exists for a read to open.
    assert "does not exist" in failed_cleanly(cli("memories", "list", "--json"), 1)


def test_store_failures_get_a_plain_explanation() -> None:
    locked = describe_failure(sqlite3.OperationalError("database is locked"))
    assert locked is not None and "locked by another process" in locked
    closed = describe_failure(RuntimeError("store at /x/store is closed"))
    assert closed is not None and "closed while in use" in closed
    assert describe_failure(KeyError("anything else")) is None


# ---- help --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        (),
        ("memories",),
        ("memories", "list"),
        ("memories", "search"),
        ("memories", "add"),
        ("memories", "forget"),
        ("memories", "consolidate"),
        ("logs",),
        ("info",),
        ("demo",),
        ("chat",),
        ("eval",),
    ],
)
def test_every_command_has_help_with_examples(command: tuple[str, ...]) -> None:
    result = CliRunner(env=CLEAN_ENV).invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    if command and command[-1] not in ("memories", "eval"):
        assert "Example" in result.output and "a2a-memory " in result.output


# ---- the graphs --------------------------------------------------------------------------
@pytest.mark.integration
def test_demo_runs_end_to_end_and_writes_its_summary(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    result = ok(cli("--llm", "none", "demo", "--json", str(out), "--thread", "demo-test"))
    summary = json.loads(out.read_text())
    assert {"sam", "jordan"} <= set(summary["specialists"])
    assert summary["thread_id"] == "demo-test"
    assert "email" in summary["reply"] and "48" in summary["reply"]
    assert summary["memories_written"] and summary["memories_synced"]
    live = result.stdout
    for step in ("route", "a2a", "alex → sam", "alex → jordan", "read", "write", "sync"):
        assert step in live
    log = as_json(cli("logs", "--type", "memory-sync", "--json"))
    assert log, "the demo's memory syncs are in the A2A log"


@pytest.mark.integration
def test_chat_one_shot_and_from_stdin(cli: Any) -> None:
    ok(
        cli(
            "memories",
            "add",
            "Customer #12345 had 3 delivery delays this year.",
            "--type",
            "episodic",
        )
    )
    answer = ok(
        cli(
            "--llm",
            "none",
            "chat",
            "--agent",
            "jordan",
            "--thread",
            "t1",
            "--message",
            "Has customer #12345 had delivery delays?",
        )
    )
    assert "Customer #12345 had 3 delivery delays this year." in answer.stdout
    assert "Memories jordan used" in answer.stdout

    session = ok(
        cli(
            "--llm",
            "none",
            "chat",
            "--agent",
            "sam",
            "--thread",
            "t2",
            input="My email is priya@example.com.\n\nquit\nMy name is Bob.\n",
        )
    )
    assert "remembered" in session.stdout
    sams = [m["content"] for m in as_json(cli("memories", "list", "--agent", "sam", "--json"))]
    assert any("priya@example.com" in c for c in sams)
    assert not any("Bob" in c for c in sams)  # nothing after "quit" was read
