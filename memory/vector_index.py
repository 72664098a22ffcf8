"""The FAISS side of the store: an in-memory vector index that SQLite can always rebuild.

SQLite holds every vector; this index only makes search fast. Each vector sits at a
*position* (0, 1, 2, ...) in a FAISS index; arrays beside it map positions to the
vector's row in SQLite (`vec_id`), its item and its namespace. Deleted vectors are
tombstoned (FAISS HNSW cannot remove) and compacted away on the next rebuild.

Index choice, by size (documented in the README):
- up to `quantize_threshold` vectors (default 5,000): exact search, `IndexFlatIP`;
- up to `hnsw_threshold` (default 2,000,000): "sq8", the exact flat vectors plus an 8-bit
  scalar-quantized copy (one value range for all dimensions: `QT_8bit_uniform`, cheapest
  to decode) scanned first, 4x less memory traffic; its candidates (at least 64) are
  re-scored exactly, so reported scores are exact cosines. A search is memory-bound: the
  embedder that runs before it evicts the vectors from the CPU caches, so the flat scan
  reads them from memory again. Measured at 10k x 384, one core, caches flushed before
  each search: flat 1.01 ms, 8-bit scan and re-score 0.68 ms (in the hot-path bench, right
  after the query's embedding: 1.9 against 1.0 ms); at 5k both 0.6 ms. At 100k: flat
  9.7 ms p50, per-dimension 8-bit 4.4 ms, uniform 8-bit 2.9 ms; recall@10 after
  re-scoring 1.000 for both.
- above: HNSW (`IndexHNSWFlat`, M=32, efConstruction=80, efSearch >= 256), approximate;
  its recall depends on the data (0.42 on uniform random 384-dim vectors at 100k).
How one search is scored (`VectorIndex.scan_for`): a handful of allowed vectors (at most
TINY_SUBSET, under 1/TINY_SHARE of the index) are copied out and scored directly; on HNSW,
a search restricted to a namespace or filter that keeps few vectors (at most
`exact_limit`, or under 20% of the index) is an exact selector-restricted scan of the
flat vectors, because approximate search with a selective filter misses hits; otherwise
the index's own scan: flat, quantized (restricted or not: the scan is exhaustive, only
its order is by 8-bit codes until re-scored) or HNSW.

Vectors are L2-normalised on the way in, so inner product is cosine similarity, the
score InMemoryStore and PostgresStore (cosine) report.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast, get_args

import faiss
import numpy as np

integrity_log = logging.getLogger("memory.integrity")
"""Damage found and repaired in a data directory: shown to users even without -v."""

# One query at a time is latency-bound: OpenMP threads cost more in wake-ups and
# contention than they save (measured on 2 cores: 10k-vector flat search 34 ms -> 2.7 ms).
faiss.omp_set_num_threads(1)

FORMAT_VERSION = 2
IndexKind = Literal["flat", "sq8", "hnsw"]
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256
"""Measured on 30k random 384-dim vectors: recall@10 0.47 at 96, 0.76 at 256, 0.99 at 1024;
real embeddings cluster and recall much better (1.00 at 96 on clustered data)."""
TINY_SUBSET = 2048
QUANTIZE_THRESHOLD = 5_000
"""Above this many vectors the index keeps an 8-bit copy and scans it first (module docstring)."""
TINY_FIRST_SLICE = 64
SELECTIVE_FRACTION = 0.2
TINY_SHARE = 8
"""At most TINY_SUBSET allowed positions that are under 1/TINY_SHARE of the index are copied
out and scored (`_exact_tiny`); more are FAISS's filtered scan. Best of 7 runs, 384 dims,
k=192: copying out 40% of 1k vectors cost 0.047 ms where the scan took 0.026 ms. (Scoring
the whole flat index in place with numpy was no faster in a search: its BLAS threads
fight over the 2 cores, 4.3 ms at 10k.)"""


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Unit-length rows (zero rows stay zero: they match nothing)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


class _Column:
    """A growable 1-d array: appends are amortised O(1) instead of copying everything.

    At 1M vectors, concatenating four arrays on every put copied ~21 MB per put.
    """

    def __init__(self, dtype: type, values: np.ndarray | None = None) -> None:
        data: np.ndarray = np.zeros(0, dtype=dtype) if values is None else values.astype(dtype)
        self._buffer: np.ndarray = np.zeros(max(16, len(data)), dtype=dtype)
        self._buffer[: len(data)] = data
        self._size = len(data)

    @property
    def values(self) -> np.ndarray:
        """A view of the live part (writes go through)."""
        return self._buffer[: self._size]

    def extend(self, more: np.ndarray) -> None:
        needed = self._size + len(more)
        if needed > len(self._buffer):
            grown = np.zeros(max(needed, 2 * len(self._buffer)), dtype=self._buffer.dtype)
            grown[: self._size] = self.values
            self._buffer = grown
        self._buffer[self._size : needed] = more
        self._size = needed


@dataclass
class VectorRows:
    """Vectors as SQLite holds them, in vec_id order, ready for the FAISS index."""

    vec_ids: np.ndarray
    item_ids: np.ndarray
    namespaces: list[str]
    vectors: np.ndarray

    @classmethod
    def from_rows(cls, rows: list[tuple[Any, ...]], dims: int) -> VectorRows:
        """Rows of (vec_id, item_id, ns, embedding blob)."""
        return cls(
            vec_ids=np.array([r[0] for r in rows], dtype=np.int64),
            item_ids=np.array([r[1] for r in rows], dtype=np.int64),
            namespaces=[r[2] for r in rows],
            vectors=(
                np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32).reshape(-1, dims)
                if rows
                else np.zeros((0, dims), dtype=np.float32)
            ),
        )


class Hit(NamedTuple):
    position: int
    item_id: int
    score: float


Batch = tuple[np.ndarray, np.ndarray, np.ndarray]
Scan = Literal["tiny", "exact", "quantized", "approximate"]
"""How a search is scored (`VectorIndex.scan_for`)."""
"""Part of a ranking: positions, their item ids and scores (aligned arrays), best first."""


def _hits(positions: np.ndarray, item_ids: np.ndarray, scores: np.ndarray) -> list[Hit]:
    """Hits from aligned arrays, converted in bulk (a search makes hundreds of them)."""
    return list(map(Hit, positions.tolist(), item_ids.tolist(), scores.tolist()))


class VectorIndex:
    """Positions -> FAISS vectors, with the bookkeeping to filter by namespace."""

    def __init__(
        self,
        dims: int,
        *,
        hnsw_threshold: int = 2_000_000,
        exact_limit: int = 20_000,
        quantize_threshold: int = QUANTIZE_THRESHOLD,
    ):
        self.dims = dims
        self.quantize_threshold = quantize_threshold
        self.hnsw_threshold = hnsw_threshold
        self.exact_limit = exact_limit
        self.max_vec_id = 0
        """The highest SQLite vec_id this index has taken in."""
        self.max_deletion_seq = 0
        """The highest SQLite deletion-log seq this index has applied."""
        self._reset(kind="flat")

    # ---- structure -------------------------------------------------------------------
    def kind_for(self, count: int) -> IndexKind:
        if count > self.hnsw_threshold:
            return "hnsw"
        if count > self.quantize_threshold:
            return "sq8"
        return "flat"

    def _reset(self, kind: IndexKind) -> None:
        self.kind: IndexKind = kind
        self.coarse: faiss.Index | None = None
        """For "sq8": the quantized copy scanned first (same positions as `faiss`)."""
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(self.dims, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            self.faiss: faiss.Index = index
        else:
            self.faiss = faiss.IndexFlatIP(self.dims)
        if kind == "sq8":
            self.coarse = faiss.IndexScalarQuantizer(
                self.dims, faiss.ScalarQuantizer.QT_8bit_uniform, faiss.METRIC_INNER_PRODUCT
            )
        self._columns = {
            "vec_ids": _Column(np.int64),
            "item_ids": _Column(np.int64),
            "ns_ids": _Column(np.int32),
            "alive": _Column(np.bool_),
        }
        self.namespaces: list[str] = []
        self._ns_lookup: dict[str, int] = {}
        self._position_of: dict[int, int] = {}
        self._allowed: dict[str | tuple[str, ...], tuple[np.ndarray, int]] = {}
        """Namespace prefix(es) -> (allowed positions, how many): until the next change."""

    @property
    def vec_ids(self) -> np.ndarray:
        """Position -> the vector's row id in SQLite."""
        return self._columns["vec_ids"].values

    @property
    def item_ids(self) -> np.ndarray:
        """Position -> the item the vector belongs to."""
        return self._columns["item_ids"].values

    @property
    def ns_ids(self) -> np.ndarray:
        """Position -> index into `namespaces`."""
        return self._columns["ns_ids"].values

    @property
    def alive(self) -> np.ndarray:
        """Position -> False once the vector is deleted (a tombstone)."""
        return self._columns["alive"].values

    def _set_columns(self, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            self._columns[name] = _Column(self._columns[name].values.dtype.type, values)
        self._allowed.clear()

    @property
    def size(self) -> int:
        """Live vectors."""
        return self.allowed("")[1]

    def _namespace_id(self, ns: str) -> int:
        found = self._ns_lookup.get(ns)
        if found is None:
            found = len(self.namespaces)
            self.namespaces.append(ns)
            self._ns_lookup[ns] = found
        return found

    def add(
        self,
        vec_ids: np.ndarray,
        item_ids: np.ndarray,
        namespaces: list[str],
        vectors: np.ndarray,
    ) -> None:
        """Take in vectors (already normalised) that SQLite has committed."""
        if len(vec_ids) == 0:
            return
        start = len(self.vec_ids)
        batch = np.ascontiguousarray(vectors, dtype=np.float32)
        targets = [self.faiss] if self.coarse is None else [self.faiss, self.coarse]
        if self.coarse is not None and not self.coarse.is_trained:
            # Value ranges from the vectors at hand (a rebuild passes them all); vectors
            # added later outside those ranges are clipped, and the exact re-score fixes
            # their order among candidates.
            self.coarse.train(batch)
        if len(batch) >= 64:
            # Building (HNSW especially) parallelises well, unlike single queries.
            faiss.omp_set_num_threads(os.cpu_count() or 1)
            try:
                for target in targets:
                    target.add(batch)
            finally:
                faiss.omp_set_num_threads(1)
        else:
            for target in targets:
                target.add(batch)
        self._columns["vec_ids"].extend(vec_ids.astype(np.int64))
        self._columns["item_ids"].extend(item_ids.astype(np.int64))
        ns = np.fromiter((self._namespace_id(n) for n in namespaces), dtype=np.int32)
        self._columns["ns_ids"].extend(ns)
        self._columns["alive"].extend(np.ones(len(vec_ids), dtype=bool))
        for offset, vec_id in enumerate(vec_ids.tolist()):
            self._position_of[vec_id] = start + offset
        self.max_vec_id = max(self.max_vec_id, int(vec_ids.max()))
        self._allowed.clear()

    def remove(self, vec_ids: Iterable[int]) -> None:
        for vec_id in vec_ids:
            position = self._position_of.pop(int(vec_id), None)
            if position is not None:
                self.alive[position] = False
        self._allowed.clear()

    def needs_rebuild(self) -> bool:
        """Grown past the flat limit, or too many tombstones to carry."""
        live = self.size
        total = len(self.alive)
        if live > self._threshold_of(self.kind):
            return True  # grown past what this kind is for
        if self.kind_for(live * 2) != self.kind:
            return True  # shrunk to under half of this kind's range (hysteresis)
        return total > 1000 and (total - live) > 0.25 * total

    def _threshold_of(self, kind: IndexKind) -> int:
        """The most vectors an index of `kind` is meant to hold."""
        return {"flat": self.quantize_threshold, "sq8": self.hnsw_threshold}.get(kind, 2**62)

    def sync(self, added: VectorRows, deleted: list[tuple[int, int]]) -> None:
        """Take in what SQLite committed since this index last looked (any process):
        new vectors, then the deletion log's (seq, vec_id) entries; compact if due."""
        self.add(added.vec_ids, added.item_ids, added.namespaces, added.vectors)
        if deleted:
            self.remove(vec_id for _, vec_id in deleted)
            self.max_deletion_seq = deleted[-1][0]
        if self.needs_rebuild():
            self.compact()

    def compact(self) -> None:
        """Rebuild in place with only the live vectors, as the kind their count calls for."""
        positions = np.flatnonzero(self.alive)
        live = VectorRows(
            vec_ids=self.vec_ids[positions].copy(),
            item_ids=self.item_ids[positions].copy(),
            namespaces=[self.namespaces[i] for i in self.ns_ids[positions]],
            vectors=(
                self.faiss.reconstruct_batch(positions.astype(np.int64))
                if len(positions)
                else np.zeros((0, self.dims), dtype=np.float32)
            ),
        )
        marks = self.max_vec_id, self.max_deletion_seq
        self._reset(self.kind_for(len(positions)))
        self.add(live.vec_ids, live.item_ids, live.namespaces, live.vectors)
        self.max_vec_id, self.max_deletion_seq = marks

    @classmethod
    def build(
        cls,
        dims: int,
        rows: VectorRows,
        *,
        hnsw_threshold: int,
        exact_limit: int,
        quantize_threshold: int = QUANTIZE_THRESHOLD,
    ) -> VectorIndex:
        index = cls(
            dims,
            hnsw_threshold=hnsw_threshold,
            exact_limit=exact_limit,
            quantize_threshold=quantize_threshold,
        )
        index._reset(index.kind_for(len(rows.vec_ids)))
        index.add(rows.vec_ids, rows.item_ids, rows.namespaces, rows.vectors)
        return index

    # ---- search ----------------------------------------------------------------------
    def allowed_mask(self, ns_prefix: str | tuple[str, ...]) -> np.ndarray:
        """Live positions under the namespace prefix, or under any of several prefixes
        ("": every live position)."""
        return self.allowed(ns_prefix)[0]

    def allowed(self, ns_prefix: str | tuple[str, ...]) -> tuple[np.ndarray, int]:
        """`allowed_mask` and how many positions it allows, kept until the index changes
        (a search asks for both more than once: counting 10k positions took 40 us)."""
        cached = self._allowed.get(ns_prefix)
        if cached is not None:
            return cached
        prefixes = (ns_prefix,) if isinstance(ns_prefix, str) else ns_prefix
        if "" in prefixes:
            mask = self.alive
        else:
            ids = [i for i, ns in enumerate(self.namespaces) if ns.startswith(prefixes)]
            mask = np.isin(self.ns_ids, np.array(ids, dtype=np.int32)) & self.alive
        found = self._allowed[ns_prefix] = (mask, int(mask.sum()))
        return found

    def ranked(
        self, query: np.ndarray, ns_prefix: str | tuple[str, ...], *, first: int = 32
    ) -> Iterable[list[Hit]]:
        """Hits under the prefix (or any of several prefixes), best first, in growing
        batches.

        The caller consumes batches until it has enough items after de-duplicating
        multi-vector items and applying filters; each later batch continues the ranking,
        so nothing that matches is ever lost to post-filtering. `first`: how many hits
        the first batch should hold (what the caller expects to need: one scan then).
        """
        for batch in self._ranked(query, ns_prefix, first):
            yield _hits(*batch)

    def ranked_items(
        self, query: np.ndarray, ns_prefix: str | tuple[str, ...], *, first: int = 32
    ) -> Iterator[list[tuple[int, float]]]:
        """`ranked` as (item_id, score), each item once, at its best vector's place (max
        pooling over an item's vectors), without a `Hit` per vector: a search reads the
        first few of a batch of hundreds."""
        seen: set[int] = set()
        for _, item_ids, scores in self._ranked(query, ns_prefix, first):
            ids = item_ids.tolist()
            if len(set(ids)) < len(ids):  # an item with several vectors: its best one
                _, at = np.unique(item_ids, return_index=True)
                at.sort()
                item_ids, scores = item_ids[at], scores[at]
                ids = item_ids.tolist()
            pairs = zip(ids, scores.tolist(), strict=True)
            fresh = [pair for pair in pairs if pair[0] not in seen] if seen else list(pairs)
            seen.update(ids)
            if fresh:
                yield fresh

    def _ranked(
        self, query: np.ndarray, ns_prefix: str | tuple[str, ...], first: int
    ) -> Iterator[Batch]:
        mask, allowed = self.allowed(ns_prefix)
        if allowed == 0:
            return
        query = normalize_rows(query.reshape(1, -1))
        scan = self.scan_for(allowed, len(mask))
        if scan == "approximate":
            yield from self._faiss_batches(
                self.faiss, query, mask, allowed, approximate=True, first=first
            )
        elif scan == "quantized":
            assert self.coarse is not None
            yield from self._faiss_batches(
                self.coarse, query, mask, allowed, approximate=False, rerank=True, first=first
            )
        else:  # "tiny" or "exact": `_exact` tells them apart
            yield from self._exact(query, mask, allowed, first=first)

    def scan_for(self, allowed: int, positions: int | None = None) -> Scan:
        """How a search over `allowed` live vectors (of `positions`, tombstones included;
        default: all) is scored (the module docstring's rule)."""
        positions = len(self.alive) if positions is None else positions
        if allowed <= TINY_SUBSET and allowed * TINY_SHARE < positions:
            return "tiny"
        if self.kind == "hnsw":
            selective = allowed <= self.exact_limit or allowed < SELECTIVE_FRACTION * self.size
            return "exact" if selective else "approximate"
        return "quantized" if self.coarse is not None else "exact"

    def _flat_vectors(self) -> faiss.Index:
        """The exact (flat) index over every position: the index itself, or HNSW's storage."""
        if self.kind != "hnsw":
            return self.faiss
        return faiss.downcast_index(self.faiss.storage)  # type: ignore[attr-defined]

    def _exact(
        self, query: np.ndarray, mask: np.ndarray, allowed: int, *, first: int = 32
    ) -> Iterator[Batch]:
        """Exact ranking of the allowed positions: a few of many copied out and scored,
        else FAISS's scan of the allowed flat vectors."""
        if self.scan_for(allowed, len(mask)) == "tiny":
            yield from self._exact_tiny(query, np.flatnonzero(mask), first=first)
        else:
            yield from self._faiss_batches(
                self._flat_vectors(), query, mask, allowed, approximate=False, first=first
            )

    def _exact_tiny(
        self, query: np.ndarray, positions: np.ndarray, *, first: int = TINY_FIRST_SLICE
    ) -> Iterator[Batch]:
        """A handful of vectors: copy them out and score directly (cheaper than a scan),
        yielded in growing slices of the ranking (64, 256, ...)."""
        vectors = self.faiss.reconstruct_batch(positions.astype(np.int64))
        scores = vectors @ query[0]
        order = np.argsort(-scores, kind="stable")
        items = self.item_ids[positions]
        start, size = 0, max(TINY_FIRST_SLICE, first)
        while start < len(order):
            chunk = order[start : start + size]
            yield positions[chunk], items[chunk], scores[chunk]
            start += size
            size *= 4

    def _faiss_batches(
        self,
        index: faiss.Index,
        query: np.ndarray,
        mask: np.ndarray,
        allowed: int,
        *,
        approximate: bool,
        rerank: bool = False,
        first: int = 32,
    ) -> Iterator[Batch]:
        """Search `index` restricted to `mask`, widening k until the caller has enough.

        With `rerank` (the quantized copy), each batch of candidates is re-scored exactly
        from the flat vectors, so scores are exact cosines and near-ties are ordered right.
        """
        selector = None
        if allowed < len(mask):
            # faiss's Python wrapper takes the packed bitmap alone (its stubs list (n, bitmap))
            selector = faiss.IDSelectorBitmap(np.packbits(mask, bitorder="little"))  # type: ignore[call-arg,arg-type]
        k = max(first, 64 if rerank else 32)
        yielded = np.zeros(0, dtype=np.int64)
        while True:
            k = min(k, allowed)
            if approximate:
                params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, 2 * k))  # type: ignore[attr-defined]
            else:
                params = faiss.SearchParameters()
            if selector is not None:
                params.sel = selector
            found_scores, found = index.search(query, k, params=params)
            scores, positions = found_scores[0], found[0]
            # A wider search need not repeat the narrower one's order among equal scores,
            # so the new hits are those not yet yielded, not a slice.
            fresh = positions >= 0
            if len(yielded):
                fresh &= ~np.isin(positions, yielded)
            scores, positions = scores[fresh], positions[fresh]
            if len(positions) and rerank:
                exact = self.faiss.reconstruct_batch(positions.astype(np.int64)) @ query[0]
                order = np.argsort(-exact, kind="stable")
                positions, scores = positions[order], exact[order]
            if len(positions):
                yield positions, self.item_ids[positions], scores
                yielded = np.concatenate([yielded, positions])
            if k >= allowed:
                return
            if approximate and len(yielded) < k:
                # HNSW ran out of reachable neighbours: finish the ranking exactly.
                rest = mask.copy()
                rest[yielded] = False
                remaining = int(rest.sum())
                if remaining:
                    yield from self._exact(query, rest, remaining)
                return
            k *= 4

    # ---- persistence -----------------------------------------------------------------
    def save(self, path: Path, *, model: str) -> str:
        """Write atomically (a reader sees the old file or the new one, never half of one);
        returns the file's checksum, which the store records in SQLite."""
        parts = self._parts(model)
        checksum = _checksum(parts)
        buffer = io.BytesIO()
        arrays: dict[str, Any] = {
            **parts,
            "checksum": np.frombuffer(bytes.fromhex(checksum), dtype=np.uint8),
        }
        np.savez(buffer, allow_pickle=False, **arrays)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".index-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(buffer.getvalue())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return checksum

    def _parts(self, model: str) -> dict[str, np.ndarray]:
        """Every persisted part, as plain (never object) arrays: nothing needs pickle."""
        header = {
            "format_version": FORMAT_VERSION,
            "model": model,
            "kind": self.kind,
            "dims": self.dims,
            "namespaces": self.namespaces,
            "max_vec_id": self.max_vec_id,
            "max_deletion_seq": self.max_deletion_seq,
        }
        return {
            "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            "index": faiss.serialize_index(self.faiss),
            "coarse": (
                faiss.serialize_index(self.coarse)
                if self.coarse is not None
                else np.zeros(0, dtype=np.uint8)
            ),
            "vec_ids": self.vec_ids.astype(np.int64),
            "item_ids": self.item_ids.astype(np.int64),
            "ns_ids": self.ns_ids.astype(np.int32),
            "alive": self.alive.astype(np.bool_),
        }

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        dims: int,
        model: str,
        hnsw_threshold: int,
        exact_limit: int,
        quantize_threshold: int = QUANTIZE_THRESHOLD,
        checksum: str | None = None,
    ) -> VectorIndex | None:
        """The saved index, or None (with a warning) when it is missing, damaged, for
        another model, or not the file whose `checksum` the store recorded.

        Loading never unpickles: a crafted file can at worst be refused.
        """
        if not path.exists():
            return None
        try:
            index = cls._read(path, dims=dims, model=model, expected=checksum)
        except Exception as exc:  # any damage means: rebuild from SQLite
            integrity_log.warning(
                "vector index %s unusable (%s); rebuilding it from SQLite", path, exc
            )
            return None
        index.hnsw_threshold = hnsw_threshold
        index.exact_limit = exact_limit
        index.quantize_threshold = quantize_threshold
        return index

    @classmethod
    def _read(cls, path: Path, *, dims: int, model: str, expected: str | None) -> VectorIndex:
        with path.open("rb") as handle:
            if handle.read(4) != b"PK\x03\x04":  # np.savez writes a zip archive
                raise ValueError("not an index file (not the archive this store writes)")
        with np.load(path, allow_pickle=False) as data:
            parts = {name: np.asarray(data[name]) for name in _PART_NAMES}
            stored = bytes(np.asarray(data["checksum"], dtype=np.uint8)).hex()
        if _checksum(parts) != stored:
            raise ValueError("checksum mismatch")
        if expected is not None and stored != expected:
            raise ValueError("not the index file this store saved last")
        header = json.loads(bytes(parts["header"]).decode())
        if header.get("format_version") != FORMAT_VERSION:
            raise ValueError("unknown format version")
        if header.get("model") != model or header.get("dims") != dims:
            raise ValueError("saved for another embedding model")
        kind = header.get("kind")
        if kind not in get_args(IndexKind):
            raise ValueError(f"unknown index kind {kind!r}")
        index = cls(dims)
        index.kind = cast(IndexKind, kind)
        index.faiss = faiss.deserialize_index(parts["index"])
        index.coarse = None
        if index.kind == "sq8":
            index.coarse = faiss.deserialize_index(parts["coarse"])
            if index.coarse.ntotal != index.faiss.ntotal:
                raise ValueError("quantized copy out of step with the vectors")
        if index.faiss.d != dims:
            raise ValueError(f"index holds {index.faiss.d}-dim vectors, expected {dims}")
        index._set_columns(
            vec_ids=parts["vec_ids"],
            item_ids=parts["item_ids"],
            ns_ids=parts["ns_ids"],
            alive=parts["alive"],
        )
        index.namespaces = [str(n) for n in header.get("namespaces", [])]
        index.max_vec_id = int(header["max_vec_id"])
        index.max_deletion_seq = int(header["max_deletion_seq"])
        index._check_shape()
        index._ns_lookup = {ns: i for i, ns in enumerate(index.namespaces)}
        index._position_of = {
            int(v): p for p, v in enumerate(index.vec_ids.tolist()) if index.alive[p]
        }
        if len(index._position_of) != index.size:
            raise ValueError("a vector id appears at two live positions")
        return index

    def _check_shape(self) -> None:
        sizes = {len(self.vec_ids), len(self.item_ids), len(self.ns_ids), len(self.alive)}
        if sizes != {self.faiss.ntotal}:
            raise ValueError("bookkeeping arrays and vectors differ in length")
        ns_ids = self.ns_ids
        if len(ns_ids) and (int(ns_ids.min()) < 0 or int(ns_ids.max()) >= len(self.namespaces)):
            raise ValueError("a namespace id points outside the namespace table")


_PART_NAMES = ("header", "index", "coarse", "vec_ids", "item_ids", "ns_ids", "alive")


def _checksum(parts: dict[str, np.ndarray]) -> str:
    """SHA-256 over every part: name, dtype, shape and bytes, in a fixed order."""
    digest = hashlib.sha256()
    for name in _PART_NAMES:
        part = np.ascontiguousarray(parts[name])
        digest.update(f"{name}|{part.dtype.str}|{part.shape}|".encode())
        digest.update(part.tobytes())
    return digest.hexdigest()
