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

`python -m evals timeline --json OUT` writes reports/timeline.{json,md,png}.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, get_args

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore
from pydantic import BaseModel, ConfigDict
from rich.console import Console

from evals.ranking import HitRates, HitTally, Ranker, temporary_store
from evals.report import Report, bar_panels, markdown_table, write_report
from memory.extraction.dates import find_dates, long_date, query_window
from memory.manager import MemoryManager
from memory.models import Memory, Provenance, utcnow
from memory.namespaces import memory_namespace

TEAM = "support"
CUSTOMERS = 30
TOP_K = 5
MEMORY = "memory"
Form = Literal["day", "month", "kind"]
"""How a question names its period (see the module docstring)."""
FORMS: tuple[Form, ...] = get_args(Form)
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
    form: Form
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
    form: Form,
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


def memory_ranker(store: BaseStore, *, ignore_period: bool) -> Ranker[Question]:
    manager = MemoryManager(store, team=TEAM, agent="alex")

    def rank(question: Question) -> list[str]:
        text = question.text.replace(f" {question.period}", "") if ignore_period else question.text
        hits = manager.search(text, limit=TOP_K, subject=f"customer:{question.customer}")
        return [h.memory.memory_id for h in hits]

    return rank


def dense_ranker(store: BaseStore) -> Ranker[Question]:
    def rank(question: Question) -> list[str]:
        return [h.key for h in store.search(("team", TEAM), query=question.text, limit=TOP_K)]

    return rank


class SystemScore(HitRates):
    """One system's answers to every question."""

    by_form: dict[Form, HitRates]
    misses: list[str]
    """The first ten questions whose first result is not an expected incident."""


class TimelineSummary(BaseModel):
    """What one run measured: what the JSON, the markdown and the plot show."""

    model_config = ConfigDict(frozen=True)

    incidents: int
    customers: int
    questions: int
    top_k: int
    systems: dict[str, SystemScore]


def score(qs: list[Question], rank: Ranker[Question]) -> SystemScore:
    tally = HitTally[Form]()
    misses: list[str] = []
    for question in qs:
        first, _ = tally.add(question.form, rank(question), question.expected)
        if not first:
            misses.append(question.text)
    return SystemScore(**dict(tally.overall()), by_form=tally.by_kind(), misses=misses[:10])


def run_timeline_eval(
    *,
    json_out: Path | None = None,
    reports: Path | None = None,
    embeddings: Embeddings | None = None,
    console: Console | None = None,
) -> TimelineSummary:
    """Build the timeline, ask every question of each system, write the reports."""
    now = utcnow()
    with temporary_store(embeddings) as store:
        incidents = build_timeline(store, now)
        qs = questions(incidents, now)
        systems = {
            MEMORY: memory_ranker(store, ignore_period=False),
            "memory, period ignored": memory_ranker(store, ignore_period=True),
            "plain dense": dense_ranker(store),
        }
        results = {name: score(qs, rank) for name, rank in systems.items()}
    summary = TimelineSummary(
        incidents=len(incidents),
        customers=CUSTOMERS,
        questions=len(qs),
        top_k=TOP_K,
        systems=results,
    )
    plots = {"timeline.png": lambda path: plot(summary, path)}
    report = Report("timeline", summary, render_markdown(summary), plots)
    write_report(report, reports=reports, json_out=json_out, console=console or Console())
    return summary


def render_markdown(summary: TimelineSummary) -> str:
    rows = [
        [name, r.hit_at_1, r.hit_at_5, *(r.by_form[form].hit_at_1 for form in FORMS)]
        for name, r in summary.systems.items()
    ]
    misses = summary.systems[MEMORY].misses
    return "\n".join(
        [
            "# Timeline: does a question naming a period find that period's events?",
            "",
            f"{summary.incidents} dated incidents of {summary.customers} customers; "
            f"{summary.questions} questions naming a day, a month, or a kind and its "
            f"period; top {summary.top_k}.",
            "",
            markdown_table(
                ["system", "hit@1", "hit@5", *(f"{form} hit@1" for form in FORMS)], rows
            ),
            "",
            "Missed at rank 1 by memory: " + ("; ".join(misses) if misses else "none"),
            "",
            "![hit@1 and hit@5 per question form and system](timeline.png)",
        ]
    )


def plot(summary: TimelineSummary, path: Path) -> Path:
    """hit@1 (left) and hit@5 (right) per question form, one bar per system."""
    rates: dict[str, dict[str, HitRates]] = {
        name: dict([("all", r), *r.by_form.items()]) for name, r in summary.systems.items()
    }
    forms = ["all", *FORMS]
    panels = {
        "hit@1": {form: {name: by[form].hit_at_1 for name, by in rates.items()} for form in forms},
        "hit@5": {form: {name: by[form].hit_at_5 for name, by in rates.items()} for form in forms},
    }
    return bar_panels(
        path,
        panels,
        title=f"Timeline: {summary.questions} questions naming a period, "
        f"{summary.incidents} incidents, top {summary.top_k}",
        ylabel="share of questions",
    )
