"""Rich rendering for the command line: memory tables, the A2A log, live demo events.

Everything here turns records into rich renderables or JSON-ready dicts; nothing opens a
store or runs a graph, so the functions are easy to test and reuse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from memory.bridge import A2AMessage
    from memory.manager import AddResult, ScoredMemory
    from memory.models import Memory
    from memory.team import ConsolidationReport, ForgetReport
    from nodes.events import StreamEvent
    from nodes.state import RetrievedMemory
    from teams.support.demo import DemoSummary

SHORT_ID = 8
"""Characters of a memory_id shown in tables; commands accept any unique prefix."""

CONTENT_TYPE_LABELS: Mapping[str, str] = {
    "application/vnd.a2a.task+json": "task",
    "application/vnd.a2a.result+json": "result",
    "application/vnd.a2a.memory-sync+json": "memory-sync",
    "application/vnd.a2a.memory-forget+json": "memory-forget",
}
"""The short names the CLI uses for A2A content types (`logs --type`)."""

_PAYLOAD_TEXT_KEYS = ("task", "text", "summary", "content", "request", "reply", "message")


def short_id(memory_id: str) -> str:
    return memory_id[:SHORT_ID]


def owner_label(memory: Memory, owner: str | None) -> str:
    """The scope column: "shared", or "private (sam)" when the owner is known."""
    if memory.scope == "shared" or owner is None:
        return memory.scope
    return f"private ({owner})"


def source_label(memory: Memory) -> str:
    """Who wrote it; for a synced copy, also who first learned it."""
    provenance = memory.provenance
    if provenance.origin_agent and provenance.origin_agent != provenance.source_agent:
        return f"{provenance.source_agent} (from {provenance.origin_agent})"
    return provenance.source_agent


def _table(title: str = "") -> Table:
    """A compact table: no vertical rules, so the content column keeps its width."""
    return Table(title=title or None, box=box.SIMPLE_HEAD, pad_edge=False)


def _memory_style(memory: Memory) -> str:
    return "" if memory.is_valid else "dim strike"


WIDE_TABLE = 120
"""From this console width on, subject, source and mentions get columns of their own;
below it they go on a dim second line of the content cell, so content stays readable."""


def memory_table(
    memories: Sequence[Memory],
    owners: Sequence[str | None] | None = None,
    *,
    title: str = "",
    width: int = WIDE_TABLE,
) -> Table:
    """id, type, scope, confidence, mentions, content, subject, source; invalidated rows
    are struck through. `owners[i]` names the agent owning a private `memories[i]`."""
    wide = width >= WIDE_TABLE
    table = _memory_columns(_table(title), wide)
    owner_of = list(owners) if owners is not None else [None] * len(memories)
    for memory, owner in zip(memories, owner_of, strict=True):
        table.add_row(*_memory_cells(memory, owner, wide), style=_memory_style(memory))
    return table


def scored_table(
    hits: Sequence[ScoredMemory], *, title: str = "", width: int = WIDE_TABLE
) -> Table:
    """Search results, best first: the score, then the memory columns."""
    wide = width >= WIDE_TABLE
    table = _table(title)
    table.add_column("score", justify="right", style="bold", no_wrap=True)
    _memory_columns(table, wide)
    for hit in hits:
        owner = hit.namespace[3] if len(hit.namespace) > 3 else None
        score = f"{hit.score:.3f}" + (" link" if hit.via_link else "")
        table.add_row(
            score, *_memory_cells(hit.memory, owner, wide), style=_memory_style(hit.memory)
        )
    return table


def _memory_columns(table: Table, wide: bool) -> Table:
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("scope")
    table.add_column("confidence" if wide else "conf", justify="right", no_wrap=True)
    if wide:
        table.add_column("mentions", justify="right", no_wrap=True)
    table.add_column("content", min_width=28 if wide else 16, ratio=1, overflow="fold")
    if wide:
        table.add_column("subject", overflow="fold")
        table.add_column("source", overflow="fold")
    return table


def _memory_cells(memory: Memory, owner: str | None, wide: bool) -> list[str | Text]:
    head: list[str | Text] = [
        short_id(memory.memory_id),
        memory.type,
        owner_label(memory, owner),
        f"{memory.confidence:.2f}",
    ]
    if wide:
        return [
            *head,
            str(memory.mention_count),
            memory.content,
            memory.subject or "",
            source_label(memory),
        ]
    details = [f"from {source_label(memory)}", f"mentions {memory.mention_count}"]
    if memory.subject:
        details.insert(0, f"about {memory.subject}")
    content = Text(memory.content)
    content.append("\n" + " · ".join(details), style="dim")
    return [*head, content]


def add_results_table(results: Sequence[AddResult]) -> Table:
    """What `memories add` did with each memory: added, reinforced, merged or superseded."""
    table = _table()
    table.add_column("action", style="bold")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("type")
    table.add_column("scope")
    table.add_column("confidence", justify="right")
    table.add_column("content", overflow="fold", min_width=28, ratio=2)
    table.add_column("replaces", style="dim", overflow="fold", ratio=1)
    for result in results:
        memory = result.memory
        table.add_row(
            result.action,
            short_id(memory.memory_id),
            memory.type,
            memory.scope,
            f"{memory.confidence:.2f}",
            memory.content,
            _replaced(result),
        )
    return table


def _replaced(result: AddResult) -> str:
    if result.previous is None or result.action != "superseded":
        return ""
    return f"{short_id(result.previous.memory_id)}: {result.previous.content}"


def retrieved_table(
    retrieved: Sequence[RetrievedMemory], *, title: str = "", width: int = WIDE_TABLE
) -> Table:
    """The memories an agent read for a turn, best first."""
    wide = width >= WIDE_TABLE
    table = _table(title)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("scope", no_wrap=True)
    table.add_column("confidence" if wide else "conf", justify="right", no_wrap=True)
    table.add_column("content", overflow="fold", min_width=16, ratio=1)
    if wide:
        table.add_column("source", no_wrap=True)
    for memory in retrieved:
        content = Text(memory.content)
        if not wide:
            content.append(f"\nfrom {memory.source_agent}", style="dim")
        cells: list[str | Text] = [
            f"{memory.score:.3f}",
            short_id(memory.memory_id),
            memory.type,
            memory.scope,
            f"{memory.confidence:.2f}",
            content,
        ]
        table.add_row(*cells, *([memory.source_agent] if wide else []))
    return table


def memory_json(memory: Memory, owner: str | None = None) -> dict[str, Any]:
    """A memory as JSON, with the agent owning it when it is private."""
    return {**memory.model_dump(mode="json"), "owner": owner}


def scored_json(hit: ScoredMemory) -> dict[str, Any]:
    owner = hit.namespace[3] if len(hit.namespace) > 3 else None
    return {
        "score": hit.score,
        "relevance": hit.relevance,
        "via_link": hit.via_link,
        "memory": memory_json(hit.memory, owner),
    }


def dumps(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


# ---- the A2A log -------------------------------------------------------------------------
def payload_summary(message: A2AMessage, width: int = 160) -> str:
    """A one-line gist of a message body: the synced memories, or the task/result text."""
    payload = message.payload
    if payload.get("redacted") is True:
        return f"[redacted: {payload.get('reason', 'forgotten')}]"
    memories = payload.get("memories")
    if isinstance(memories, list):
        parts = [str(m.get("content", "")) for m in memories if isinstance(m, dict)]
        text = "; ".join(p for p in parts if p)
    else:
        text = next(
            (str(payload[k]) for k in _PAYLOAD_TEXT_KEYS if isinstance(payload.get(k), str)),
            json.dumps(payload, ensure_ascii=False, default=str),
        )
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def log_table(messages: Sequence[A2AMessage], *, title: str = "", width: int = WIDE_TABLE) -> Table:
    """One row per A2A message; below WIDE_TABLE columns the year and message id go."""
    wide = width >= WIDE_TABLE
    table = _table(title)
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("from → to")
    table.add_column("type", no_wrap=True)
    table.add_column("hops", justify="right", no_wrap=True)
    table.add_column("content", overflow="fold", min_width=16, ratio=1)
    if wide:
        table.add_column("message", style="cyan", no_wrap=True)
    time_format = "%Y-%m-%d %H:%M:%S" if wide else "%m-%d %H:%M:%S"
    for message in messages:
        cells = [
            message.created.strftime(time_format),
            f"{message.source_agent} → {message.target_agent}",
            CONTENT_TYPE_LABELS.get(message.content_type, message.content_type),
            str(message.hops),
            payload_summary(message),
        ]
        table.add_row(*cells, *([short_id(message.message_id)] if wide else []))
    return table


# ---- maintenance and info ----------------------------------------------------------------
def consolidation_view(report: ConsolidationReport) -> Panel:
    """The consolidation report: what was merged, decayed and resolved."""
    if report.changed == 0:
        return Panel("Nothing to consolidate: no duplicates, stale guesses or conflicts.")
    lines = Text()
    for absorbed, kept in report.merged:
        lines.append(f"merged    {short_id(absorbed)} into {short_id(kept)}\n")
    for memory_id, before, after in report.decayed:
        lines.append(f"decayed   {short_id(memory_id)} confidence {before:.2f} → {after:.2f}\n")
    for invalidated, winner in report.resolved:
        lines.append(f"resolved  {short_id(invalidated)} superseded by {short_id(winner)}\n")
    counts = (
        f"{len(report.merged)} merged, {len(report.decayed)} decayed, "
        f"{len(report.resolved)} conflicts resolved"
    )
    return Panel(lines, title=f"Consolidation: {counts}", title_align="left")


def forget_view(report: ForgetReport, *, title: str) -> Panel:
    """What a forget removed (each memory, where, and why), cleaned and redacted."""
    if not report.removed:
        return Panel("Nothing to forget: no memory matched.", title=title, title_align="left")
    lines = Text()
    for gone in report.removed:
        where = "shared" if gone.owner is None else f"private to {gone.owner}"
        lines.append(f"removed   {short_id(gone.memory_id)} ({where}, {gone.cause}): ")
        lines.append(f"{_clip(gone.content, 100)}\n")
    transcripts = report.transcripts
    if transcripts is not None:
        lines.append(
            f"transcripts: {len(transcripts.threads)} threads redacted "
            f"({transcripts.checkpoints} checkpoints rewritten)\n"
        )
        if transcripts.error:
            lines.append(f"transcripts NOT redacted: {transcripts.error}\n")
        for thread_id in transcripts.unredacted:
            lines.append(f"NOT redacted: thread {thread_id} still holds forgotten text\n")
    counts = (
        f"{len(report.removed)} removed, {len(report.links_cleaned)} links cleaned, "
        f"{len(report.log_redacted)} log messages redacted"
    )
    return Panel(lines, title=f"{title}: {counts}", title_align="left")


def key_value_table(rows: Sequence[tuple[str, str]], *, title: str = "") -> Table:
    table = Table(title=title or None, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


# ---- live demo events --------------------------------------------------------------------
def _clip(text: object, width: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _confidence(value: object) -> Text:
    return Text(f" ({value:.2f})" if isinstance(value, int | float) else "", style="dim")


EventRow = tuple[str, str, Text]
"""(label, label style, body) of one live event."""


def event_line(event: Mapping[str, Any], started: float | None = None) -> Table:
    """One row of the live collaboration view for a graph's custom stream event
    (``nodes.events``): seconds since `started` (a time.time() value), what happened, and
    the details, aligned so wrapped details stay in their column. A kind this version does
    not know is shown as its raw fields."""
    from nodes.events import parse_event  # LangChain's message types: only for live events

    typed = parse_event(event)
    if typed is None:
        label, style, body = str(event.get("event")), "dim", Text(_extra(event))
        at = event.get("at")
    else:
        label, style, body = _describe(typed)
        at = typed.at
    clock = ""
    if started is not None and isinstance(at, int | float):
        clock = f"{max(0.0, at - started):.2f}s"
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=7, justify="right", style="dim")
    grid.add_column(width=8, style=style, no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    grid.add_row(clock, label, body)
    return grid


def _extra(event: Mapping[str, Any]) -> str:
    return _clip(", ".join(f"{k}={v}" for k, v in event.items() if k not in ("event", "at")))


def _describe(event: StreamEvent) -> EventRow:
    from nodes.events import (
        A2AEvent,
        CompactionEvent,
        GroundingEvent,
        MemoryReadEvent,
        MemoryWriteEvent,
        ReplyEvent,
        RoutingEvent,
        SyncEvent,
        ToolCallEvent,
    )

    match event:
        case RoutingEvent():
            body = Text(f"→ {', '.join(event.specialists) or 'nobody'} ")
            body.append(f"[{event.method}] {_clip(event.reason)}", style="dim")
            return "route", "bold magenta", body
        case A2AEvent():
            label = CONTENT_TYPE_LABELS.get(event.content_type, event.content_type)
            body = Text(f"{event.source} → {event.target} ")
            body.append(label, style="blue")
            body.append(f"  {_clip(event.text)}")
            return "a2a", "bold blue", body
        case ToolCallEvent():
            outcome = "; ".join(event.facts) if event.ok else "failed: " + "; ".join(event.facts)
            body = Text(f"{event.agent} {event.tool}({_clip(event.args, 60)}) ")
            body.append(_clip(outcome), style="" if event.ok else "red")
            return "tool", "bold", body
        case MemoryReadEvent():
            body = Text(f"{event.agent} ← {_clip(event.content)}")
            return "read", "bold green", body + _confidence(event.confidence)
        case MemoryWriteEvent():
            body = Text(f"{event.agent} {event.action} ({event.scope}): {_clip(event.content)}")
            return "write", "bold yellow", body + _confidence(event.confidence)
        case SyncEvent():
            body = Text(f"{event.source} → {event.target}: {_clip(event.content)}")
            return "sync", "bold cyan", body + _confidence(event.confidence)
        case ReplyEvent():
            how = "by the deterministic fallback" if event.fallback else "by the chat model"
            return "reply", "bold", Text(f"{event.agent} wrote it {how}".strip(), style="dim")
        case GroundingEvent():
            if not event.replaced:
                return "ground", "dim", Text(f"{event.agent} {event.step}: grounded", style="dim")
            found = [*event.claims, *event.words, *(f"missing {m}" for m in event.missing)]
            found += [f"not stated together: {c}" for c in event.combinations]
            why = ", ".join(found) or "no text"
            body = Text(f"{event.agent} {event.step}: replaced by the grounded text ({_clip(why)})")
            return "ground", "yellow", body
        case CompactionEvent():
            body = Text(
                f"{event.strategy}: dropped {event.dropped} messages, "
                f"{event.tokens_before} → {event.tokens_after} tokens",
                style="dim",
            )
            return "compact", "dim", body


def reply_panel(reply: str, *, title: str = "Reply") -> Panel:
    return Panel(reply, title=title, title_align="left", border_style="green")


def timings_table(timings_ms: Mapping[str, float]) -> Table:
    table = Table(title="Timings", title_justify="left", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for step, ms in timings_ms.items():
        table.add_row(step, f"{ms / 1000:.2f}s")
    return table


def _bullets(items: Sequence[str], empty: str = "none") -> str:
    return "\n".join(f"- {item}" for item in items) if items else empty


def demo_summary_view(summary: DemoSummary) -> Group:
    """The end of the demo: who worked on it, memory traffic, fallbacks, the reply."""
    parallel = "in parallel" if summary.parallel else "one after the other"
    rows = [
        ("thread", summary.thread_id),
        ("routing", f"{', '.join(summary.specialists) or 'nobody'} ({summary.routing_method})"),
        ("specialists worked", parallel),
        ("A2A messages", str(summary.a2a_messages)),
        ("memories read", str(len(summary.memories_read))),
        ("memories written", _bullets(summary.memories_written)),
        ("memories synced", _bullets(summary.memories_synced)),
        ("fallbacks used", ", ".join(summary.fallbacks) or "none"),
    ]
    parts: list[Any] = [key_value_table(rows, title="Summary"), reply_panel(summary.reply)]
    if summary.follow_up is not None:
        follow = summary.follow_up
        parts.append(
            reply_panel(
                f"Q: {follow.question}\nRecalled:\n{_bullets(follow.retrieved)}\n\n{follow.reply}",
                title=f"Follow-up with {follow.agent} (new thread {follow.thread_id})",
            )
        )
    if summary.timings_ms:
        parts.append(timings_table(summary.timings_ms))
    return Group(*parts)
