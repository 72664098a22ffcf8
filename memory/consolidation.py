"""Consolidation, the seed's "sleep": tidy a team's memory between conversations.

- merge near-duplicates within each namespace (the later one is absorbed into the
  earlier one, which gains its mentions and some confidence);
- decay the confidence of old implicit or inferred memories never reinforced (said once,
  long ago, never confirmed): x `decay_factor` per `decay_after_days` of age;
- resolve conflicts across the team: memories of different agents (or the shared scope)
  that give different values for the same subject and attribute; the most recent
  statement wins (ties: the more confident), the others are invalidated and linked to it.
Every change is reported.
"""

from __future__ import annotations

from datetime import datetime

from langgraph.store.base import BaseStore

from memory.manager import ConsolidationReport, memories_in, reinforced_confidence
from memory.models import Memory, content_key, utcnow
from memory.namespaces import Namespace, team_prefix


def _memories(store: BaseStore, namespace: Namespace) -> list[Memory]:
    return memories_in(store, namespace, {"valid": True})


def _memory_namespaces(store: BaseStore, team: str) -> list[Namespace]:
    prefix = team_prefix(team)
    return [
        ns
        for ns in store.list_namespaces(prefix=prefix, limit=10_000)
        if ns[2:3] == ("shared",) or ns[2:3] == ("agent",)
    ]


def _put(store: BaseStore, namespace: Namespace, memory: Memory) -> None:
    store.put(namespace, memory.memory_id, memory.to_store_value())


def _merge_duplicates(
    store: BaseStore, namespace: Namespace, threshold: float, report: ConsolidationReport
) -> None:
    absorbed: set[str] = set()
    for memory in sorted(_memories(store, namespace), key=lambda m: m.created_at):
        if memory.memory_id in absorbed:
            continue
        for hit in store.search(
            namespace, query=memory.content, filter={"valid": True, "type": memory.type}, limit=5
        ):
            other = Memory.from_store_value(hit.value)
            if other.memory_id == memory.memory_id or other.memory_id in absorbed:
                continue
            same_slot = (other.subject, other.attribute) == (memory.subject, memory.attribute)
            close = hit.score is not None and hit.score >= threshold
            exact = content_key(other.content) == content_key(memory.content)
            if not (exact or (close and same_slot)) or other.created_at < memory.created_at:
                continue
            now = utcnow()
            memory = memory.model_copy(
                update={
                    "mention_count": memory.mention_count + other.mention_count,
                    "confidence": reinforced_confidence(memory.confidence, other.confidence),
                    "updated_at": now,
                }
            )
            _put(store, namespace, memory)
            retired = other.model_copy(
                update={"invalidated_at": now, "superseded_by": memory.memory_id}
            )
            _put(store, namespace, retired)
            absorbed.add(other.memory_id)
            report.merged.append((other.memory_id, memory.memory_id))


def _decay(
    store: BaseStore,
    namespace: Namespace,
    now: datetime,
    after_days: float,
    factor: float,
    report: ConsolidationReport,
) -> None:
    for memory in _memories(store, namespace):
        if memory.mechanism not in ("implicit", "inferred") or memory.mention_count > 1:
            continue
        periods = int((now - memory.updated_at).total_seconds() // (after_days * 86_400))
        if periods < 1:
            continue
        after = round(memory.confidence * factor**periods, 4)
        # updated_at moves on, so the same period is not charged twice
        _put(store, namespace, memory.model_copy(update={"confidence": after, "updated_at": now}))
        report.decayed.append((memory.memory_id, memory.confidence, after))


def _resolve_conflicts(
    store: BaseStore, namespaces: list[Namespace], report: ConsolidationReport
) -> None:
    slots: dict[tuple[str, str], list[tuple[Memory, Namespace]]] = {}
    for namespace in namespaces:
        for memory in _memories(store, namespace):
            if memory.subject and memory.attribute:
                slots.setdefault((memory.subject, memory.attribute), []).append((memory, namespace))
    for holders in slots.values():
        values = {content_key(m.value or m.content) for m, _ in holders}
        if len(values) < 2:
            continue
        winner, _ = max(holders, key=lambda h: (h[0].valid_from, h[0].confidence))
        win_value = content_key(winner.value or winner.content)
        now = utcnow()
        for memory, namespace in holders:
            if content_key(memory.value or memory.content) == win_value:
                continue
            retired = memory.model_copy(
                update={"invalidated_at": now, "superseded_by": winner.memory_id, "updated_at": now}
            )
            _put(store, namespace, retired)
            report.resolved.append((memory.memory_id, winner.memory_id))


def consolidate_team(
    store: BaseStore,
    team: str,
    *,
    now: datetime | None = None,
    merge_threshold: float = 0.92,
    decay_after_days: float = 30.0,
    decay_factor: float = 0.9,
) -> ConsolidationReport:
    """Run the three passes over every memory namespace of `team`; see the module doc."""
    now = now or utcnow()
    report = ConsolidationReport()
    namespaces = _memory_namespaces(store, team)
    for namespace in namespaces:
        _merge_duplicates(store, namespace, merge_threshold, report)
        _decay(store, namespace, now, decay_after_days, decay_factor, report)
    _resolve_conflicts(store, namespaces, report)
    return report
