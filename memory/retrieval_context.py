"""Ranking by conversational context: a memory is read with the turns around it.

Two features of `MemoryManager.search`, applied to the scored pool (no store call, one
pass over hits already read), both measured on LoCoMo (`python -m evals locomo --mode
memory`, reports/locomo_memory.md):

- neighbours: a memory stated one turn before or after a well-matching memory of the same
  thread (`Provenance.thread_id` and `Provenance.turn`) gains `NEIGHBOUR_SHARE` of the best
  score at each neighbouring turn. The answer to a question is often the reply to the
  turn that matches it ("Where did you go?" / "To the lake."), and the reply alone
  matches nothing.
- speaker: when the query names the speaker of some hits (`Provenance.speaker`, by the
  words of its name: "Caroline", "customer:12345" by "12345") and names only one of the
  pool's speakers, that speaker's memories weigh `SPEAKER_MATCH` times more ("What did
  Caroline research?" is about what Caroline said, not what was said to her).

Memories without a turn or a speaker are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from memory.manager import ScoredMemory

NEIGHBOUR_SHARE: Final = 0.3
"""Share of a neighbouring turn's best score added to a memory's own (LoCoMo dev split)."""
SPEAKER_MATCH: Final = 1.3
"""Weight of the memories of the one speaker a query names (LoCoMo dev split)."""

_WORD = re.compile(r"[^\W_]+")


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


def boost_named_speaker(
    query: str, hits: Sequence[ScoredMemory], weight: float = SPEAKER_MATCH
) -> list[ScoredMemory]:
    """`hits` with the memories of the one speaker `query` names weighted by `weight`."""
    words = {w.casefold() for w in _WORD.findall(query)}
    speakers = {h.memory.provenance.speaker for h in hits} - {None}
    named = {s for s in speakers if s is not None and _named(s, words)}
    if len(named) != 1:
        return list(hits)
    (speaker,) = named
    return [
        replace(h, score=h.score * weight) if h.memory.provenance.speaker == speaker else h
        for h in hits
    ]


def _place(hit: ScoredMemory) -> tuple[str, int] | None:
    provenance = hit.memory.provenance
    if provenance.thread_id is None or provenance.turn is None:
        return None
    return provenance.thread_id, provenance.turn


def _named(speaker: str, words: set[str]) -> bool:
    """Whether every word of the speaker's name (after any "kind:" prefix) is in `words`."""
    name = speaker.rsplit(":", 1)[-1]
    parts = [w.casefold() for w in _WORD.findall(name)]
    return bool(parts) and all(p in words for p in parts)
