"""Sessions: token counting per thread and compaction of a thread's messages.

A thread's messages (LangChain messages, as kept by LangGraph's ``add_messages``) are
counted with a pluggable `TokenCounter`. When the count passes `SessionPolicy.threshold`
of the model's context budget (80% by default, as in the seed), `compact` shrinks the
thread to `SessionPolicy.target_ratio` of the budget with one of three interchangeable
strategies:

- ``"summarize"`` (the default; the seed's lesson: summarization beat truncation): the
  oldest turns are replaced by a running summary written by the chat model, which folds
  in the previous summary. When there is no model, or it fails or answers junk, an
  extractive summary (the most informative sentences, deterministic) is used instead and
  ``fallback_used`` says so.
- ``"sliding_window"``: keep the last ``keep_last_messages`` messages (fewer if those
  still exceed the target).
- ``"truncate"``: drop the oldest turns until the thread fits the target.

Every strategy keeps these invariants:

- the leading system messages (instructions) are kept;
- the latest human turn and everything after it are kept;
- an AI message with tool calls and its tool results are kept or dropped together, and
  the kept conversation never starts with a tool result;
- ``on_dropped(dropped)`` runs before `compact` returns (and before the summary is
  written), so the caller can extract facts into long-term memory first.

`compact` returns `CompactionResult.updates`, an update for a LangGraph ``add_messages``
channel: a ``RemoveMessage`` per dropped message and, for ``"summarize"``, the summary
message. The summary reuses the id of the message whose place it takes (the previous
summary, or on the first compaction the first dropped message), so ``add_messages``
replaces it in place: it sits right after the instructions, and a later compaction
replaces it again instead of appending a second summary.

Ids: ``RemoveMessage`` works by id, so `compact` assigns an id (a uuid4 string) in place to
every given message that has none, exactly as ``add_messages`` does to stored messages.
Messages read from a LangGraph state already have ids.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
    trim_messages,
)
from langchain_core.messages.utils import count_tokens_approximately

if TYPE_CHECKING:
    from nodes.grounding import Verdict

logger = logging.getLogger(__name__)

Strategy = Literal["summarize", "sliding_window", "truncate"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)

TokenCounter = Callable[[list[BaseMessage]], int]
"""Counts the tokens of a list of messages (the shape `trim_messages` accepts)."""

PHI4_MINI_CONTEXT_TOKENS = 128_000
"""phi4-mini's context window, the seed's default model."""

SUMMARY_MARKER = "a2a_session_summary"
"""Key in ``additional_kwargs`` marking the running-summary message (providers ignore it)."""
SUMMARY_HEADER = "Summary of the earlier conversation:"
EXTRACTIVE_MAX_SENTENCES = 24
"""An extractive summary stays a summary: at most this many sentences..."""
EXTRACTIVE_MAX_WORDS = 40
"""...of at most this many words each (longer ones are cut, ending in "...")."""
_TOOL_RESULT_PREVIEW_CHARS = 500


def approximate_token_counter(messages: Sequence[BaseMessage]) -> int:
    """The default counter: about 4 characters a token, no tokenizer needed (offline)."""
    return count_tokens_approximately(messages)


def model_token_counter(model: BaseChatModel) -> TokenCounter:
    """A counter using the chat model's own ``get_num_tokens_from_messages``.

    Only as exact as the model's implementation: LangChain's fallback for models without
    a tokenizer loads GPT-2's from ``transformers``, which needs that package and network.
    """

    def count(messages: list[BaseMessage]) -> int:
        return model.get_num_tokens_from_messages(messages)

    return count


@dataclass(frozen=True)
class SessionPolicy:
    """When a thread is compacted, how, and down to what size."""

    budget_tokens: int = PHI4_MINI_CONTEXT_TOKENS
    """The model's context window, in tokens."""
    threshold: float = 0.8
    """Compaction is due when the thread holds more than this share of the budget."""
    strategy: Strategy = "summarize"
    target_ratio: float = 0.5
    """Compaction shrinks the thread to at most this share of the budget (when possible)."""
    keep_last_messages: int = 20
    """The sliding window's size, in messages (leading system messages not counted)."""
    summary_ratio: float = 0.05
    """The running summary may use at most this share of the budget."""

    def __post_init__(self) -> None:
        _check_positive_int("budget_tokens", self.budget_tokens)
        _check_positive_int("keep_last_messages", self.keep_last_messages)
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be within (0, 1], got {self.threshold}")
        if not 0.0 < self.target_ratio <= self.threshold:
            raise ValueError(
                f"target_ratio must be within (0, threshold={self.threshold}], got "
                f"{self.target_ratio}: compaction must leave the thread below its trigger"
            )
        if not 0.0 < self.summary_ratio < self.target_ratio:
            raise ValueError(
                f"summary_ratio must be within (0, target_ratio={self.target_ratio}), "
                f"got {self.summary_ratio}"
            )
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")

    @property
    def trigger_tokens(self) -> float:
        return self.budget_tokens * self.threshold

    @property
    def target_tokens(self) -> int:
        return int(self.budget_tokens * self.target_ratio)

    @property
    def summary_max_tokens(self) -> int:
        return max(1, int(self.budget_tokens * self.summary_ratio))


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class SessionUsage:
    """How full a thread is."""

    tokens: int
    budget: int
    ratio: float
    """tokens / budget."""


@dataclass(frozen=True)
class CompactionResult:
    """What `compact` did. Apply `updates` to the thread's ``messages`` channel."""

    messages: list[BaseMessage]
    """The thread after compaction: instructions, summary (if any), kept turns."""
    updates: list[BaseMessage]
    """An ``add_messages`` update turning the thread into `messages`."""
    dropped: list[BaseMessage]
    """The conversation messages removed (not counting a replaced previous summary)."""
    summary: str | None
    """The new running summary, or None when no summary was written."""
    strategy: Strategy
    fallback_used: bool
    """True when the extractive summary replaced the LLM's."""
    tokens_before: int
    tokens_after: int
    warnings: list[str] = field(default_factory=list)
    """What did not go to plan (fallback used, target out of reach), also logged."""
    summary_check: Verdict | None = None
    """The grounding check of the model's summary (None when no model wrote one)."""


def session_usage(
    messages: Sequence[BaseMessage],
    policy: SessionPolicy,
    counter: TokenCounter = approximate_token_counter,
) -> SessionUsage:
    tokens = counter(list(messages))
    return SessionUsage(
        tokens=tokens, budget=policy.budget_tokens, ratio=tokens / policy.budget_tokens
    )


def needs_compaction(
    messages: Sequence[BaseMessage],
    policy: SessionPolicy,
    counter: TokenCounter = approximate_token_counter,
) -> bool:
    """True when the thread holds more than `policy.threshold` of the budget."""
    return counter(list(messages)) > policy.trigger_tokens


def is_summary_message(message: BaseMessage) -> bool:
    return isinstance(message, SystemMessage) and bool(
        message.additional_kwargs.get(SUMMARY_MARKER)
    )


def ensure_message_ids(messages: Sequence[BaseMessage]) -> None:
    """Give every message without an id a uuid4 id, in place (as ``add_messages`` does).

    Raises TypeError on a non-message, and ValueError on two messages sharing an id, since
    removal by id could not tell them apart.
    """
    seen: set[str] = set()
    for index, message in enumerate(messages):
        if not isinstance(message, BaseMessage):
            raise TypeError(
                f"messages[{index}] must be a langchain BaseMessage, got {type(message)}"
            )
        if message.id is None:
            message.id = str(uuid.uuid4())
        if message.id in seen:
            raise ValueError(f"messages[{index}] repeats the id {message.id!r}; ids must be unique")
        seen.add(message.id)


# --- splitting a thread -------------------------------------------------------------------


@dataclass(frozen=True)
class _Thread:
    head: list[BaseMessage]
    """The leading system messages, the previous summary among them if there is one."""
    summary: SystemMessage | None
    body: list[BaseMessage]


def _split(messages: list[BaseMessage]) -> _Thread:
    end = 0
    while end < len(messages) and isinstance(messages[end], SystemMessage):
        end += 1
    head = messages[:end]
    summaries = [m for m in head if isinstance(m, SystemMessage) and is_summary_message(m)]
    return _Thread(head=head, summary=summaries[0] if summaries else None, body=messages[end:])


def _valid_cuts(body: list[BaseMessage]) -> list[int]:
    """Cut points i (drop body[:i], keep body[i:]) splitting no tool call from its result."""
    call_index = {
        call_id: index
        for index, message in enumerate(body)
        if isinstance(message, AIMessage)
        for call_id in (call["id"] for call in message.tool_calls)
        if call_id
    }
    blocked: set[int] = set()
    for index, message in enumerate(body):
        if isinstance(message, ToolMessage) and message.tool_call_id in call_index:
            blocked.update(range(call_index[message.tool_call_id] + 1, index + 1))
    return [
        cut
        for cut in range(len(body) + 1)
        if cut not in blocked and (cut == len(body) or not isinstance(body[cut], ToolMessage))
    ]


def _latest_cut(body: list[BaseMessage], cuts: list[int]) -> int:
    """The furthest cut allowed: the latest human turn and what follows are always kept."""
    human = [i for i, m in enumerate(body) if isinstance(m, HumanMessage)]
    limit = human[-1] if human else len(body) - 1  # no human turn: keep at least the last unit
    return max((cut for cut in cuts if cut <= limit), default=0)


# --- choosing what to drop ------------------------------------------------------------------


def _cut_for_tokens(
    head: list[BaseMessage],
    body: list[BaseMessage],
    limit: int,
    counter: TokenCounter,
    cuts: list[int],
    lowest: int,
) -> int:
    """The earliest allowed cut >= lowest leaving head + body[cut:] within `limit` tokens.

    `trim_messages` proposes a cut starting on a human turn (so no answer is kept without
    its question); the loop then checks the real count, which a counter that is not
    additive per message may put higher.
    """
    latest = _latest_cut(body, cuts)
    if lowest >= latest or counter(head + body[lowest:]) <= limit:
        return min(lowest, latest)
    room = max(0, limit - counter(head)) if head else limit
    kept = trim_messages(
        body[lowest:],
        max_tokens=room,
        token_counter=counter,
        strategy="last",
        start_on="human",
        allow_partial=False,
    )
    proposed = len(body) - len(kept) if kept else len(body)
    candidates = [cut for cut in cuts if max(proposed, lowest) <= cut <= latest] or [latest]
    for cut in candidates:
        if counter(head + body[cut:]) <= limit:
            return cut
    return candidates[-1]


def _window_cut(body: list[BaseMessage], keep_last: int, cuts: list[int]) -> int:
    """The first allowed cut keeping at most `keep_last` messages (len(body) is always allowed)."""
    wanted = len(body) - keep_last
    return min(cut for cut in cuts if cut >= wanted) if wanted > 0 else 0


def _choose_cut(thread: _Thread, policy: SessionPolicy, counter: TokenCounter) -> int:
    body = thread.body
    cuts = _valid_cuts(body)
    latest = _latest_cut(body, cuts)
    if policy.strategy == "sliding_window":
        lowest = min(_window_cut(body, policy.keep_last_messages, cuts), latest)
        return _cut_for_tokens(thread.head, body, policy.target_tokens, counter, cuts, lowest)
    if policy.strategy == "truncate":
        return _cut_for_tokens(thread.head, body, policy.target_tokens, counter, cuts, 0)
    # The previous summary is rewritten, so only the instructions and a summary-sized
    # reserve count against the target.
    instructions = [m for m in thread.head if m is not thread.summary]
    limit = policy.target_tokens - policy.summary_max_tokens
    return _cut_for_tokens(instructions, body, limit, counter, cuts, 0)


# --- summaries ------------------------------------------------------------------------------

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w[\w#@.:/'-]*\w|\w")
_STOPWORD_TEXT = """
    a an the and or but if then so of to in on at by for with from as is are was were be
    been being am do does did have has had i you he she it we they me my your our their this
    that these those there here what which who whom when where why how not no yes ok okay
    please thanks thank can could would should will shall may might just also very really
    about into than too any some all let me us hi hello sure"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _speaker(message: BaseMessage) -> str:
    if isinstance(message, HumanMessage):
        return "User"
    if isinstance(message, ToolMessage):
        return f"Tool {message.name or 'result'}"
    if isinstance(message, SystemMessage):
        return "System"
    return message.name or "Assistant"


def _render(message: BaseMessage) -> str:
    text = message.text.strip()
    if isinstance(message, ToolMessage):
        text = text[:_TOOL_RESULT_PREVIEW_CHARS]
    lines = [f"{_speaker(message)}: {text}"] if text else []
    if isinstance(message, AIMessage):
        lines += [
            f"{_speaker(message)} called {call['name']}({json.dumps(call['args'], default=str)})"
            for call in message.tool_calls
        ]
    return "\n".join(lines)


def _summary_text(message: SystemMessage | None) -> str | None:
    if message is None:
        return None
    text = message.text.strip()
    return text.removeprefix(SUMMARY_HEADER).strip() or None


def _summary_message(text: str, message_id: str) -> SystemMessage:
    return SystemMessage(
        content=f"{SUMMARY_HEADER}\n{text}",
        id=message_id,
        additional_kwargs={SUMMARY_MARKER: True},
    )


def _sentences(text: str) -> list[str]:
    return [s.strip().removeprefix("- ").strip() for s in _SENTENCE_BREAK.split(text) if s.strip()]


def _shortened(sentence: str) -> str:
    words = sentence.split()
    if len(words) <= EXTRACTIVE_MAX_WORDS:
        return sentence
    return " ".join(words[:EXTRACTIVE_MAX_WORDS]) + " ..."


def _informativeness(sentence: str) -> int:
    """Distinct content words, with words holding digits (ids, amounts, dates) worth 3."""
    words = {w for w in _WORD.findall(sentence.lower()) if w not in _STOPWORDS}
    return len(words) + 2 * sum(any(c.isdigit() for c in w) for w in words)


def _fit(sentences: list[str], max_tokens: int, counter: TokenCounter) -> list[str]:
    """The sentences, in order, that fit in a summary message of at most `max_tokens`."""
    chosen: list[str] = []
    for sentence in sentences:
        trial = [*chosen, sentence]
        if counter([_summary_message(_join(trial), "probe")]) <= max_tokens:
            chosen = trial
    return chosen


def _join(sentences: list[str]) -> str:
    return "\n".join(f"- {s}" for s in sentences)


def extractive_summary(
    dropped: Sequence[BaseMessage],
    previous: str | None,
    max_tokens: int,
    counter: TokenCounter = approximate_token_counter,
) -> str:
    """The most informative sentences of the previous summary and the dropped human/AI turns.

    Deterministic: sentences are ranked by `_informativeness` (ties: earliest first), the
    best ones that fit `max_tokens` are kept and shown in conversation order.
    """
    # (line, score): the speaker label is shown but not scored, so it favours no one.
    scored = [(_shortened(s), _informativeness(s)) for s in _sentences(previous or "")]
    for message in dropped:
        if isinstance(message, HumanMessage | AIMessage) and message.text.strip():
            speaker = _speaker(message)
            scored += [
                (f"{speaker}: {_shortened(s)}", _informativeness(s))
                for s in _sentences(message.text)
            ]
    unique = list(dict.fromkeys((line, score) for line, score in scored if score >= 3))
    ranked = sorted(range(len(unique)), key=lambda i: (-unique[i][1], i))
    best = [unique[i][0] for i in ranked[:EXTRACTIVE_MAX_SENTENCES]]
    fitted = set(_fit(best, max_tokens, counter))
    return _join([line for line, _ in unique if line in fitted])


def _usable(text: str) -> bool:
    """A small model's junk (empty, punctuation, a word or two) is not a summary."""
    return len(_WORD.findall(text)) >= 3


def _llm_summary(
    llm: BaseChatModel, dropped: list[BaseMessage], previous: str | None, max_tokens: int
) -> str:
    """The model's summary; raises ValueError when the answer is not usable."""
    from memory.llm_calls import text_call  # the validated text call every LLM step uses
    from nodes.prompts import session_summary_prompt  # every prompt lives there

    transcript = "\n".join(filter(None, (_render(m) for m in dropped)))
    prompt = session_summary_prompt(transcript, previous, words=max(20, int(max_tokens * 0.6)))

    text = text_call(llm, prompt, step="summary")
    if text is None or not _usable(text):
        raise ValueError(f"the model's summary is unusable: {(text or '')[:80]!r}")
    return text


def _grounding(
    text: str, dropped: list[BaseMessage], previous: str | None, extractive: str
) -> Verdict:
    """Does the model's summary state only what the conversation and the previous summary
    did (nodes/grounding.py: no invented number, id, name, channel, date or prose)?"""
    from nodes.grounding import check  # pure text checks, shared with every node's text

    sources = [previous or "", *(_render(m) for m in dropped)]
    return check(text, sources, extractive, keep=False)


def _write_summary(
    llm: BaseChatModel | None,
    dropped: list[BaseMessage],
    previous: str | None,
    max_tokens: int,
    counter: TokenCounter,
) -> tuple[str, str | None, Verdict | None]:
    """The summary text, why the extractive fallback was used (None if it was not), and
    the grounding check of the model's summary (None when it wrote none)."""
    extractive = extractive_summary(dropped, previous, max_tokens, counter)
    if llm is None:
        return extractive, "no LLM given", None
    try:
        text = _llm_summary(llm, dropped, previous, max_tokens)
    except Exception as error:  # a small local model must never break the workflow
        return extractive, f"LLM summary failed ({type(error).__name__}: {error})", None
    # The summary is read back in later turns: an invented fact would outlive the thread.
    verdict = _grounding(text, dropped, previous, extractive)
    if verdict.replaced:
        problems = "; ".join(verdict.problems[:5])
        return extractive, f"LLM summary unsupported: {problems}", verdict
    sentences = _sentences(text)
    fitted = _fit(sentences, max_tokens, counter)
    if len(fitted) == len(sentences):
        return text, None, verdict
    if fitted:
        logger.info("LLM summary clipped to %d of %d sentences", len(fitted), len(sentences))
        return _join(fitted), None, verdict
    return extractive, "LLM summary does not fit the summary budget", verdict


# --- compaction -----------------------------------------------------------------------------


def compact(
    messages: Sequence[BaseMessage],
    policy: SessionPolicy,
    *,
    counter: TokenCounter = approximate_token_counter,
    llm: BaseChatModel | None = None,
    on_dropped: Callable[[list[BaseMessage]], None] | None = None,
) -> CompactionResult:
    """Shrink a thread towards `policy.target_tokens` with `policy.strategy`.

    `llm` writes the summary (``"summarize"`` only). `on_dropped` receives the dropped
    messages before the summary is written and before this returns; it is not called when
    nothing is dropped, and an exception it raises propagates (nothing has been changed
    then: the thread only changes when the caller applies `updates`). Messages without ids
    get ids in place (see the module docstring).
    """
    ensure_message_ids(messages)
    original = list(messages)
    tokens_before = counter(original)
    thread = _split(original)
    cut = _choose_cut(thread, policy, counter)
    dropped, kept = thread.body[:cut], thread.body[cut:]
    warnings: list[str] = []
    if dropped and on_dropped is not None:
        on_dropped(list(dropped))

    head = list(thread.head)
    updates: list[BaseMessage] = [RemoveMessage(id=_id(m)) for m in dropped]
    summary: str | None = None
    fallback_reason: str | None = None
    summary_check: Verdict | None = None
    if policy.strategy == "summarize" and dropped:
        text, fallback_reason, summary_check = _write_summary(
            llm, dropped, _summary_text(thread.summary), policy.summary_max_tokens, counter
        )
        if fallback_reason:
            warnings.append(f"extractive summary used: {fallback_reason}")
        if text:
            summary = text
            head, summary_message = _place_summary(head, thread.summary, text, dropped[0])
            updates.append(summary_message)
        else:  # an empty summary message would only cost tokens; the old one stays as it is
            warnings.append("summary budget too small for a single sentence: no summary written")

    result_messages = head + kept
    tokens_after = counter(result_messages)
    if tokens_after > policy.target_tokens:
        warnings.append(
            f"thread still holds {tokens_after} tokens, above the target of "
            f"{policy.target_tokens}: the instructions and latest turn alone are that large"
        )
    for warning in warnings:
        logger.warning("session compaction (%s): %s", policy.strategy, warning)
    return CompactionResult(
        messages=result_messages,
        updates=updates,
        dropped=list(dropped),
        summary=summary,
        strategy=policy.strategy,
        fallback_used=fallback_reason is not None,
        tokens_before=tokens_before,
        tokens_after=tokens_after,
        warnings=warnings,
        summary_check=summary_check,
    )


def _id(message: BaseMessage) -> str:
    assert message.id is not None  # ensure_message_ids ran
    return message.id


def _place_summary(
    head: list[BaseMessage], previous: SystemMessage | None, text: str, first_dropped: BaseMessage
) -> tuple[list[BaseMessage], SystemMessage]:
    """Replace the previous summary in place, or take the first dropped message's slot.

    Reusing that id makes ``add_messages`` put the summary where the dropped turns began
    (right after the instructions) instead of appending it after the latest turn.
    """
    if previous is not None:
        message = _summary_message(text, _id(previous))
        return [message if m is previous else m for m in head], message
    message = _summary_message(text, _id(first_dropped))
    return [*head, message], message
