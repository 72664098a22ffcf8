"""The A2A bridge: messages between agents, the team's message log, and memory sync.

- `A2AMessage`: one agent-to-agent message (a task, its result, or a memory sync).
- `A2ALog`: the team's append-only record of every message, kept in the same LangGraph
  store as the memories under ``("team", team, "a2a")`` with ``index=False``. Agents'
  memory searches read ``("team", team, "shared")`` and ``("team", team, "agent", name)``
  only, so the log never shows up among memories, on any backend.
- `A2ABridge`: copies a memory into other agents' private namespaces, with the seed's
  safeguards (lesson 4): messages deduplicated by id, confidence x 0.9 per hop, never
  back to the origin agent, hops bounded, and the source always tracked in provenance.

A synced copy has a deterministic ``memory_id`` (origin memory + receiving agent), so a
memory reaching an agent twice, by a repeated sync or by two paths, stays one copy.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
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

from memory.manager import AddAction, MemoryManager
from memory.models import SYNC_DECAY, Memory, Provenance, utcnow
from memory.namespaces import Namespace, team_prefix

ContentType = Literal[
    "application/vnd.a2a.task+json",
    "application/vnd.a2a.result+json",
    "application/vnd.a2a.memory-sync+json",
]
TASK: Final = "application/vnd.a2a.task+json"
"""A coordinator asks a specialist to do something."""
RESULT: Final = "application/vnd.a2a.result+json"
"""A specialist answers a task (same correlation id as the task)."""
MEMORY_SYNC: Final = "application/vnd.a2a.memory-sync+json"
"""An agent hands a memory to another agent (the seed's content type)."""
CONTENT_TYPES: Final[tuple[ContentType, ...]] = get_args(ContentType)

DEFAULT_MAX_HOPS: Final = 3
"""A copy this many syncs away from the original is not forwarded again."""

SkipReason = Literal["self", "origin", "max hops", "invalidated", "duplicate message", "synced"]
"""Why a memory was not copied to a target:

- ``self``: the target is the sender;
- ``origin``: the target is the agent the memory came from (its origin or its sender);
- ``max hops``: the memory is already `max_hops` syncs from the original;
- ``invalidated``: the memory was superseded or retracted;
- ``duplicate message``: this A2A message (same message_id) was already received;
- ``synced``: the target already holds its copy of this memory.
"""

_PAGE = 500
"""Log items fetched per store call when reading."""


def a2a_log_namespace(team: str) -> Namespace:
    """Where the team's A2A log lives: beside the memories, never read as memories."""
    return (*team_prefix(team), "a2a")


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
    action: AddAction | None = None
    """What the target's manager did with the copy: "added" unless the target already
    held the same fact (then "reinforced" or "merged"; see the limitation in `sync`)."""


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
    """

    def __init__(
        self,
        store: BaseStore,
        team: str,
        *,
        max_hops: int = DEFAULT_MAX_HOPS,
        decay: float = SYNC_DECAY,
    ) -> None:
        if not isinstance(max_hops, int) or max_hops < 1:
            raise ValueError(f"max_hops must be an integer >= 1, got {max_hops!r}")
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"decay must be within (0, 1], got {decay!r}")
        self.store = store
        self.team = team
        self.max_hops = max_hops
        self.decay = decay
        self.log = A2ALog(store, team)
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

    def sync(
        self,
        memory: Memory,
        targets: Iterable[str],
        *,
        source_agent: str,
        correlation_id: str | None = None,
    ) -> SyncReport:
        """Send `memory` from `source_agent` to each target, which gets a private copy.

        A target that should not get it (itself, the memory's origin, past max hops, an
        invalidated memory, or a target that already holds the copy) is skipped without a
        message; every message sent is applied through `receive` and logged.

        Limitation: when the target's manager folds the copy into a memory the target
        already had (action "reinforced" or "merged"), no copy exists under the
        deterministic id, so syncing the same memory again in a new message reinforces
        that memory again. Redelivering the same message stays a no-op.
        """
        _check_agent("source_agent", source_agent)
        outcomes: list[SyncOutcome] = []
        for target in _distinct_targets(targets):
            reason = self._refusal(memory, source_agent, target)
            if reason is not None:
                outcomes.append(SyncOutcome(target, memory.memory_id, "skipped", reason))
                continue
            message = memory_sync_message(
                memory,
                source_agent=source_agent,
                target_agent=target,
                correlation_id=correlation_id,
            )
            outcomes.extend(self.receive(message).outcomes)
        return SyncReport(tuple(outcomes))

    def receive(self, message: A2AMessage) -> SyncReport:
        """Apply a memory-sync message to its target; a message_id seen before is a no-op.

        The copies are written before the message is logged, so a delivery interrupted in
        between is completed, not lost, when the message is delivered again.
        """
        payload = _sync_payload(message)
        target = message.target_agent
        if self.log.get(message.message_id) is not None:
            return SyncReport(
                tuple(
                    SyncOutcome(
                        target, m.memory_id, "skipped", "duplicate message", message.message_id
                    )
                    for m in payload.memories
                )
            )
        outcomes = tuple(self._apply(memory, message) for memory in payload.memories)
        self.log.append(message)
        return SyncReport(outcomes)

    def _apply(self, memory: Memory, message: A2AMessage) -> SyncOutcome:
        target = message.target_agent
        reason = self._refusal(memory, message.source_agent, target)
        if reason is not None:
            return SyncOutcome(target, memory.memory_id, "skipped", reason, message.message_id)
        added = self.manager(target).add(self.synced_copy(memory, message))
        return SyncOutcome(
            target,
            memory.memory_id,
            "copied",
            message_id=message.message_id,
            stored=added.memory,
            action=added.action,
        )

    def _refusal(self, memory: Memory, source_agent: str, target: str) -> SkipReason | None:
        """Why `target` must not receive `memory` from `source_agent`, or None."""
        provenance = memory.provenance
        if target == source_agent:
            return "self"
        if target in {provenance.origin_agent or provenance.source_agent, provenance.source_agent}:
            return "origin"
        if not memory.is_valid:
            return "invalidated"
        if provenance.hops >= self.max_hops:
            return "max hops"
        if self.manager(target).get(synced_copy_id(_origin_id(memory), target)) is not None:
            return "synced"
        return None

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
            confidence=memory.confidence * self.decay,
            provenance=Provenance(
                source_agent=message.source_agent,
                thread_id=provenance.thread_id,
                message_id=message.message_id,
                origin_memory_id=origin_id,
                origin_agent=provenance.origin_agent or provenance.source_agent,
                hops=provenance.hops + 1,
            ),
            created_at=now,
            updated_at=now,
            superseded_by=None,
            mention_count=1,
            # Links name memories in the sender's namespaces, which the target may not read.
            links=[],
        )
        return Memory.model_validate(data)


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
