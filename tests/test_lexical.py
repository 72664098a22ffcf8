"""The BM25 query builder: common words left out so that ranking cost stays bounded."""

from __future__ import annotations

import sqlite3

import pytest

import memory.lexical as lexical
from memory.lexical import bounded_fts_query, fts_query


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


def test_with_few_documents_nothing_is_pruned(conn: sqlite3.Connection) -> None:
    assert bounded_fts_query(conn, "the customer refund") == '"the" OR "customer" OR "refund"'
