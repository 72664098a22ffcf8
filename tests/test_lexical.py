"""BM25: the query builder (common words left out so that ranking cost stays bounded) and
the store's full-text index, kept to the namespaces a search reads."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import memory.lexical as lexical
from memory.lexical import bounded_fts_query, fts_query
from memory.store import DB_FILE, FaissStore
from tests.store_backends import faiss_store


@pytest.fixture
def conn() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE items_fts USING fts5 (text, tokenize = 'porter unicode61')")
    texts = [
        "the customer asked about a refund",
        "the customer wants email updates",
        "the customer reported a late parcel",
        "the customer prefers phone calls",
        "order 881 was refunded to the customer",
    ]
    db.executemany("INSERT INTO items_fts (text) VALUES (?)", [(t,) for t in texts])
    return db


def test_words_are_quoted_so_no_fts_syntax_leaks_in() -> None:
    assert fts_query('refund" OR * NEAR(x) order-881') == (
        '"refund" OR "or" OR "near" OR "order" OR "881"'
    )


def test_common_words_are_left_out_while_a_rarer_one_is_there(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "MAX_TERM_DOCS", 3)  # "customer" and "the" are in 5
    assert bounded_fts_query(conn, "customer refund") == '"refund"'
    assert bounded_fts_query(conn, "the customer, refunded order 881") == (
        '"refunded" OR "order" OR "881"'
    )
    # Only common words: documents holding all of them.
    assert bounded_fts_query(conn, "the customer") == '"the" AND "customer"'
    # Words in no document add nothing.
    assert bounded_fts_query(conn, "zebra customer") == '"customer"'
    assert bounded_fts_query(conn, "zebra") == ""


def test_rare_words_are_taken_rarest_first_while_their_documents_stay_bounded(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "MAX_TERM_DOCS", 3)
    # email, late and phone are in one document each, refund in two: all four together
    # match four documents, over the bound, so the most common of them is left out.
    match = bounded_fts_query(conn, "refund by email, late phone")
    assert match == '"email" OR "late" OR "phone"'
    (ranked,) = conn.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH ?", (match,))
    assert ranked[0] == 3
    # A document holding several of the words counts once: 881, order and refund are in
    # 1, 1 and 2 documents, but in two together.
    assert bounded_fts_query(conn, "refund 881 order") == '"refund" OR "881" OR "order"'


def test_with_few_documents_nothing_is_pruned(conn: sqlite3.Connection) -> None:
    assert bounded_fts_query(conn, "the customer refund") == '"the" OR "customer" OR "refund"'


# ---- the store's BM25 is kept to the namespaces searched --------------------------------
SHARED = ("team", "t", "shared")
SAM = ("team", "t", "agent", "sam")


def _fill_two_namespaces(store: FaissStore) -> None:
    # Sam's private notes match "refund" better (short, repeated) and outnumber the shared
    # ones 20 to 1: an unrestricted BM25 ranking would be all Sam's at the top.
    for i in range(200):
        store.put(SAM, f"s{i}", {"text": f"refund refund {i}"})
    for i in range(10):
        store.put(SHARED, f"h{i}", {"text": f"a refund was asked for order {i} by a customer"})


def test_bm25_ranks_only_the_namespaces_searched(tmp_path: Path) -> None:
    with faiss_store(tmp_path) as store:
        _fill_two_namespaces(store)
        dense, lexical = store.hybrid_candidates(
            [SHARED], "refund", dense_limit=0, lexical_limit=10
        )
        assert dense == []
        # All ten shared notes, though 200 better matches of Sam's rank above them overall
        # (more than the one bounded ranking a hybrid search reads: 16x its limit).
        assert sorted(h.key for h in lexical) == sorted(f"h{i}" for i in range(10))
        # Scores are BM25 over the text alone: the same under any scope that holds the item.
        scoped = {h.key: h.score for h in store.lexical_search(SHARED, "refund order 3")}
        overall = {
            h.key: h.score for h in store.lexical_search(("team",), "refund order 3", limit=300)
        }
        assert scoped and all(overall[key] == pytest.approx(s) for key, s in scoped.items())


def _old_layout(path: Path) -> None:
    """Turn a store's full-text index into the layout stores had before namespaces."""
    conn = sqlite3.connect(path / DB_FILE)
    with conn:
        conn.execute("CREATE VIRTUAL TABLE old USING fts5 (text, tokenize = 'porter unicode61')")
        conn.execute("INSERT INTO old (rowid, text) SELECT rowid, text FROM items_fts")
        conn.execute("DROP TABLE items_fts")
        conn.execute("ALTER TABLE old RENAME TO items_fts")
    conn.close()


def test_a_store_made_before_namespaces_opens_and_keeps_working(tmp_path: Path) -> None:
    with faiss_store(tmp_path) as store:
        _fill_two_namespaces(store)
        before = [h.key for h in store.lexical_search(SHARED, "refund order 3")]
    _old_layout(tmp_path)
    # Read-only, it cannot be migrated: BM25 ranks every namespace, rows are still kept
    # to the scope, and the results are the same.
    with faiss_store(tmp_path, read_only=True) as reader:
        assert not reader._db.fts_namespaces
        assert [h.key for h in reader.lexical_search(SHARED, "refund order 3")] == before
    with faiss_store(tmp_path) as store:  # a writer rebuilds the index with namespaces
        assert store._db.fts_namespaces
        assert [h.key for h in store.lexical_search(SHARED, "refund order 3")] == before
        _, lexical = store.hybrid_candidates([SHARED], "refund", dense_limit=0, lexical_limit=10)
        assert len(lexical) == 10
        store.put(SHARED, "new", {"text": "a refund for the new order"})
        store.delete(SAM, "s0")
        assert "new" in {h.key for h in store.lexical_search(SHARED, "new order refund")}
        assert "s0" not in {h.key for h in store.lexical_search(SAM, "refund", limit=300)}


def test_word_counts_follow_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Counts are remembered between searches; a write, here or by another process,
    # makes them read again, so which words are common always follows the data.
    monkeypatch.setattr(lexical, "MAX_TERM_DOCS", 3)
    with faiss_store(tmp_path) as store, faiss_store(tmp_path) as other:
        store.put(SHARED, "a", {"text": "refund for order 881"})
        store.put(SHARED, "b", {"text": "a refund was asked"})
        assert {h.key for h in store.lexical_search(SHARED, "refund 881")} == {"a", "b"}
        store.put(SHARED, "c", {"text": "refund sent"})
        store.put(SHARED, "d", {"text": "refund late"})  # refund: in 4 documents, common
        assert {h.key for h in store.lexical_search(SHARED, "refund 881")} == {"a"}
        assert {h.key for h in other.lexical_search(SHARED, "refund 881")} == {"a"}
        other.delete(SHARED, "c")
        other.delete(SHARED, "d")
        assert {h.key for h in store.lexical_search(SHARED, "refund 881")} == {"a", "b"}


@pytest.mark.parametrize("query", ["refund", "refund order 3", "order 7 refund note"])
def test_ranking_everywhere_or_in_the_namespaces_finds_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    """Whether FTS5 is kept to the namespaces (worth it or not: lexical.worth_scoping) only
    changes the cost: the same items in the same order, even when the namespaces' matches
    lie past the first batch of an unkept ranking."""
    import memory.store as store_module

    results = {}
    with faiss_store(tmp_path) as store:
        _fill_two_namespaces(store)
        for kept in (True, False):
            monkeypatch.setattr(store_module, "worth_scoping", lambda *_, k=kept: k)
            _, lexical = store.hybrid_candidates([SHARED], query, dense_limit=0, lexical_limit=10)
            results[kept] = [(h.key, h.score) for h in lexical]
    assert results[True] and results[True] == results[False]


def test_scoping_is_worth_it_when_it_leaves_out_many_matches() -> None:
    # measured cases (lexical.SCOPE_GAIN): 1k memories, 400 of them searched
    assert lexical.worth_scoping(matching=400, in_namespaces=400, everywhere=1000)
    # 10k memories, 4,000 searched, a rare word in 5 documents
    assert not lexical.worth_scoping(matching=5, in_namespaces=4000, everywhere=10000)
    # everything searched: nothing to leave out
    assert not lexical.worth_scoping(matching=500, in_namespaces=1000, everywhere=1000)
    assert not lexical.worth_scoping(matching=5, in_namespaces=0, everywhere=0)
