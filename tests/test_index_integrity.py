"""Crafted and damaged index files: nothing executes, isolation holds, SQLite wins.

Each case writes a file an attacker or a bad copy could leave in a data directory and
checks that opening the store neither runs code nor trusts the file: the index is
refused with a visible warning and rebuilt from SQLite, and searches stay correct.
"""

from __future__ import annotations

import io
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest

from memory.store import INDEX_FILE, FaissStore
from memory.vector_index import _PART_NAMES, _checksum
from tests.store_backends import faiss_store

SHARED = ("team", "t", "shared")
SAM = ("team", "t", "agent", "sam")
JORDAN = ("team", "t", "agent", "jordan")
WORDS = ["refund", "order", "delayed", "email", "phone", "outage", "policy", "carrier"]


def fill(store: FaissStore) -> None:
    for i in range(24):
        text = f"{WORDS[i % 8]} {WORDS[(i * 3) % 8]} note {i}"
        store.put(SHARED, f"s{i}", {"text": text})
        store.put(SAM, f"p{i}", {"text": f"sam private {text}"})
        store.put(JORDAN, f"j{i}", {"text": f"jordan private {text}"})


def results(store: FaissStore) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    out = {}
    for name, prefix in (("shared", SHARED), ("sam", SAM), ("all", ("team", "t"))):
        hits = store.search(prefix, query="refund for a delayed order", limit=30)
        out[name] = [(tuple(h.namespace), h.key) for h in hits]
    return out


def read_parts(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {name: np.asarray(data[name]) for name in _PART_NAMES}


def write_parts(path: Path, parts: dict[str, np.ndarray], *, fix_checksum: bool) -> None:
    """Write parts back; with `fix_checksum` the file's own checksum matches its content
    (an attacker who knows the format), so only SQLite's record can tell."""
    checksum = _checksum(parts) if fix_checksum else "00" * 32
    buffer = io.BytesIO()
    np.savez(buffer, checksum=np.frombuffer(bytes.fromhex(checksum), dtype=np.uint8), **parts)
    path.write_bytes(buffer.getvalue())


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, dict[str, list[tuple[tuple[str, ...], str]]]]:
    with faiss_store(tmp_path) as store:
        fill(store)
        expected = results(store)
    assert (tmp_path / INDEX_FILE).exists()
    return tmp_path, expected


def reopen_and_check(
    path: Path,
    expected: dict[str, list[tuple[tuple[str, ...], str]]],
    caplog: pytest.LogCaptureFixture,
    *,
    warned: bool = True,
) -> None:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="memory.integrity"), faiss_store(path) as store:
        assert results(store) == expected
        # Isolation: a search of the shared namespace never returns a private item.
        for hit in store.search(SHARED, query="private note", limit=100):
            assert tuple(hit.namespace) == SHARED
    messages = [r.getMessage() for r in caplog.records if r.name == "memory.integrity"]
    if warned:
        assert any("rebuilding it from SQLite" in m for m in messages), messages
    else:
        assert messages == []


def test_an_untouched_index_loads_without_warning(saved, caplog) -> None:
    path, expected = saved
    reopen_and_check(path, expected, caplog, warned=False)


class _Exploit:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (Path(_MARKER),))


_MARKER = ""


def test_a_pickled_payload_never_runs(saved, caplog, tmp_path: Path) -> None:
    global _MARKER
    path, expected = saved
    marker = tmp_path / "pwned"
    _MARKER = str(marker)
    payload = np.array([_Exploit()], dtype=object)
    parts = read_parts(path / INDEX_FILE)
    buffer = io.BytesIO()
    np.savez(buffer, checksum=np.zeros(32, dtype=np.uint8), evil=payload, **parts)
    (path / INDEX_FILE).write_bytes(buffer.getvalue())
    # A whole-file pickle, too (what np.load(allow_pickle=True) would also accept).
    reopen_and_check(path, expected, caplog)
    assert not marker.exists()
    (path / INDEX_FILE).write_bytes(pickle.dumps(_Exploit()))
    reopen_and_check(path, expected, caplog)
    assert not marker.exists()


@pytest.mark.parametrize("fix_checksum", [False, True], ids=["stale-checksum", "forged-checksum"])
@pytest.mark.parametrize("damage", ["ns_ids", "item_ids", "alive", "vec_ids", "header"])
def test_edited_bookkeeping_is_refused(saved, caplog, damage: str, fix_checksum: bool) -> None:
    path, expected = saved
    parts = read_parts(path / INDEX_FILE)
    if damage == "ns_ids":
        parts["ns_ids"] = np.zeros_like(parts["ns_ids"])  # everything "shared"
    elif damage == "item_ids":
        parts["item_ids"] = np.roll(parts["item_ids"], 1)
    elif damage == "alive":
        parts["alive"] = np.zeros_like(parts["alive"])
    elif damage == "vec_ids":
        parts["vec_ids"] = parts["vec_ids"] + 1000
    else:
        parts["header"] = np.frombuffer(b'{"format_version": 2}', dtype=np.uint8)
    write_parts(path / INDEX_FILE, parts, fix_checksum=fix_checksum)
    reopen_and_check(path, expected, caplog)


def test_an_index_file_from_another_store_is_refused(saved, caplog, tmp_path: Path) -> None:
    path, expected = saved
    other = tmp_path / "other"
    with faiss_store(other) as store:
        for i in range(30):
            store.put(SHARED, f"x{i}", {"text": f"something else {i}"})
    (path / INDEX_FILE).write_bytes((other / INDEX_FILE).read_bytes())
    reopen_and_check(path, expected, caplog)


def test_the_rebuilt_index_is_trusted_next_time(saved, caplog) -> None:
    path, expected = saved
    (path / INDEX_FILE).write_bytes(b"not an index")
    reopen_and_check(path, expected, caplog)
    reopen_and_check(path, expected, caplog, warned=False)


def test_a_damaged_index_in_memory_never_leaks_across_namespaces(tmp_path: Path) -> None:
    # Even if the loaded index were wrong (here: corrupted after opening), each hit's
    # namespace is checked against SQLite: the damage costs results, never isolation.
    with faiss_store(tmp_path) as store:
        fill(store)
        assert store._vectors is not None
        store._vectors.ns_ids[:] = 0
        store._vectors._allowed.clear()
        shared_ns = store._vectors.namespaces[0]
        for prefix in (SHARED, SAM, JORDAN):
            for hit in store.search(prefix, query="private refund order", limit=100):
                assert tuple(hit.namespace) == prefix, (prefix, shared_ns)
