"""Writes that survive crashes and races: supersede is one transaction, replays change
nothing, and two processes storing the same fact end with one memory.

The processes are forked from this one (no interpreter start-up per kill), and the
parent reads the SQLite file directly, so it never touches FAISS between forks.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import time
from collections import Counter
from contextlib import closing
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from memory.manager import MemoryManager
from memory.models import Memory, Provenance, content_key
from memory.store import FaissStore
from memory.store_db import DB_FILE
from tests.fakes import DeterministicEmbeddings

TEAM = "support"
SLOTS = 3
KILLS = 45
FACTS = 40

fork = multiprocessing.get_context("fork")


def open_store(path: Path) -> FaissStore:
    index = {"dims": 32, "embed": DeterministicEmbeddings(32), "fields": ["content"]}
    return FaissStore(path, index=index)  # type: ignore[arg-type]


def preference(slot: int, n: int, writer: str) -> Memory:
    return Memory(
        content=f"Customer #{slot} prefers contact channel {n}",
        type="entity",
        mechanism="explicit",
        confidence=0.95,
        subject=f"customer:{slot}",
        attribute="contact_channel",
        value=f"channel {n}",
        provenance=Provenance(source_agent="alex", message_id=f"{writer}-{n}"),
    )


def rows(path: Path) -> list[dict]:
    with closing(sqlite3.connect(path / DB_FILE)) as db:
        values = [json.loads(v) for (v,) in db.execute("SELECT value FROM items")]
    return [v for v in values if "content_key" in v]


def supersede_forever(path: Path, start: int, ready: Connection, done: Synchronized) -> None:
    with open_store(path) as store:
        alex = MemoryManager(store, team=TEAM, agent="alex")
        ready.send("ready")
        for n in itertools.count(start):
            alex.add(preference(n % SLOTS, n, f"run-{start}"))
            done.value += 1  # only this process writes it; the parent only reads


def wait_for_adds(done: Synchronized, count: int) -> None:
    # Progress is counted in completed adds, not in seconds: a loaded machine makes the
    # writer slower, never the test weaker. The deadline only guards against a hang.
    deadline = time.monotonic() + 60
    while done.value < count:
        assert time.monotonic() < deadline, f"the writer completed {done.value} adds"
        time.sleep(0.002)


def two_valid_values(path: Path) -> list[str]:
    valid = Counter(
        v["subject"] for v in rows(path) if v["valid"] and v["attribute"] == "contact_channel"
    )
    return [subject for subject, count in valid.items() if count > 1]


@pytest.mark.slow
def test_supersede_is_atomic_under_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "store"
    rng = random.Random(7)
    for kill in range(KILLS):
        reader, writer = fork.Pipe(duplex=False)
        done = fork.Value("i", 0, lock=False)
        child = fork.Process(target=supersede_forever, args=(path, kill * 100_000, writer, done))
        child.start()
        assert reader.poll(60), "the writer never became ready"
        reader.recv()
        # Let it complete a few adds (so every run supersedes something), then kill it
        # at a random moment, usually in the middle of the next add.
        wait_for_adds(done, rng.randint(3, 8))
        child.join(rng.uniform(0.0, 0.05))
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL
        assert two_valid_values(path) == [], f"after kill {kill + 1}"
    # The kills interrupted a stream of supersessions: every run completed at least three
    # adds, and each completed add left its row, so the file holds at least that many.
    assert len(rows(path)) >= 3 * KILLS
    with open_store(path) as store:  # and the store opens cleanly afterwards
        alex = MemoryManager(store, team=TEAM, agent="alex")
        valid = [m for m in alex.list(limit=100_000) if m.attribute == "contact_channel"]
        assert sorted(m.subject or "" for m in valid) == [f"customer:{s}" for s in range(SLOTS)]


def add_facts(path: Path, writer: str, start: Event) -> None:
    with open_store(path) as store:
        # Near-duplicate merging off (this is about one fact stored twice); A-MEM links on:
        # both processes link each new fact to the others and write back-links.
        alex = MemoryManager(store, team=TEAM, agent="alex", merge_threshold=1.01)
        start.wait(30)
        for n in range(FACTS):
            alex.add(
                Memory(
                    content=f"Warehouse {n} closes at {n % 12 + 1} pm on Fridays",
                    type="semantic",
                    mechanism="explicit",
                    confidence=0.95,
                    provenance=Provenance(source_agent="alex", message_id=f"{writer}-{n}"),
                )
            )


@pytest.mark.slow
def test_two_processes_adding_the_same_facts_store_each_once(tmp_path: Path) -> None:
    path = tmp_path / "store"
    open_store(path).close()
    start = fork.Event()
    writers = [fork.Process(target=add_facts, args=(path, w, start)) for w in ("a", "b")]
    for process in writers:
        process.start()
    start.set()
    for process in writers:
        process.join(120)
        assert process.exitcode == 0
    valid = [v for v in rows(path) if v["valid"]]
    per_fact = Counter(v["content_key"] for v in valid)
    assert len(per_fact) == FACTS
    assert set(per_fact.values()) == {1}
    mentions = {v["content_key"]: v["mention_count"] for v in valid}
    assert set(mentions.values()) == {2}  # both processes' statements counted, once each
    assert_links_whole(rows(path))


def assert_links_whole(values: list[dict]) -> None:
    """Links go both ways and lead somewhere: no back-link lost to a stale read-modify-write
    of another process, none left pointing at a twin that was folded away."""
    links = {v["memory_id"]: set(v["links"]) for v in values}
    assert sum(len(held) for held in links.values()) > len(links)  # links were made
    dangling = {(m, k) for m, held in links.items() for k in held if k not in links}
    assert dangling == set()
    one_way = {(m, k) for m, held in links.items() for k in held if m not in links[k]}
    assert one_way == set()


def test_replaying_a_message_changes_nothing(tmp_path: Path) -> None:
    with open_store(tmp_path / "store") as store:
        alex = MemoryManager(store, team=TEAM, agent="alex")
        first = alex.add(preference(1, 1, "turn"))
        replay = alex.add(preference(1, 1, "turn"))  # a resumed turn extracts it again
        assert (first.action, replay.action) == ("added", "unchanged")
        assert replay.memory.mention_count == 1
        newer = alex.add(preference(1, 2, "turn"))
        assert newer.action == "superseded"
        assert alex.add(preference(1, 2, "turn")).action == "unchanged"
        restated = alex.add(preference(1, 2, "later turn"))  # a distinct statement
        assert (restated.action, restated.memory.mention_count) == ("reinforced", 2)
        valid = [m for m in alex.list() if m.subject == "customer:1"]
        assert [content_key(m.content) for m in valid] == ["customer 1 prefers contact channel 2"]
