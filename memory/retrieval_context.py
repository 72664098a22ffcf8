"""Ranking by conversational context: a memory is read with the turns around it.

One feature of `MemoryManager.search`, applied to the scored pool (no store call, one pass
over hits already read), measured on LoCoMo (`python -m evals locomo --mode memory`,
reports/locomo_memory.md):

- neighbours: a memory stated up to three turns before or after a well-matching memory
  of the same thread (`Provenance.thread_id` and `Provenance.turn`) gains a share of that
  turn's evidence, `NEIGHBOUR_SHARES` by distance (context fades with each turn). The
  answer to a question is often the reply to the turn that matches it ("Where did you
  go?" / "To the lake."), or a turn or two further on, and the reply alone matches
  nothing.
- evidence is rank-based: a turn lends its fused rank score (dense and BM25 by reciprocal
  rank, with the memory's own trust, recency, period and type weights), not its full
  score. The full score also holds the query's cosine similarity, which every memory has
  a share of: lent from three turns on each side, it lifted every memory of a long
  conversation alike (LoCoMo dev R@10 73.8 lending the full score, 75.7 lending the
  evidence, at the same shares).

Memories without a thread or a turn are left as they are. Weighing up the memories of the
one speaker a query names (as the turns mode's `--speaker-boost` does) was measured too and
left out: in memory mode it lowered R@10 (quick split: 68.8 -> 67.6 with neighbours,
62.1 -> 55.4 without).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import Field, replace
from typing import Any, ClassVar, Final, Protocol, TypeVar


class Placed(Protocol):
    """A scored hit (a dataclass) that knows its place in a thread, if it has one."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def score(self) -> float: ...

    @property
    def place(self) -> tuple[str, int] | None: ...


HitT = TypeVar("HitT", bound=Placed)

NEIGHBOUR_SHARES: Final[tuple[float, ...]] = (0.3, 0.2, 0.1)
"""Share of the best evidence one, two and three turns away added to a memory's score
(LoCoMo memory mode dev R@10, with the manager's BM25 weight 1.5: 0.3 at one turn only
72.4 -> (0.3, 0.15) 75.2 -> (0.3, 0.2, 0.1) 75.7; (0.25, 0.25, 0.25) 75.5; (0.6, 0.3)
71.2: too much context drowns the turn's own match)."""


def spread_to_neighbours(
    hits: Sequence[HitT],
    evidence: Sequence[float] | None = None,
    shares: Sequence[float] = NEIGHBOUR_SHARES,
) -> list[HitT]:
    """`hits` with each one's score raised by `shares[d - 1]` of the best evidence `d`
    turns away in its thread. `evidence[i]` is what `hits[i]` lends its neighbours (its
    score when not given); both are read before spreading, so context does not feed on
    itself."""
    if evidence is not None and len(evidence) != len(hits):
        raise ValueError(f"{len(evidence)} evidence values for {len(hits)} hits")
    lent = evidence if evidence is not None else [hit.score for hit in hits]
    best: dict[tuple[str, int], float] = {}
    for hit, value in zip(hits, lent, strict=True):
        place = hit.place
        if place is not None:
            best[place] = max(best.get(place, 0.0), value)
    if not best or not any(shares):
        return list(hits)
    out: list[HitT] = []
    for hit in hits:
        place = hit.place
        if place is None:
            out.append(hit)
            continue
        thread, turn = place
        context = sum(
            share * (best.get((thread, turn - d), 0.0) + best.get((thread, turn + d), 0.0))
            for d, share in enumerate(shares, start=1)
        )
        out.append(replace(hit, score=hit.score + context) if context else hit)
    return out
