"""The embedded chat models side by side: routing, extraction, grounded replies, latency.

Each packaged GGUF (``memory.packaged_models``: SmolLM2-135M, Qwen2.5-Coder-0.5B and -1.5B
Instruct) runs the same work, interleaved item by item (every model answers item i before
any answers item i+1), so that load from other processes on a shared machine falls on all
of them alike; the 1-minute load average is sampled after every item and reported:

- routing: labeled requests to both shipped teams (support: orders, technical, both, and
  requests that use neither specialist's keywords; the IT help desk likewise), the team's
  routing prompt and schema as ``route_request`` sends them (few-shot examples where the
  team declares them); scored on the model's own proposal, and on its union with the
  keyword router (what the graph runs), beside the keyword router alone;
- extraction: test-split utterances of ``evals/data/extraction_labeled.jsonl`` (three
  quarters holding labeled facts, the rest none), extracted by the model alone (no rules
  fallback) and by what the graph runs (the model with the rules as fallback, or the
  rules alone for a model that does not extract), scored as the extraction eval scores
  them (precision and recall against the labels);
- grounded texts: the demo's team request (its reply and the specialists' findings), its
  follow-up, and chat turns of the grounding eval: how many of the model's drafts
  ``nodes.grounding`` kept (the rest were replaced by the composed text) and invented
  claims left in what the user saw (the grounding eval's evaluator);
- latency: median seconds per model call (every call the graphs made, timed by a
  callback) and the demo's wall time (team request + follow-up), each also as a ratio to
  the first model (SmolLM2 by default).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.embeddings import Embeddings
from langchain_core.outputs import LLMResult
from rich.console import Console

from evals.extraction import (
    LabeledUtterance,
    Scores,
    UtteranceResult,
    evaluate,
    load_labeled,
    summarize,
)
from evals.grounding import CHAT_TURNS, ChatTurn, TextCheck, _chat, _team
from evals.report import Report, markdown_table, write_report
from graphs.app import TeamApp, open_team_app
from memory.embeddings import make_embeddings
from memory.extraction import ExtractionContext, LLMExtractor, RuleExtractor
from memory.llama import EmbeddedChatModel, make_embedded_chat_model
from memory.llm_calls import structured_call
from memory.models import Memory
from memory.packaged_models import EMBEDDED_MODEL_NAMES, PACKAGED_MODELS, EmbeddedModelName
from nodes.coordinator import route_schema
from nodes.prompts import routing_prompt
from nodes.routing import keyword_route, route_by_routers, with_keywords
from nodes.team import TeamSpec
from teams.helpdesk.team import HELPDESK_TEAM
from teams.support.demo import DEMO_CUSTOMER_ID, DEMO_REQUEST, FOLLOW_UP, prepare_demo
from teams.support.team import SUPPORT_TEAM

RoutingKind = Literal["one", "other", "both", "neither"]
"""What a labeled request needs: the team's first specialist (orders; accounts), its
second (technical; infrastructure), both, or "neither": it uses no keyword of either
specialist, so the keyword router finds no one and only the model can route it (every
request needs someone: the routing schema asks for at least one specialist)."""


@dataclass(frozen=True)
class RoutingCase:
    team: TeamSpec
    kind: RoutingKind
    request: str
    expected: frozenset[str]


def _support(kind: RoutingKind, request: str, *expected: str) -> RoutingCase:
    return RoutingCase(SUPPORT_TEAM, kind, request, frozenset(expected))


def _helpdesk(kind: RoutingKind, request: str, *expected: str) -> RoutingCase:
    return RoutingCase(HELPDESK_TEAM, kind, request, frozenset(expected))


ROUTING_SET: tuple[RoutingCase, ...] = (
    # the support team: Sam for orders, shipping and refunds; Jordan for systems and apps
    _support("one", "I'd like to return the shoes I bought last week.", "sam"),
    _support("one", "Can I cancel my order before it ships?", "sam"),
    _support("one", "My package was marked delivered but I never got it.", "sam"),
    _support("one", "Which carrier ships my order, and when will it arrive?", "sam"),
    _support("other", "The website shows a 500 error when I open my account page.", "jordan"),
    _support("other", "Is your payment system down? My card is declined at checkout.", "jordan"),
    _support("other", "The mobile app crashes when I try to log in.", "jordan"),
    _support("other", "I never receive your shipping notification emails.", "jordan"),
    _support(
        "both",
        "My delivery is three days late and the tracking link in your email gives an error.",
        "sam",
        "jordan",
    ),
    _support(
        "both",
        "The app says my order was cancelled but the money was taken; I want a refund.",
        "sam",
        "jordan",
    ),
    _support(
        "both",
        "The tracking page on your site errors out and my parcel is already a week late.",
        "sam",
        "jordan",
    ),
    _support("neither", "I bought a jacket two weeks ago and it still hasn't shown up.", "sam"),
    _support("neither", "The sweater I got is the wrong size; can I swap it for a medium?", "sam"),
    _support("neither", "Your page keeps spinning forever whenever I try to sign in.", "jordan"),
    # the IT help desk: Riley for accounts and access; Morgan for infrastructure
    _helpdesk("one", "My account is locked after three failed login attempts.", "riley"),
    _helpdesk("one", "I need access to the finance shared drive.", "riley"),
    _helpdesk("one", "I forgot my password and the reset link has expired.", "riley"),
    _helpdesk("other", "Is the VPN gateway down? Nobody on my floor can connect.", "morgan"),
    _helpdesk("other", "The office Wi-Fi is very slow this morning.", "morgan"),
    _helpdesk("other", "Email is not syncing on any of our laptops.", "morgan"),
    _helpdesk(
        "both",
        "The VPN says my account has no permission, and the connection keeps dropping.",
        "riley",
        "morgan",
    ),
    _helpdesk(
        "both",
        "Since this morning's outage my account is locked and I cannot reset the password.",
        "riley",
        "morgan",
    ),
    _helpdesk("neither", "I can't get into my laptop since I changed my passphrase.", "riley"),
    _helpdesk("neither", "A new hire starts Monday and needs rights to the HR folder.", "riley"),
    _helpdesk("neither", "Nobody on the third floor can reach the internet right now.", "morgan"),
    _helpdesk(
        "neither", "Single sign-on shows a blank page for the whole sales department.", "morgan"
    ),
)
"""Labeled requests to both shipped teams (none of them a team's worked example), each
with the specialists it needs."""


class _RecordedRules(RuleExtractor):
    """The rules as the LLM extractor's fallback, noting when they had to step in: one
    model call then gives both what the model alone extracted and what the graph keeps."""

    def __init__(self) -> None:
        super().__init__()
        self.used = False

    def extract(self, text: str, ctx: ExtractionContext) -> list[Memory]:
        self.used = True
        return super().extract(text, ctx)


@dataclass
class CallTimer(BaseCallbackHandler):
    """Seconds and output tokens of every call a chat model makes."""

    seconds: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    _started: dict[UUID, float] = field(default_factory=dict)

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, **_: Any
    ) -> None:
        self._started[run_id] = time.perf_counter()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **_: Any) -> None:
        started = self._started.pop(run_id, None)
        if started is None:
            return
        self.seconds.append(time.perf_counter() - started)
        usage = getattr(response.generations[0][0], "message", None)
        meta = getattr(usage, "usage_metadata", None) or {}
        self.tokens.append(int(meta.get("output_tokens", 0)))


@dataclass(frozen=True)
class RoutedRequest:
    """One labeled request as one model routed it, beside the routers."""

    team: str
    kind: RoutingKind
    request: str
    expected: list[str]
    proposed: list[str] | None
    """The model's own proposal (None: it gave no valid one)."""
    right: bool
    keyword: list[str]
    """The keyword router's hits."""
    keyword_right: bool
    routers: list[str]
    """What the routers pick with no model (keyword, then semantic)."""
    routers_right: bool
    with_keywords_right: bool
    """The proposal joined with the keyword hits."""
    graph_right: bool
    """As the graph routes with this model."""
    seconds: float


@dataclass
class ModelRun:
    name: EmbeddedModelName
    model: EmbeddedChatModel
    app: TeamApp
    timer: CallTimer
    load_s: float
    routing: list[RoutedRequest] = field(default_factory=list)
    extraction_alone: list[UtteranceResult] = field(default_factory=list)
    extraction_graph: list[UtteranceResult] = field(default_factory=list)
    demo_texts: list[TextCheck] = field(default_factory=list)
    chat_texts: list[TextCheck] = field(default_factory=list)
    demo_s: float | None = None
    """The demo's wall time (team request + follow-up); None until it ran."""


def _route(run: ModelRun, case: RoutingCase, routers: Sequence[str]) -> RoutedRequest:
    """The model's own proposal (the prompt and schema ``route_request`` sends), the
    keyword router's hits, their union, and what the graph runs with this model: the
    union when the model routes and its proposal is valid, else `routers` (the keyword
    router, then the semantic one when no keyword matched)."""
    started = time.perf_counter()
    proposal = structured_call(
        run.model, route_schema(case.team), routing_prompt(case.team, case.request), step="routing"
    )
    seconds = time.perf_counter() - started
    chosen = sorted(proposal.specialists) if proposal is not None else None  # type: ignore[attr-defined]
    members = case.team.by_name
    keyword = keyword_route(case.request, members)
    union = set(with_keywords(chosen or (), keyword, members))
    graph = union if run.model.routes and chosen is not None else set(routers)
    return RoutedRequest(
        team=case.team.name,
        kind=case.kind,
        request=case.request,
        expected=sorted(case.expected),
        proposed=chosen,
        right=chosen is not None and set(chosen) == case.expected,
        keyword=keyword,
        keyword_right=set(keyword) == case.expected,
        routers=sorted(routers),
        routers_right=set(routers) == case.expected,
        with_keywords_right=union == case.expected,
        graph_right=graph == case.expected,
        seconds=round(seconds, 2),
    )


def route_without_model(case: RoutingCase, embeddings: Embeddings) -> list[str]:
    """The specialists the graph's routers pick when no model is asked (nodes.routing)."""
    return route_by_routers(case.request, case.team.by_name, lambda: embeddings).specialists


def _extract(run: ModelRun, utterance: Any) -> None:
    """The model alone (nothing when its output was unusable) and what the graph's
    extraction keeps with this model (nodes.services.extraction_model), from one call."""
    if not run.model.extracts:
        run.extraction_graph += evaluate([utterance], RuleExtractor().extract)
    rules = _RecordedRules()

    def alone(text: str, ctx: ExtractionContext) -> list[Memory]:
        rules.used = False
        memories = LLMExtractor(run.model, rules).extract(text, ctx)
        if run.model.extracts:
            run.extraction_graph.extend(evaluate([utterance], lambda _t, _c: memories))
        return [] if rules.used else memories

    run.extraction_alone += evaluate([utterance], alone)


def spread(items: Sequence[Any], count: int) -> list[Any]:
    """`count` items spread evenly over `items` (all of them when count >= len)."""
    if count <= 0:
        return []
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def extraction_sample(count: int) -> list[LabeledUtterance]:
    """`count` test-split utterances: three quarters spread over those that hold a fact
    (each labeled fact is one to find: recall), the rest over those that hold none (where
    anything extracted is a false positive)."""
    test = [u for u in load_labeled() if u.split == "test"]
    with_facts = -(-3 * count // 4)
    return spread([u for u in test if u.expected], with_facts) + spread(
        [u for u in test if not u.expected], count - with_facts
    )


@dataclass(frozen=True)
class ModelFigures:
    """One model's results across every part of the suite."""

    label: str
    load_s: float
    routing_right: int
    routing_valid: int
    """Proposals that parsed and validated (right or wrong)."""
    routing_total: int
    routing_right_by_kind: dict[str, str]
    """Right proposals per kind of request (one, other, both, neither), as "right/asked"."""
    routing_with_keywords_right: int
    """Right when the keyword router's hits are added to the model's proposal."""
    routing_graph_right: int
    """Right as the graph routes with this model: the proposal plus the keyword hits when
    the model routes (memory.packaged_models.PackagedModel.routes), else the routers."""
    routing_s_median: float | None
    extraction_alone: Scores
    extraction_graph: Scores
    texts: int
    drafted: int
    """Texts the model wrote a draft for (the rest were composed without it)."""
    kept: int
    """Drafts grounding kept as the model wrote them (the rest were replaced)."""
    grounded_rate: float | None
    chat_replies_drafted: int
    chat_replies_kept: int
    invented_shown: int
    """Invented claims left in what the user saw."""
    demo_s: float | None
    """The demo's wall time (team request + follow-up); None when it did not run."""
    demo_x: float | None
    """The demo's wall time over the first model's."""
    calls: int
    s_per_call_median: float | None
    s_per_call_median_x: float | None
    """The median seconds per call over the first model's."""
    tokens_per_s: float | None
    routing: list[RoutedRequest]
    checks: list[TextCheck]
    """Each grounded text as nodes.grounding checked it."""


@dataclass(frozen=True)
class ModelsSummary:
    """What one run measured: what the JSON, the markdown and the plot show."""

    baseline: str | None
    """The model the ratios are against (the first one run)."""
    routing_requests: int
    routing_keyword_router_right: int
    routing_routers_right: int
    """Right by the keyword router, then the semantic one when no keyword matched."""
    utterances: int
    labeled_facts: int
    chat_turns: int
    extraction_rules_alone: Scores
    total_s: float
    load_average_1min: dict[str, float]
    """The machine's 1-minute load average: min and max of the samples taken after
    every item, and how many were taken."""
    models: dict[str, ModelFigures]
    suite: str = "models"
    interleaved: bool = True


def run_models_eval(
    *,
    models: Sequence[EmbeddedModelName] = EMBEDDED_MODEL_NAMES,
    routing: int | None = None,
    extraction: int = 13,
    chat: int = 10,
    json_out: Path | None = None,
    reports: Path | None = None,
    console: Console | None = None,
) -> ModelsSummary:
    """Run every part on every model, interleaved; write reports/models.{json,md,png}."""
    console = console or Console(stderr=True)
    embeddings = make_embeddings()
    utterances = extraction_sample(extraction)
    turns: list[ChatTurn] = spread(CHAT_TURNS, chat)
    started = time.perf_counter()
    load: list[float] = [os.getloadavg()[0]]
    with ExitStack() as stack:
        runs = []
        for name in models:
            load_started = time.perf_counter()
            model = make_embedded_chat_model(name)
            load_s = time.perf_counter() - load_started
            timer = CallTimer()
            model.callbacks = [timer]
            data = stack.enter_context(tempfile.TemporaryDirectory())
            app = stack.enter_context(open_team_app(data, embeddings=embeddings, chat_model=model))
            prepare_demo(app)
            runs.append(ModelRun(name, model, app, timer, round(load_s, 2)))
            console.print(f"{name}: {model.model_name} loaded in {load_s:.1f}s")

        # Results are written after every item, so a run cut short (a loaded machine, a
        # deadline) still reports what it measured; the machine's load is sampled there.
        # The demo runs model after model (its wall time is one user's wait); the chat
        # turns come last, interleaved again.
        done: list[LabeledUtterance] = []
        said: list[ChatTurn] = []

        def write() -> None:
            load.append(os.getloadavg()[0])
            partial = _summary(runs, done, said, time.perf_counter() - started, load)
            _write(partial, json_out, reports)

        for case in spread(ROUTING_SET, len(ROUTING_SET) if routing is None else routing):
            routers = route_without_model(case, embeddings)
            for run in runs:
                run.routing.append(_route(run, case, routers))
            console.print(f"routing: {case.request[:50]!r} done")
            write()
        for utterance in utterances:
            for run in runs:
                _extract(run, utterance)
            done.append(utterance)
            write()
        console.print("extraction done")
        for run in runs:
            demo_started = time.perf_counter()
            run.demo_texts += _team(run.app, DEMO_CUSTOMER_ID, DEMO_REQUEST, "embedded")
            run.demo_texts += _chat(run.app, ChatTurn("jordan", FOLLOW_UP), "embedded")
            run.demo_s = round(time.perf_counter() - demo_started, 1)
            console.print(f"{run.name}: demo {run.demo_s}s")
            write()
        for turn in turns:
            for run in runs:
                run.chat_texts += _chat(run.app, turn, "embedded")
            said.append(turn)
            console.print(f"chat: {turn.text[:50]!r} done")
            write()
        summary = _summary(runs, utterances, turns, time.perf_counter() - started, load)
    _write(summary, json_out, reports)
    for model_name, m in summary.models.items():
        console.print(
            f"{model_name}: routing {m.routing_right}/{m.routing_total}, extraction F1 "
            f"{m.extraction_alone.f1:.2f} alone / {m.extraction_graph.f1:.2f} "
            f"graph, kept {m.kept}/{m.drafted}, invented {m.invented_shown}, "
            f"{m.s_per_call_median} s/call, demo {m.demo_s} s"
        )
    return summary


def _summary(
    runs: Sequence[ModelRun],
    utterances: Sequence[LabeledUtterance],
    turns: Sequence[ChatTurn],
    total: float,
    load: Sequence[float],
) -> ModelsSummary:
    first = runs[0] if runs else None
    return ModelsSummary(
        baseline=first.name if first else None,
        routing_requests=len(first.routing) if first else 0,
        routing_keyword_router_right=sum(r.keyword_right for r in first.routing) if first else 0,
        routing_routers_right=sum(r.routers_right for r in first.routing) if first else 0,
        utterances=len(utterances),
        labeled_facts=sum(len(u.expected) for u in utterances),
        chat_turns=len(turns),
        extraction_rules_alone=summarize(evaluate(utterances, RuleExtractor().extract)).overall,
        total_s=round(total, 1),
        load_average_1min={"min": min(load), "max": max(load), "samples": len(load)},
        models={run.name: _figures(run, first) for run in runs},
    )


def _figures(run: ModelRun, first: ModelRun | None) -> ModelFigures:
    calls = run.timer.seconds
    tokens = sum(run.timer.tokens)
    texts = run.demo_texts + run.chat_texts
    drafted = [t for t in texts if t.draft is not None]
    chat_drafted = [t for t in run.chat_texts if t.draft is not None]
    median = _median(calls)
    return ModelFigures(
        label=PACKAGED_MODELS[run.name].label,
        load_s=run.load_s,
        routing_right=sum(r.right for r in run.routing),
        routing_valid=sum(r.proposed is not None for r in run.routing),
        routing_total=len(run.routing),
        routing_right_by_kind=_right_by_kind(run.routing),
        routing_with_keywords_right=sum(r.with_keywords_right for r in run.routing),
        routing_graph_right=sum(r.graph_right for r in run.routing),
        routing_s_median=_median([r.seconds for r in run.routing]),
        extraction_alone=summarize(run.extraction_alone).overall,
        extraction_graph=summarize(run.extraction_graph).overall,
        texts=len(texts),
        drafted=len(drafted),
        kept=sum(t.kept for t in drafted),
        grounded_rate=round(sum(t.kept for t in drafted) / len(drafted), 3) if drafted else None,
        chat_replies_drafted=len(chat_drafted),
        chat_replies_kept=sum(t.kept for t in chat_drafted),
        invented_shown=sum(len(t.invented) for t in texts),
        demo_s=run.demo_s,
        demo_x=_ratio(run.demo_s, first.demo_s if first else None),
        calls=len(calls),
        s_per_call_median=median,
        s_per_call_median_x=_ratio(median, _median(first.timer.seconds) if first else None),
        tokens_per_s=round(tokens / sum(calls), 1) if calls and sum(calls) else None,
        routing=run.routing,
        checks=texts,
    )


def _right_by_kind(routing: Sequence[RoutedRequest]) -> dict[str, str]:
    kinds: dict[str, list[bool]] = {}
    for r in routing:
        kinds.setdefault(r.kind, []).append(r.right)
    return {kind: f"{sum(hits)}/{len(hits)}" for kind, hits in kinds.items()}


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _ratio(value: float | None, baseline: float | None) -> float | None:
    return round(value / baseline, 1) if value is not None and baseline else None


def _write(summary: ModelsSummary, json_out: Path | None, reports: Path | None) -> None:
    report = Report(
        "models",
        summary,
        render_markdown(summary),
        {"models.png": lambda path: _plot(summary, path)},
    )
    write_report(report, reports=reports, json_out=json_out)


def render_markdown(summary: ModelsSummary) -> str:
    extracted = bool(summary.utterances)
    rows = []
    for name, m in summary.models.items():
        alone, graph = m.extraction_alone, m.extraction_graph
        rows.append(
            [
                name,
                f"{m.routing_right}/{m.routing_total} ({m.routing_valid} valid)",
                ", ".join(f"{k} {v}" for k, v in m.routing_right_by_kind.items()) or "-",
                f"{m.routing_with_keywords_right}/{m.routing_total}",
                f"{m.routing_graph_right}/{m.routing_total}",
                f"{alone.f1:.2f} (P {alone.precision:.2f} R {alone.recall:.2f})"
                if extracted
                else "not run",
                f"{graph.f1:.2f}" if extracted else "not run",
                f"{m.kept}/{m.drafted}",
                f"{m.chat_replies_kept}/{m.chat_replies_drafted}",
                m.invented_shown,
                m.routing_s_median,
                f"{m.s_per_call_median} ({m.s_per_call_median_x}x)",
                m.tokens_per_s,
                f"{m.demo_s} ({m.demo_x}x)" if m.demo_s is not None else "not run",
                m.load_s,
            ]
        )
    rules = summary.extraction_rules_alone
    load = summary.load_average_1min
    table = markdown_table(
        [
            "model",
            "routing right, model alone",
            "by kind",
            "routing right, model + keywords",
            "routing right, as the graph runs",
            "extraction F1, model alone",
            "extraction F1, as the graph runs",
            "drafts kept by grounding",
            "chat replies kept",
            "invented claims shown",
            "routing median s",
            "median s/call (all calls)",
            "tokens/s",
            "demo wall s",
            "load s",
        ],
        rows,
    )
    return (
        "# Embedded chat models side by side\n\n"
        f"Interleaved item by item, one run, {summary.total_s} s in all; the machine's "
        f"1-minute load average ranged {load['min']:.1f}-{load['max']:.1f} over "
        f"{load['samples']:.0f} samples. Ratios are against {summary.baseline}. Routing on "
        f"{summary.routing_requests} labeled requests to both teams (keyword router alone: "
        f"{summary.routing_keyword_router_right} right; then the semantic router when no "
        f"keyword matched: {summary.routing_routers_right}). "
        + (
            f"Extraction on {summary.utterances} labeled utterances holding "
            f"{summary.labeled_facts} facts (rules alone: F1 {rules.f1:.2f}, "
            f"P {rules.precision:.2f} R {rules.recall:.2f}). "
            if extracted
            else "Extraction not run. "
        )
        + "Grounding "
        f"on the demo's texts (reply, specialists' findings, follow-up) and "
        f"{summary.chat_turns} chat turns.\n\n"
        f"{table}\n\n![the models side by side](models.png)"
    )


def _plot(summary: ModelsSummary, path: Path) -> None:
    """Quality (shares, 0-1) beside speed (median seconds per call), one bar per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary.models)
    figures = list(summary.models.values())
    quality = {
        "routing right": [
            m.routing_right / m.routing_total if m.routing_total else 0.0 for m in figures
        ],
        "extraction F1 (alone)": [m.extraction_alone.f1 for m in figures],
        "drafts kept": [m.grounded_rate or 0.0 for m in figures],
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.8 / len(quality)
    for i, (label, values) in enumerate(quality.items()):
        left.bar([x + i * width for x in range(len(names))], values, width, label=label)
    left.set_xticks([x + width for x in range(len(names))], names)
    left.set_ylim(0, 1)
    left.set_title("quality (share)")
    left.legend(fontsize=8)
    right.bar(names, [m.s_per_call_median or 0.0 for m in figures], color="tab:gray")
    right.set_title("median seconds per model call")
    fig.suptitle(
        f"embedded chat models, interleaved: {summary.routing_requests} routing requests, "
        f"{summary.utterances} utterances, {summary.chat_turns} chat turns"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
