"""Sessions: counting, the 80% trigger, the three compaction strategies and their invariants."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatResult
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.message import add_messages

from memory.sessions import (
    PHI4_MINI_CONTEXT_TOKENS,
    STRATEGIES,
    SUMMARY_HEADER,
    CompactionResult,
    SessionPolicy,
    SessionUsage,
    Strategy,
    approximate_token_counter,
    compact,
    extractive_summary,
    is_summary_message,
    model_token_counter,
    needs_compaction,
    session_usage,
)


def words(messages: list[BaseMessage]) -> int:
    """An exact, easy-to-reason-about counter: one token per whitespace-separated word."""
    return sum(len(m.text.split()) for m in messages)


_VOCAB_TEXT = """customer 12345 prefers email refund order 777 delayed premium member shipment
carrier tracking warehouse invoice 48 hours status system healthy escalation ticket"""
VOCAB = _VOCAB_TEXT.split()


def text(length: int, seed: int = 0) -> str:
    return " ".join(VOCAB[(seed + i) % len(VOCAB)] for i in range(length)) + "."


def chat(turns: int, length: int = 20, *, system: bool = True, tools: bool = True) -> list:
    """A conversation: per turn a question, optionally one tool round, and an answer."""
    messages: list[BaseMessage] = (
        [SystemMessage("You are Alex, the coordinator.")] if system else []
    )
    for turn in range(turns):
        messages.append(HumanMessage(text(length, turn), id=f"h{turn}"))
        if tools:
            call = {"name": "lookup_order", "args": {"order": turn}, "id": f"call{turn}"}
            messages.append(AIMessage("", tool_calls=[call], id=f"a{turn}"))
            messages.append(ToolMessage(text(length, turn + 1), tool_call_id=f"call{turn}"))
        messages.append(AIMessage(text(length, turn + 2), id=f"r{turn}"))
    return messages


def body_of(messages: list[BaseMessage]) -> list[BaseMessage]:
    return [m for m in messages if not isinstance(m, SystemMessage)]


def applied(original: Sequence[BaseMessage], result: CompactionResult) -> list[BaseMessage]:
    return add_messages(list(original), result.updates)  # type: ignore[arg-type,return-value]


def fingerprint(messages: list[BaseMessage]) -> list[tuple[str, str | None, str]]:
    return [(m.type, m.id, m.text) for m in messages]


class RecordPrompts(BaseCallbackHandler):
    """Records what the chat model was asked, in order of calls."""

    def __init__(self) -> None:
        self.prompts: list[list[BaseMessage]] = []

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], **kwargs: Any
    ) -> None:
        self.prompts.extend(messages)


class FailingChatModel(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "failing"

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        raise RuntimeError("model server went away")


def scripted(*answers: str, recorder: RecordPrompts | None = None) -> FakeListChatModel:
    return FakeListChatModel(responses=list(answers), callbacks=[recorder] if recorder else None)


# --- counting and the trigger ---------------------------------------------------------------


def test_default_counter_is_langchains_approximation_and_grows_with_content() -> None:
    short, long = [HumanMessage("hello there")], [HumanMessage("hello there " * 50)]
    assert approximate_token_counter(short) == count_tokens_approximately(short)
    assert approximate_token_counter(long) > approximate_token_counter(short)


def test_model_counter_uses_the_models_tokenizer() -> None:
    model = FakeListChatModel(
        responses=["x"], custom_get_token_ids=lambda t: list(range(len(t.split())))
    )
    counter = model_token_counter(model)
    # get_buffer_string renders "Human: one two three": 4 words, 4 tokens.
    assert counter([HumanMessage("one two three")]) == 4
    assert counter([HumanMessage("a b"), AIMessage("c")]) == 3 + 2


def test_session_usage_reports_tokens_budget_and_ratio() -> None:
    policy = SessionPolicy(budget_tokens=1000)
    usage = session_usage([HumanMessage("w " * 250)], policy, words)
    assert usage == SessionUsage(tokens=250, budget=1000, ratio=0.25)


def test_default_budget_is_phi4_minis_context() -> None:
    assert SessionPolicy().budget_tokens == PHI4_MINI_CONTEXT_TOKENS == 128_000
    assert SessionPolicy().strategy == "summarize"


@pytest.mark.parametrize(("count", "due"), [(799, False), (800, False), (801, True)])
def test_compaction_is_due_only_above_80_percent(count: int, due: bool) -> None:
    policy = SessionPolicy(budget_tokens=1000)
    messages = [HumanMessage("w " * (count - 1)), AIMessage("w")]
    assert words(messages) == count
    assert needs_compaction(messages, policy, words) is due


def test_threshold_is_configurable() -> None:
    messages = [HumanMessage("w " * 600)]
    assert needs_compaction(messages, SessionPolicy(budget_tokens=1000, threshold=0.5), words)
    assert not needs_compaction(messages, SessionPolicy(budget_tokens=1000), words)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"budget_tokens": 0}, "budget_tokens"),
        ({"budget_tokens": -5}, "budget_tokens"),
        ({"budget_tokens": 1.5}, "budget_tokens"),
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": 1.2}, "threshold"),
        ({"target_ratio": 0.9}, "target_ratio"),
        ({"target_ratio": 0.0}, "target_ratio"),
        ({"summary_ratio": 0.5}, "summary_ratio"),
        ({"keep_last_messages": 0}, "keep_last_messages"),
        ({"strategy": "forget_everything"}, "strategy"),
    ],
)
def test_invalid_policies_are_rejected_naming_the_field(
    changes: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        SessionPolicy(**changes)


def test_threshold_of_one_is_allowed() -> None:
    assert SessionPolicy(threshold=1.0).trigger_tokens == PHI4_MINI_CONTEXT_TOKENS


# --- each strategy --------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_brings_the_thread_under_target(strategy: Strategy) -> None:
    policy = SessionPolicy(budget_tokens=1000, strategy=strategy, keep_last_messages=8)
    messages = chat(turns=15)
    assert needs_compaction(messages, policy, words)
    result = compact(messages, policy, counter=words, llm=scripted("Customer 12345 waits."))
    assert result.strategy == strategy
    assert result.tokens_before == words(messages) > policy.trigger_tokens
    assert result.tokens_after == words(result.messages) <= policy.target_tokens
    assert result.dropped and not needs_compaction(result.messages, policy, words)


def test_sliding_window_keeps_exactly_the_last_n_messages() -> None:
    messages = chat(turns=10, length=2, tools=False)
    policy = SessionPolicy(budget_tokens=1000, strategy="sliding_window", keep_last_messages=6)
    result = compact(messages, policy, counter=words)
    assert body_of(result.messages) == messages[-6:]
    assert result.messages[0] is messages[0]
    assert result.summary is None and result.dropped == messages[1:-6]


def test_sliding_window_never_starts_inside_a_tool_round() -> None:
    messages = chat(turns=10, length=2)  # 4 messages a turn: human, call, result, answer
    policy = SessionPolicy(budget_tokens=1000, strategy="sliding_window", keep_last_messages=6)
    kept = body_of(compact(messages, policy, counter=words).messages)
    # The last 6 would start with a tool result whose call falls outside the window: that
    # result goes too, and the window starts on the answer after it.
    assert isinstance(messages[-6], ToolMessage)
    assert kept == messages[-5:]


def test_truncate_drops_only_what_it_must() -> None:
    messages = chat(turns=15)
    policy = SessionPolicy(budget_tokens=1000, strategy="truncate")
    result = compact(messages, policy, counter=words)
    kept = body_of(result.messages)
    assert isinstance(kept[0], HumanMessage)
    last_dropped_turn = result.dropped[-4:]
    assert isinstance(last_dropped_turn[0], HumanMessage)
    assert words([messages[0], *last_dropped_turn, *kept]) > policy.target_tokens


def test_latest_turn_is_kept_even_when_it_alone_exceeds_the_target(
    caplog: pytest.LogCaptureFixture,
) -> None:
    messages = chat(turns=3)
    messages.append(HumanMessage("w " * 900, id="huge"))
    for strategy in STRATEGIES:
        policy = SessionPolicy(budget_tokens=1000, strategy=strategy, keep_last_messages=1)
        with caplog.at_level(logging.WARNING, logger="memory.sessions"):
            result = compact(messages, policy, counter=words)
        assert result.messages[-1].id == "huge" and result.messages[0] is messages[0]
        assert result.tokens_after > policy.target_tokens
        assert any("above the target" in w for w in result.warnings)
    assert "above the target" in caplog.text


def test_nothing_is_dropped_when_the_thread_already_fits() -> None:
    messages = chat(turns=2)
    calls: list[list[BaseMessage]] = []
    for strategy in ("summarize", "truncate"):
        policy = SessionPolicy(budget_tokens=10_000, strategy=strategy)
        result = compact(messages, policy, counter=words, on_dropped=calls.append)
        assert result.messages == messages and result.updates == [] and result.dropped == []
    assert calls == []


# --- ids --------------------------------------------------------------------------------------


def test_messages_without_ids_get_ids_so_removal_works() -> None:
    messages = [HumanMessage(text(30, t)) for t in range(6)]
    assert all(m.id is None for m in messages)
    policy = SessionPolicy(budget_tokens=100, strategy="truncate")
    result = compact(messages, policy, counter=words)
    assert all(m.id for m in messages)
    assert fingerprint(applied(messages, result)) == fingerprint(result.messages)


def test_duplicate_ids_and_non_messages_are_rejected() -> None:
    policy = SessionPolicy(budget_tokens=100)
    with pytest.raises(ValueError, match="repeats the id 'x'"):
        compact([HumanMessage("a", id="x"), AIMessage("b", id="x")], policy)
    with pytest.raises(TypeError, match=r"messages\[1\]"):
        compact([HumanMessage("a"), "not a message"], policy)  # type: ignore[list-item]


# --- on_dropped -------------------------------------------------------------------------------


def test_on_dropped_gets_exactly_the_dropped_messages_before_the_summary_is_written() -> None:
    events: list[str] = []
    received: list[list[BaseMessage]] = []

    class Recorder(RecordPrompts):
        def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
            events.append("summarize")

    def extract(dropped: list[BaseMessage]) -> None:
        events.append("on_dropped")
        received.append(dropped)

    messages = chat(turns=15)
    llm = scripted("Customer 12345 prefers email.", recorder=Recorder())
    result = compact(
        messages, SessionPolicy(budget_tokens=1000), counter=words, llm=llm, on_dropped=extract
    )
    assert events == ["on_dropped", "summarize"]
    assert [[m.id for m in batch] for batch in received] == [[m.id for m in result.dropped]]


def test_an_on_dropped_failure_propagates_and_nothing_is_returned() -> None:
    def broken(dropped: list[BaseMessage]) -> None:
        raise RuntimeError("memory store unavailable")

    messages = chat(turns=15)
    before = [(m.type, m.text) for m in messages]
    with pytest.raises(RuntimeError, match="memory store unavailable"):
        compact(messages, SessionPolicy(budget_tokens=1000), counter=words, on_dropped=broken)
    assert [(m.type, m.text) for m in messages] == before


# --- summaries --------------------------------------------------------------------------------


def test_summary_is_written_by_the_llm_and_placed_after_the_instructions() -> None:
    recorder = RecordPrompts()
    llm = scripted("Customer 12345 prefers email. Order 777 is delayed.", recorder=recorder)
    messages = [*chat(turns=15), HumanMessage("And invoice ZX81?", id="latest")]
    result = compact(messages, SessionPolicy(budget_tokens=1000), counter=words, llm=llm)
    assert result.summary == "Customer 12345 prefers email. Order 777 is delayed."
    assert not result.fallback_used and result.warnings == []
    assert result.messages[0] is messages[0]
    summary_message = result.messages[1]
    assert is_summary_message(summary_message)
    assert summary_message.text == f"{SUMMARY_HEADER}\n{result.summary}"
    assert summary_message.id == result.dropped[0].id  # takes the first dropped slot
    # The model saw the dropped turns, tool calls included, and no kept one.
    prompt = recorder.prompts[0][-1].text
    assert "called lookup_order" in prompt and result.dropped[0].text in prompt
    assert result.messages[-1].id == "latest" and "ZX81" not in prompt


def test_a_too_long_llm_summary_is_clipped_to_the_summary_budget() -> None:
    # long, and grounded: every sentence says what the conversation said
    rambling = " ".join(f"Customer 12345 asked about the {w}." for w in VOCAB * 10)
    policy = SessionPolicy(budget_tokens=1000, summary_ratio=0.1)
    result = compact(chat(turns=15), policy, counter=words, llm=scripted(rambling))
    assert not result.fallback_used and result.summary
    assert result.summary.startswith("- Customer 12345 asked about the customer.")
    assert words([result.messages[1]]) <= policy.summary_max_tokens
    assert result.tokens_after <= policy.target_tokens


@pytest.mark.parametrize(
    "llm",
    [None, FailingChatModel(), scripted(""), scripted("   "), scripted("..."), scripted("OK")],
    ids=["no-llm", "raises", "empty", "blank", "punctuation", "one-word"],
)
def test_summary_falls_back_to_extractive_with_a_warning(
    llm: BaseChatModel | None, caplog: pytest.LogCaptureFixture
) -> None:
    messages = chat(turns=15)
    policy = SessionPolicy(budget_tokens=1000)
    with caplog.at_level(logging.WARNING, logger="memory.sessions"):
        result = compact(messages, policy, counter=words, llm=llm)
    assert result.fallback_used
    assert result.summary == extractive_summary(
        result.dropped, None, policy.summary_max_tokens, words
    )
    assert result.summary and result.tokens_after <= policy.target_tokens
    assert "extractive summary used" in caplog.text


def test_extractive_summary_keeps_informative_sentences_deterministically() -> None:
    dropped = [
        HumanMessage("Hi there. I am customer 12345 and I prefer email over phone calls."),
        AIMessage("Sure. Your order 777 shipped with the carrier on March 3 and is delayed."),
        HumanMessage("Ok thanks."),
    ]
    summary = extractive_summary(dropped, None, max_tokens=40, counter=words)
    assert summary == extractive_summary(dropped, None, max_tokens=40, counter=words)
    assert summary.splitlines() == [
        "- User: I am customer 12345 and I prefer email over phone calls.",
        "- Assistant: Your order 777 shipped with the carrier on March 3 and is delayed.",
    ]
    tight = extractive_summary(dropped, None, max_tokens=20, counter=words)
    assert tight.splitlines() == [summary.splitlines()[1]]  # the one with more ids and facts


def test_a_second_compaction_folds_the_previous_summary_and_replaces_it() -> None:
    policy = SessionPolicy(budget_tokens=1000)
    recorder = RecordPrompts()
    llm = scripted(
        "Customer 12345 prefers email.",
        "Customer 12345 prefers email; order 777 delayed.",
        recorder=recorder,
    )
    thread = chat(turns=15)
    first = compact(thread, policy, counter=words, llm=llm)
    thread = applied(thread, first)
    thread += chat(turns=24, system=False)[-48:]  # twelve new turns with fresh ids
    for index, message in enumerate(thread[len(first.messages) :]):
        message.id = f"new{index}"
    second = compact(thread, policy, counter=words, llm=llm)

    assert "Customer 12345 prefers email." in recorder.prompts[1][-1].text
    assert second.summary == "Customer 12345 prefers email; order 777 delayed."
    after = applied(thread, second)
    summaries = [m for m in after if is_summary_message(m)]
    assert len(summaries) == 1 and after[1] is summaries[0]
    assert summaries[0].id == first.messages[1].id
    assert summaries[0].text.endswith(second.summary)
    assert fingerprint(after) == fingerprint(second.messages)


def test_the_extractive_fallback_also_folds_the_previous_summary() -> None:
    policy = SessionPolicy(budget_tokens=1000, summary_ratio=0.1)
    thread = chat(turns=15)
    stated = "Customer 12345 prefers email."
    first = compact(thread, policy, counter=words, llm=scripted(stated))
    thread = applied(thread, first)
    chatter = [
        HumanMessage("hello there", id=f"q{i}")
        if i % 2 == 0
        else AIMessage("hello " * 60, id=f"q{i}")
        for i in range(20)
    ]
    second = compact([*thread, *chatter], policy, counter=words)
    assert second.fallback_used and second.summary
    assert stated in second.summary


@pytest.mark.parametrize(
    "invented",
    [
        "Customer 12345 paid 300 dollars for order 999.",  # numbers nobody said
        "Customer 12345 prefers Signal.",  # a channel nobody named
        "We have the latest updates and features of our new product launch.",  # prose
    ],
)
def test_a_summary_stating_what_the_conversation_did_not_is_replaced(invented: str) -> None:
    """The summary is read back in every later turn: an invented fact would outlive the
    thread, so the extractive summary (sentences of the conversation) is used instead."""
    policy = SessionPolicy(budget_tokens=1000, summary_ratio=0.1)
    result = compact(chat(turns=15), policy, counter=words, llm=scripted(invented))
    assert result.fallback_used and result.summary
    assert invented not in result.summary
    assert result.summary_check is not None and result.summary_check.replaced
    assert result.summary_check.draft == invented
    assert any("LLM summary unsupported" in w for w in result.warnings)


# --- invariants over random conversations -------------------------------------------------


@st.composite
def conversations(draw: st.DrawFn) -> list[BaseMessage]:
    messages: list[BaseMessage] = []
    if draw(st.booleans()):
        messages.append(SystemMessage(text(draw(st.integers(1, 30)))))
    calls = 0
    for turn in range(draw(st.integers(1, 8))):
        messages.append(HumanMessage(text(draw(st.integers(1, 60)), turn)))
        for _ in range(draw(st.integers(0, 2))):
            ids = [f"call{calls + i}" for i in range(draw(st.integers(1, 3)))]
            calls += len(ids)
            tool_calls = [{"name": "lookup", "args": {}, "id": i} for i in ids]
            messages.append(AIMessage(text(draw(st.integers(0, 10)), turn), tool_calls=tool_calls))
            messages += [ToolMessage(text(draw(st.integers(1, 40))), tool_call_id=i) for i in ids]
        if draw(st.booleans()):
            messages.append(AIMessage(text(draw(st.integers(1, 60)), turn + 1)))
    return messages


def assert_no_tool_round_is_split(kept: list[BaseMessage], dropped: list[BaseMessage]) -> None:
    kept_ids = {m.id for m in kept}
    for message in [*kept, *dropped]:
        if isinstance(message, AIMessage) and message.tool_calls:
            results = [
                m
                for m in [*kept, *dropped]
                if isinstance(m, ToolMessage)
                and m.tool_call_id in {c["id"] for c in message.tool_calls}
            ]
            assert all((r.id in kept_ids) == (message.id in kept_ids) for r in results)


@settings(max_examples=150, deadline=None)
@given(
    messages=conversations(),
    strategy=st.sampled_from(STRATEGIES),
    budget=st.integers(1, 25).map(lambda k: 60 * k),
    keep_last=st.integers(1, 12),
    llm_answers=st.booleans(),
)
def test_invariants_hold_for_every_strategy(
    messages: list[BaseMessage],
    strategy: Strategy,
    budget: int,
    keep_last: int,
    llm_answers: bool,
) -> None:
    policy = SessionPolicy(
        budget_tokens=budget, strategy=strategy, keep_last_messages=keep_last, summary_ratio=0.1
    )
    received: list[list[BaseMessage]] = []
    llm = scripted("Customer 12345 prefers email and waits for order 777.") if llm_answers else None
    result = compact(messages, policy, counter=words, llm=llm, on_dropped=received.append)

    instructions = [m for m in messages if isinstance(m, SystemMessage)]
    body = body_of(messages)
    kept = [m for m in result.messages if not is_summary_message(m)][len(instructions) :]
    assert result.messages[: len(instructions)] == instructions
    assert [m.id for m in result.dropped + kept] == [m.id for m in body]
    assert received == ([result.dropped] if result.dropped else [])
    latest_human = max(i for i, m in enumerate(body) if isinstance(m, HumanMessage))
    assert kept[-(len(body) - latest_human) :] == body[latest_human:]
    assert not kept or not isinstance(kept[0], ToolMessage)
    assert_no_tool_round_is_split(kept, result.dropped)
    assert fingerprint(applied(messages, result)) == fingerprint(result.messages)
    assert result.tokens_after == words(result.messages)
    # Under target, unless nothing more could go without breaking the latest-turn rule.
    assert result.tokens_after <= policy.target_tokens or kept == body[latest_human:]
    if strategy == "sliding_window":
        assert len(kept) <= keep_last or kept == body[latest_human:]
    if strategy == "summarize" and result.summary:
        summary_message = result.messages[len(instructions)]
        assert is_summary_message(summary_message)
        assert words([summary_message]) <= policy.summary_max_tokens


# --- LangGraph ----------------------------------------------------------------------------------


def test_a_langgraph_thread_shrinks_when_a_node_returns_the_updates() -> None:
    policy = SessionPolicy(budget_tokens=1000)
    llm = scripted("Customer 12345 prefers email.", "Customer 12345 prefers email; order 777.")
    results: list[CompactionResult] = []

    def compact_session(state: MessagesState) -> dict[str, list[BaseMessage]]:
        if not needs_compaction(state["messages"], policy, words):
            return {}
        results.append(compact(state["messages"], policy, counter=words, llm=llm))
        return {"messages": results[-1].updates}

    builder = StateGraph(MessagesState)
    builder.add_node("compact_session", compact_session)
    builder.add_edge(START, "compact_session")
    builder.add_edge("compact_session", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "customer-12345"}}

    incoming = chat(turns=15)
    graph.invoke(MessagesState(messages=incoming), config)
    stored = graph.get_state(config).values["messages"]
    assert len(results) == 1 and len(stored) < len(incoming)
    assert fingerprint(stored) == fingerprint(results[0].messages)
    assert words(stored) <= policy.target_tokens and stored[-1].id == incoming[-1].id
    summary_id = stored[1].id
    assert is_summary_message(stored[1])

    more = chat(turns=24, system=False)[-48:]
    for index, message in enumerate(more):
        message.id = f"later{index}"
    graph.invoke(MessagesState(messages=more), config)
    stored = graph.get_state(config).values["messages"]
    assert len(results) == 2 and fingerprint(stored) == fingerprint(results[1].messages)
    assert [m.id for m in stored if is_summary_message(m)] == [summary_id]
    assert stored[1].text.endswith("Customer 12345 prefers email; order 777.")
    assert words(stored) <= policy.target_tokens


def test_strategies_are_interchangeable_on_one_thread() -> None:
    thread = chat(turns=15)
    summarized = applied(thread, compact(thread, SessionPolicy(budget_tokens=1000), counter=words))
    grown = summarized + chat(turns=30, system=False)[-40:]
    for index, message in enumerate(grown[len(summarized) :]):
        message.id = f"grown{index}"
    policy = dataclasses.replace(SessionPolicy(budget_tokens=1000), strategy="truncate")
    result = compact(grown, policy, counter=words)
    # Truncation keeps the instructions and the running summary written earlier.
    assert result.messages[:2] == summarized[:2] and is_summary_message(result.messages[1])
    assert result.tokens_after <= policy.target_tokens
