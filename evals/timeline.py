"""The timeline eval: does a question that names a period find the events of that period?

A support memory of dated episodes is built: for each of 30 customers, eight incidents
over the past year (two each of four kinds: a late order, a damaged package, a double
charge, a broken router), each stored as the team stores an episode, its content stating
the absolute date and its event time set. Questions ask as the team graph does, in the
customer's context ("customer #ID: ..."), naming a period three ways:

- `day`: "What happened on Jan 5?" (the day of one of the customer's incidents);
- `month`: "Did anything go wrong in March?" (every incident of that month counts);
- `kind`: "Did my order arrive late last month?" / "... in the week of ...": the kind of
  incident and its period, where the same kind also happened at another time.

Systems, top 5: `memory` (MemoryManager.search with the subject: the period is a store
filter on the event time, ranked inside it), `memory, period ignored` (the same search
with the period phrase cut from the question: retrieval without a sense of time), and
`plain dense` (the store's vector search with the whole question). Reported: hit@1 and
hit@5 (an incident of the period, of the asked kind for `kind`, first / in the top 5).

`python -m evals timeline --json OUT` writes reports/timeline.{json,md}.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore
from rich.console import Console

from evals.report import Report, markdown_table, write_report
from memory.extraction.dates import find_dates, long_date, query_window
from memory.manager import MemoryManager
from memory.models import Memory, Provenance, utcnow
from memory.namespaces import memory_namespace

TEAM = "support"
CUSTOMERS = 30
TOP_K = 5
KINDS: dict[str, tuple[str, str]] = {
    "late": ("order {order} arrived late", "Did my order arrive late"),
    "damaged": ("package for order {order} arrived damaged", "Did a package arrive damaged"),
    "charged": ("card was charged twice for order {order}", "Was I charged twice"),
    "router": ("router stopped working", "Did my router stop working"),
}


@dataclass(frozen=True)
class Incident:
    customer: str
    kind: str
    day: datetime
    memory_id: str


@dataclass(frozen=True)
class Question:
    customer: str
    text: str
    period: str
    """The phrase naming the period (cut out for `memory, period ignored`)."""
    form: str
    expected: frozenset[str]


def build_timeline(store: BaseStore, now: datetime, seed: int = 5) -> list[Incident]:
    """Eight dated incidents per customer over the past year, stored as episodes."""
    rng = random.Random(seed)
    namespace = memory_namespace(TEAM, "shared", "sam")
    incidents: list[Incident] = []
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for n in range(CUSTOMERS):
        cid = str(20001 + n)
        days = sorted(rng.sample(range(2, 330), 8))
        kinds = [kind for kind in KINDS for _ in range(2)]
        rng.shuffle(kinds)
        for ago, kind in zip(days, kinds, strict=True):
            day = today - timedelta(days=ago)
            what = KINDS[kind][0].format(order=f"ORD-{rng.randint(1000, 9999)}")
            memory = Memory(
                content=f"On {long_date(day.date())} customer #{cid}'s {what}.",
                type="episodic",
                subject=f"customer:{cid}",
                event_time=day,
                asserted_by="system",
                confidence=0.95,
                provenance=Provenance(source_agent="sam", message_id=f"{cid}-{ago}"),
            )
            store.put(namespace, memory.memory_id, memory.to_store_value())
            incidents.append(Incident(cid, kind, day, memory.memory_id))
    return incidents


def questions(incidents: list[Incident], now: datetime, seed: int = 5) -> list[Question]:
    rng = random.Random(seed)
    by_customer: dict[str, list[Incident]] = {}
    for incident in incidents:
        by_customer.setdefault(incident.customer, []).append(incident)
    out: list[Question] = []
    for cid, own in sorted(by_customer.items()):
        day = rng.choice(own).day
        out.append(_question(cid, own, "What happened", f"on {day:%B} {day.day}", "day", now))
        month = rng.choice(own).day
        out.append(_question(cid, own, "Did anything go wrong", f"in {month:%B}", "month", now))
        target = rng.choice(own)
        ago = (now - target.day).days
        period = "last month" if 28 <= ago <= 60 else f"on {target.day:%B} {target.day.day}"
        asked = KINDS[target.kind][1]
        out.append(_question(cid, own, asked, period, "kind", now, kind=target.kind))
    return [q for q in out if q.expected]


def _question(
    cid: str,
    own: list[Incident],
    asked: str,
    period: str,
    form: str,
    now: datetime,
    kind: str | None = None,
) -> Question:
    window = query_window(period, now)
    assert window is not None and find_dates(period, now), period
    start, end = window
    expected = frozenset(
        i.memory_id for i in own if start <= i.day < end and (kind is None or i.kind == kind)
    )
    return Question(cid, f"customer #{cid}: {asked} {period}?", period, form, expected)


Ranker = Callable[[Question], list[str]]


def memory_ranker(store: BaseStore, *, ignore_period: bool) -> Ranker:
    manager = MemoryManager(store, team=TEAM, agent="alex")

    def rank(question: Question) -> list[str]:
        text = question.text.replace(f" {question.period}", "") if ignore_period else question.text
        hits = manager.search(text, limit=TOP_K, subject=f"customer:{question.customer}")
        return [h.memory.memory_id for h in hits]

    return rank


def dense_ranker(store: BaseStore) -> Ranker:
    def rank(question: Question) -> list[str]:
        return [h.key for h in store.search(("team", TEAM), query=question.text, limit=TOP_K)]

    return rank


def score(qs: list[Question], rank: Ranker) -> dict[str, Any]:
    forms: dict[str, list[tuple[bool, bool]]] = {}
    misses: list[str] = []
    for question in qs:
        ranked = rank(question)
        first = bool(ranked) and ranked[0] in question.expected
        top = bool(question.expected & set(ranked))
        forms.setdefault(question.form, []).append((first, top))
        if not first:
            misses.append(question.text)
    every = [pair for pairs in forms.values() for pair in pairs]
    return {
        "hit@1": sum(f for f, _ in every) / len(every),
        "hit@5": sum(t for _, t in every) / len(every),
        "by_form": {
            form: {
                "hit@1": sum(f for f, _ in pairs) / len(pairs),
                "hit@5": sum(t for _, t in pairs) / len(pairs),
                "questions": len(pairs),
            }
            for form, pairs in sorted(forms.items())
        },
        "misses": misses[:10],
    }


def run_timeline_eval(
    *,
    json_out: Path | None = None,
    reports: Path | None = None,
    embeddings: Embeddings | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Build the timeline, ask every question of each system, write the reports."""
    from evals.locomo.cache import cached_embeddings
    from evals.locomo.turns import open_store

    console = console or Console()
    embeddings = cached_embeddings(embeddings, None)
    now = utcnow()
    with (
        tempfile.TemporaryDirectory() as tmp,
        open_store(Path(tmp) / "store", embeddings, ["content"]) as store,
    ):
        incidents = build_timeline(store, now)
        qs = questions(incidents, now)
        systems = {
            "memory": memory_ranker(store, ignore_period=False),
            "memory, period ignored": memory_ranker(store, ignore_period=True),
            "plain dense": dense_ranker(store),
        }
        results = {name: score(qs, rank) for name, rank in systems.items()}
    result: dict[str, Any] = {
        "incidents": len(incidents),
        "customers": CUSTOMERS,
        "questions": len(qs),
        "top_k": TOP_K,
        "systems": results,
    }
    write_report(Report("timeline", result, _markdown(result)), reports=reports, json_out=json_out)
    console.print(_markdown(result))
    return result


def _markdown(result: dict[str, Any]) -> str:
    rows = [
        [name, r["hit@1"], r["hit@5"]]
        + [r["by_form"][form]["hit@1"] for form in ("day", "month", "kind")]
        for name, r in result["systems"].items()
    ]
    misses = result["systems"]["memory"]["misses"]
    return "\n".join(
        [
            "# Timeline: does a question naming a period find that period's events?",
            "",
            f"{result['incidents']} dated incidents of {result['customers']} customers; "
            f"{result['questions']} questions naming a day, a month, or a kind and its "
            f"period; top {result['top_k']}.",
            "",
            markdown_table(
                ["system", "hit@1", "hit@5", "day hit@1", "month hit@1", "kind hit@1"], rows
            ),
            "",
            "Missed at rank 1 by memory: " + ("; ".join(misses) if misses else "none"),
        ]
    )
