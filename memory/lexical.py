"""Lexical search of the FAISS store: BM25 ranking by SQLite FTS5 over the indexed text.

The store writes each item's indexed text into ``items_fts`` (rowid = item_id) in the
same transaction as the item, with its namespace as a token in a second column (``ns``,
weight 0 in BM25): a search under some namespaces ranks only their documents, not every
agent's and scope's. This module turns free text into a safe FTS5 query, bounded by
leaving out common words, kept to namespaces, and pages through FTS5's own ranking.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterable, Sequence

_WORD = re.compile(r"[^\W_]+")
MAX_QUERY_WORDS = 64
MAX_TERM_DOCS = 2000
"""A query word found in more documents than this is common: it is left out of the BM25
query (while a rarer word is there), since FTS5 scores every document matching any word.
At 100k memories a common word matched 5k-33k rows and took 65-80 ms to rank; with few
documents it prunes nothing (a word in over half the documents adds ~0 to BM25 anyway)."""


def query_words(text: str) -> list[str]:
    """The distinct words of `text` that FTS5 can match, lowercased, in order."""
    words = [w for w in _WORD.findall(text.lower()) if len(w) > 1 or w.isdigit()]
    return list(dict.fromkeys(words))[:MAX_QUERY_WORDS]


def fts_query(text: str) -> str:
    """Free text -> an FTS5 query OR-ing its words, each quoted (no FTS syntax leaks in)."""
    return " OR ".join(f'"{w}"' for w in query_words(text))


FTS_COLUMNS = "text, ns, tokenize = 'porter unicode61'"
"""The full-text table's columns and tokenizer (``CREATE VIRTUAL TABLE ... USING fts5 (...)``)."""
RANK = "bm25(1.0, 0.0)"
"""FTS5's ranking: BM25 over the text; the namespace token weighs nothing (a namespace
holding fewer documents would otherwise rank its documents up)."""
MAX_SCOPED_NAMESPACES = 64
"""A search under more namespaces than this ranks every document (rows are kept to the
namespaces afterwards, as always): a longer OR of namespace tokens costs more than it saves."""


def namespace_token(ns: str) -> str:
    """The ``ns`` column of an item in encoded namespace `ns` ("team.t.shared."): one
    token, letters then digits, which neither the tokenizer nor the stemmer splits or
    changes. One token per item whatever its depth: BM25's length normalisation counts
    every column's tokens, and a token per namespace level ranked deeper namespaces down."""
    digest = hashlib.blake2b(ns.encode(), digest_size=8).digest()
    return f"ns{int.from_bytes(digest, 'big')}"


def scoped_match(match: str, namespaces: Sequence[str] | None = None) -> str:
    """`match` (words, as `fts_query` writes them) on the text column, kept to items of
    `namespaces` (encoded, exact; None: everywhere)."""
    text = f"{{text}} : ({match})"
    if namespaces is None:
        return text
    tokens = " OR ".join(f'"{namespace_token(ns)}"' for ns in namespaces)
    return f"{text} AND {{ns}} : ({tokens})"


def bounded_fts_query(conn: sqlite3.Connection, text: str) -> str:
    """`fts_query` without the common words, so ranking touches a bounded set of rows.

    Each word's document count is read up to MAX_TERM_DOCS + 1 from FTS5's doclist (no
    ranking). Rare words are OR-ed; when every word is common, only documents holding all
    of them match (their co-occurrence is what is specific); words in no document are
    dropped.
    """
    rare: list[str] = []
    common: list[str] = []
    for word in query_words(text):
        quoted = f'"{word}"'
        (docs,) = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM items_fts WHERE items_fts MATCH ? LIMIT ?)",
            (scoped_match(quoted), MAX_TERM_DOCS + 1),
        ).fetchone()
        if docs > MAX_TERM_DOCS:
            common.append(quoted)
        elif docs:
            rare.append(quoted)
    return " OR ".join(rare) if rare else " AND ".join(common)


def fts_candidates(
    conn: sqlite3.Connection, match: str, first: int
) -> Iterable[list[tuple[int, float]]]:
    """(item_id, bm25 rank) best first, in growing batches.

    FTS5 answers `ORDER BY rank LIMIT k` on its own index without touching the items;
    joining items first made every lexical search rank every match (30 ms at 10k). Each
    query scores every match whatever its limit, so there are at most two: the first
    `first` (at least 64), then, when the caller needs more, all the rest.
    """
    k = max(64, first)
    rows = conn.execute(
        "SELECT rowid, rank FROM items_fts WHERE items_fts MATCH ? ORDER BY rank LIMIT ?",
        (match, k),
    ).fetchall()
    if rows:
        yield [(r[0], r[1]) for r in rows]
    if len(rows) < k:
        return
    seen = {r[0] for r in rows}
    rest = conn.execute(
        "SELECT rowid, rank FROM items_fts WHERE items_fts MATCH ? ORDER BY rank", (match,)
    ).fetchall()
    fresh = [(r[0], r[1]) for r in rest if r[0] not in seen]
    if fresh:
        yield fresh
