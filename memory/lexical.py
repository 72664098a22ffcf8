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
from typing import NamedTuple

_WORD = re.compile(r"[^\W_]+")
MAX_QUERY_WORDS = 64
MAX_TERM_DOCS = 500
"""The most documents a BM25 query's words may match together (bounded_fts_query): FTS5
scores every document matching any word, ~2 us each (at 100k memories a common word
matched 5k-33k rows and took 65-80 ms to rank; at 10k one word of 2,000 rows took 3-5 ms
where the query's rarest word alone took 0.1 ms). A store of at most this many documents
loses no word; the retrieval suite (321 memories) and a LoCoMo conversation are such."""


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
SCOPE_GAIN = 9
"""Keeping a BM25 query to namespaces makes FTS5 read their tokens' document lists: worth
it when the documents it then does not rank are more than 1/SCOPE_GAIN of those lists
(`worth_scoping`). Measured (2 namespaces of 5, 768 first): 1k memories, 400 matching
documents: 0.19 ms kept to the namespaces, 0.67 ms not; 10k, ~5 matching documents with
4,000 in the lists: 0.82 ms kept, 0.14 ms not."""


def worth_scoping(matching: int, in_namespaces: int, everywhere: int) -> bool:
    """Whether to keep a query matching about `matching` documents to namespaces holding
    `in_namespaces` of the `everywhere` documents (see SCOPE_GAIN)."""
    if everywhere <= 0:
        return False
    left_out = matching * (1 - in_namespaces / everywhere)
    return in_namespaces < SCOPE_GAIN * left_out


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


class Bounded(NamedTuple):
    query: str
    """An FTS5 query of words ("" when no word is in any document)."""
    documents: int
    """About how many documents it matches: the sum of its words' document counts
    (each counted up to MAX_TERM_DOCS + 1), or, for words that must all be there, the
    rarest one's."""


def bounded_fts_query(
    conn: sqlite3.Connection, text: str, counts: dict[str, int] | None = None
) -> str:
    """`bounded_match`'s query."""
    return bounded_match(conn, text, counts).query


def bounded_match(
    conn: sqlite3.Connection, text: str, counts: dict[str, int] | None = None
) -> Bounded:
    """`fts_query` kept to its rarest words, so ranking scores a bounded set of rows.

    Each word's document count is read up to MAX_TERM_DOCS + 1 from FTS5's doclist (no
    ranking). Words are taken rarest first while the documents they match together stay
    within MAX_TERM_DOCS (the rarest word is always taken): they carry most of BM25's
    weight, and a word in many documents adds little to it but costs ranking each of
    them. When every word is common, only documents holding all of them match (their
    co-occurrence is what is specific); words in no document are dropped. A store of at
    most MAX_TERM_DOCS documents loses no word. `counts`: document counts read before
    from the same data (the caller empties it when the data change), read again never.
    """
    counted: list[tuple[int, int, str]] = []
    for place, word in enumerate(query_words(text)):
        quoted = f'"{word}"'
        docs = _documents(conn, quoted, counts)
        if docs:
            counted.append((docs, place, quoted))
    rare = sorted(c for c in counted if c[0] <= MAX_TERM_DOCS)
    if not rare:
        query = " AND ".join(quoted for _, _, quoted in counted)
        return Bounded(query, min((docs for docs, _, _ in counted), default=0))
    kept: list[tuple[int, str]] = []
    total = documents = 0
    for docs, place, quoted in rare:
        if kept and total + docs > MAX_TERM_DOCS:
            # The sum counts twice a document holding two words: count the union.
            union = _documents(conn, " OR ".join([*(q for _, q in kept), quoted]), counts)
            if union > MAX_TERM_DOCS:
                continue
            total = union
        else:
            total += docs
        documents += docs
        kept.append((place, quoted))
    return Bounded(" OR ".join(quoted for _, quoted in sorted(kept)), documents)


def _documents(conn: sqlite3.Connection, match: str, counts: dict[str, int] | None) -> int:
    """How many documents `match` (words) matches, counted up to MAX_TERM_DOCS + 1."""
    if counts is not None and match in counts:
        return counts[match]
    (docs,) = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM items_fts WHERE items_fts MATCH ? LIMIT ?)",
        (scoped_match(match), MAX_TERM_DOCS + 1),
    ).fetchone()
    if counts is not None:
        counts[match] = int(docs)
    return int(docs)


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
