"""Grounding: a user-visible text that states what it was not given is replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nodes.grounding import (
    WORD_TOLERANCE,
    bindings,
    canonical,
    check,
    claims,
    grounded,
    missing,
    stem,
    unsupported,
    unsupported_combinations,
    unsupported_words,
)
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


@pytest.mark.parametrize(
    "prose",
    [
        # SmolLM2's chat reply to "how should we contact customer #12345?"
        "We have the latest updates and features of our new product launch.",
        "Your package was held at customs because of a warehouse fire.",
        "Order ORD-1004 qualifies for a loyalty voucher and free express shipping.",
    ],
)
def test_vague_invented_prose_is_replaced(prose: str) -> None:
    """No number, id, name, channel or date, yet it states what nobody said."""
    assert unsupported(prose, FACTS) == []  # the claims check alone lets it through
    assert len(unsupported_words(prose, FACTS)) > WORD_TOLERANCE
    verdict = check(prose, FACTS, " ".join(FACTS), keep=False)
    assert verdict.replaced and verdict.shown == " ".join(FACTS)
    assert any(p.startswith("unsupported words") for p in verdict.problems)


@pytest.mark.parametrize(
    "fluent",
    [
        "Hello! I'm sorry to hear about the delay. Order ORD-1004 is delayed by a regional "
        "backlog at FastShip, and it is eligible for a refund within 48 hours. We will "
        "contact you by Signal. Thank you for your patience!",
        "Thanks for reaching out. Your order ORD-1004 was delayed; the carrier FastShip has "
        "a backlog. You can get a refund within 48 hours, and we'll keep you updated by "
        "Signal.",
        "I understand how frustrating delays are. Customer #12345 prefers Signal, so we "
        "will reach out there about the refund for ORD-1004 within 48 hours.",
    ],
)
def test_a_fluent_reply_in_other_words_is_kept(fluent: str) -> None:
    """Inflections ("delayed"/"delays"), greetings and apologies are not invented facts."""
    verdict = check(fluent, FACTS, " ".join(FACTS))
    assert not verdict.replaced, verdict.problems
    assert verdict.shown == fluent


def test_one_stray_word_is_tolerated_two_are_not() -> None:
    composed = " ".join(FACTS)
    one = "Order ORD-1004 is delayed by a regional backlog. We are working hard on it."
    assert unsupported_words(one, FACTS) == ["hard"]
    assert not check(one, FACTS, composed, keep=False).replaced
    two = "Order ORD-1004 is delayed by a regional backlog. We are working hard, nonstop."
    assert check(two, FACTS, composed, keep=False).replaced


def test_beside_a_claim_no_word_of_its_own_is_tolerated() -> None:
    """ "Cancelled" next to an order id is what happened to it: a claim's clause says only
    what one source sentence says."""
    composed = " ".join(FACTS)
    for invented in (
        "Order ORD-1004 was cancelled by a regional backlog.",
        "Order ORD-1004 is resolved.",
        "Order ORD-1004 is delayed by a regional backlog, and it is confirmed for Signal.",
    ):
        verdict = check(invented, FACTS, composed, keep=False)
        assert verdict.replaced and verdict.combinations, invented


def test_spelled_out_numbers_are_claims() -> None:
    assert "two" in unsupported("Your refund arrives within two days.", FACTS)
    assert unsupported("Refund within forty hours.", ["a refund within 40 hours"]) == []
    assert unsupported("It is the third delay.", ["the 3rd delivery delay"]) == []


def test_words_match_their_inflections() -> None:
    assert stem("deliveries") == stem("delivery") == "delivery"
    assert stem("arrived") == stem("arrives") == stem("arriving") == stem("arrive")
    assert stem("shipped") == stem("shipping") == stem("ship")
    assert unsupported_words("The delivery was delayed.", ["It delivered late, delays."]) == []


MEMORIES = [
    "Customer #12345 prefers to be contacted by email.",
    "Customer #34567 prefers SMS.",
    "Customer #12345 is a premium member.",
    "Customer #12345's order ORD-1004 was delayed on Monday, November 29th.",
    "John Okafor (customer #12345) prefers email.",
]


@pytest.mark.parametrize(
    "false",
    [
        # SmolLM2's chat replies in the grounding eval: every claim stated somewhere
        "The customer who prefers SMS is Customer #12345.",
        "No, customer #12345 is a non-premium member.",
        "Customer #34567's order ORD-1004 was delayed on Monday.",
        'The driver delivering order ORD-1004 is the one named "John Okafor".',
    ],
)
def test_claims_stated_apart_are_not_stated_together(false: str) -> None:
    assert unsupported(false, MEMORIES) == []
    assert unsupported_combinations(false, MEMORIES) == [false]
    verdict = check(false, MEMORIES, "\n".join(MEMORIES), keep=False)
    assert verdict.replaced and verdict.combinations == [false]


def test_claims_a_source_sentence_states_together_are_kept() -> None:
    for true in (
        "Customer #34567 prefers to be contacted by SMS.",
        "Customer #12345 prefers to be contacted by email.",
        "Order ORD-1004 was delayed on Monday, and we will contact you by email.",
        "Customer #12345 is a premium member, and John Okafor prefers email.",
    ):
        assert unsupported_combinations(true, MEMORIES) == [], true
    # a denial is kept when a source denies it too
    denied = ["Customer #56789 does not want phone calls."]
    assert unsupported_combinations("Customer #56789 does not want calls.", denied) == []


EVENTS = [
    "Customer #12345's order ORD-1004 was delayed on Sunday, November 29, 2026.",
    "Premium members get refunds within 48 hours.",
    "Order ORD-2001 was delivered on Monday after an address check.",
    "Customer #23456 placed 3 orders and reported 2 delays.",
    "Delivery delay workflow: 1) check carrier tracking for the order; 2) check our systems "
    "for an outage; 3) offer the customer a refund or reship.",
]


@pytest.mark.parametrize(
    "false",
    [
        # SmolLM2's kept chat reply: the date of the order's delay, given to the refund
        "The refund for customer #12345 is scheduled to arrive on November 29, 2026.",
        "Order ORD-2001 was delayed on Monday.",  # delivered, not delayed
        "Order ORD-1004 was delivered on Sunday, November 29, 2026.",
        "Premium members get refunds within 48 days.",  # the unit of another amount
        "Standard members get refunds within 48 hours.",  # the policy of another tier
        "Customer #23456 reported 3 delays.",  # the count of the orders
        "1) check carrier tracking for the order 2;",  # a list's step number as an order
        "Customer #12345 wants a refund for ORD-1004.",  # nobody said so
        "We are unable to refund premium members within 48 hours.",  # nobody denied it
    ],
)
def test_a_claim_bound_to_what_its_sentence_does_not_say_is_replaced(false: str) -> None:
    """Every claim and every word is stated somewhere; what the clause binds them into
    is not (nodes/grounding.py, unsupported_combinations)."""
    assert unsupported(false, EVENTS) == []
    assert unsupported_combinations(false, EVENTS) == [false]
    verdict = check(false, EVENTS, "\n".join(EVENTS), keep=False)
    assert verdict.replaced and verdict.combinations == [false]


@pytest.mark.parametrize(
    "true",
    [
        "Your order ORD-1004 was delayed on November 29.",
        "Premium members can get a refund within 48 hours.",
        "Order ORD-2001 was delivered on Monday.",
        "Customer #23456 placed 3 orders.",
        "Customer #23456 reported 2 delays, and premium members get refunds within 48 hours.",
        "Sorry, order ORD-2001 was delivered on Monday after the address check.",
    ],
)
def test_a_claim_restated_with_what_its_sentence_says_is_kept(true: str) -> None:
    assert unsupported_combinations(true, EVENTS) == []
    assert not check(true, EVENTS, "\n".join(EVENTS), keep=False).replaced


def test_a_claim_set_apart_by_punctuation_still_belongs_to_its_clause() -> None:
    """A colon or a full stop does not free a claim from what it is said of: a bare date
    or channel is checked with the clause next to it."""
    sources = ["Customer #12345 asked for a refund.", *EVENTS]
    for false in (
        "Customer #12345's refund: November 29, 2026.",
        "Your refund for #12345. November 29, 2026.",
        "November 29, 2026. Your refund arrives.",
        "Order ORD-1004: cancelled.",
        "Customer #12345 asked for a refund. By email.",
    ):
        assert unsupported_combinations(false, sources), false
    for true in (
        "Customer #12345's order ORD-1004: delayed on November 29, 2026.",
        "Customer #12345 asked for a refund. Order ORD-2001: delivered on Monday.",
    ):
        assert unsupported_combinations(true, sources) == [], true


def test_bindings_are_a_numbers_label_and_unit() -> None:
    assert bindings("Customer #12345's order 2 arrives within 48 hours, not 3.") == {
        ("customer", "12345"),
        ("order", "2"),
        ("hour", "48"),
    }
    # punctuation parts a number from a word: "order; 2)" binds nothing
    assert bindings("check the order; 2) check the outage") == set()
    assert bindings("a refund of $20, two weeks") == {("$", "20"), ("week", "2")}


def test_the_evaluator_counts_a_mismatched_binding_as_invented() -> None:
    from evals.grounding import invented_facts

    question = "When is the refund scheduled to arrive?"
    text = "The refund for customer #12345 is scheduled to arrive on November 29, 2026."
    result = invented_facts(
        inputs={"text": question},
        outputs={"text": text},
        reference_outputs={"sources": [question, *EVENTS]},
    )
    assert result["score"] == 0.0 and result["comment"] == f"binding:{text}"
    fine = invented_facts(
        inputs={"text": "When was my order delayed?"},
        outputs={"text": "Your order ORD-1004 was delayed on November 29."},
        reference_outputs={"sources": EVENTS},
    )
    assert fine["score"] == 1.0


def test_no_text_is_the_composed_text() -> None:
    assert grounded(None, FACTS, "composed") == ("composed", ["no text"])


def test_grounding_eval_counts_texts_and_invented_claims(tmp_path: Path) -> None:
    """The eval's plumbing on the composed texts (no model): nothing invented there."""
    from evals.grounding import CHAT_TURNS, TEAM_REQUESTS, run_grounding_eval

    assert len(CHAT_TURNS) >= 30 and len(TEAM_REQUESTS) >= 6
    result = run_grounding_eval(
        llm="none", quick=True, reports=tmp_path, embeddings=DeterministicEmbeddings(64)
    )
    # the demo's reply and its two specialists' summaries, and 5 chat replies
    assert result.texts == len(result.checks) == 8 and result.invented == 0
    assert result.by_kind == {
        **{"chat reply": 5, "synthesis": 1, "findings": 2},
        **{"summary": 0, "routing": 0, "task": 0},
    }
    assert result.drafted == 0  # no model: every text is the composed one
    assert result.replaced == 8  # ... so none of them is a kept draft
    written = json.loads((tmp_path / "grounding.json").read_text())
    assert written["by_kind"] == result.by_kind and written["texts"] == 8
    assert [c["shown"] for c in written["checks"]] == [c.shown for c in result.checks]
    assert (tmp_path / "grounding.md").read_text().startswith("# Grounding")
    png = (tmp_path / "grounding.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


def test_grounding_eval_measures_the_content_word_check_on_the_same_drafts(
    tmp_path: Path,
) -> None:
    """A model that answers everything with vague prose: the claims check alone would
    show it everywhere; now nothing of it is shown."""
    from evals.grounding import run_grounding_eval
    from tests.fakes import ScriptedChatModel

    prose = "We have the latest updates and features of our new product launch."
    result = run_grounding_eval(
        llm="none",
        quick=True,
        reports=tmp_path,
        embeddings=DeterministicEmbeddings(64),
        chat_model=ScriptedChatModel(script=lambda messages: prose),
    )
    assert result.drafted == result.texts == 8
    assert result.kept_claims_only == sum(c.kept_claims_only for c in result.checks) > 0
    assert result.kept == 0 and result.invented == 0 and result.kept_rate == 0.0
    assert result.kept_rate_claims_only == round(result.kept_claims_only / 8, 3)
    assert all(prose not in c.shown for c in result.checks)
    assert result.invented_prose_let_through_claims_only == result.kept_claims_only
