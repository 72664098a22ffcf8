"""Ranking by conversational context: a memory is read with the turns around it.

One feature of `MemoryManager.search`, applied to the scored pool (no store call, one pass
over hits already read), measured on LoCoMo (`python -m evals locomo --mode memory`,
reports/locomo_memory.md):

- neighbours: a memory stated one turn before or after a well-matching memory of the same
  thread (`Provenance.thread_id` and `Provenance.turn`) gains `NEIGHBOUR_SHARE` of the best
  score at each neighbouring turn. The answer to a question is often the reply to the
  turn that matches it ("Where did you go?" / "To the lake."), and the reply alone
  matches nothing.

Memories without a thread or a turn are left as they are. Weighing up the memories of the
one speaker a query names (as the turns mode's `--speaker-boost` does) was measured too and
left out: in memory mode it lowered R@10 (quick split: 68.8 -> 67.6 with neighbours,
62.1 -> 55.4 without).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from memory.manager import ScoredMemory

NEIGHBOUR_SHARE: Final = 0.3
"""Share of a neighbouring turn's best score added to a memory's own (LoCoMo: the turns
mode's measured value; 0.5 measured the same within noise in memory mode)."""


def spread_to_neighbours(
    hits: Sequence[ScoredMemory], share: float = NEIGHBOUR_SHARE
) -> list[ScoredMemory]:
    """`hits` with each one's score raised by `share` of the best score one turn away in
    its thread (scores before spreading, so context does not feed on itself)."""
    best: dict[tuple[str, int], float] = {}
    for hit in hits:
        place = _place(hit)
        if place is not None:
            best[place] = max(best.get(place, 0.0), hit.score)
    if not best or share == 0:
        return list(hits)
    out: list[ScoredMemory] = []
    for hit in hits:
        place = _place(hit)
        if place is None:
            out.append(hit)
            continue
        thread, turn = place
        context = best.get((thread, turn - 1), 0.0) + best.get((thread, turn + 1), 0.0)
        out.append(replace(hit, score=hit.score + share * context) if context else hit)
    return out


def _place(hit: ScoredMemory) -> tuple[str, int] | None:
    provenance = hit.memory.provenance
    if provenance.thread_id is None or provenance.turn is None:
        return None
    return provenance.thread_id, provenance.turn
