"""LoCoMo retrieval eval: turn-level evidence recall at k = 5, 10, 25, 50 (see locomo_data).

Two modes:
- ``turns``: every dialog turn is one unit in a FAISS store (one per conversation, in a
  temporary directory), retrieved by hybrid search: dense MiniLM plus BM25 (the store's
  FTS5 index), fused by weighted reciprocal rank fusion. The defaults of `TurnsConfig` are
  the best configuration measured on the dev split; each ablation step is an option, and
  `ABLATION` lists the steps with the command that reproduces each.
- ``memory``: each turn goes through memory extraction (memory/extraction.py) and the
  memory manager; a hit maps back to the turns it came from (``provenance.message_id`` is
  the dia_id). Each turn is also stored as one episodic memory holding the rendered turn
  (``--raw-turns uncovered``: only turns that yield no memory), so every turn stays
  retrievable.

Turn and query embeddings are cached on disk (keyed by model and text hash, under
reports/.cache by default) so that ablations re-embed only texts they have not seen.
"""
