"""The A2A bridge: messages between agents, the team's message log, and memory sync.

- `A2AMessage`: one agent-to-agent message (a task, its result, or a memory sync).
- `A2ALog`: the team's append-only record of every message, kept in the same LangGraph
  store as the memories under ``("team", team, "a2a")`` with ``index=False``. Agents'
  memory searches read ``("team", team, "shared")`` and ``("team", team, "agent", name)``
  only, so the log never shows up among memories, on any backend.
- `A2ABridge`: copies a memory into other agents' private namespaces, with the seed's
  safeguards (lesson 4): messages deduplicated by id, confidence x 0.9 per hop, never
  back to the origin agent, hops bounded, and the source always tracked in provenance.
  Whether a received copy may change what the target already holds is memory/trust.py's
  call (through MemoryManager.add): a copy never supersedes first-hand knowledge, and a
  copy keeps its origin's role (a customer's statement stays a customer's).

A synced copy has a deterministic ``memory_id`` (origin memory + receiving agent), so a
memory reaching an agent twice, by a repeated sync or by two paths, stays one copy.

Copies stay true to their source:
- the bridge records where each copy went (`CopyRecord`, under ``("team", team,
  "copies")``): which agent got which origin memory, and where it landed (its own copy,
  or a memory the agent already held that the copy reinforced);
- delivering a memory the target already got never reinforces it again: the copy is set
  to the source's current state instead (confidence = source x decay, invalidated when
  the source is). Only distinct statements reinforce. `follow` re-sends a changed memory
  (reinforced, superseded, merged) to every agent holding a copy, through the log;
- a sync is checked on receipt against the store: the sender must hold the memory it
  sends, with the same content and at least the confidence it claims; the message's hops
  must be the memory's hops + 1; origin and hops must agree. A refused delivery is logged
  with its reason and changes nothing, so a forged sync cannot raise confidence;
- the floor: a copy whose confidence would fall below `min_copy_confidence` (by default
  the retrieval floor, 0.7) is not sent (reason "below floor"): the receiver's search
  would never show it, so it would be dead weight. The source itself stays readable where
  it lives (an implicit fact in the shared scope is read by every agent anyway).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

from langgraph.store.base import BaseStore, Item
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
)

from memory import trust
from memory.manager import DEFAULT_MIN_CONFIDENCE, AddAction, MemoryManager
from memory.models import SYNC_DECAY, Memory, Provenance, content_key, utcnow
from memory.namespaces import a2a_log_namespace, sync_copies_namespace

logger = logging.getLogger(__name__)

ContentType = Literal[
    "application/vnd.a2a.task+json",
    "application/vnd.a2a.result+json",
    "application/vnd.a2a.memory-sync+json",
    "application/vnd.a2a.memory-forget+json",
]
TASK: Final = "application/vnd.a2a.task+json"
"""A coordinator asks a specialist to do something."""
RESULT: Final = "application/vnd.a2a.result+json"
"""A specialist answers a task (same correlation id as the task)."""
MEMORY_SYNC: Final = "application/vnd.a2a.memory-sync+json"
"""An agent hands a memory to another agent (the seed's content type)."""
MEMORY_FORGET: Final = "application/vnd.a2a.memory-forget+json"
"""Memories (and their copies) an agent no longer holds, by id only: a forget request."""
CONTENT_TYPES: Final[tuple[ContentType, ...]] = get_args(ContentType)

DEFAULT_MAX_HOPS: Final = 3
"""A copy this many syncs away from the original is not forwarded again."""

SkipReason = Literal[
    "self",
    "origin",
    "max hops",
    "invalidated",
    "duplicate message",
    "synced",
    "below floor",
    "hops mismatch",
    "unknown memory",
    "forged",
]
"""Why a memory was not copied to a target:

- ``self``: the target is the sender;
- ``origin``: the target is the agent the memory came from (its origin or its sender);
- ``max hops``: the memory is already `max_hops` syncs from the original;
- ``invalidated``: the memory was superseded or retracted;
- ``duplicate message``: this A2A message (same message_id) was already received;
- ``synced``: the target already holds its copy of this memory, in the same state;
- ``below floor``: the copy's confidence would be under the bridge's `min_copy_confidence`;
- ``hops mismatch``: the message's hops are not the carried memory's hops + 1, or the
  memory's hops and origin disagree (an original with an origin, a copy without one);
- ``unknown memory``: the sender does not hold the memory it sends;
- ``forged``: the carried memory differs from the sender's (other content, or a higher
  confidence than the sender has).
"""

_PAGE = 500
"""Log items fetched per store call when reading."""


def _check_agent(role: str, name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{role} must be a non-empty agent name, got {name!r}")
    return name


def _as_utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


class A2AMessage(BaseModel):
    """One agent-to-agent message, as logged and as delivered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1)
    """Unique per message: receiving the same id twice is a no-op."""
    source_agent: str
    target_agent: str
    content_type: ContentType
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    """The body, a JSON object (for a memory sync: see `MemorySyncPayload`)."""
    created: datetime = Field(default_factory=utcnow)
    hops: int = Field(default=0, ge=0)
    """For a memory sync: how many syncs the carried memory has made, this one included."""
    correlation_id: str | None = None
    """Ties a task to its result, and sync messages to the turn that caused them."""

    @field_validator("source_agent", "target_agent")
    @classmethod
    def _agent_named(cls, name: str) -> str:
        return _check_agent("an A2A message's agent", name)

    @field_validator("created")
    @classmethod
    def _created_utc(cls, created: datetime) -> datetime:
        return _as_utc(created, "created")


class MemorySyncPayload(BaseModel):
    """The body of a memory-sync message (the seed's fields)."""

    model_config = ConfigDict(extra="forbid")

    memories: list[Memory] = Field(min_length=1)
    source_confidence: float = Field(ge=0.0, le=1.0)
    """The sender's confidence; each copy gets the carried memory's confidence x decay."""
    sync_timestamp: datetime

    def to_json(self) -> dict[str, JsonValue]:
        return self.model_dump(mode="json")


def memory_sync_message(
    memory: Memory,
    *,
    source_agent: str,
    target_agent: str,
    correlation_id: str | None = None,
) -> A2AMessage:
    """The A2A message that hands `memory` from `source_agent` to `target_agent`."""
    now = utcnow()
    payload = MemorySyncPayload(
        memories=[memory], source_confidence=memory.confidence, sync_timestamp=now
    )
    return A2AMessage(
        source_agent=source_agent,
        target_agent=target_agent,
        content_type=MEMORY_SYNC,
        payload=payload.to_json(),
        created=now,
        hops=memory.provenance.hops + 1,
        correlation_id=correlation_id,
    )


def synced_copy_id(origin_memory_id: str, agent: str) -> str:
    """The memory_id of `agent`'s copy of the memory first stored as `origin_memory_id`."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"a2a-sync:{origin_memory_id}:{agent}").hex


@dataclass(frozen=True)
class _ReadQuery:
    """A validated `A2ALog.read` request: store-side filters plus what is checked here."""

    since: datetime | None
    until: datetime | None
    agent: str | None
    content_type: ContentType | None
    correlation_id: str | None
    limit: int

    @classmethod
    def build(cls, **kwargs: Any) -> _ReadQuery:
        query = cls(**kwargs)
        if not isinstance(query.limit, int) or query.limit <= 0:
            raise ValueError(f"limit must be a positive integer, got {query.limit!r}")
        if query.content_type is not None and query.content_type not in CONTENT_TYPES:
            raise ValueError(
                f"unknown content type {query.content_type!r}; use one of {list(CONTENT_TYPES)}"
            )
        if query.agent is not None:
            _check_agent("agent", query.agent)
        since = _as_utc(query.since, "since") if query.since else None
        until = _as_utc(query.until, "until") if query.until else None
        return cls(since, until, query.agent, query.content_type, query.correlation_id, query.limit)

    def store_filters(self) -> list[dict[str, str]]:
        """Equality filters every backend evaluates; an agent is a sender OR a receiver."""
        base: dict[str, str] = {}
        if self.content_type is not None:
            base["content_type"] = self.content_type
        if self.correlation_id is not None:
            base["correlation_id"] = self.correlation_id
        if self.agent is None:
            return [base]
        return [{**base, "source_agent": self.agent}, {**base, "target_agent": self.agent}]

    def select(self, messages: Iterable[A2AMessage]) -> list[A2AMessage]:
        """Time range [since, until), oldest first, at most `limit`."""
        unique = {m.message_id: m for m in messages}.values()
        kept = [
            m
            for m in unique
            if (self.since is None or m.created >= self.since)
            and (self.until is None or m.created < self.until)
        ]
        kept.sort(key=lambda m: (m.created, m.message_id))
        return kept[: self.limit]


def _message_of(item: Item) -> A2AMessage:
    try:
        return A2AMessage.model_validate(item.value)
    except ValidationError as exc:
        raise ValueError(f"A2A log entry {item.namespace}/{item.key} is malformed: {exc}") from exc


class A2ALog:
    """The team's append-only A2A message log, in a LangGraph store.

    Appends are idempotent by message_id (the first version of a message wins). Two
    processes appending the same new message at once may both be told it was new; the
    log still holds it once, since the store key is the message_id.
    """

    def __init__(self, store: BaseStore, team: str) -> None:
        self.store = store
        self.team = team
        self.namespace = a2a_log_namespace(team)

    def append(self, message: A2AMessage) -> bool:
        """Record `message`; False (and nothing written) if its message_id is already logged."""
        if self.store.get(self.namespace, message.message_id) is not None:
            return False
        self.store.put(
            self.namespace, message.message_id, message.model_dump(mode="json"), index=False
        )
        return True

    async def aappend(self, message: A2AMessage) -> bool:
        if await self.store.aget(self.namespace, message.message_id) is not None:
            return False
        await self.store.aput(
            self.namespace, message.message_id, message.model_dump(mode="json"), index=False
        )
        return True

    def redact(self, message: A2AMessage, memory_ids: Iterable[str], reason: str) -> A2AMessage:
        """Replace a logged message's payload with a redaction notice (forgetting).

        Who sent what to whom, when, and its type stay; the content goes. The notice
        names the forgotten memories by id only. This is the log's one rewrite.
        """
        redacted = message.model_copy(
            update={
                "payload": {
                    "redacted": True,
                    "reason": reason,
                    "redacted_at": utcnow().isoformat(),
                    "memory_ids": sorted(set(memory_ids)),
                }
            }
        )
        self.store.put(
            self.namespace, message.message_id, redacted.model_dump(mode="json"), index=False
        )
        return redacted

    def get(self, message_id: str) -> A2AMessage | None:
        item = self.store.get(self.namespace, message_id)
        return None if item is None else _message_of(item)

    async def aget(self, message_id: str) -> A2AMessage | None:
        item = await self.store.aget(self.namespace, message_id)
        return None if item is None else _message_of(item)

    def read(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        agent: str | None = None,
        content_type: ContentType | None = None,
        correlation_id: str | None = None,
        limit: int = 1000,
    ) -> list[A2AMessage]:
        """Messages created in [since, until), sent or received by `agent`, of
        `content_type`, with `correlation_id` (each filter only when given); oldest first,
        at most `limit` (the earliest ones: pass `since` to read on)."""
        query = _ReadQuery.build(
            since=since,
            until=until,
            agent=agent,
            content_type=content_type,
            correlation_id=correlation_id,
            limit=limit,
        )
        found: list[A2AMessage] = []
        for store_filter in query.store_filters():
            offset = 0
            while True:
                page = self.store.search(
                    self.namespace, filter=store_filter, limit=_PAGE, offset=offset
                )
                found.extend(_message_of(item) for item in page)
                if len(page) < _PAGE:
                    break
                offset += _PAGE
        return query.select(found)

    async def aread(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        agent: str | None = None,
        content_type: ContentType | None = None,
        correlation_id: str | None = None,
        limit: int = 1000,
    ) -> list[A2AMessage]:
        """`read`, for graphs that run async."""
        query = _ReadQuery.build(
            since=since,
            until=until,
            agent=agent,
            content_type=content_type,
            correlation_id=correlation_id,
            limit=limit,
        )
        found: list[A2AMessage] = []
        for store_filter in query.store_filters():
            offset = 0
            while True:
                page = await self.store.asearch(
                    self.namespace, filter=store_filter, limit=_PAGE, offset=offset
                )
                found.extend(_message_of(item) for item in page)
                if len(page) < _PAGE:
                    break
                offset += _PAGE
        return query.select(found)


SyncAction = AddAction | Literal["updated", "unchanged"]
"""What the target ended up with: an `AddAction` for a first delivery; for a memory it
already got, "updated" (its copy now follows the source) or "unchanged"."""


class CopyRecord(BaseModel):
    """Where one agent's copy of one origin memory went (kept by the bridge)."""

    model_config = ConfigDict(extra="forbid")

    origin_memory_id: str
    agent: str
    memory_id: str
    """The memory that holds it at the agent: its own copy, or (action "reinforced" or
    "merged") a memory the agent already had."""
    action: AddAction
    message_id: str
    """The sync message that first delivered it."""
    hops: int = Field(ge=1)

    @property
    def is_own_copy(self) -> bool:
        return self.action in ("added", "superseded")


def copy_record_key(origin_memory_id: str, agent: str) -> str:
    return f"{origin_memory_id}:{agent}"


@dataclass(frozen=True)
class SyncOutcome:
    """What happened to one memory for one target."""

    target: str
    source_memory_id: str
    """The memory that was offered (the sender's copy)."""
    status: Literal["copied", "skipped"]
    reason: SkipReason | None = None
    """Why it was skipped (None when copied)."""
    message_id: str | None = None
    """The sync message that carried it (None when skipped before sending)."""
    stored: Memory | None = None
    """The target's memory after the sync: the new copy, or the memory the manager
    reinforced or merged it into."""
    action: SyncAction | None = None
    """What happened at the target: "added" unless the target already held the same fact
    (then "reinforced" or "merged", once per origin memory), or had got it before
    ("updated" or "unchanged")."""


@dataclass(frozen=True)
class SyncReport:
    """Per target: copied, or skipped with a reason."""

    outcomes: tuple[SyncOutcome, ...] = field(default_factory=tuple)

    @property
    def copied(self) -> tuple[SyncOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "copied")

    @property
    def skipped(self) -> tuple[SyncOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "skipped")

    def for_target(self, target: str) -> SyncOutcome:
        """The (first) outcome for `target`."""
        for outcome in self.outcomes:
            if outcome.target == target:
                return outcome
        raise KeyError(f"no sync outcome for target {target!r}")

    def __add__(self, other: SyncReport) -> SyncReport:
        return SyncReport(self.outcomes + other.outcomes)


class A2ABridge:
    """Sends memories between a team's agents and logs every A2A message.

    Args:
        store: the LangGraph store holding the team's memories and its A2A log.
        team: the team's name.
        max_hops: a copy this many syncs from the original is not forwarded.
        decay: a copy's confidence is its sender's times this (the seed's 0.9).
        min_copy_confidence: a copy that would be less trusted than this is not sent
            (the receiver's search would never show it); 0 sends every copy.
    """

    def __init__(
        self,
        store: BaseStore,
        team: str,
        *,
        max_hops: int = DEFAULT_MAX_HOPS,
        decay: float = SYNC_DECAY,
        min_copy_confidence: float = DEFAULT_MIN_CONFIDENCE,
        agents: Collection[str] | None = None,
    ) -> None:
        if not isinstance(max_hops, int) or max_hops < 1:
            raise ValueError(f"max_hops must be an integer >= 1, got {max_hops!r}")
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"decay must be within (0, 1], got {decay!r}")
        if not 0.0 <= min_copy_confidence <= 1.0:
            raise ValueError(
                f"min_copy_confidence must be within [0, 1], got {min_copy_confidence!r}"
            )
        self.store = store
        self.team = team
        self.max_hops = max_hops
        self.decay = decay
        self.min_copy_confidence = min_copy_confidence
        self.agents = frozenset(agents) if agents is not None else None
        """The team's agents: a sync to or from anyone else is refused (None: unchecked)."""
        self.log = A2ALog(store, team)
        self.copies_namespace = sync_copies_namespace(team)
        self._managers: dict[str, MemoryManager] = {}

    def manager(self, agent: str) -> MemoryManager:
        """The memory manager that writes `agent`'s copies (one per agent, reused)."""
        if agent not in self._managers:
            self._managers[agent] = MemoryManager(self.store, team=self.team, agent=agent)
        return self._managers[agent]

    def send(self, message: A2AMessage) -> bool:
        """Log a task or result message; False if that message_id was already logged."""
        _check_not_sync(message)
        return self.log.append(message)

    async def asend(self, message: A2AMessage) -> bool:
        _check_not_sync(message)
        return await self.log.aappend(message)

    # ---- where copies went -----------------------------------------------------------
    def copy_record(self, origin_memory_id: str, agent: str) -> CopyRecord | None:
        item = self.store.get(self.copies_namespace, copy_record_key(origin_memory_id, agent))
        return None if item is None else CopyRecord.model_validate(item.value)

    def copies_of(self, origin_memory_id: str) -> list[CopyRecord]:
        """Every agent that got a copy of the memory first stored as `origin_memory_id`."""
        found: list[CopyRecord] = []
        offset = 0
        while True:
            page = self.store.search(
                self.copies_namespace,
                filter={"origin_memory_id": origin_memory_id},
                limit=_PAGE,
                offset=offset,
            )
            found += [CopyRecord.model_validate(item.value) for item in page]
            if len(page) < _PAGE:
                return found
            offset += _PAGE

    def drop_copy_records(self, origin_memory_id: str) -> int:
        """Forget where copies of `origin_memory_id` went (when the memory is forgotten)."""
        records = self.copies_of(origin_memory_id)
        for record in records:
            self.store.delete(
                self.copies_namespace, copy_record_key(record.origin_memory_id, record.agent)
            )
        return len(records)

    def _record(
        self, memory: Memory, message: A2AMessage, landed: Memory, action: AddAction
    ) -> None:
        record = CopyRecord(
            origin_memory_id=_origin_id(memory),
            agent=message.target_agent,
            memory_id=landed.memory_id,
            action=action,
            message_id=message.message_id,
            hops=memory.provenance.hops + 1,
        )
        key = copy_record_key(record.origin_memory_id, record.agent)
        self.store.put(self.copies_namespace, key, record.model_dump(mode="json"), index=False)

    # ---- sending ---------------------------------------------------------------------
    def sync(
        self,
        memory: Memory,
        targets: Iterable[str],
        *,
        source_agent: str,
        correlation_id: str | None = None,
    ) -> SyncReport:
        """Send `memory` from `source_agent` to each target, which gets a private copy.

        The memory is read back from the sender's namespaces first: what is sent is what
        the sender holds. A target that should not get it (itself, the memory's origin,
        past max hops, below the floor, an invalidated memory it never got, or a copy
        already in the same state) is skipped without a message; every message sent is
        applied through `receive` and logged. A target that holds an older state of the
        copy gets the new one (see `follow`).
        """
        if not isinstance(memory, Memory):
            raise ValueError(f"sync sends a Memory, got {type(memory).__name__}")
        _check_agent("source_agent", source_agent)
        chosen = _distinct_targets(targets)
        self._check_members(source_agent, *chosen)
        current = self.manager(source_agent).get(memory.memory_id)
        outcomes: list[SyncOutcome] = []
        for target in chosen:
            if current is None:
                outcomes.append(SyncOutcome(target, memory.memory_id, "skipped", "unknown memory"))
                continue
            reason = self._refusal(current, source_agent, target)
            if reason is None:
                reason = self._nothing_new(current, target)
            if reason is not None:
                outcomes.append(SyncOutcome(target, memory.memory_id, "skipped", reason))
                continue
            message = memory_sync_message(
                current,
                source_agent=source_agent,
                target_agent=target,
                correlation_id=correlation_id,
            )
            outcomes.extend(self.receive(message).outcomes)
        return SyncReport(tuple(outcomes))

    def follow(
        self, memory: Memory, *, source_agent: str, correlation_id: str | None = None
    ) -> SyncReport:
        """Bring every copy of `memory` in line with it (after a reinforcement, a merge,
        a supersession or a retraction), by a sync message to each agent holding one."""
        holders = [
            record.agent
            for record in self.copies_of(_origin_id(memory))
            if record.is_own_copy and record.hops == memory.provenance.hops + 1
        ]
        if not holders:
            return SyncReport()
        return self.sync(memory, holders, source_agent=source_agent, correlation_id=correlation_id)

    def _refusal(self, memory: Memory, source_agent: str, target: str) -> SkipReason | None:
        """Why `target` must not receive `memory` from `source_agent`, or None."""
        provenance = memory.provenance
        if target == source_agent:
            return "self"
        if target in {provenance.origin_agent or provenance.source_agent, provenance.source_agent}:
            return "origin"
        if provenance.hops >= self.max_hops:
            return "max hops"
        below = memory.is_valid and memory.confidence * self.decay < self.min_copy_confidence
        if below and self.copy_record(_origin_id(memory), target) is None:
            return "below floor"  # a copy the target holds still follows its source down
        return None

    def _nothing_new(self, memory: Memory, target: str) -> SkipReason | None:
        """ "synced" when the target's copy already matches `memory`; "invalidated" when the
        memory is invalid and the target never got it."""
        record = self.copy_record(_origin_id(memory), target)
        if record is None:
            held = self.manager(target).get(synced_copy_id(_origin_id(memory), target))
            if held is not None:  # a copy delivered before copies were recorded
                return None
            return None if memory.is_valid else "invalidated"
        if not record.is_own_copy:
            return "synced"  # folded into the target's own statement: never again
        copy = self.manager(target).get(record.memory_id)
        if copy is None or not _follows(copy, memory):
            return "synced"
        return None if self._followed(copy, memory, target) != copy else "synced"

    def _check_members(self, *names: str) -> None:
        """Refuse agents outside the team: a typo must not create a new agent's namespace."""
        if self.agents is None:
            return
        unknown = sorted({name for name in names if name not in self.agents})
        if unknown:
            raise ValueError(
                f"unknown agent(s) {unknown} in team {self.team!r}; "
                f"known: {', '.join(sorted(self.agents))}"
            )

    # ---- receiving -------------------------------------------------------------------
    def receive(self, message: A2AMessage) -> SyncReport:
        """Apply a memory-sync message to its target; a message_id seen before is a no-op.

        Every carried memory is checked against the sender's stored one (see the module
        docstring); a refused one is logged with its reason and changes nothing. The
        copies are written before the message is logged, so a delivery interrupted in
        between is completed, not lost, when the message is delivered again.
        """
        payload = _sync_payload(message)
        target = message.target_agent
        self._check_members(message.source_agent, target)
        if self.log.get(message.message_id) is not None:
            return SyncReport(
                tuple(
                    SyncOutcome(
                        target, m.memory_id, "skipped", "duplicate message", message.message_id
                    )
                    for m in payload.memories
                )
            )
        outcomes = tuple(self._apply(memory, message, payload) for memory in payload.memories)
        self.log.append(message)
        return SyncReport(outcomes)

    def _apply(
        self, memory: Memory, message: A2AMessage, payload: MemorySyncPayload
    ) -> SyncOutcome:
        target = message.target_agent
        held = self.manager(message.source_agent).get(memory.memory_id)
        reason = self._delivery_refusal(memory, message, payload, held)
        if reason is None and held is not None:
            # The copy is made of what the sender holds: a message that kept its content,
            # confidence and hops could still say another speaker, role, slot or label.
            memory = held
        if reason is not None:
            logger.warning(
                "A2A sync %s from %s to %s refused (%s): memory %s",
                message.message_id,
                message.source_agent,
                target,
                reason,
                memory.memory_id,
            )
            return SyncOutcome(target, memory.memory_id, "skipped", reason, message.message_id)
        record = self.copy_record(_origin_id(memory), target)
        existing = self.manager(target).get(synced_copy_id(_origin_id(memory), target))
        if record is not None or existing is not None:
            return self._update_copy(memory, message, record, existing)
        if not memory.is_valid:
            return SyncOutcome(
                target, memory.memory_id, "skipped", "invalidated", message.message_id
            )
        added = self.manager(target).add(self.synced_copy(memory, message))
        self._record(memory, message, added.memory, added.action)
        return SyncOutcome(
            target,
            memory.memory_id,
            "copied",
            message_id=message.message_id,
            stored=added.memory,
            action=added.action,
        )

    def _delivery_refusal(
        self,
        memory: Memory,
        message: A2AMessage,
        payload: MemorySyncPayload,
        held: Memory | None,
    ) -> SkipReason | None:
        provenance = memory.provenance
        if message.hops != provenance.hops + 1:
            return "hops mismatch"
        if (provenance.hops == 0) != (provenance.origin_memory_id is None):
            return "hops mismatch"
        if provenance.hops > 0 and memory.memory_id != synced_copy_id(
            provenance.origin_memory_id or "", message.source_agent
        ):
            return "hops mismatch"
        if held is None:
            return "unknown memory"
        if (
            content_key(held.content) != content_key(memory.content)
            or memory.confidence > held.confidence + 1e-9
            or payload.source_confidence > held.confidence + 1e-9
            or held.provenance.hops != provenance.hops
            or held.is_valid != memory.is_valid
        ):
            return "forged"
        return self._refusal(held, message.source_agent, message.target_agent)

    def _update_copy(
        self,
        memory: Memory,
        message: A2AMessage,
        record: CopyRecord | None,
        existing: Memory | None,
    ) -> SyncOutcome:
        target = message.target_agent
        if record is not None and not record.is_own_copy:
            held = self.manager(target).get(record.memory_id)
            return SyncOutcome(
                target, memory.memory_id, "copied", None, message.message_id, held, "unchanged"
            )
        copy = existing
        followed = (
            copy
            if copy is None or not _follows(copy, memory)
            else (self._followed(copy, memory, target))
        )
        if followed is None or followed == copy:
            return SyncOutcome(
                target, memory.memory_id, "copied", None, message.message_id, copy, "unchanged"
            )
        owner = self.manager(target)
        self.store.put(
            owner.namespace_for("private"), followed.memory_id, followed.to_store_value()
        )
        # Copies of this copy, further down the chain, follow in turn.
        self.follow(followed, source_agent=target, correlation_id=message.correlation_id)
        return SyncOutcome(
            target, memory.memory_id, "copied", None, message.message_id, followed, "updated"
        )

    def _followed(self, copy: Memory, source: Memory, owner: str) -> Memory:
        """`copy` brought in line with its source: same content and slot value, the source's
        confidence x decay, invalidated or disputed when the source is (never re-validated:
        the target may have retired it for its own reasons)."""
        update: dict[str, Any] = {
            "content": source.content,
            "value": source.value,
            "confidence": round(source.confidence * self.decay, 6),
        }
        if not source.is_valid and copy.is_valid:
            if source.invalidated_at is not None:
                update["invalidated_at"] = source.invalidated_at
                if source.superseded_by and source.provenance.hops == 0:
                    update["superseded_by"] = synced_copy_id(source.superseded_by, owner)
            else:  # disputed: a more trusted value holds the slot; the copy is not believed
                update["disputed_by"] = source.disputed_by
        if all(getattr(copy, k) == v for k, v in update.items()):
            return copy
        return copy.model_copy(update={**update, "updated_at": utcnow()})

    def synced_copy(self, memory: Memory, message: A2AMessage) -> Memory:
        """The target's private copy of `memory`: decayed confidence, provenance to origin."""
        provenance = memory.provenance
        origin_id = _origin_id(memory)
        now = utcnow()
        data = memory.model_dump()
        data.update(
            memory_id=synced_copy_id(origin_id, message.target_agent),
            scope="private",
            mechanism="synced",
            confidence=trust.synced_confidence(memory, self.decay),
            provenance=Provenance(
                source_agent=message.source_agent,
                thread_id=provenance.thread_id,
                message_id=message.message_id,
                origin_memory_id=origin_id,
                origin_agent=provenance.origin_agent or provenance.source_agent,
                hops=provenance.hops + 1,
                speaker=provenance.speaker,
                turn=provenance.turn,
            ),
            created_at=now,
            updated_at=now,
            superseded_by=None,
            mention_count=1,
            # Links name memories in the sender's namespaces, which the target may not read.
            links=[],
        )
        return Memory.model_validate(data)


def _follows(copy: Memory, source: Memory) -> bool:
    """Whether `copy` is a synced copy one hop down from `source` (it came that way)."""
    return copy.mechanism == "synced" and copy.provenance.hops == source.provenance.hops + 1


def _origin_id(memory: Memory) -> str:
    return memory.provenance.origin_memory_id or memory.memory_id


def _distinct_targets(targets: Iterable[str]) -> Sequence[str]:
    # A bare string is iterable too: "jordan" would otherwise sync to "j", "o", ...
    if isinstance(targets, str):
        raise TypeError(f"targets must be a collection of agent names, not the string {targets!r}")
    return [_check_agent("target", t) for t in dict.fromkeys(targets)]


def _check_not_sync(message: A2AMessage) -> None:
    if message.content_type == MEMORY_SYNC:
        raise ValueError(
            f"message {message.message_id} is a memory sync: deliver it with "
            "A2ABridge.receive (which applies it), not send"
        )


def _sync_payload(message: A2AMessage) -> MemorySyncPayload:
    if message.content_type != MEMORY_SYNC:
        raise ValueError(
            f"message {message.message_id} has content type {message.content_type!r}; "
            f"receive applies {MEMORY_SYNC!r} messages only (log others with send)"
        )
    try:
        return MemorySyncPayload.model_validate(message.payload)
    except ValidationError as exc:
        raise ValueError(
            f"memory-sync message {message.message_id} has a malformed payload: {exc}"
        ) from exc
