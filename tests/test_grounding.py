"""Grounding: a user-visible text that states what it was not given is replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodes.grounding import canonical, claims, grounded, missing, unsupported
from tests.fakes import DeterministicEmbeddings

FACTS = [
    "Order ORD-1004 is delayed with the carrier FastShip: a regional backlog.",
    "Order ORD-1004 is eligible for a refund within 48 hours.",
    "Customer #12345 prefers to be contacted by Signal.",
]


def test_claims_are_numbers_ids_channels_names_and_dates() -> None:
    found = claims("We sent order ORD-77 to Maria Lopez by email on Monday, within 48 hours.")
    assert {"ORD-77", "Maria Lopez", "email", "monday", "48"} <= set(found)


@pytest.mark.parametrize(
    ("text", "invented"),
    [
        ("Your order ORD-2210 is on its way.", "ORD-2210"),
        ("We will reach out via email shortly.", "email"),
        ("A new shipment from John Okafor is planned.", "John Okafor"),
        ("Your refund arrives by Friday.", "friday"),
        ("The refund takes 72 hours.", "72"),
    ],
)
def test_invented_facts_are_found(text: str, invented: str) -> None:
    assert invented in unsupported(text, FACTS)


def test_a_reply_restating_the_facts_is_grounded() -> None:
    text = (
        "Your order ORD-1004 is delayed with the carrier FastShip. You will get your refund "
        "within 48 hours, and we will contact you by Signal."
    )
    assert unsupported(text, FACTS) == []
    assert grounded(text, FACTS, " ".join(FACTS))[0] == text


def test_an_invented_order_id_channel_or_name_is_replaced_by_the_composed_text() -> None:
    composed = " ".join(FACTS)
    for bad in (
        "Your order ORD-9999 is delayed; refund within 48 hours; we use Signal.",
        "Order ORD-1004: refund within 48 hours; we will reach out via email.",
        "Order ORD-1004: refund within 48 hours by Signal, says Priya Raman.",
    ):
        text, problems = grounded(bad, FACTS, composed)
        assert text == composed and problems, bad


def test_a_reply_dropping_a_required_fact_is_replaced() -> None:
    composed = " ".join(FACTS)
    assert missing("Sorry for the trouble.", composed)
    text, problems = grounded("Sorry for the trouble with your order.", FACTS, composed)
    assert text == composed and any(p.startswith("missing") for p in problems)
    # a summary need not restate everything, only state nothing unsupported
    kept, none = grounded("The order is delayed.", FACTS, composed, keep=False)
    assert kept == "The order is delayed." and none == []


def test_a_kept_text_spells_the_channel_as_the_facts_do() -> None:
    facts = ["Customer #12345 prefers to be contacted by email.", *FACTS[:2]]
    composed = " ".join(facts)
    text = "Order ORD-1004 is delayed; refund within 48 hours. We will E-Mail you (by e-mail)."
    kept, problems = grounded(text, facts, composed)
    assert problems == []
    assert kept == text.replace("E-Mail", "Email").replace("e-mail", "email")
    assert "e-mail" not in kept.lower()
    assert canonical("an e\u2011mail, an e mail") == "an email, an email"
    # keep=False (chat replies, summaries) writes the canonical word too
    assert grounded("We will e-mail you.", facts, composed, keep=False)[0] == "We will email you."


def test_a_reply_dropping_the_contact_channel_is_replaced() -> None:
    facts = ["Customer #12345 prefers to be contacted by email.", *FACTS[:2]]
    composed = " ".join(facts)
    text = "Order ORD-1004 is delayed with the carrier. Your refund is possible within 48 hours."
    assert missing(text, composed) == ["email"]
    assert grounded(text, facts, composed) == (composed, ["missing 'email'"])
    # a channel inside another word is not the channel
    assert missing("Read our newsletter.", "We will send a letter.") == ["letter"]


def test_no_text_is_the_composed_text() -> None:
    assert grounded(None, FACTS, "composed") == ("composed", ["no text"])


def test_grounding_eval_counts_texts_and_invented_claims(tmp_path: Path) -> None:
    """The eval's plumbing on the composed texts (no model): nothing invented there."""
    from evals.grounding import CHAT_TURNS, TEAM_REQUESTS, run_grounding_eval

    assert len(CHAT_TURNS) >= 30 and len(TEAM_REQUESTS) >= 6
    result = run_grounding_eval(
        llm="none", quick=True, reports=tmp_path, embeddings=DeterministicEmbeddings(64)
    )
    assert result["texts"] == 6 and result["invented"] == 0
    assert (tmp_path / "grounding.md").is_file() and (tmp_path / "grounding.json").is_file()
