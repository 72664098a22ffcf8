"""Team-level memory operations: what spans every namespace of a team.

A `MemoryManager` is one agent's view (the shared namespace and its own). Operators,
the CLI, the graphs' maintenance steps and the evals also need the whole team at once:

- `TeamMemory.list` / `resolve`: every memory of the team with its owner, or the ones
  one agent can read; find a memory by id or unique id prefix;
- `TeamMemory.forget` / `forget_subject`: remove a fact from every namespace, every
  synced copy, its superseded history, the indexes and the A2A log payloads (see
  `memory/forgetting.py`);
- `TeamMemory.consolidate`: the seed's "sleep" (see `memory/consolidation.py`).
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import logging
import re
import sys
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from langgraph.store.base import BaseStore, Item, Op, PutOp
from pydantic import JsonValue

from memory import trust
from memory.bridge import MEMORY_FORGET, MEMORY_SYNC, A2ABridge, A2AMessage
from memory.contradictions import contradiction, same_referents
from memory.extraction.forget_requests import ForgetRequest
from memory.manager import items_in, listed, memories_in, stated_time
from memory.models import (
    Memory,
    Scope,
    canonical_subject,
    content_key,
    is_memory_record,
    utcnow,
)
from memory.namespaces import (
    MemoryLocation,
    Namespace,
    parse_memory_namespace,
    readable_namespaces,
    team_prefix,
    unremembered_threads_namespace,
)
from memory.reading import read_memory

if TYPE_CHECKING:
    # Transcripts (LangGraph's checkpoint and message types) load only when a forget
    # redacts them: listing and searching memory, the CLI's common paths, stay light.
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from memory.transcripts import Redaction, TranscriptReport

logger = logging.getLogger(__name__)

MAX_NAMESPACES = 100_000
"""How many namespaces of one team a listing reads at most (agents, plus the log)."""


def _shown(include_invalid: bool) -> dict[str, object] | None:
    """The listing filter: valid memories only, unless invalid ones are asked for too."""
    return None if include_invalid else {"valid": True}


def _stated_creation(item: Item) -> datetime:
    """The creation time a stored memory states (as validation reads it), read without
    validating the record; a plain note's, or one that does not parse, from a full read."""
    if is_memory_record(item.value):
        try:
            return stated_time(item.value.get("created_at"))
        except (TypeError, ValueError):
            pass
    memory = read_memory(item)
    return memory.created_at if memory is not None else item.created_at


@dataclass(frozen=True)
class TeamMemoryRow:
    """One memory and where it lives."""

    memory: Memory
    location: MemoryLocation

    @property
    def owner(self) -> str | None:
        """The agent whose private namespace holds it; None for the shared namespace."""
        return self.location.owner

    @property
    def namespace(self) -> Namespace:
        return self.location.namespace


# ---- forgetting --------------------------------------------------------------------------
STAFF: Final = "staff"
"""`requested_by` for an operator or staff member (the CLI, the API's own callers)."""

ForgetCause = Literal["requested", "subject", "copy", "history"]
"""Why a memory was removed: named by id, about the forgotten subject, a synced copy (or
the original) of a removed memory, or a value a removed memory had superseded."""


@dataclass(frozen=True)
class ForgottenMemory:
    memory_id: str
    owner: str | None
    """The agent whose private namespace held it; None for the shared namespace."""
    content: str
    cause: ForgetCause


@dataclass
class ForgetReport:
    """What a forget removed, cleaned and redacted."""

    removed: builtins.list[ForgottenMemory] = field(default_factory=builtins.list)
    links_cleaned: builtins.list[str] = field(default_factory=builtins.list)
    """memory_ids of kept memories whose links named a removed one."""
    log_redacted: builtins.list[str] = field(default_factory=builtins.list)
    """message_ids of A2A log messages whose payload was redacted."""
    copy_records_dropped: int = 0
    forget_messages: builtins.list[str] = field(default_factory=builtins.list)
    """message_ids of the memory-forget messages logged (one per agent that lost some)."""
    transcripts: TranscriptReport | None = None
    """The conversation threads redacted (None: no checkpointer was given)."""
    redaction: Redaction | None = None
    """What transcripts lose: the stating messages, quoting text, the speaker's threads."""

    @property
    def removed_ids(self) -> builtins.list[str]:
        return [f.memory_id for f in self.removed]


@dataclass(frozen=True)
class Honoured:
    """What `TeamMemory.honour` did about a request made in conversation."""

    notice: str
    """The sentence for the reply."""
    report: ForgetReport | None = None
    """For a forget: what was removed (and what transcripts lose)."""


class MemoryNotFound(LookupError):
    """No memory of the team matches the given id or prefix."""


class AmbiguousMemoryId(LookupError):
    """An id prefix matches several memories."""


class TeamMemory:
    """Every memory namespace of one team, in one LangGraph store."""

    def __init__(
        self,
        store: BaseStore,
        team: str,
        *,
        checkpointer: BaseCheckpointSaver[Any] | None = None,
    ) -> None:
        """`checkpointer`: the graphs' conversation state; with it, forgetting also
        redacts the transcripts of the threads that carried the facts (see
        memory/transcripts.py)."""
        self.store = store
        self.team = team
        self.prefix = team_prefix(team)
        self.checkpointer = checkpointer

    # ---- where -----------------------------------------------------------------------
    def locations(self) -> builtins.list[MemoryLocation]:
        """The team's memory namespaces (shared, and one per agent that has memories)."""
        found = (
            parse_memory_namespace(ns)
            for ns in self.store.list_namespaces(prefix=self.prefix, limit=MAX_NAMESPACES)
        )
        return [loc for loc in found if loc is not None and loc.team == self.team]

    def _visible_locations(self, agent: str | None) -> builtins.list[MemoryLocation]:
        if agent is None:
            return self.locations()
        readable = readable_namespaces(self.team, agent)
        return [loc for loc in (parse_memory_namespace(ns) for ns in readable) if loc]

    # ---- read ------------------------------------------------------------------------
    def rows(
        self,
        *,
        agent: str | None = None,
        scope: Scope | None = None,
        include_invalid: bool = False,
    ) -> Iterator[TeamMemoryRow]:
        """Every memory of the team (or, with `agent`, the ones that agent may read)."""
        for location in self._listed_locations(agent, scope):
            for memory in memories_in(self.store, location.namespace, _shown(include_invalid)):
                yield TeamMemoryRow(memory, location)

    def _listed_locations(
        self, agent: str | None, scope: Scope | None
    ) -> builtins.list[MemoryLocation]:
        return [
            location
            for location in self._visible_locations(agent)
            if scope is None or location.scope == scope
        ]

    def list(
        self,
        *,
        agent: str | None = None,
        scope: Scope | None = None,
        include_invalid: bool = False,
        limit: int | None = None,
    ) -> builtins.list[TeamMemoryRow]:
        """`rows`, oldest first; with `limit`, the most recent `limit` of them.

        With `limit`, the stored records are put in order by the creation time they state
        and read (validated) newest first until `limit` are listed: the same rows as
        reading them all, where validating every one of 10k memories took most of
        `memories list`."""
        if limit is None:
            return sorted(
                self.rows(agent=agent, scope=scope, include_invalid=include_invalid),
                key=lambda row: row.memory.created_at,
            )
        stored = [
            (item, location)
            for location in self._listed_locations(agent, scope)
            for item in items_in(self.store, location.namespace)
        ]
        stored.sort(key=lambda pair: _stated_creation(pair[0]))
        newest: builtins.list[TeamMemoryRow] = []
        for item, location in reversed(stored):
            if len(newest) >= limit:
                break
            memory = read_memory(item)
            if memory is not None and listed(memory, _shown(include_invalid)):
                newest.append(TeamMemoryRow(memory, location))
        return newest[::-1]

    def get(self, memory_id: str) -> TeamMemoryRow | None:
        """The memory with exactly this id, wherever it lives in the team."""
        for location in self.locations():
            item = self.store.get(location.namespace, memory_id)
            memory = read_memory(item) if item is not None else None
            if memory is not None:
                return TeamMemoryRow(memory, location)
        return None

    def resolve(self, id_or_prefix: str, *, agent: str | None = None) -> TeamMemoryRow:
        """The one memory whose id is `id_or_prefix` or starts with it (invalidated ones
        included); with `agent`, only among the memories that agent may read.

        Raises `MemoryNotFound` or `AmbiguousMemoryId`, with a message naming the problem.
        """
        asked = id_or_prefix.strip()
        if not asked:
            raise MemoryNotFound("a memory id must not be empty")
        # ids are hex here, but a store item's key is whatever its writer chose ("VIP-Note")
        wanted = asked.casefold()
        matches = [
            row
            for row in self.rows(agent=agent, include_invalid=True)
            if row.memory.memory_id.casefold().startswith(wanted)
        ]
        exact = [row for row in matches if row.memory.memory_id == asked] or [
            row for row in matches if row.memory.memory_id.casefold() == wanted
        ]
        if len(exact) == 1 or (exact and exact[0].memory.memory_id == asked):
            return exact[0]
        if not matches:
            seen_by = f"readable by {agent}" if agent else f"in team {self.team}"
            raise MemoryNotFound(f"no memory with id {id_or_prefix!r} {seen_by}")
        if len(matches) > 1:
            ids = ", ".join(row.memory.memory_id for row in matches[:5])
            raise AmbiguousMemoryId(
                f"id prefix {id_or_prefix!r} matches {len(matches)} memories ({ids}); "
                "give more of it"
            )
        return matches[0]

    # ---- forget ----------------------------------------------------------------------
    def forget(
        self,
        memory_id: str,
        *,
        cascade: bool = True,
        agent: str | None = None,
        requested_by: str = STAFF,
    ) -> ForgetReport:
        """Delete a memory for good (superseding keeps history; this does not).

        With `cascade` (the default) the fact goes everywhere: the memory, every synced
        copy of it (and the original, when `memory_id` is a copy), the values it
        superseded, their copies; links to them are cleaned and the A2A log payloads
        that carried them are redacted (see `forget_memories`). Without it only this one
        record goes (links still cleaned). With `agent`, only a memory that agent may
        read can be named. Raises `MemoryNotFound` when there is no such memory.
        """
        row = self.get(memory_id)
        if row is None or (agent is not None and not self._readable_by(row, agent)):
            seen_by = f"readable by {agent}" if agent else f"in team {self.team}"
            raise MemoryNotFound(f"no memory with id {memory_id!r} {seen_by}")
        return self.forget_memories(
            {row.memory.memory_id: "requested"},
            cascade=cascade,
            requested_by=requested_by,
            reason=f"forget {row.memory.memory_id}",
        )

    def forget_subject(
        self,
        subject: str,
        *,
        attributes: Collection[str] | None = None,
        requested_by: str,
        threads: Collection[str] = (),
    ) -> ForgetReport:
        """Forget what the team knows about `subject` ("customer:12345"): every fact of
        theirs (about them, or theirs by `Memory.owner`: what they said of their orders),
        or only the slots named in `attributes` ("phone_number"), with cascade.

        Only the subject themself (`requested_by` == `subject`) or staff (`STAFF`) may
        ask; anyone else gets a `PermissionError`. Forgetting a whole subject also
        redacts A2A log payloads that name the subject (e.g. "customer #12345").
        """
        if not isinstance(requested_by, str):
            raise ValueError(
                f"requested_by must be 'staff' or a subject, got {type(requested_by).__name__}"
            )
        if not isinstance(subject, str):
            raise ValueError(f"the subject to forget must be a string, got {subject!r}")
        if not subject.strip():
            raise ValueError("the subject to forget must not be empty, e.g. 'customer:12345'")
        subject = canonical_subject(subject)
        if requested_by != STAFF and (
            not requested_by.strip() or canonical_subject(requested_by) != subject
        ):
            raise PermissionError(
                f"{requested_by!r} may not make the team forget {subject!r}: only the "
                "subject themself or staff may"
            )
        wanted = {a.strip() for a in attributes} if attributes is not None else None
        # A whole subject is everything that is theirs (`Memory.owner`): what they said
        # of their orders and tickets, and records of theirs, too, not only their slots.
        seeds: dict[str, ForgetCause] = {
            row.memory.memory_id: "subject"
            for row in self.rows(include_invalid=True)
            if (
                row.memory.subject == subject
                and (wanted is None or (row.memory.attribute or "") in wanted)
            )
            or (wanted is None and row.memory.owner == subject)
        }
        extra = _subject_mentions(subject) if wanted is None else []
        what = subject if wanted is None else f"{subject} {sorted(wanted)}"
        return self.forget_memories(
            seeds,
            cascade=True,
            requested_by=requested_by,
            reason=f"forget {what}",
            log_terms=extra,
            speaker=subject if wanted is None else None,
            threads=[t for t in threads if t],
        )

    def forget_memories(
        self,
        seeds: Mapping[str, ForgetCause],
        *,
        cascade: bool,
        requested_by: str,
        reason: str,
        log_terms: Collection[str] = (),
        speaker: str | None = None,
        threads: Collection[str] = (),
    ) -> ForgetReport:
        """Delete `seeds` (and with `cascade`, their copies and history) in one store
        batch, clean links to them, drop the bridge's copy records and redact the A2A
        log: sync messages that carried them, and task/result payloads that quote their
        content, a distinctive value (one with a digit or an '@': a phone number, an
        e-mail address, an order number) or one of `log_terms`. Each agent that lost
        memories gets a memory-forget message (ids only) in the log.

        With a checkpointer, the transcripts of the threads the removed memories were
        learned in (and `threads`) are redacted too: the messages that stated them, text
        quoting them, and with `speaker` (a whole subject forgotten) every message that
        speaker sent in a thread of theirs. The store then scrubs what it freed (the
        FAISS store: zeroed pages, FTS5 merged, WAL truncated).
        """
        report = ForgetReport()
        if not seeds:
            return report
        rows = builtins.list(self.rows(include_invalid=True))
        doomed = _closure(rows, seeds, cascade)
        kept_rows = [row for row in rows if row.memory.memory_id not in doomed]
        ops: builtins.list[Op] = []
        for row in rows:
            if row.memory.memory_id in doomed:
                ops.append(PutOp(row.namespace, row.memory.memory_id, None))
                report.removed.append(
                    ForgottenMemory(
                        row.memory.memory_id,
                        row.owner,
                        row.memory.content,
                        doomed[row.memory.memory_id],
                    )
                )
        for row in kept_rows:
            links = [link for link in row.memory.links if link not in doomed]
            if links != row.memory.links:
                cleaned = row.memory.model_copy(update={"links": links})
                ops.append(PutOp(row.namespace, cleaned.memory_id, cleaned.to_store_value()))
                report.links_cleaned.append(row.memory.memory_id)
        # One batch: on the FAISS store, one SQLite transaction (rows, FTS5 and vectors).
        self.store.batch(ops)
        bridge = A2ABridge(self.store, self.team)
        gone = [row.memory for row in rows if row.memory.memory_id in doomed]
        origins = {_origin(m) for m in gone} | set(doomed)
        for origin in origins:
            report.copy_records_dropped += bridge.drop_copy_records(origin)
        terms = _sensitive_terms(gone) + [t for t in log_terms if t]
        report.log_redacted = _redact_log(bridge, set(doomed) | origins, terms, reason)
        _announce(bridge, report, requested_by, reason)
        # The log's terms, but not `log_terms` (how the subject is named): the thread keeps
        # whose it is.
        report.redaction = _redaction(gone, _sensitive_terms(gone), speaker)
        if self.checkpointer is not None:
            from memory.transcripts import TranscriptReport, every_thread, redact_threads

            try:
                carried = self._threads_that_carried(gone) | set(threads)
                report.redaction = dataclasses.replace(
                    report.redaction, near_threads=report.redaction.near_threads | carried
                )
                every = every_thread(self.checkpointer) if requested_by == STAFF else set()
                report.transcripts = redact_threads(
                    self.checkpointer, carried | every, report.redaction
                )
            except Exception as exc:  # the memory is forgotten; say what was not
                logger.exception("forget: transcripts not redacted")
                report.transcripts = TranscriptReport(error=f"{type(exc).__name__}: {exc}")
            if report.transcripts.unredacted:
                logger.warning(
                    "transcripts still hold forgotten text: %s", report.transcripts.unredacted
                )
        scrub = getattr(self.store, "scrub", None)
        if callable(scrub):
            scrub()
        logger.info(
            "forgot %d memories (%s), %d links cleaned, %d log messages redacted",
            len(report.removed),
            reason,
            len(report.links_cleaned),
            len(report.log_redacted),
        )
        return report

    def _threads_that_carried(self, gone: builtins.list[Memory]) -> set[str]:
        """The threads that told or read what is forgotten: all a subject asking for
        themself may rewrite (never a conversation that never touched their facts); staff
        rewrite every thread that quotes it (a fact is quoted wherever it was read)."""
        from memory.transcripts import threads_that_read

        assert self.checkpointer is not None
        told = {m.provenance.thread_id for m in gone if m.provenance.thread_id}
        return told | threads_that_read(self.checkpointer, {m.memory_id for m in gone})

    # ---- requests made in conversation ----------------------------------------------
    def remembers(self, thread_id: str | None) -> bool:
        """False when the thread's speaker asked that nothing of it be remembered."""
        if thread_id is None:
            return True
        return self.store.get(unremembered_threads_namespace(self.team), thread_id) is None

    def honour(
        self,
        request: ForgetRequest,
        *,
        speaker: str,
        thread_id: str | None,
        correlation_id: str | None = None,
    ) -> Honoured:
        """Act on a memory request the speaker made in conversation: the sentence that
        tells them what was done (for the reply), and what a forget removed.

        - not this turn: the turn's A2A log payloads are redacted (nothing is extracted);
        - not this thread: the same, the thread is marked so no later turn is remembered
          either, and what earlier turns of it stored is forgotten;
        - forget: `forget_subject` for the speaker (only their own facts: `speaker` is
          both the subject and the one asking).
        """
        reason = f"not remembered at {speaker}'s request"
        if request.kind in ("not_this_turn", "not_this_thread"):
            if correlation_id is not None:
                self._redact_turn(correlation_id, reason)
            if request.kind == "not_this_turn":
                return Honoured("As you asked, I won't remember anything from this message.")
            if thread_id is not None:
                self.store.put(
                    unremembered_threads_namespace(self.team),
                    thread_id,
                    {"requested_by": speaker, "at": utcnow().isoformat()},
                    index=False,
                )
                seeds: dict[str, ForgetCause] = {
                    row.memory.memory_id: "requested"
                    for row in self.rows(include_invalid=True)
                    if row.memory.provenance.thread_id == thread_id
                }
                self.forget_memories(seeds, cascade=True, requested_by=speaker, reason=reason)
            return Honoured("As you asked, I won't remember anything from this conversation.")
        report = self.forget_subject(
            speaker, attributes=request.attributes, requested_by=speaker, threads=[thread_id or ""]
        )
        what = (
            "everything I knew about you"
            if request.attributes is None
            else "what I knew of your "
            + " and ".join(a.replace("_", " ") for a in request.attributes)
        )
        if not report.removed:
            return Honoured(f"I had nothing stored as {what}; nothing to delete.", report)
        return Honoured(
            f"Done: I deleted {what} ({len(report.removed)} records, copies included).", report
        )

    def _redact_turn(self, correlation_id: str, reason: str) -> None:
        log = A2ABridge(self.store, self.team).log
        for message in log.read(correlation_id=correlation_id, limit=sys.maxsize):
            if message.payload.get("redacted") is not True:
                log.redact(message, [], reason)

    def _readable_by(self, row: TeamMemoryRow, agent: str) -> bool:
        return row.namespace in readable_namespaces(self.team, agent)

    # ---- maintain --------------------------------------------------------------------
    def consolidate(
        self,
        *,
        now: datetime | None = None,
        merge_threshold: float = 0.92,
        decay_after_days: float = 30.0,
        decay_factor: float = 0.9,
    ) -> ConsolidationReport:
        """The team's "sleep": merge duplicates, decay stale guesses, settle conflicts;
        then the synced copies of every memory it changed follow (through the A2A log)."""
        report = consolidate_team(
            self.store,
            self.team,
            now=now,
            merge_threshold=merge_threshold,
            decay_after_days=decay_after_days,
            decay_factor=decay_factor,
        )
        changed = {a for pair in report.merged for a in pair}
        changed |= {memory_id for memory_id, _, _ in report.decayed}
        changed |= {invalidated for invalidated, _ in report.resolved}
        bridge = A2ABridge(self.store, self.team)
        for memory_id in sorted(changed):
            row = self.get(memory_id)
            if row is not None:
                sender = row.owner or row.memory.provenance.source_agent
                bridge.follow(row.memory, source_agent=sender)
        return report


def _redaction(
    gone: builtins.list[Memory], terms: builtins.list[str], speaker: str | None
) -> Redaction:
    """What the transcripts lose with `gone`: the messages that stated them, text quoting
    `terms`, and (a whole subject forgotten) what `speaker` said in threads of theirs.
    A short term names the fact only where the fact was told or read (`near_threads`:
    those that told it here, the checkpointer's readers added by the caller); elsewhere
    "B12" or "4711" is someone else's locker or order."""
    from memory.transcripts import Redaction

    return Redaction(
        message_ids=frozenset(m.provenance.message_id for m in gone if m.provenance.message_id),
        terms=tuple(t for t in terms if len(t) >= MIN_WIDE_TERM),
        near_terms=tuple(t for t in terms if len(t) < MIN_WIDE_TERM),
        near_threads=frozenset(m.provenance.thread_id for m in gone if m.provenance.thread_id),
        speaker_threads=frozenset(
            m.provenance.thread_id
            for m in gone
            if speaker and m.provenance.speaker == speaker and m.provenance.thread_id
        ),
    )


def _origin(memory: Memory) -> str:
    return memory.provenance.origin_memory_id or memory.memory_id


def _closure(
    rows: builtins.list[TeamMemoryRow], seeds: Mapping[str, ForgetCause], cascade: bool
) -> dict[str, ForgetCause]:
    """The seeds, plus (with `cascade`) every copy of the same origin and every value they
    superseded, until nothing more joins."""
    doomed: dict[str, ForgetCause] = {
        row.memory.memory_id: seeds[row.memory.memory_id]
        for row in rows
        if row.memory.memory_id in seeds
    }
    if not cascade:
        return doomed
    while True:
        origins = {_origin(row.memory) for row in rows if row.memory.memory_id in doomed}
        grown = False
        for row in rows:
            memory = row.memory
            if memory.memory_id in doomed:
                continue
            if _origin(memory) in origins:
                doomed[memory.memory_id] = "copy"
                grown = True
            elif memory.superseded_by in doomed:
                doomed[memory.memory_id] = "history"
                grown = True
        if not grown:
            return doomed


_DISTINCTIVE = re.compile(r"[\d@]")


def _sensitive_terms(memories: builtins.list[Memory]) -> builtins.list[str]:
    """Text that identifies the removed memories in free text (A2A log payloads, the
    transcripts of the threads that carried them): their contents, and their slot values
    when distinctive (a digit or an '@') and of `MIN_TERM` characters or more, each
    matched as a whole (`memory.transcripts.quotes`)."""
    terms = {m.content for m in memories}
    terms |= {m.value for m in memories if m.value and _DISTINCTIVE.search(m.value)}
    return sorted(t for t in terms if len(t) >= MIN_TERM)


MIN_TERM = 3
"""A shorter value ("4B", "12") names nothing by itself, even matched as a whole word."""
MIN_WIDE_TERM = 6
"""A value this long (a phone number, an e-mail address) is redacted in every transcript
a forget rewrites; a shorter one only in the threads that told or read the fact."""


MIN_BARE_ID_DIGITS = 5
"""A number this long names its subject alone ("12345"); a shorter one ("1", "7") is in
every log (a workflow's "1)", "12 hours") and names them only after their kind."""


def _subject_mentions(subject: str) -> builtins.list[str]:
    """How a subject is named in free text: "customer:12345" -> "customer:12345",
    "customer #12345", "customer 12345", "12345"; "customer:7" -> the first three only."""
    kind, _, name = subject.partition(":")
    if not name:
        return [subject]
    named = [subject, f"{kind} #{name}", f"{kind} {name}"]
    distinctive = len(name) >= MIN_BARE_ID_DIGITS if name.isdigit() else len(name) >= 3
    return [*named, name] if distinctive else named


def _redact_log(
    bridge: A2ABridge, ids: set[str], terms: builtins.list[str], reason: str
) -> builtins.list[str]:
    from memory.transcripts import quotes  # the transcripts' rule of what a term quotes

    redacted: builtins.list[str] = []
    for message in bridge.log.read(limit=sys.maxsize):
        if message.content_type == MEMORY_FORGET or message.payload.get("redacted") is True:
            continue
        hit_ids: set[str] = set()
        if message.content_type == MEMORY_SYNC:
            carried_list = message.payload.get("memories")
            for carried in carried_list if isinstance(carried_list, list) else []:
                if isinstance(carried, dict):
                    provenance = carried.get("provenance")
                    origin = (
                        provenance.get("origin_memory_id") if isinstance(provenance, dict) else None
                    )
                    hit_ids |= {str(carried.get("memory_id")), str(origin)} & ids
        text = json.dumps(message.payload, ensure_ascii=False)
        if hit_ids or any(quotes(text, term) for term in terms):
            bridge.log.redact(message, hit_ids or ids, reason)
            redacted.append(message.message_id)
    return redacted


def _announce(bridge: A2ABridge, report: ForgetReport, requested_by: str, reason: str) -> None:
    """One memory-forget message per agent (or the shared scope) that lost memories."""
    by_owner: dict[str, builtins.list[str]] = {}
    for gone in report.removed:
        by_owner.setdefault(gone.owner or "team", []).append(gone.memory_id)
    for owner, memory_ids in sorted(by_owner.items()):
        message = A2AMessage(
            source_agent=requested_by,
            target_agent=owner,
            content_type=MEMORY_FORGET,
            payload={"memory_ids": list[JsonValue](sorted(memory_ids)), "reason": reason},
        )
        bridge.log.append(message)
        report.forget_messages.append(message.message_id)


# ---- consolidation -----------------------------------------------------------------------
# The seed's "sleep": tidy a team's memory between conversations.
# - merge near-duplicates within each namespace (the later one is absorbed into the
#   earlier one, which gains its mentions and some confidence) unless they contradict
#   each other (memory/contradictions.py) or trust forbids the later one to reinforce;
# - decay the confidence of old implicit or inferred memories never reinforced (said once,
#   long ago, never confirmed): x `decay_factor` per `decay_after_days` of age;
# - resolve conflicts across the team: memories of different agents (or the shared scope)
#   that give different values for the same subject and attribute. memory/trust.py settles
#   them: the most trusted first-hand statement wins (then shown over hidden, then newest);
#   a loser it may change is superseded, any other is disputed. A private guess or a synced
#   copy never invalidates a shared trusted fact, and a slot always keeps a shown value.
# Every change is reported.


@dataclass
class ConsolidationReport:
    merged: builtins.list[tuple[str, str]] = field(default_factory=list)
    """(absorbed memory_id, kept memory_id)"""
    decayed: builtins.list[tuple[str, float, float]] = field(default_factory=list)
    """(memory_id, confidence before, after)"""
    resolved: builtins.list[tuple[str, str]] = field(default_factory=list)
    """(losing memory_id, winning memory_id) for cross-namespace conflicts: the loser is
    superseded, or disputed when trust lets it be hidden but not overruled"""

    @property
    def changed(self) -> int:
        return len(self.merged) + len(self.decayed) + len(self.resolved)


def _memories(store: BaseStore, namespace: Namespace) -> list[Memory]:
    return memories_in(store, namespace, {"valid": True})


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
            other = read_memory(hit)
            if other is None or other.memory_id in (memory.memory_id, *absorbed):
                continue
            # Two similar episodes are two occurrences, not a duplicate (unless word for word).
            same_slot = memory.type != "episodic" and (other.subject, other.attribute) == (
                memory.subject,
                memory.attribute,
            )
            close = hit.score is not None and hit.score >= threshold
            exact = content_key(other.content) == content_key(memory.content)
            if not (exact or (close and same_slot)) or other.created_at < memory.created_at:
                continue
            if not exact and (
                contradiction(memory.content, other.content)
                or not same_referents(memory.content, other.content)
            ):
                continue  # a contradiction is not a duplicate
            if not trust.may_reinforce(memory, other) or trust.trust_level(
                other
            ) != trust.trust_level(memory):
                continue  # a lower-trust restatement never merges into a trusted memory
            now = utcnow()
            memory = memory.model_copy(
                update={
                    "mention_count": memory.mention_count + other.mention_count,
                    "confidence": trust.reinforced_confidence(memory, other),
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
        where = {m.memory_id: namespace for m, namespace in holders}
        winner, losers = trust.settle(m for m, _ in holders)
        win_value = content_key(winner.value or winner.content)
        now = utcnow()
        for memory, change in losers:
            if content_key(memory.value or memory.content) == win_value:
                continue
            if change == "supersede":
                update = {"invalidated_at": now, "superseded_by": winner.memory_id}
            else:
                update = {"disputed_by": winner.memory_id}
            retired = memory.model_copy(update={**update, "updated_at": now})
            _put(store, where[memory.memory_id], retired)
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
    if now is not None and (not isinstance(now, datetime) or now.tzinfo is None):
        raise ValueError(f"now must be a timezone-aware datetime, got {now!r}")
    now = now or utcnow()
    report = ConsolidationReport()
    namespaces = [loc.namespace for loc in TeamMemory(store, team).locations()]
    for namespace in namespaces:
        _merge_duplicates(store, namespace, merge_threshold, report)
        _decay(store, namespace, now, decay_after_days, decay_factor, report)
    _resolve_conflicts(store, namespaces, report)
    return report
