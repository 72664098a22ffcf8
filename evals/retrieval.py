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

`python -m evals retrieval --json OUT` writes reports/retrieval.{json,md}.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore
from rich.console import Console

from evals.report import Report, markdown_table, write_report
from memory.extraction import ExtractionContext, extract_memories
from memory.manager import MemoryManager
from memory.models import GENERAL_OWNER, Memory, MemoryType, Provenance
from memory.namespaces import memory_namespace

TEAM = "support"
CUSTOMERS = 55
TOP_K = 5
TARGET_HIT5 = 0.90

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
    kind: str


@dataclass
class SupportMemory:
    """The built memory: which stored memory each key is, and which are stale."""

    store: BaseStore
    ids: dict[Key, str] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)
    owner: dict[str, str] = field(default_factory=dict)
    """memory_id -> owner ("" for general knowledge)."""

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
        if result.previous is not None and result.action in ("superseded", "retracted"):
            built.stale.add(result.previous.memory_id)

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
    for memory_id in built.ids.values():
        found = alex.get(memory_id)
        built.owner[memory_id] = found.owner if found else GENERAL_OWNER
    return built


def _customer_says(cid: str, text: str, message: str) -> list[Memory]:
    ctx = ExtractionContext(
        source_agent="alex", speaker_subject=f"customer:{cid}", message_id=f"{cid}-{message}"
    )
    return extract_memories(text, ctx)


_CUSTOMER_QUESTIONS: tuple[tuple[str, str, str], ...] = (
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


Ranker = Callable[[Question], list[str]]


def memory_ranker(store: BaseStore, *, with_subject: bool) -> Ranker:
    alex = MemoryManager(store, team=TEAM, agent="alex")

    def rank(question: Question) -> list[str]:
        subject = question.customer if with_subject else None
        hits = alex.search(graph_query(question), limit=TOP_K, subject=subject)
        return [h.memory.memory_id for h in hits]

    return rank


def dense_ranker(store: BaseStore) -> Ranker:
    shared = memory_namespace(TEAM, "shared")

    def rank(question: Question) -> list[str]:
        return [h.key for h in store.search(shared, query=graph_query(question), limit=TOP_K)]

    return rank


def score(built: SupportMemory, qs: Sequence[Question], rank: Ranker) -> dict[str, Any]:
    keys = built.keys
    hit1 = hit5 = stale = leaked = customer_items = 0
    misses: list[str] = []
    for question in qs:
        ranked = rank(question)
        labels = [keys.get(memory_id, "") for memory_id in ranked]
        hit1 += bool(labels) and labels[0] in question.expected
        found = any(label in question.expected for label in labels)
        hit5 += found
        if not found:
            misses.append(question.text)
        stale += any(memory_id in built.stale for memory_id in ranked)
        if question.customer:
            owners = [built.owner.get(memory_id, GENERAL_OWNER) for memory_id in ranked]
            customer_items += len(owners)
            leaked += sum(o not in (GENERAL_OWNER, question.customer) for o in owners)
    total = len(qs)
    return {
        "hit@1": hit1 / total,
        "hit@5": hit5 / total,
        "leak_rate": leaked / customer_items if customer_items else 0.0,
        "stale_rate": stale / total,
        "questions": total,
        "misses": misses[:10],
    }


def run_retrieval_eval(
    *,
    json_out: Path | None = None,
    reports: Path | None = None,
    embeddings: Embeddings | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Build the memory, ask every question of each system, write the reports."""
    from evals.locomo.cache import cached_embeddings
    from evals.locomo.turns import open_store

    console = console or Console()
    embeddings = cached_embeddings(embeddings, None)
    qs = questions()
    with (
        tempfile.TemporaryDirectory() as tmp,
        open_store(Path(tmp) / "store", embeddings, ["content"]) as store,
    ):
        built = build_memory(store)
        systems = {
            "memory": memory_ranker(store, with_subject=True),
            "memory, no subject": memory_ranker(store, with_subject=False),
            "plain dense": dense_ranker(store),
        }
        results = {name: score(built, qs, rank) for name, rank in systems.items()}
        stored = len(built.ids) + len(built.stale)
    best = results["memory"]
    result: dict[str, Any] = {
        "memories": stored,
        "superseded": len(built.stale),
        "customers": CUSTOMERS,
        "questions": len(qs),
        "top_k": TOP_K,
        "systems": results,
        "targets_met": best["hit@5"] >= TARGET_HIT5
        and best["leak_rate"] == 0.0
        and best["stale_rate"] == 0.0
        and best["hit@5"] > results["plain dense"]["hit@5"],
    }
    write_report(Report("retrieval", result, _markdown(result)), reports=reports, json_out=json_out)
    console.print(_markdown(result))
    return result


def _markdown(result: dict[str, Any]) -> str:
    rows = [
        [name, r["hit@1"], r["hit@5"], r["leak_rate"], r["stale_rate"]]
        for name, r in result["systems"].items()
    ]
    misses = result["systems"]["memory"]["misses"]
    return "\n".join(
        [
            "# Retrieval: whose fact, and is it current?",
            "",
            f"{result['memories']} memories ({result['superseded']} superseded) about "
            f"{result['customers']} customers, policies, workflows and skills; "
            f"{result['questions']} labeled questions; top {result['top_k']}.",
            f"Targets (memory): hit@5 >= {TARGET_HIT5}, leak 0, stale 0, better than plain "
            f"dense: {'met' if result['targets_met'] else 'NOT met'}.",
            "",
            markdown_table(["system", "hit@1", "hit@5", "leak rate", "stale rate"], rows),
            "",
            "Leak rate: share of the top-5 results of customer questions that are another "
            "customer's facts. Stale rate: share of questions whose top 5 holds a superseded "
            "memory.",
            "",
            "Missed by memory: " + ("; ".join(misses) if misses else "none"),
        ]
    )
