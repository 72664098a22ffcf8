"""Forgetting in conversation transcripts: the checkpointed state of the threads.

A LangGraph checkpointer keeps every step of every thread: the messages, and whatever
else the graph's state held (the request, the memories retrieved for it). After a forget
("delete everything you know about me") the memory store holds nothing of the subject,
but the transcript of the conversation that told it still would, and memory could be
re-extracted from it or read back through the server's thread API and the web UI.

`redact_threads` rewrites every checkpoint (and the pending writes) of the threads that
carried the forgotten facts, through the `BaseCheckpointSaver` API, so it works for the
SQLite, Postgres and in-memory savers alike:

- a message that stated a forgotten fact (its id is a removed memory's
  ``provenance.message_id``), or any message, on a whole-subject forget, that the subject
  sent in a thread where they were the speaker, keeps its id and role and loses its
  text, which becomes `REDACTED`;
- any other text in the state (a message, the request, a retrieved memory's content or
  value) that quotes a forgotten memory or one of its distinctive values (a phone
  number, an e-mail address) is replaced by `REDACTED` as well.

The thread's history is rewritten whole: its checkpoints are read, redacted, the thread
is deleted and the redacted checkpoints are written back with their ids and parents, so
`get_state_history` shows the same steps, without the text. Afterwards every checkpoint
is read again; a term still found is reported (`TranscriptReport.unredacted`), not
hidden.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, Checkpoint, CheckpointTuple
from langgraph.types import Send
from pydantic import BaseModel

logger = logging.getLogger(__name__)

REDACTED = "[redacted: forgotten on request]"


@dataclass(frozen=True)
class Redaction:
    """What to take out of a thread's transcript."""

    message_ids: frozenset[str] = frozenset()
    """Messages that stated a forgotten fact: their text goes."""
    terms: tuple[str, ...] = ()
    """Text that identifies a forgotten fact: a string quoting one of them goes."""
    speaker_threads: frozenset[str] = frozenset()
    """Threads where the forgotten subject was the speaker: all their own messages go."""
    near_terms: tuple[str, ...] = ()
    """Short distinctive values ("B12", "4711"): they go only in `near_threads`."""
    near_threads: frozenset[str] = frozenset()
    """Threads that told or read a forgotten fact."""

    def __bool__(self) -> bool:
        return bool(self.message_ids or self.terms or self.near_terms or self.speaker_threads)

    def in_thread(self, thread_id: str | None) -> Redaction:
        """What goes in `thread_id`: the near terms too where it carried the facts."""
        if thread_id not in self.near_threads or not self.near_terms:
            return self
        return dataclasses.replace(self, terms=(*self.terms, *self.near_terms))


@dataclass
class TranscriptReport:
    threads: list[str] = field(default_factory=list)
    """Threads whose checkpoints were rewritten (something in them was redacted)."""
    checkpoints: int = 0
    """Checkpoints rewritten."""
    unredacted: list[str] = field(default_factory=list)
    """Threads where a forgotten term is still found after the rewrite (should be none)."""
    error: str | None = None
    """Why the transcripts could not be rewritten at all (the checkpointer failed)."""
    wal_truncated: bool | None = None
    """SQLite saver: whether its WAL was truncated (False: a reader kept part of it)."""


def redact_threads(
    saver: BaseCheckpointSaver[Any], thread_ids: Iterable[str], redaction: Redaction
) -> TranscriptReport:
    """Rewrite the checkpoints of `thread_ids` without what `redaction` names."""
    report = TranscriptReport()
    if not redaction:
        return report
    local = _sqlite_connection(saver)
    if local is not None:
        local.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed in the file
    for thread_id in sorted(set(thread_ids)):
        try:
            _redact_thread(saver, thread_id, redaction, report)
        except NotImplementedError:  # a saver that cannot delete or rewrite a thread
            logger.warning("checkpointer %s cannot rewrite thread %s", type(saver), thread_id)
            report.unredacted.append(thread_id)
    if local is not None and report.threads:
        # The WAL holds the pages as first written: copy it in and truncate it.
        busy, _, _ = local.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        report.wal_truncated = not busy
    return report


def _redact_thread(
    saver: BaseCheckpointSaver[Any], thread_id: str, redaction: Redaction, report: TranscriptReport
) -> None:
    tuples = list(saver.list(_thread(thread_id)))
    redaction = redaction.in_thread(thread_id)
    speaker = thread_id in redaction.speaker_threads
    redacted = [_redact_tuple(t, redaction, speaker) for t in tuples]
    if all(new is None for new in redacted):
        return
    saver.delete_thread(thread_id)
    # Oldest first, so each checkpoint's parent is there when it is written back.
    for original, new in reversed(list(zip(tuples, redacted, strict=True))):
        _put_back(saver, new or original)
    report.threads.append(thread_id)
    report.checkpoints += sum(new is not None for new in redacted)
    if _still_holds(saver, thread_id, redaction):
        report.unredacted.append(thread_id)


def _sqlite_connection(saver: BaseCheckpointSaver[Any]) -> sqlite3.Connection | None:
    """The SQLite connection of LangGraph's SqliteSaver (the local backend), if it is one."""
    conn = getattr(saver, "conn", None)
    return conn if isinstance(conn, sqlite3.Connection) else None


def redacted_messages(
    messages: Iterable[BaseMessage], redaction: Redaction, *, speaker: bool
) -> list[BaseMessage]:
    """The messages of a running thread's state that `redaction` changes, redacted, with
    their ids: returned as a node's update, ``add_messages`` replaces them in place."""
    changed: list[BaseMessage] = []
    for message in messages:
        new = _redact(message, redaction, speaker)
        if new != message and message.id is not None:
            changed.append(new)
    return changed


def redact_value(value: Any, redaction: Redaction, *, speaker: bool) -> Any:
    """`value` (a state channel's) with what `redaction` names taken out, shape kept."""
    return _redact(value, redaction, speaker)


def every_thread(saver: BaseCheckpointSaver[Any]) -> set[str]:
    """The ids of every thread the checkpointer holds."""
    return {str(found.config["configurable"]["thread_id"]) for found in saver.list(None)}


def threads_that_read(saver: BaseCheckpointSaver[Any], memory_ids: Collection[str]) -> set[str]:
    """The threads whose state holds one of `memory_ids` (a memory read or written there:
    ``retrieved``, ``written``, findings), in any checkpoint or pending write."""
    wanted = set(memory_ids)
    found: set[str] = set()
    for checkpoint in saver.list(None):
        thread_id = str(checkpoint.config["configurable"]["thread_id"])
        if thread_id in found:
            continue
        writes = [value for _, _, value in checkpoint.pending_writes or []]
        if _names_memory(checkpoint.checkpoint.get("channel_values"), wanted) or _names_memory(
            writes, wanted
        ):
            found.add(thread_id)
    return found


def _names_memory(value: Any, ids: set[str]) -> bool:
    if isinstance(value, dict):
        if value.get("memory_id") in ids:
            return True
        return any(_names_memory(v, ids) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_names_memory(v, ids) for v in value)
    if isinstance(value, Send):
        return _names_memory(value.arg, ids)
    if isinstance(value, BaseModel) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    ):
        if getattr(value, "memory_id", None) in ids:
            return True
        names = (
            type(value).model_fields
            if isinstance(value, BaseModel)
            else [f.name for f in dataclasses.fields(value)]
        )
        return any(_names_memory(getattr(value, name), ids) for name in names)
    return False


def _thread(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def _redact_tuple(
    found: CheckpointTuple, redaction: Redaction, speaker: bool
) -> CheckpointTuple | None:
    """`found` without the redacted text; None when there was nothing to redact."""
    values = found.checkpoint.get("channel_values", {})
    writes = found.pending_writes or []
    # A stated message's text also lives on in plain strings (the turn's `request`
    # channel): the whole text is a term of its own.
    stated = _stated_texts([values, [v for _, _, v in writes]], redaction.message_ids)
    if stated:
        redaction = dataclasses.replace(redaction, terms=(*redaction.terms, *stated))
    new_values = _redact(values, redaction, speaker)
    new_writes = [(task, channel, _redact(v, redaction, speaker)) for task, channel, v in writes]
    if new_values == values and new_writes == writes:
        return None
    checkpoint = cast(Checkpoint, {**found.checkpoint, "channel_values": new_values})
    return found._replace(checkpoint=checkpoint, pending_writes=new_writes)


def _redact(value: Any, redaction: Redaction, speaker: bool) -> Any:
    """`value` with every redacted text replaced, its shape and types kept."""
    if isinstance(value, str):
        return REDACTED if _quotes(value, redaction.terms) else value
    if isinstance(value, BaseMessage):
        if _message_goes(value.id, value.type, _text(value), redaction, speaker):
            return value.model_copy(update={"content": REDACTED})
        return value
    if isinstance(value, dict):
        redacted = {k: _redact(v, redaction, speaker) for k, v in value.items()}
        # A message kept as a plain dict (the LangGraph server's serializer reads
        # checkpoints back as JSON-like values): the same rules as a BaseMessage.
        if _is_message_dict(value) and _message_goes(
            value["id"], value["type"], str(value["content"]), redaction, speaker
        ):
            redacted["content"] = REDACTED
        return redacted
    if isinstance(value, Send):  # a task handed to a node (the specialists' requests)
        return Send(value.node, _redact(value.arg, redaction, speaker))
    if isinstance(value, list | tuple):
        items = [_redact(v, redaction, speaker) for v in value]
        return items if isinstance(value, list) else type(value)(items)
    if isinstance(value, BaseModel):
        changed = {
            name: _redact(getattr(value, name), redaction, speaker)
            for name in type(value).model_fields
        }
        return value.model_copy(update=changed)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: _redact(getattr(value, f.name), redaction, speaker)
            for f in dataclasses.fields(value)
            if f.init
        }
        return dataclasses.replace(value, **fields)
    return value


def _message_goes(
    message_id: str | None, kind: str, text: str, redaction: Redaction, speaker: bool
) -> bool:
    """Whether a message's text is redacted: it stated a forgotten fact, it is the
    forgotten speaker's own (a whole subject forgotten), or it quotes a forgotten term."""
    stated = message_id is not None and message_id in redaction.message_ids
    own = speaker and kind == "human"
    return stated or own or _quotes(text, redaction.terms)


def _stated_texts(value: Any, message_ids: Collection[str]) -> tuple[str, ...]:
    """The texts of the messages in `value` whose ids are in `message_ids`."""
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, BaseMessage):
            if item.id in message_ids:
                found.append(_text(item))
        elif isinstance(item, dict):
            if _is_message_dict(item) and item["id"] in message_ids:
                found.append(str(item["content"]))
            for v in item.values():
                walk(v)
        elif isinstance(item, list | tuple):
            for v in item:
                walk(v)

    if message_ids:
        walk(value)
    return tuple(dict.fromkeys(t.strip() for t in found if len(t.strip()) >= 6))


def _is_message_dict(value: dict[Any, Any]) -> bool:
    return (
        isinstance(value.get("id"), str)
        and "content" in value
        and value.get("type") in ("human", "ai", "system", "tool")
    )


def _text(message: BaseMessage) -> str:
    content = message.content
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def _quotes(text: str, terms: Collection[str]) -> bool:
    return any(quotes(text, term) for term in terms)


def quotes(text: str, term: str) -> bool:
    """Whether `text` quotes `term` as a whole, case aside: "B12" is in "locker B12." but
    not in "B123", "customer #1" not in "customer #12345". The one rule of what a forget
    redacts, in transcripts and in the A2A log alike."""
    before = r"(?<!\w)" if term[:1].isalnum() or term[:1] == "_" else ""
    after = r"(?!\w)" if term[-1:].isalnum() or term[-1:] == "_" else ""
    return re.search(before + re.escape(term) + after, text, re.IGNORECASE) is not None


def _put_back(saver: BaseCheckpointSaver[Any], found: CheckpointTuple) -> None:
    configurable = found.config["configurable"]
    parent: RunnableConfig = found.parent_config or {
        "configurable": {
            "thread_id": configurable["thread_id"],
            "checkpoint_ns": configurable.get("checkpoint_ns", ""),
        }
    }
    checkpoint = found.checkpoint
    # Every channel is "new": a saver that stores channel values apart (Postgres blobs)
    # writes them all again, since the thread's were deleted.
    saver.put(parent, checkpoint, found.metadata, dict(checkpoint.get("channel_versions", {})))
    by_task: dict[str, list[tuple[str, Any]]] = {}
    for task, channel, value in found.pending_writes or []:
        by_task.setdefault(task, []).append((channel, value))
    for task, writes in by_task.items():
        saver.put_writes(found.config, writes, task)


def _still_holds(saver: BaseCheckpointSaver[Any], thread_id: str, redaction: Redaction) -> bool:
    for found in saver.list(_thread(thread_id)):
        values = found.checkpoint.get("channel_values", {})
        if _redact(values, redaction, thread_id in redaction.speaker_threads) != values:
            return True
    return False
