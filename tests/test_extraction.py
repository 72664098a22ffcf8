"""Memory extraction: the rules, the LLM path with its fallback, and the labeled-set gate."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from evals.evaluators import (
    contains_phrase,
    extraction_match,
    extraction_mechanism,
    extraction_slots,
)
from evals.extraction import (
    TARGET_PRECISION,
    TARGET_RECALL,
    evaluate,
    load_labeled,
    run_extraction_eval,
    summarize,
)
from memory.extraction import (
    ExtractionContext,
    LLMExtractor,
    RuleExtractor,
    extract_from_messages,
    extract_memories,
    normalize_subject,
)
from memory.models import EXPLICIT_CONFIDENCE, IMPLICIT_CONFIDENCE, Memory

CTX = ExtractionContext(source_agent="alex", thread_id="t-1", message_id="m-1")


def extract(text: str, ctx: ExtractionContext = CTX) -> list[Memory]:
    return extract_memories(text, ctx)


def only(text: str, ctx: ExtractionContext = CTX) -> Memory:
    memories = extract(text, ctx)
    assert len(memories) == 1, [m.content for m in memories]
    return memories[0]


# ----------------------------------------------------------------- the seed's examples


def test_explicit_customer_preference_from_the_seed() -> None:
    memory = only("Remember that customer #12345 prefers email")
    assert memory.type == "entity"
    assert memory.subject == "customer:12345"
    assert memory.attribute == "contact_preference"
    assert memory.value == "email"
    assert memory.mechanism == "explicit"
    assert memory.confidence == EXPLICIT_CONFIDENCE
    assert "email" in memory.content.lower()


@pytest.mark.parametrize(
    "long_statement",
    [
        "I prefer " + "very " * 1200 + "long emails.",  # content past 4,000 characters
        "My favourite colour is " + "blue" * 200 + ".",  # a value past 500
        "Remember that " + "the refund window is long " * 300 + ".",
    ],
)
def test_a_statement_too_long_for_one_memory_is_skipped_not_a_crash(
    long_statement: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A memory is one statement (MAX_CONTENT_CHARS): a message too long for one is not a
    failed turn; the rest of the message still yields its facts."""
    with caplog.at_level(logging.INFO):
        found = extract(f"{long_statement} My phone number is 555-0147.")
    assert [m.value for m in found] == ["555-0147"], [m.content[:60] for m in found]
    assert "too long" in caplog.text


def test_policy_is_semantic_and_implicit() -> None:
    memory = only("Premium members get refunds within 48 hours")
    assert memory.type == "semantic"
    assert memory.mechanism == "implicit"
    assert memory.confidence == IMPLICIT_CONFIDENCE
    assert "48 hours" in memory.content


def test_refund_procedure_is_a_workflow_with_ordered_steps() -> None:
    memory = only("To process a refund: 1) verify order 2) check eligibility 3) process refund")
    assert memory.type == "workflow"
    content = memory.content.lower()
    positions = [content.index(s) for s in ("verify order", "check eligibility", "process refund")]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    "text",
    [
        "To process a refund, verify the order, check eligibility, then process the refund.",
        "Refund steps:\n1. verify the order\n2. check eligibility\n3. issue the refund",
        "When a package is lost, first check the tracking, then open a carrier claim.",
        "To reset a password: verify identity -> send a reset link -> confirm the change",
    ],
)
def test_procedures_in_other_shapes_are_workflows(text: str) -> None:
    assert only(text).type == "workflow"


def test_tool_usage_is_a_skill() -> None:
    memory = only("Use refund_api to process returns.")
    assert memory.type == "skill"
    assert memory.subject == "tool:refund_api"


@pytest.mark.parametrize(
    ("text", "subject", "words"),
    [
        ("My order #881 arrived damaged yesterday.", "order:881", ["damaged"]),
        ("The delivery was delayed again, the 3rd time.", "user", ["delayed", "3rd time"]),
        ("Customer #5000 called about a billing error yesterday.", "customer:5000", ["billing"]),
    ],
)
def test_specific_events_are_episodic(text: str, subject: str, words: list[str]) -> None:
    memory = only(text)
    assert memory.type == "episodic"
    assert memory.subject == subject
    assert all(word in memory.content.lower() for word in words)


# ----------------------------------------------------------------- selectivity


@pytest.mark.parametrize(
    "text",
    [
        # questions, with or without a question mark
        "Do you remember my address?",
        "Do premium members get refunds within 48 hours?",
        "Where is my package",
        "Can you remember that for next time?",
        # hypotheticals and hedges
        "If I were a premium member, would I get a faster refund?",
        "Maybe I would prefer phone calls if the emails keep getting lost.",
        "I think I prefer email, but I'm not sure.",
        "Perhaps my order is lost.",
        # requests to the agent
        "I'd like a refund for my last order.",
        "I want a refund.",
        "Cancel order #3321 please.",
        "Remember to send the tracking link in your next message.",
        "Don't forget to attach the receipt to your reply.",
        # small talk
        "I want to say thanks for the quick reply.",
        "I need a minute to find my receipt.",
        "I like it, thanks.",
        "My day is going well, thanks for asking.",
        "We always appreciate your feedback!",
        "The answer is no.",
        "I don't remember my order number.",
    ],
)
def test_questions_hypotheticals_requests_and_small_talk_yield_nothing(text: str) -> None:
    assert extract(text) == []


@pytest.mark.parametrize(
    ("text", "negated_words"),
    [
        ("I don't like phone calls.", "phone calls"),
        ("Customer #8800 doesn't like automated emails.", "automated emails"),
        ("I'm not a premium member.", "premium member"),
        ("Refunds are not available for digital downloads.", "digital downloads"),
    ],
)
def test_negation_is_kept(text: str, negated_words: str) -> None:
    memory = only(text)
    content = memory.content.lower()
    assert "not" in content.split() and negated_words in content
    assert "negated" in memory.tags


def test_negated_preference_fills_no_slot_and_never_reads_as_a_liking() -> None:
    memory = only("I don't like phone calls.")
    assert "likes phone calls" not in memory.content.lower()
    assert memory.attribute is None and memory.value is None


# ----------------------------------------------------------------- subjects, slots, notes


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("customer #12345", "customer:12345"),
        ("Customer 90210", "customer:90210"),
        ("order #881", "order:881"),
        ("client no. 7", "customer:7"),
        ("ticket number 77", "ticket:77"),
        ("no identifier here", None),
    ],
)
def test_subjects_are_normalised(text: str, subject: str | None) -> None:
    assert normalize_subject(text) == subject


def test_speaker_facts_take_the_callers_subject() -> None:
    ctx = ExtractionContext(source_agent="sam", speaker_subject="customer:12345")
    memory = only("I prefer email.", ctx)
    assert memory.subject == "customer:12345"
    assert memory.content == "Customer #12345 prefers email."


def test_a_newer_preference_fills_the_same_slot_with_a_new_value() -> None:
    first = only("I prefer email over phone calls.")
    later = only("Actually, I prefer phone now.")
    assert (first.subject, first.attribute) == (later.subject, later.attribute)
    assert (first.value, later.value) == ("email", "phone")


def test_one_sentence_can_hold_two_facts() -> None:
    memories = extract("My name is Priya and I prefer email.")
    slots = {(m.attribute, m.value) for m in memories}
    assert slots == {("name", "Priya"), ("contact_preference", "email")}


def test_profile_slot_from_my_x_is_y() -> None:
    memory = only("My phone number is 555-0142.")
    assert (memory.subject, memory.attribute, memory.value) == ("user", "phone_number", "555-0142")
    assert memory.content == "The user's phone number is 555-0142."


def test_keywords_are_the_content_words() -> None:
    memory = only("Customer #12345 prefers email.")
    assert "email" in memory.keywords and "prefers" in memory.keywords
    assert not {"the", "is", "a"} & set(memory.keywords)


def test_provenance_and_scope_come_from_the_context() -> None:
    ctx = ExtractionContext(
        source_agent="jordan", thread_id="t-9", message_id="m-3", scope="private"
    )
    memory = only("I live in Portland.", ctx)
    assert memory.scope == "private"
    assert memory.provenance.source_agent == "jordan"
    assert (memory.provenance.thread_id, memory.provenance.message_id) == ("t-9", "m-3")


def test_bad_input_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(TypeError, match="str"):
        RuleExtractor().extract(None, CTX)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source_agent"):
        ExtractionContext(source_agent=" ")
    with pytest.raises(ValueError, match="scope"):
        ExtractionContext(source_agent="alex", scope="public")  # type: ignore[arg-type]
    assert extract("   ") == []


# ----------------------------------------------------------------- messages


def test_extract_from_messages_reads_human_turns_only() -> None:
    messages = [
        SystemMessage("You are Alex. Remember that customer #1 prefers phone."),
        HumanMessage("Hi! My email is dana@example.com.", id="h-1"),
        AIMessage("Thanks, I note that premium members get refunds within 48 hours."),
        HumanMessage("Also, I don't like phone calls.", id="h-2"),
    ]
    memories = extract_from_messages(messages, CTX)
    by_message = {m.provenance.message_id: m for m in memories}
    assert set(by_message) == {"h-1", "h-2"}
    assert by_message["h-1"].attribute == "email"
    assert "not" in by_message["h-2"].content


# ----------------------------------------------------------------- the LLM path


def fake_llm(*replies: str) -> FakeListChatModel:
    """A chat model without tool calling that answers with the given texts in turn."""
    return FakeListChatModel(responses=list(replies))


def llm_json(*memories: Mapping[str, object]) -> str:
    return json.dumps({"memories": list(memories)})


def test_llm_path_uses_valid_json_from_a_model_without_tool_calling() -> None:
    reply = llm_json(
        {
            "content": "The user wants invoices in PDF",
            "type": "entity",
            "subject": "user",
            "attribute": "invoice format",
            "value": "PDF",
            "mechanism": "implicit",
            "keywords": ["invoice", "pdf"],
        }
    )
    ctx = ExtractionContext(source_agent="sam", speaker_subject="customer:42")
    memories = extract_memories("Invoices as PDF for me, always.", ctx, llm=fake_llm(reply))
    assert len(memories) == 1
    memory = memories[0]
    assert memory.content == "The user wants invoices in PDF."
    assert (memory.subject, memory.attribute, memory.value) == (
        "customer:42",
        "invoice_format",
        "PDF",
    )
    assert memory.confidence == IMPLICIT_CONFIDENCE
    assert "llm" in memory.tags


@pytest.mark.parametrize(
    "wrap",
    [
        lambda body: f"```json\n{body}\n```",
        lambda body: f"Here are the memories:\n{body}\nHope this helps!",
    ],
)
def test_llm_json_in_a_fence_or_in_prose_is_parsed(wrap: Callable[[str], str]) -> None:
    body = llm_json({"content": "Gift wrap costs $4", "type": "semantic"})
    memories = extract_memories("Gift wrap costs $4.", CTX, llm=fake_llm(wrap(body)))
    assert [(m.type, m.content) for m in memories] == [("semantic", "Gift wrap costs $4.")]


def test_llm_claim_of_explicit_needs_a_command_in_the_text() -> None:
    claimed = {
        "content": "Customer #7 prefers SMS",
        "type": "entity",
        "subject": "customer #7",
        "mechanism": "explicit",
    }
    plain = extract_memories("Customer #7 prefers SMS.", CTX, llm=fake_llm(llm_json(claimed)))
    asked = extract_memories(
        "Remember that customer #7 prefers SMS.", CTX, llm=fake_llm(llm_json(claimed))
    )
    assert (plain[0].mechanism, plain[0].subject) == ("implicit", "customer:7")
    assert (asked[0].mechanism, asked[0].confidence) == ("explicit", EXPLICIT_CONFIDENCE)


def test_llm_empty_answer_means_nothing_to_remember() -> None:
    assert extract_memories("Thanks!", CTX, llm=fake_llm(llm_json())) == []


@pytest.mark.parametrize(
    "reply",
    [
        "Sure! The customer prefers email.",  # not JSON
        '{"memories": [{"content": "x y z", "type": "opinion"}]}',  # a type that does not exist
        '{"memories": "none"}',  # wrong shape
        llm_json({"content": "Customer #9 owns a yacht in Monaco", "type": "entity"}),  # made up
    ],
)
def test_invalid_llm_output_falls_back_to_the_rules(
    reply: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = "Remember that customer #12345 prefers email"
    with caplog.at_level(logging.WARNING, logger="memory.extraction"):
        memories = extract_memories(text, CTX, llm=fake_llm(reply))
    rules = RuleExtractor().extract(text, CTX)
    assert [(m.content, m.subject, m.mechanism) for m in memories] == [
        (m.content, m.subject, m.mechanism) for m in rules
    ]
    assert "extraction: LLM output invalid, using rules" in caplog.text


def test_failing_llm_call_falls_back_to_the_rules(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenModel(FakeListChatModel):
        def _call(self, *args: object, **kwargs: object) -> str:
            raise ConnectionError("no server")

    extractor = LLMExtractor(BrokenModel(responses=["unused"]), RuleExtractor())
    with caplog.at_level(logging.WARNING, logger="memory.extraction"):
        memories = extractor.extract("I prefer email.", CTX)
    assert [m.value for m in memories] == ["email"]
    assert "ConnectionError: no server" in caplog.text and "using rules" in caplog.text


# ----------------------------------------------------------------- evaluators and the labeled set


def test_contains_phrase_matches_whole_words_with_inflections() -> None:
    assert contains_phrase("The user works from home on Mondays.", "work from home")
    assert contains_phrase("Orders over $50 ship for free.", "orders over $50")
    assert not contains_phrase("Please note this.", "not")


def test_extraction_match_is_one_to_one_and_checks_type_and_subject() -> None:
    expected = [{"type": "entity", "subject": "customer:1", "must_contain": ["email"]}]
    twice = [
        {"content": "Customer #1 prefers email.", "type": "entity", "subject": "customer:1"},
        {"content": "Customer #1 likes email.", "type": "entity", "subject": "customer:1"},
    ]
    wrong_subject = [
        {"content": "Customer #2 prefers email.", "type": "entity", "subject": "customer:2"}
    ]
    score = lambda outputs: extraction_match(  # noqa: E731
        inputs={}, outputs={"memories": outputs}, reference_outputs={"expected": expected}
    )
    assert score(twice[:1])["score"] == 1.0
    assert score(twice)["score"] == pytest.approx(2 / 3)  # one match, one extra
    assert score(wrong_subject)["score"] == 0.0
    nothing = extraction_match(
        inputs={}, outputs={"memories": []}, reference_outputs={"expected": []}
    )
    assert nothing == {"key": "extraction_match", "score": 1.0, "comment": nothing["comment"]}


def test_slot_and_mechanism_evaluators() -> None:
    expected = [
        {
            "type": "entity",
            "mechanism": "explicit",
            "subject": "user",
            "attribute": "contact_preference",
            "value": "email",
            "must_contain": ["email"],
        }
    ]
    got = [
        {
            "content": "The user prefers email.",
            "type": "entity",
            "subject": "user",
            "mechanism": "implicit",
            "attribute": "contact_preference",
            "value": "phone",
        }
    ]
    kwargs: dict[str, Any] = {
        "inputs": {},
        "outputs": {"memories": got},
        "reference_outputs": {"expected": expected},
    }
    assert extraction_slots(**kwargs)["score"] == 0.0
    assert extraction_mechanism(**kwargs)["score"] == 0.0


def test_labeled_set_loads_with_both_splits_and_many_negatives() -> None:
    utterances = load_labeled()
    assert len(utterances) >= 150
    assert {u.split for u in utterances} == {"dev", "test"}
    assert sum(1 for u in utterances if not u.expected) >= 50
    assert len({u.text for u in utterances}) == len(utterances)


def test_rules_meet_the_targets_on_the_dev_split() -> None:
    dev = [u for u in load_labeled() if u.split == "dev"]
    summary = summarize(evaluate(dev, RuleExtractor().extract))
    assert summary.overall.precision >= TARGET_PRECISION
    assert summary.overall.recall >= TARGET_RECALL


def test_eval_writes_json_markdown_and_plot(tmp_path: Path) -> None:
    labeled = tmp_path / "labeled.jsonl"
    lines = [
        {
            "text": "I prefer email.",
            "split": "dev",
            "expected": [{"type": "entity", "subject": "user", "must_contain": ["email"]}],
        },
        {"text": "Where is my package?", "split": "test", "expected": []},
        {
            "text": "Gift cards cannot be refunded.",
            "split": "test",
            "expected": [{"type": "skill", "must_contain": ["gift cards"]}],
        },
    ]
    labeled.write_text("\n".join(json.dumps(line) for line in lines))
    result = run_extraction_eval(json_out=tmp_path / "out.json", reports=tmp_path, labeled=labeled)
    dev, test = result.by_split["dev"], result.by_split["test"]
    assert (dev.precision, dev.recall, dev.tp, dev.fp, dev.fn) == (1.0, 1.0, 1, 0, 0)
    assert (test.tp, test.fp, test.fn) == (0, 1, 1) and test.precision == test.recall == 0.0
    assert (result.overall.tp, result.overall.fp, result.overall.fn) == (1, 1, 1)
    assert result.overall.precision == result.overall.recall == result.overall.f1 == 0.5
    assert result.targets.met == {"dev": True, "test": False}
    assert (result.negatives.utterances, result.negatives.left_empty) == (1, 1)
    assert result.negatives.rate == 1.0
    assert sorted(f.kind for f in result.failures) == ["false_positive", "miss"]
    assert {f.text for f in result.failures} == {"Gift cards cannot be refunded."}
    assert result.dataset.utterances == 3 and result.dataset.by_split == {"dev": 1, "test": 2}
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["overall"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "tp": 1,
        "fp": 1,
        "fn": 1,
    }
    assert written["negatives"] == {"utterances": 1, "left_empty": 1, "rate": 1.0}
    assert written == json.loads((tmp_path / "extraction.json").read_text())
    report = (tmp_path / "extraction.md").read_text()
    assert "Gift cards cannot be refunded." in report and "false_positive" in report
    assert "| overall | 0.50 | 0.50 | 0.50 | 1 | 1 | 1 |" in report
    png = (tmp_path / "extraction.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


def test_a_named_speaker_reads_without_an_article() -> None:
    from memory.extraction import ExtractionContext, RuleExtractor

    ctx = ExtractionContext(source_agent="alex", speaker_subject="Caroline")
    memories = RuleExtractor().extract("I prefer email for updates.", ctx)
    assert memories and all("The Caroline" not in m.content for m in memories)
    assert any(m.content.startswith("Caroline") for m in memories)
