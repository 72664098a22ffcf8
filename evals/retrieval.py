"""The retrieval eval: does the memory answer with the right customer's current facts?

A realistic support memory is built through the public API: the company's policies,
workflows and skills (staff), and for each of 55 customers their contact preference and
tier (staff records), their billing and shipping addresses and, for some, a changed
preference (said by the customer, read by extraction, superseding the record), and a
delivery incident (a system of record). That is 300+ memories, 20+ of them superseded.

75 labeled questions ask as the team graph does (in a customer's context the query is
"customer #ID: <request>"): customer-specific questions, requests that want a procedure
("I'd like a refund"), and general questions. Each system answers with its top 5:

- `memory`: MemoryManager.search with the conversation's subject (the product);
- `memory, no subject`: the same search without a subject (how it was before);
- `plain dense`: the store's own vector search over every stored memory.

Reported: hit@1 and hit@5 (an expected memory first / in the top 5), the leak rate (share
of the top-5 results of customer questions that are another customer's facts) and stale
hits (share of questions whose top 5 holds a superseded memory). Targets for `memory`:
hit@5 >= 0.90, leak 0, stale 0, and better than plain dense.

`python -m evals retrieval --json OUT` writes reports/retrieval.{json,md,png}; the JSON
also holds hit@1 / hit@5 per kind of question.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore
from pydantic import BaseModel, ConfigDict, Field, computed_field
from rich.console import Console

from evals.ranking import HitRates, HitTally, Ranker, temporary_store
from evals.report import Report, bar_panels, markdown_table, write_report
from memory.extraction import ExtractionContext, extract_memories
from memory.manager import MemoryManager
from memory.models import GENERAL_OWNER, Memory, MemoryType, Provenance
from memory.namespaces import memory_namespace

TEAM = "support"
CUSTOMERS = 55
TOP_K = 5
TARGET_HIT5 = 0.90
MEMORY, PLAIN_DENSE = "memory", "plain dense"

QuestionKind = Literal["contact", "tier", "shipping", "billing", "incident", "request", "general"]
"""A customer's own slot (contact ... incident), a request wanting a procedure, or a general
question asked by staff."""

Key = str
"""A label for one memory of the built set ("policy:refund-premium", "customer:10007/tier")."""

_POLICIES: dict[Key, str] = {
    "policy:refund-premium": "Premium members get refunds within 48 hours.",
    "policy:refund-standard": "Standard members get refunds within 5 business days.",
    "policy:free-shipping": "Orders over $50 ship for free.",
    "policy:returns": "Items can be returned within 30 days of delivery.",
    "policy:damaged": "Damaged items are replaced free of charge.",
    "policy:warranty": "Electronics carry a one-year warranty.",
    "policy:hours": "Phone support is open from 9am to 6pm on weekdays.",
    "policy:international": "International shipping takes 7 to 14 days.",
    "policy:gift-cards": "Gift cards cannot be refunded.",
    "policy:cancel": "Orders can be cancelled free of charge until they ship.",
    "policy:price-match": "We match a lower price found within 14 days of purchase.",
    "policy:double-charge": "Duplicate charges are reversed within 3 business days.",
}
_WORKFLOWS: dict[Key, str] = {
    "workflow:refund": "Refund procedure: 1) verify the order 2) check refund eligibility "
    "3) process the refund 4) confirm to the customer.",
    "workflow:delay": "Delivery delay procedure: 1) check carrier tracking 2) check systems "
    "for outages 3) reship or refund if lost 4) update the customer.",
    "workflow:damaged": "Damaged item procedure: 1) ask for a photo 2) open a replacement "
    "order 3) send a return label.",
    "workflow:double-charge": "Double charge procedure: 1) find both payments 2) reverse "
    "the duplicate 3) email the customer a confirmation.",
    "workflow:address": "Address change procedure: 1) verify identity 2) update the address "
    "3) confirm by the customer's preferred channel.",
    "workflow:login": "Account lockout procedure: 1) verify identity 2) reset the password "
    "link 3) check the account for fraud.",
}
_SKILLS: dict[Key, str] = {
    "skill:eligibility": "Use check_refund_eligibility with the order id to see if a "
    "refund is allowed.",
    "skill:tracking": "Use track_shipment with the tracking number to get the carrier status.",
    "skill:systems": "Use check_systems to see carrier and payment outages.",
    "skill:credit": "Use issue_credit to give a customer store credit.",
    "skill:address": "Use update_address to change a customer's shipping address.",
    "skill:lookup": "Use lookup_order with the order id to see an order's items and status.",
}
_CHANNELS = ("email", "phone", "SMS", "WhatsApp", "postal mail")
_TIERS = ("basic", "standard", "premium", "gold")
_STREETS = ("Oak", "Elm", "Pine", "Maple", "Cedar", "Birch", "Willow", "Ash", "Lake", "Hill")
_CARRIERS = ("FastShip", "ParcelGo", "QuickPost")


@dataclass(frozen=True)
class Question:
    text: str
    expected: frozenset[Key]
    customer: str | None
    """The customer whose conversation it is (None: a general question, staff asking)."""
    kind: QuestionKind


@dataclass
class SupportMemory:
    """The built memory: which stored memory each key is, and which are stale."""

    store: BaseStore
    ids: dict[Key, str] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)
    owner: dict[str, str] = field(default_factory=dict)
    """memory_id -> owner ("" for general knowledge), superseded memories included."""

    @property
    def keys(self) -> dict[str, Key]:
        return {memory_id: key for key, memory_id in self.ids.items()}


def _staff(content: str, type: MemoryType, role: str = "staff", **slot: str) -> Memory:
    return Memory.model_validate(
        {
            "content": content,
            "type": type,
            "mechanism": "explicit",
            "confidence": 0.95,
            "asserted_by": role,
            "provenance": Provenance(source_agent="alex", thread_id="records"),
            **slot,
        }
    )


def build_memory(store: BaseStore, seed: int = 11) -> SupportMemory:
    """The support memory of the module docstring, built through MemoryManager.add."""
    rng = random.Random(seed)
    alex = MemoryManager(store, team=TEAM, agent="alex")
    built = SupportMemory(store)

    def add(key: Key, memory: Memory) -> None:
        result = alex.add(memory)
        built.ids[key] = result.memory.memory_id
        built.owner[result.memory.memory_id] = result.memory.owner
        if result.previous is not None and result.action in ("superseded", "retracted"):
            built.stale.add(result.previous.memory_id)
            # a superseded fact is still someone's: shown to another customer, it leaks
            built.owner[result.previous.memory_id] = result.previous.owner

    for key, text in _POLICIES.items():
        add(key, _staff(text, "semantic"))
    for key, text in _WORKFLOWS.items():
        add(key, _staff(text, "workflow"))
    for key, text in _SKILLS.items():
        add(key, _staff(text, "skill", subject=f"tool:{text.split()[1]}"))
    for n in range(CUSTOMERS):
        cid = str(10001 + n)
        subject = f"customer:{cid}"
        channel, tier = rng.choice(_CHANNELS), rng.choice(_TIERS)
        add(
            f"{subject}/contact",
            _staff(
                f"Customer #{cid} prefers to be contacted by {channel}.",
                "entity",
                subject=subject,
                attribute="contact_preference",
                value=channel.lower(),
            ),
        )
        add(
            f"{subject}/tier",
            _staff(
                f"Customer #{cid} is a {tier} member.",
                "entity",
                subject=subject,
                attribute="membership",
                value=tier,
            ),
        )
        said = (
            f"My billing address is {rng.randint(1, 99)} {rng.choice(_STREETS)} Street. "
            f"My shipping address is {rng.randint(100, 999)} {rng.choice(_STREETS)} Avenue."
        )
        for memory in _customer_says(cid, said, "m-addresses"):
            add(f"{subject}/{memory.attribute}", memory)
        order = 70000 + n
        add(
            f"{subject}/delay",
            _staff(
                f"Order #{order} of customer #{cid} was delayed by "
                f"{rng.choice(_CARRIERS)} for {rng.randint(2, 9)} days.",
                "episodic",
                role="system",
                subject=subject,
            ),
        )
        if n % 5 in (0, 2):  # 22 customers changed their preference since
            new = rng.choice([c for c in _CHANNELS if c != channel])
            for memory in _customer_says(cid, f"I prefer {new} now.", "m-change"):
                add(f"{subject}/contact", memory)
    return built


def _customer_says(cid: str, text: str, message: str) -> list[Memory]:
    ctx = ExtractionContext(
        source_agent="alex", speaker_subject=f"customer:{cid}", message_id=f"{cid}-{message}"
    )
    return extract_memories(text, ctx)


_CUSTOMER_QUESTIONS: tuple[tuple[QuestionKind, str, str], ...] = (
    ("contact", "How will you contact me about my order?", "contact"),
    ("tier", "What membership tier am I on?", "tier"),
    ("shipping", "Which address do you ship my parcels to?", "shipping_address"),
    ("billing", "What is the billing address on my account?", "billing_address"),
    ("incident", "What happened with the delay on my last order?", "delay"),
    ("contact", "Which channel do I prefer for updates?", "contact"),
)
_REQUESTS: tuple[tuple[str, frozenset[Key]], ...] = (
    ("I'd like a refund for my order.", frozenset({"workflow:refund", "skill:eligibility"})),
    ("My order never arrived.", frozenset({"workflow:delay", "skill:tracking"})),
    ("I was charged twice for one order.", frozenset({"workflow:double-charge"})),
    ("The item arrived broken.", frozenset({"workflow:damaged", "policy:damaged"})),
    ("I want to change my shipping address.", frozenset({"workflow:address", "skill:address"})),
    ("I cannot log in to my account.", frozenset({"workflow:login"})),
)
_GENERAL: tuple[tuple[str, frozenset[Key]], ...] = (
    ("How fast do premium members get refunds?", frozenset({"policy:refund-premium"})),
    ("How long do refunds take for standard members?", frozenset({"policy:refund-standard"})),
    ("Is shipping free?", frozenset({"policy:free-shipping"})),
    ("How long do customers have to return an item?", frozenset({"policy:returns"})),
    ("When is phone support open?", frozenset({"policy:hours"})),
    ("How long does international shipping take?", frozenset({"policy:international"})),
    ("Can gift cards be refunded?", frozenset({"policy:gift-cards"})),
    ("How do I check whether a refund is allowed?", frozenset({"skill:eligibility"})),
    ("How do I see if the carrier has an outage?", frozenset({"skill:systems"})),
    ("How long does it take to reverse a duplicate charge?", frozenset({"policy:double-charge"})),
)


def questions() -> list[Question]:
    """The labeled questions: one per customer, requests in customers' contexts, general."""
    out: list[Question] = []
    for n in range(CUSTOMERS):
        cid = str(10001 + n)
        kind, text, slot = _CUSTOMER_QUESTIONS[n % len(_CUSTOMER_QUESTIONS)]
        out.append(Question(text, frozenset({f"customer:{cid}/{slot}"}), f"customer:{cid}", kind))
    for n, (text, expected) in enumerate(_REQUESTS * 2):
        out.append(Question(text, expected, f"customer:{10001 + 7 * n}", "request"))
    out += [Question(text, expected, None, "general") for text, expected in _GENERAL]
    return out


def graph_query(question: Question) -> str:
    """The query as the team graph builds it (nodes/memory_nodes.memory_query)."""
    if question.customer is None:
        return question.text
    return f"customer #{question.customer.split(':', 1)[1]}: {question.text}"


def memory_ranker(store: BaseStore, *, with_subject: bool) -> Ranker[Question]:
    alex = MemoryManager(store, team=TEAM, agent="alex")

    def rank(question: Question) -> list[str]:
        subject = question.customer if with_subject else None
        hits = alex.search(graph_query(question), limit=TOP_K, subject=subject)
        return [h.memory.memory_id for h in hits]

    return rank


def dense_ranker(store: BaseStore) -> Ranker[Question]:
    shared = memory_namespace(TEAM, "shared")

    def rank(question: Question) -> list[str]:
        return [h.key for h in store.search(shared, query=graph_query(question), limit=TOP_K)]

    return rank


class SystemScore(HitRates):
    """One system's answers to every question."""

    leak_rate: float = Field(ge=0.0, le=1.0)
    """Share of the top-k results of customer questions that are another customer's facts."""
    stale_rate: float = Field(ge=0.0, le=1.0)
    """Share of questions whose top k holds a superseded memory."""
    misses: list[str]
    """The first ten questions with no expected memory in the top k."""
    by_kind: dict[QuestionKind, HitRates]


class RetrievalSummary(BaseModel):
    """What one run measured: what the JSON, the markdown and the plot show."""

    model_config = ConfigDict(frozen=True)

    memories: int
    """Stored memories, superseded ones included."""
    superseded: int
    customers: int
    questions: int
    top_k: int
    systems: dict[str, SystemScore]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def targets_met(self) -> bool:
        """The module docstring's targets for `memory`, against `plain dense`."""
        best, dense = self.systems[MEMORY], self.systems[PLAIN_DENSE]
        return (
            best.hit_at_5 >= TARGET_HIT5
            and best.leak_rate == 0.0
            and best.stale_rate == 0.0
            and best.hit_at_5 > dense.hit_at_5
        )


def score(built: SupportMemory, qs: Sequence[Question], rank: Ranker[Question]) -> SystemScore:
    keys = built.keys
    tally = HitTally[QuestionKind]()
    stale = leaked = customer_items = 0
    misses: list[str] = []
    for question in qs:
        ranked = rank(question)
        labels = [keys.get(memory_id, "") for memory_id in ranked]
        _, found = tally.add(question.kind, labels, question.expected)
        if not found:
            misses.append(question.text)
        stale += any(memory_id in built.stale for memory_id in ranked)
        if question.customer:
            owners = [built.owner.get(memory_id, GENERAL_OWNER) for memory_id in ranked]
            customer_items += len(owners)
            leaked += sum(o not in (GENERAL_OWNER, question.customer) for o in owners)
    return SystemScore(
        **dict(tally.overall()),
        leak_rate=leaked / customer_items if customer_items else 0.0,
        stale_rate=stale / len(qs),
        misses=misses[:10],
        by_kind=tally.by_kind(),
    )


def run_retrieval_eval(
    *,
    json_out: Path | None = None,
    reports: Path | None = None,
    embeddings: Embeddings | None = None,
    console: Console | None = None,
) -> RetrievalSummary:
    """Build the memory, ask every question of each system, write the reports."""
    qs = questions()
    with temporary_store(embeddings) as store:
        built = build_memory(store)
        systems = {
            MEMORY: memory_ranker(store, with_subject=True),
            "memory, no subject": memory_ranker(store, with_subject=False),
            PLAIN_DENSE: dense_ranker(store),
        }
        results = {name: score(built, qs, rank) for name, rank in systems.items()}
    summary = RetrievalSummary(
        memories=len(built.ids) + len(built.stale),
        superseded=len(built.stale),
        customers=CUSTOMERS,
        questions=len(qs),
        top_k=TOP_K,
        systems=results,
    )
    plots = {"retrieval.png": lambda path: plot(summary, path)}
    report = Report("retrieval", summary, render_markdown(summary), plots)
    write_report(report, reports=reports, json_out=json_out, console=console or Console())
    return summary


def render_markdown(summary: RetrievalSummary) -> str:
    rows = [
        [name, r.hit_at_1, r.hit_at_5, r.leak_rate, r.stale_rate]
        for name, r in summary.systems.items()
    ]
    kinds = list(summary.systems[MEMORY].by_kind)
    kind_rows = [
        [name, *(f"{r.by_kind[k].hit_at_1:.2f} / {r.by_kind[k].hit_at_5:.2f}" for k in kinds)]
        for name, r in summary.systems.items()
    ]
    counts = summary.systems[MEMORY].by_kind
    misses = summary.systems[MEMORY].misses
    return "\n".join(
        [
            "# Retrieval: whose fact, and is it current?",
            "",
            f"{summary.memories} memories ({summary.superseded} superseded) about "
            f"{summary.customers} customers, policies, workflows and skills; "
            f"{summary.questions} labeled questions; top {summary.top_k}.",
            f"Targets (memory): hit@5 >= {TARGET_HIT5}, leak 0, stale 0, better than plain "
            f"dense: {'met' if summary.targets_met else 'NOT met'}.",
            "",
            markdown_table(["system", "hit@1", "hit@5", "leak rate", "stale rate"], rows),
            "",
            "Leak rate: share of the top-5 results of customer questions that are another "
            "customer's facts. Stale rate: share of questions whose top 5 holds a superseded "
            "memory.",
            "",
            "## hit@1 / hit@5 by kind of question",
            "",
            markdown_table(["system", *(f"{k} ({counts[k].questions})" for k in kinds)], kind_rows),
            "",
            "Missed by memory: " + ("; ".join(misses) if misses else "none"),
            "",
            "![hit rates, leak and stale per system; hit@5 per kind](retrieval.png)",
        ]
    )


def plot(summary: RetrievalSummary, path: Path) -> Path:
    """Left: each system's hit rates, leak and stale; right: hit@5 per kind of question."""
    systems = summary.systems
    kinds = list(systems[MEMORY].by_kind)
    return bar_panels(
        path,
        {
            "per system": {
                name: {
                    "hit@1": r.hit_at_1,
                    "hit@5": r.hit_at_5,
                    "leak rate": r.leak_rate,
                    "stale rate": r.stale_rate,
                }
                for name, r in systems.items()
            },
            "hit@5 per kind of question": {
                kind: {name: r.by_kind[kind].hit_at_5 for name, r in systems.items()}
                for kind in kinds
            },
        },
        title=f"Retrieval: {summary.memories} memories, {summary.questions} questions, "
        f"top {summary.top_k}",
        ylabel="share",
        lines={f"hit@5 target {TARGET_HIT5:.2f}": TARGET_HIT5},
    )
