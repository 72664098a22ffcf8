"""The bad-input corpus: what a careless user or an attacker hands the API and the CLI.

Every case ends in a clear error that names the problem (a ValueError or a CLI usage or
runtime error with one line of text), or in the correct result; never a raw TypeError,
KeyError or traceback, and never silence (a bad value quietly accepted or ignored).
The HTTP cases run against the real `langgraph dev` in test_langgraph_server.py.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import BaseStore
from typer.testing import CliRunner

import memory.store_db as store_db
from cli.app import CliServices, app
from memory.bridge import A2ABridge
from memory.manager import MemoryManager
from memory.models import MAX_CONTENT_CHARS, Memory
from memory.namespaces import memory_namespace, team_prefix
from memory.store import FaissStore, StoreBusyError
from memory.team import STAFF, TeamMemory
from tests.fakes import DeterministicEmbeddings
from tests.store_backends import faiss_store

SHARED = ("team", "support", "shared")
NAIVE = datetime(2025, 1, 1, 12, 0)
"""A datetime without a timezone: it cannot be compared with the aware ones."""

RAW_ERRORS = (TypeError, KeyError, AttributeError, IndexError, sqlite3.Error, UnicodeError)


def assert_clear_error(action: Callable[[], object], fragment: str) -> None:
    """`action` fails with a ValueError (pydantic's ValidationError is one) whose
    message contains `fragment`; a raw error from deep inside fails the test."""
    with pytest.raises(Exception) as caught:
        action()
    error = caught.value
    assert isinstance(error, ValueError | PermissionError | FileNotFoundError), (
        f"raw {type(error).__name__}: {error}"
    )
    assert not isinstance(error, RAW_ERRORS) or isinstance(error, ValueError)
    assert fragment.lower() in str(error).lower(), f"{fragment!r} not in: {error}"


def good_memory(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "content": "Customer 12345 prefers email",
        "type": "entity",
        "provenance": {"source_agent": "alex"},
    }
    fields.update(overrides)
    return fields


# ---- the Memory record: validated on write --------------------------------------------------
MEMORY_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("empty content", good_memory(content=""), "must not be empty"),
    ("blank content", good_memory(content="   \n "), "must not be empty"),
    ("content too long", good_memory(content="x" * (MAX_CONTENT_CHARS + 1)), "at most 4000"),
    ("content lone surrogate", good_memory(content="bad \ud800 text"), "unicode"),
    ("content with ESC", good_memory(content="clear\x1b[2Jscreen"), "control characters"),
    ("content NUL", good_memory(content="a\x00b"), "control characters"),
    ("content not text", good_memory(content=5), "content"),
    ("content missing", {"type": "entity", "provenance": {"source_agent": "a"}}, "content"),
    ("type unknown", good_memory(type="bogus"), "type"),
    ("type missing", {"content": "x", "provenance": {"source_agent": "a"}}, "type"),
    ("scope unknown", good_memory(scope="public"), "scope"),
    ("mechanism unknown", good_memory(mechanism="guess"), "mechanism"),
    ("confidence True", good_memory(confidence=True), "confidence must be a number"),
    ("confidence False", good_memory(confidence=False), "confidence must be a number"),
    ("confidence text", good_memory(confidence="0.9"), "confidence must be a number"),
    ("confidence None", good_memory(confidence=None), "confidence must be a number"),
    ("confidence NaN", good_memory(confidence=math.nan), "within [0, 1]"),
    ("confidence inf", good_memory(confidence=math.inf), "within [0, 1]"),
    ("confidence negative", good_memory(confidence=-0.1), "within [0, 1]"),
    ("confidence above one", good_memory(confidence=1.5), "within [0, 1]"),
    ("memory_id empty", good_memory(memory_id=""), "memory_id"),
    ("memory_id blank", good_memory(memory_id=" "), "memory_id"),
    ("memory_id with space", good_memory(memory_id="a b"), "memory_id"),
    ("memory_id too long", good_memory(memory_id="m" * 501), "memory_id"),
    ("memory_id NUL", good_memory(memory_id="m\x00"), "memory_id"),
    ("created_at naive", good_memory(created_at=NAIVE), "timezone"),
    ("updated_at naive", good_memory(updated_at=NAIVE), "timezone"),
    ("valid_from naive", good_memory(valid_from=NAIVE), "timezone"),
    ("invalidated_at naive", good_memory(invalidated_at=NAIVE), "timezone"),
    ("created_at not a date", good_memory(created_at="yesterday"), "created_at"),
    ("created_at naive text", good_memory(created_at="2025-01-01T12:00:00"), "timezone"),
    ("provenance missing", {"content": "x", "type": "entity"}, "provenance"),
    ("source_agent empty", good_memory(provenance={"source_agent": ""}), "source_agent"),
    ("source_agent padded", good_memory(provenance={"source_agent": " sam "}), "source_agent"),
    ("source_agent spaced", good_memory(provenance={"source_agent": "a b"}), "source_agent"),
    ("source_agent number", good_memory(provenance={"source_agent": 7}), "source_agent"),
    ("hops negative", good_memory(provenance={"source_agent": "a", "hops": -1}), "hops"),
    ("hops True", good_memory(provenance={"source_agent": "a", "hops": True}), "hops"),
    ("hops text", good_memory(provenance={"source_agent": "a", "hops": "2"}), "hops"),
    ("hops huge", good_memory(provenance={"source_agent": "a", "hops": 10**6}), "hops"),
    ("provenance extra", good_memory(provenance={"source_agent": "a", "x": 1}), "extra"),
    ("mention_count zero", good_memory(mention_count=0), "mention_count"),
    ("mention_count True", good_memory(mention_count=True), "mention_count"),
    ("too many keywords", good_memory(keywords=["k"] * 65), "keywords"),
    ("keyword too long", good_memory(keywords=["k" * 201]), "keywords"),
    ("tags not text", good_memory(tags=[5]), "tags"),
    ("link empty", good_memory(links=[""]), "links"),
    ("unknown field", good_memory(secret="x"), "extra"),
    ("attribute without subject", good_memory(attribute="phone"), "needs a subject"),
    ("subject too long", good_memory(subject="s" * 501), "subject"),
    ("subject with ESC", good_memory(subject="customer:\x1b]0;pwned\x07"), "control"),
    ("context too long", good_memory(context="c" * 1001), "context"),
]


@pytest.mark.parametrize(
    ("fields", "fragment"), [c[1:] for c in MEMORY_CASES], ids=[c[0] for c in MEMORY_CASES]
)
def test_memory_refuses(fields: dict[str, Any], fragment: str) -> None:
    assert_clear_error(lambda: Memory.model_validate(fields), fragment)


@pytest.mark.parametrize(
    "text",
    [
        "My nickname is " + "x" * 300 + ".",
        "My email is " + "a" * 250 + "@example.com.",
        "I prefer " + "supercalifragilistic" * 15 + " emails.",
    ],
)
def test_a_memory_with_a_very_long_word_is_stored_readable(store: FaissStore, text: str) -> None:
    """A word longer than a keyword may be (200 characters) is no keyword: the memory is
    stored with a note it can be read back with, not acknowledged and then skipped."""
    alex = MemoryManager(store, team="support", agent="alex")
    [stored] = alex.remember(text, subject="customer:1", source="user")
    assert [m.memory_id for m in alex.list()] == [stored.memory.memory_id]


def test_a_record_that_could_not_be_read_back_is_refused_when_written() -> None:
    """`model_copy` skips validation: whatever built a record, storing it checks it."""
    memory = Memory.model_validate(good_memory())
    broken = memory.model_copy(update={"keywords": ["k" * 300]})
    assert_clear_error(broken.to_store_value, "keywords")


def test_a_valid_memory_still_builds_and_assignment_is_checked_too() -> None:
    memory = Memory.model_validate(good_memory(created_at=datetime(2025, 1, 1, tzinfo=UTC)))
    assert memory.content == "Customer 12345 prefers email"
    assert_clear_error(lambda: setattr(memory, "confidence", True), "confidence")
    assert_clear_error(lambda: setattr(memory, "updated_at", NAIVE), "timezone")


# ---- the store ---------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path) -> Iterator[FaissStore]:
    with faiss_store(tmp_path / "store") as opened:
        opened.put(SHARED, "k1", {"text": "refund policy thirty days"})
        yield opened


STORE_CASES: list[tuple[str, Callable[[BaseStore], object], str]] = [
    ("put empty namespace", lambda s: s.put((), "k", {"t": 1}), "namespace"),
    ("put empty label", lambda s: s.put(("team", ""), "k", {"t": 1}), "namespace"),
    ("put dotted label", lambda s: s.put(("team.x",), "k", {"t": 1}), "namespace"),
    ("put root langgraph", lambda s: s.put(("langgraph", "x"), "k", {"t": 1}), "langgraph"),
    ("put empty key", lambda s: s.put(SHARED, "", {"t": 1}), "key must hold 1"),
    ("put long key", lambda s: s.put(SHARED, "k" * 1025, {"t": 1}), "key must hold 1"),
    ("put surrogate key", lambda s: s.put(SHARED, "k\ud800", {"t": 1}), "lone surrogate"),
    ("put list value", lambda s: s.put(SHARED, "k", [1, 2]), "must be a mapping"),
    ("put text value", lambda s: s.put(SHARED, "k", "text"), "must be a mapping"),
    ("put NaN value", lambda s: s.put(SHARED, "k", {"x": math.nan}), "not JSON"),
    ("put object value", lambda s: s.put(SHARED, "k", {"x": object()}), "not JSON"),
    ("put surrogate value", lambda s: s.put(SHARED, "k", {"text": "\udfff"}), "lone surrogate"),
    ("put negative ttl", lambda s: s.put(SHARED, "k", {"t": 1}, ttl=-1), "ttl"),
    ("put bool ttl", lambda s: s.put(SHARED, "k", {"t": 1}, ttl=True), "ttl"),
    ("put text ttl", lambda s: s.put(SHARED, "k", {"t": 1}, ttl="5"), "ttl"),  # type: ignore[arg-type]
    ("put NaN ttl", lambda s: s.put(SHARED, "k", {"t": 1}, ttl=math.nan), "ttl"),
    ("get empty key", lambda s: s.get(SHARED, ""), "key must hold 1"),
    ("search text limit", lambda s: s.search(SHARED, limit="3"), "limit"),  # type: ignore[arg-type]
    ("search negative limit", lambda s: s.search(SHARED, limit=-1), "limit"),
    ("search bool limit", lambda s: s.search(SHARED, limit=True), "limit"),
    ("search negative offset", lambda s: s.search(SHARED, offset=-1), "offset"),
    ("search text offset", lambda s: s.search(SHARED, offset="1"), "offset"),  # type: ignore[arg-type]
    ("search number query", lambda s: s.search(SHARED, query=5), "query must be a string"),  # type: ignore[arg-type]
    ("search surrogate query", lambda s: s.search(SHARED, query="\ud800"), "lone surrogate"),
    ("search bad operator", lambda s: s.search(SHARED, filter={"n": {"$regex": "x"}}), "$regex"),
    ("search empty label", lambda s: s.search(("team", "")), "namespace"),
    ("lexical surrogate", lambda s: s.lexical_search(SHARED, "\ud800"), "lone surrogate"),  # type: ignore[attr-defined]
    ("lexical bad limit", lambda s: s.lexical_search(SHARED, "x", limit="2"), "limit"),  # type: ignore[attr-defined]
]


@pytest.mark.parametrize(
    ("action", "fragment"), [c[1:] for c in STORE_CASES], ids=[c[0] for c in STORE_CASES]
)
def test_store_refuses(
    store: FaissStore, action: Callable[[BaseStore], object], fragment: str
) -> None:
    assert_clear_error(lambda: action(store), fragment)
    # Nothing half-written: the one good item is still the only one.
    assert [h.key for h in store.search(SHARED, limit=10)] == ["k1"]


def test_store_edge_inputs_give_correct_results(store: FaissStore) -> None:
    store.put(SHARED, 5, {"text": "a number key"})  # type: ignore[arg-type]
    item = store.get(SHARED, "5")  # LangGraph's BaseStore turns keys into text
    assert item is not None and item.value == {"text": "a number key"}
    store.delete(SHARED, "5")
    assert store.search(SHARED, limit=0) == []
    assert [h.key for h in store.search(SHARED, query=None)] == ["k1"]
    assert store.search(SHARED, query="") == store.search(SHARED)
    assert store.lexical_search(SHARED, "!!! ???") == []
    assert store.get(SHARED, "missing") is None
    assert store.search(("team", "other"), query="refund") == []


# ---- the manager and the bridge --------------------------------------------------------------
@pytest.fixture
def manager(store: FaissStore) -> MemoryManager:
    return MemoryManager(store, team="support", agent="alex")


MANAGER_CASES: list[tuple[str, Callable[[MemoryManager], object], str]] = [
    ("search None", lambda m: m.search(None), "must be a string"),  # type: ignore[arg-type]
    ("search number", lambda m: m.search(5), "must be a string"),  # type: ignore[arg-type]
    ("search empty", lambda m: m.search(""), "must not be empty"),
    ("search blank", lambda m: m.search("  \t"), "must not be empty"),
    ("search text limit", lambda m: m.search("x", limit="3"), "limit"),  # type: ignore[arg-type]
    ("search negative limit", lambda m: m.search("x", limit=-2), "limit"),
    ("search bool limit", lambda m: m.search("x", limit=True), "limit"),
    ("min_confidence NaN", lambda m: m.search("x", min_confidence=math.nan), "min_confidence"),
    ("min_confidence 5", lambda m: m.search("x", min_confidence=5), "min_confidence"),
    ("min_confidence negative", lambda m: m.search("x", min_confidence=-0.1), "min_confidence"),
    ("min_confidence True", lambda m: m.search("x", min_confidence=True), "min_confidence"),
    ("min_confidence text", lambda m: m.search("x", min_confidence="0.5"), "min_confidence"),  # type: ignore[arg-type]
    ("types bogus", lambda m: m.search("x", types=["bogus"]), "unknown memory type"),  # type: ignore[list-item]
    ("types one string", lambda m: m.search("x", types="semantic"), "collection"),  # type: ignore[arg-type]
    ("search surrogate", lambda m: m.search("\ud800 refund"), "lone surrogate"),
    ("search subject number", lambda m: m.search("x", subject=5), "subject"),  # type: ignore[arg-type]
    ("search subject no id", lambda m: m.search("x", subject="customer:"), "subject"),
    ("remember number", lambda m: m.remember(123), "must be a string"),  # type: ignore[arg-type]
    ("remember None", lambda m: m.remember(None), "must be a string"),  # type: ignore[arg-type]
    ("remember subject number", lambda m: m.remember("I prefer SMS", subject=7), "subject"),  # type: ignore[arg-type]
    ("add a dict", lambda m: m.add({"content": "x"}), "Memory"),  # type: ignore[arg-type]
    ("add None", lambda m: m.add(None), "Memory"),  # type: ignore[arg-type]
]

TEAM_CASES: list[tuple[str, Callable[[TeamMemory], object], str]] = [
    ("forget_subject None", lambda t: t.forget_subject(None, requested_by=STAFF), "subject"),  # type: ignore[arg-type]
    ("forget_subject number", lambda t: t.forget_subject(5, requested_by=STAFF), "subject"),  # type: ignore[arg-type]
    (
        "forget_subject requester None",
        lambda t: t.forget_subject("customer:1", requested_by=None),  # type: ignore[arg-type]
        "requested_by",
    ),
    ("consolidate now text", lambda t: t.consolidate(now="yesterday"), "now"),  # type: ignore[arg-type]
    (
        "consolidate now naive",
        lambda t: t.consolidate(now=datetime(2025, 1, 1)),
        "timezone",
    ),
]


@pytest.mark.parametrize(
    ("action", "fragment"), [c[1:] for c in TEAM_CASES], ids=[c[0] for c in TEAM_CASES]
)
def test_team_memory_refuses(
    store: FaissStore, action: Callable[[TeamMemory], object], fragment: str
) -> None:
    assert_clear_error(lambda: action(TeamMemory(store, "support")), fragment)


@pytest.mark.parametrize(
    ("action", "fragment"), [c[1:] for c in MANAGER_CASES], ids=[c[0] for c in MANAGER_CASES]
)
def test_manager_refuses(
    manager: MemoryManager, action: Callable[[MemoryManager], object], fragment: str
) -> None:
    assert_clear_error(lambda: action(manager), fragment)


NAME_CASES: list[tuple[str, Callable[[], object], str]] = [
    ("team padded", lambda: memory_namespace(" support ", "shared"), "must not contain"),
    ("team dotted", lambda: memory_namespace("a.b", "shared"), "must not contain '.'"),
    ("team empty", lambda: memory_namespace("", "shared"), "non-empty"),
    ("team too long", lambda: team_prefix("t" * 65), "at most 64"),
    ("team newline", lambda: team_prefix("support\n"), "must not contain"),
    ("team not text", lambda: team_prefix(None), "non-empty"),  # type: ignore[arg-type]
    ("agent padded", lambda: memory_namespace("support", "private", " sam "), "must not"),
    ("agent with tab", lambda: memory_namespace("support", "private", "s\tam"), "must not"),
    ("agent missing", lambda: memory_namespace("support", "private"), "needs the owning agent"),
    ("agent ESC", lambda: memory_namespace("support", "private", "\x1b[2J"), "must not"),
]


@pytest.mark.parametrize(
    ("action", "fragment"), [c[1:] for c in NAME_CASES], ids=[c[0] for c in NAME_CASES]
)
def test_names_are_refused(action: Callable[[], object], fragment: str) -> None:
    assert_clear_error(action, fragment)


def test_manager_for_a_padded_agent_name_is_refused(store: FaissStore) -> None:
    assert_clear_error(lambda: MemoryManager(store, team="support", agent=" sam "), "must not")


@pytest.fixture
def bridge(store: FaissStore) -> A2ABridge:
    return A2ABridge(store, "support", agents=["alex", "sam", "jordan"])


def _stored(manager: MemoryManager) -> Memory:
    return manager.add(Memory.model_validate(good_memory())).memory


BRIDGE_CASES: list[tuple[str, Callable[[A2ABridge, Memory], object], str]] = [
    ("unknown target", lambda b, m: b.sync(m, ["samm"], source_agent="alex"), "unknown agent"),
    ("memory None", lambda b, m: b.sync(None, ["sam"], source_agent="alex"), "Memory"),  # type: ignore[arg-type]
    ("unknown source", lambda b, m: b.sync(m, ["sam"], source_agent="bob"), "unknown agent"),
    ("empty source", lambda b, m: b.sync(m, ["sam"], source_agent=""), "source_agent"),
    ("padded target", lambda b, m: b.sync(m, [" sam "], source_agent="alex"), "unknown agent"),
    ("zero hops", lambda b, m: A2ABridge(b.store, "support", max_hops=0), "max_hops"),
    ("decay zero", lambda b, m: A2ABridge(b.store, "support", decay=0), "decay"),
    ("decay above one", lambda b, m: A2ABridge(b.store, "support", decay=2), "decay"),
]


@pytest.mark.parametrize(
    ("action", "fragment"), [c[1:] for c in BRIDGE_CASES], ids=[c[0] for c in BRIDGE_CASES]
)
def test_bridge_refuses(
    bridge: A2ABridge,
    manager: MemoryManager,
    action: Callable[[A2ABridge, Memory], object],
    fragment: str,
) -> None:
    memory = _stored(manager)
    assert_clear_error(lambda: action(bridge, memory), fragment)
    # No namespace appeared for a typo'd agent.
    assert all("samm" not in ns and "bob" not in ns for ns in bridge.store.list_namespaces())


# ---- defensive reads: one bad row never breaks search -----------------------------------------
def test_a_record_with_naive_datetimes_is_skipped_and_reported(
    store: FaissStore, manager: MemoryManager, caplog: pytest.LogCaptureFixture
) -> None:
    good = _stored(manager)
    bad = Memory.model_validate(good_memory(content="Customer 12345 has a refund due"))
    value = bad.to_store_value()
    value["memory_id"] = "bad-row"
    value["created_at"] = value["updated_at"] = "2025-01-01T12:00:00"  # naive, written raw
    store.put(SHARED, "bad-row", value)
    with caplog.at_level(logging.WARNING, logger="memory.integrity"):
        for agent in ("alex", "sam", "jordan"):
            hits = MemoryManager(store, team="support", agent=agent).search("customer 12345")
            assert [h.memory.memory_id for h in hits] == [good.memory_id]
        assert manager.get("bad-row") is None
    reported = [r.getMessage() for r in caplog.records if r.name == "memory.integrity"]
    assert any("bad-row" in m and "timezone" in m.lower() for m in reported), reported


# ---- read-only opens and a busy store ---------------------------------------------------------
def _hold_write_lock(path: Path) -> sqlite3.Connection:
    writer = sqlite3.connect(path / store_db.DB_FILE, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # what another process's long write transaction holds
    return writer


def test_a_read_only_open_is_not_blocked_by_a_writer(tmp_path: Path) -> None:
    with faiss_store(tmp_path) as store:
        store.put(SHARED, "k1", {"text": "refund policy"})
    writer = _hold_write_lock(tmp_path)
    try:
        index = {"dims": 64, "embed": DeterministicEmbeddings(64), "fields": ["text"]}
        with FaissStore(tmp_path, index=index, read_only=True) as reader:  # type: ignore[arg-type]
            assert [h.key for h in reader.search(SHARED, query="refund")] == ["k1"]
            assert_clear_error(lambda: reader.put(SHARED, "k2", {"text": "x"}), "read-only")
    finally:
        writer.rollback()
        writer.close()


def test_a_read_only_open_never_creates_a_store(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    assert_clear_error(lambda: FaissStore(missing, read_only=True), "no memory store")
    assert not missing.exists()


def test_a_busy_store_names_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with faiss_store(tmp_path) as store:
        store.put(SHARED, "k1", {"text": "refund policy"})
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_S", 0.2)
    writer = _hold_write_lock(tmp_path)
    try:
        with faiss_store(tmp_path) as store, pytest.raises(StoreBusyError) as error:
            store.put(SHARED, "k2", {"text": "more"})
        assert "store.sqlite" in str(error.value) and "write lock" in str(error.value)
    finally:
        writer.rollback()
        writer.close()


# ---- the CLI -----------------------------------------------------------------------------------
@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., Any]:
    runner = CliRunner(
        env={"COLUMNS": "200", "A2A_MEMORY_DIR": None, "A2A_STORE_URL": None, "A2A_LLM": None}
    )
    services = CliServices(embeddings=DeterministicEmbeddings(384, model_name="corpus-embeddings"))

    def run(*args: str, data_dir: str | None = None) -> Any:
        where = str(tmp_path / "data") if data_dir is None else data_dir
        return runner.invoke(app, ["--data-dir", where, *args], obj=services)

    return run


CLI_CASES: list[tuple[str, tuple[str, ...], str | None, int, str]] = [
    # (id, args, data dir (None: the test's), exit code, fragment of the message)
    ("empty data dir", ("memories", "list"), "", 2, "data directory is empty"),
    ("blank data dir", ("memories", "list"), "   ", 2, "data directory is empty"),
    ("data dir control char", ("memories", "list"), "x\x1by", 2, "control characters"),
    ("missing dir list", ("memories", "list"), "MISSING", 1, "does not exist"),
    ("missing dir search", ("memories", "search", "refund"), "MISSING", 1, "does not exist"),
    ("missing dir logs", ("logs",), "MISSING", 1, "does not exist"),
    ("data dir is a file", ("memories", "list"), "FILE", 2, "is a file"),
    ("unknown agent", ("memories", "list", "--agent", "bob"), None, 2, "unknown agent"),
    ("padded agent", ("memories", "search", "x", "--agent", "  "), None, 2, "unknown agent"),
    ("team dotted", ("--team", "a.b", "memories", "list"), None, 2, "must not contain '.'"),
    ("team padded", ("--team", " support ", "memories", "list"), None, 2, "must not contain"),
    ("store url mysql", ("--store-url", "mysql://u:pw@h/db", "info"), None, 2, "mysql"),
    ("store url path", ("--store-url", "/srv/data", "info"), None, 2, "not a URL"),
    ("llm unknown", ("--llm", "gpt", "info"), None, 2, "--llm"),
    ("search empty", ("memories", "search", ""), None, 2, "must not be empty"),
    ("search limit zero", ("memories", "search", "x", "-n", "0"), None, 2, "--limit"),
    (
        "search min conf NaN",
        ("memories", "search", "x", "--min-confidence", "nan"),
        None,
        2,
        "--min-confidence",
    ),
    (
        "search min conf 5",
        ("memories", "search", "x", "--min-confidence", "5"),
        None,
        2,
        "--min-confidence",
    ),
    ("add empty", ("memories", "add", "   "), None, 2, "must not be empty"),
    ("add type unknown", ("memories", "add", "x", "--type", "fact"), None, 2, "--type"),
    ("add scope unknown", ("memories", "add", "x", "--scope", "team"), None, 2, "--scope"),
    (
        "add confidence 2",
        ("memories", "add", "Customer 1 likes tea", "--type", "entity", "--confidence", "2"),
        None,
        2,
        "--confidence",
    ),
    (
        "add too long",
        ("memories", "add", "y " * 2500, "--type", "semantic"),
        None,
        1,
        "at most 4000",
    ),
    (
        "add ESC",
        ("memories", "add", "a\x1b[2Jb", "--type", "semantic"),
        None,
        1,
        "control characters",
    ),
    ("logs bad since", ("logs", "--since", "yesterday"), None, 2, "ISO 8601"),
    ("forget empty", ("memories", "forget", ""), None, 2, ""),
]


@pytest.mark.parametrize(
    ("args", "data_dir", "exit_code", "fragment"),
    [c[1:] for c in CLI_CASES],
    ids=[c[0] for c in CLI_CASES],
)
def test_cli_refuses(
    run_cli: Callable[..., Any],
    tmp_path: Path,
    args: tuple[str, ...],
    data_dir: str | None,
    exit_code: int,
    fragment: str,
) -> None:
    if data_dir == "MISSING":
        data_dir = str(tmp_path / "mistyped")
    elif data_dir == "FILE":
        (tmp_path / "a-file").write_text("x")
        data_dir = str(tmp_path / "a-file")
    result = run_cli(*args, data_dir=data_dir)
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    text = " ".join(result.output.replace("│", " ").split())
    assert fragment.lower() in text.lower(), text
    if data_dir is not None and data_dir.endswith("mistyped"):
        assert not Path(data_dir).exists()  # a read never creates the directory


@pytest.mark.parametrize("damage", ["garbage", "directory", "empty-header"])
@pytest.mark.parametrize(
    ("part", "args"),
    [
        ("store/store.sqlite", ("memories", "list")),
        ("store/store.sqlite", ("memories", "search", "refund")),
        ("store/store.sqlite", ("memories", "add", "Refunds take 5 days.", "--type", "semantic")),
        ("checkpoints.sqlite", ("chat", "--agent", "sam", "--thread", "t1")),
    ],
)
def test_a_damaged_store_file_is_named_in_a_clear_error(
    run_cli: Callable[..., Any], tmp_path: Path, part: str, args: tuple[str, ...], damage: str
) -> None:
    made = run_cli("memories", "add", "Refunds take 5 days.", "--type", "semantic")
    assert made.exit_code == 0, made.output
    with closing(sqlite3.connect(tmp_path / "data" / "checkpoints.sqlite")):
        pass  # the chat's checkpointer file, as a chat would have left it
    damaged = tmp_path / "data" / part
    for leftover in damaged.parent.glob(damaged.name + "-*"):  # WAL and shared memory
        leftover.unlink()
    damaged.unlink()
    if damage == "directory":
        damaged.mkdir()
    else:
        damaged.write_bytes(b"SQLite format 3\x00" if damage == "empty-header" else b"\x93" * 5000)
    result = run_cli("--llm", "none", *args)
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output and "unexpected" not in result.output
    text = " ".join(result.output.replace("│", " ").split())
    assert damaged.name in text, text


def test_a_chat_line_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    runner = CliRunner(env={"A2A_MEMORY_DIR": None, "A2A_STORE_URL": None, "A2A_LLM": None})
    services = CliServices(embeddings=DeterministicEmbeddings(384, model_name="corpus-embeddings"))
    args = ["--data-dir", str(tmp_path / "d"), "--llm", "none", "chat", "--agent", "sam"]
    args += ["--thread", "t-bytes"]
    result = runner.invoke(app, args, input=b"hello\n\xff\xfe bye\n", obj=services)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "not UTF-8" in result.output and "0xff" in result.output, result.output


def test_cli_output_neutralizes_control_characters(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    # Planted beneath validation (an older version, another tool): a key and a memory with
    # terminal escapes. The memory is unreadable (skipped); the report names its key.
    from memory.backends import open_store
    from memory.embeddings import memory_index

    embeddings = DeterministicEmbeddings(384, model_name="corpus-embeddings")
    planted = Memory.model_validate(good_memory()).to_store_value()
    planted["content"] = "Customer 12345 \x1b]0;pwned\x07\x1b[2J prefers email"
    index = memory_index(embeddings)
    with open_store(tmp_path / "data", index=index, embedding_model="corpus-embeddings") as store:
        store.put(SHARED, "evil\x1b[2J\x1b]0;title\x07", planted)
    result = run_cli("memories", "list")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b[2J" in result.output and "skipping unreadable memory" in result.output


def test_safe_console_shows_escapes_and_keeps_text() -> None:
    from io import StringIO

    from cli.safe_console import SafeConsole, neutralize

    assert neutralize("a\x1b[2Jb\x07\x9bc\n\td") == "a\\x1b[2Jb\\x07\\x9bc\n\td"
    out = StringIO()
    console = SafeConsole(file=out, force_terminal=True, color_system="standard", highlight=False)
    console.print("[bold]memory:[/bold] x\x1b]0;pwned\x1b\\y")
    printed = out.getvalue()
    assert "\x1b]" not in printed and "x\\x1b]0;pwned\\x1b\\y" in printed
    assert "\x1b[1m" in printed  # rich's own styling still reaches the terminal


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"A2A_EMBEDDINGS": "bogus"}, "unknown embeddings kind 'bogus'"),
        ({"A2A_LLM": "gpt"}, "'gpt' is not one of"),
        ({"A2A_EMBEDDED_MODEL": "llama-70b"}, "'llama-70b' is not one of"),
    ],
)
def test_known_configuration_errors_are_not_unexpected(
    tmp_path: Path, env: dict[str, str], fragment: str
) -> None:
    runner = CliRunner(env={"COLUMNS": "200", "A2A_MEMORY_DIR": None, **env})
    args = ["--data-dir", str(tmp_path), "memories", "add", "Customer 5 likes tea"]
    result = runner.invoke(app, [*args, "--type", "entity"])
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    text = " ".join(result.output.replace("│", " ").split())
    assert fragment in text and "unexpected" not in text, text


def test_a_message_with_terminal_escapes_still_yields_its_fact(store: FaissStore) -> None:
    manager = MemoryManager(store, team="support", agent="alex")
    results = manager.remember("Remember that customer 12345 prefers \x1b[2J email \ud800")
    contents = [r.memory.content for r in results]
    assert contents and all("\x1b" not in c and "\ud800" not in c for c in contents), contents
    assert any("email" in c for c in contents), contents
