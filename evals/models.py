"""The embedded chat models side by side: routing, extraction, grounded replies, latency.

Each packaged GGUF (``memory.packaged_models``: SmolLM2-135M, Qwen2.5-Coder-0.5B and -1.5B
Instruct) runs the same work, interleaved item by item (every model answers item i before
any answers item i+1), so that load from other processes on a shared machine falls on all
of them alike:

- routing: labeled requests to the support team; the model's own proposal (the prompt and
  schema ``route_request`` sends, before the keyword router is unioned in) must name
  exactly the expected specialists;
- extraction: labeled utterances of ``evals/data/extraction_labeled.jsonl`` (test split,
  spread), extracted by the model alone (no rules fallback) and by what the graph runs
  (the model with the rules as fallback, or the rules alone for a model that does not
  extract), scored as the extraction eval scores them;
- grounded texts: the demo's team request (its reply and the specialists' findings), its
  follow-up, and chat turns of the grounding eval: how many of the model's texts
  ``nodes.grounding`` kept (the rest were replaced by the composed text) and invented
  claims left in what the user saw;
- latency: seconds per model call (every call the graphs made, timed by a callback) and
  the demo's wall time (team request + follow-up).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from rich.console import Console

from evals.extraction import evaluate, load_labeled, summarize
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
from teams.support.demo import DEMO_CUSTOMER_ID, DEMO_REQUEST, FOLLOW_UP, prepare_demo
from teams.support.team import SUPPORT_TEAM

ROUTING_SET: tuple[tuple[str, frozenset[str]], ...] = (
    ("I'd like to return the shoes I bought last week.", frozenset({"sam"})),
    ("Can I cancel my order before it ships?", frozenset({"sam"})),
    ("My package was marked delivered but I never got it.", frozenset({"sam"})),
    ("Which carrier ships my order, and when will it arrive?", frozenset({"sam"})),
    ("The website shows a 500 error when I open my account page.", frozenset({"jordan"})),
    ("Is your payment system down? My card is declined at checkout.", frozenset({"jordan"})),
    ("The mobile app crashes when I try to log in.", frozenset({"jordan"})),
    ("I never receive your shipping notification emails.", frozenset({"jordan"})),
    (
        "My delivery is three days late and the tracking link in your email gives an error.",
        frozenset({"sam", "jordan"}),
    ),
    (
        "The app says my order was cancelled but the money was taken; I want a refund.",
        frozenset({"sam", "jordan"}),
    ),
)
"""Labeled requests (none of them the team's few-shot examples), each with the
specialists it needs: Sam for orders, shipping and refunds; Jordan for systems and apps."""


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


@dataclass
class ModelRun:
    name: EmbeddedModelName
    model: EmbeddedChatModel
    app: TeamApp
    timer: CallTimer
    load_s: float
    routing: list[dict[str, Any]] = field(default_factory=list)
    extraction_alone: list[Any] = field(default_factory=list)
    extraction_graph: list[Any] = field(default_factory=list)
    texts: list[TextCheck] = field(default_factory=list)
    demo_s: float | None = None
    """The demo's wall time (team request + follow-up); None until it ran."""


def _route(run: ModelRun, request: str, expected: frozenset[str]) -> dict[str, Any]:
    started = time.perf_counter()
    proposal = structured_call(
        run.model, route_schema(SUPPORT_TEAM), routing_prompt(SUPPORT_TEAM, request), step="routing"
    )
    chosen = sorted(proposal.specialists) if proposal is not None else None  # type: ignore[attr-defined]
    return {
        "request": request,
        "expected": sorted(expected),
        "proposed": chosen,
        "right": chosen is not None and set(chosen) == expected,
        "seconds": round(time.perf_counter() - started, 2),
    }


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


ExtractionScores = dict[str, float | int]
"""Precision, recall, F1 and the counts behind them (evals.extraction's `Counts.summary`)."""


@dataclass(frozen=True)
class ModelFigures:
    """One model's results across every part of the suite."""

    label: str
    load_s: float
    routing_right: int
    routing_valid: int
    """Proposals that parsed and validated (right or wrong)."""
    routing_total: int
    routing_s_per_call: float | None
    extraction_alone: ExtractionScores
    extraction_graph: ExtractionScores
    texts: int
    texts_kept: int
    """Texts grounding kept as the model wrote them (the rest were replaced)."""
    invented_shown: int
    """Invented claims left in what the user saw."""
    demo_s: float | None
    """The demo's wall time (team request + follow-up); None when it did not run."""
    calls: int
    s_per_call_mean: float | None
    s_per_call_median: float | None
    tokens_per_s: float | None
    routing: list[dict[str, Any]]
    """Each routing request: expected and proposed specialists, right, seconds."""
    checks: list[dict[str, Any]]
    """Each grounded text as nodes.grounding checked it."""


@dataclass(frozen=True)
class ModelsSummary:
    """What one run measured: what the JSON, the markdown and the plot show."""

    utterances: int
    chat_turns: int
    extraction_rules_alone: ExtractionScores
    total_s: float
    models: dict[str, ModelFigures]
    suite: str = "models"
    interleaved: bool = True


def run_models_eval(
    *,
    models: Sequence[EmbeddedModelName] = EMBEDDED_MODEL_NAMES,
    routing: int = len(ROUTING_SET),
    extraction: int = 10,
    chat: int = 4,
    json_out: Path | None = None,
    reports: Path | None = None,
    console: Console | None = None,
) -> ModelsSummary:
    """Run every part on every model, interleaved; write reports/models.{json,md,png}."""
    console = console or Console(stderr=True)
    embeddings = make_embeddings()
    utterances = spread([u for u in load_labeled() if u.split == "test"], extraction)
    turns: list[ChatTurn] = spread(CHAT_TURNS, chat)
    started = time.perf_counter()
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
        # deadline) still reports what it measured. The demo comes last: a large model's
        # demo takes longest, and the per-item parts interleave best.
        def write() -> None:
            partial = _summary(runs, done, [], time.perf_counter() - started)
            _write(partial, json_out, reports)

        done: list[Any] = []
        for request, expected in spread(ROUTING_SET, routing):
            for run in runs:
                run.routing.append(_route(run, request, expected))
            console.print(f"routing: {request[:50]!r} done")
            write()
        for utterance in utterances:
            for run in runs:
                _extract(run, utterance)
            done.append(utterance)
            write()
        console.print("extraction done")
        for run in runs:
            demo_started = time.perf_counter()
            run.texts += _team(run.app, DEMO_CUSTOMER_ID, DEMO_REQUEST, "embedded")
            run.texts += _chat(run.app, ChatTurn("jordan", FOLLOW_UP), "embedded")
            run.demo_s = round(time.perf_counter() - demo_started, 1)
            console.print(f"{run.name}: demo {run.demo_s}s")
            write()
        for turn in turns:
            for run in runs:
                run.texts += _chat(run.app, turn, "embedded")
        summary = _summary(runs, utterances, turns, time.perf_counter() - started)
    _write(summary, json_out, reports)
    for model_name, m in summary.models.items():
        console.print(
            f"{model_name}: routing {m.routing_right}/{m.routing_total}, extraction F1 "
            f"{m.extraction_alone['f1']:.2f} alone / {m.extraction_graph['f1']:.2f} "
            f"graph, kept {m.texts_kept}/{m.texts}, invented {m.invented_shown}, "
            f"{m.s_per_call_median} s/call, demo {m.demo_s} s"
        )
    return summary


def _summary(
    runs: Sequence[ModelRun], utterances: Sequence[Any], turns: Sequence[ChatTurn], total: float
) -> ModelsSummary:
    per_model: dict[str, ModelFigures] = {run.name: _figures(run) for run in runs}
    return ModelsSummary(
        utterances=len(utterances),
        chat_turns=len(turns),
        extraction_rules_alone=summarize(evaluate(utterances, RuleExtractor().extract))["overall"],
        total_s=round(total, 1),
        models=per_model,
    )


def _figures(run: ModelRun) -> ModelFigures:
    calls = run.timer.seconds
    tokens = sum(run.timer.tokens)
    return ModelFigures(
        label=PACKAGED_MODELS[run.name].label,
        load_s=run.load_s,
        routing_right=sum(r["right"] for r in run.routing),
        routing_valid=sum(r["proposed"] is not None for r in run.routing),
        routing_total=len(run.routing),
        routing_s_per_call=_mean([r["seconds"] for r in run.routing]),
        extraction_alone=summarize(run.extraction_alone)["overall"],
        extraction_graph=summarize(run.extraction_graph)["overall"],
        texts=len(run.texts),
        texts_kept=sum(t.kept for t in run.texts),
        invented_shown=sum(len(t.invented) for t in run.texts),
        demo_s=run.demo_s,
        calls=len(calls),
        s_per_call_mean=_mean(calls),
        s_per_call_median=round(statistics.median(calls), 2) if calls else None,
        tokens_per_s=round(tokens / sum(calls), 1) if calls and sum(calls) else None,
        routing=run.routing,
        checks=[t.model_dump() for t in run.texts],
    )


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


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
                f"{alone['f1']:.2f} (P {alone['precision']:.2f} R {alone['recall']:.2f})"
                if extracted
                else "not run",
                f"{graph['f1']:.2f}" if extracted else "not run",
                f"{m.texts_kept}/{m.texts}",
                m.invented_shown,
                m.routing_s_per_call,
                m.s_per_call_median,
                m.tokens_per_s,
                m.demo_s if m.demo_s is not None else "not run",
                m.load_s,
            ]
        )
    rules = summary.extraction_rules_alone
    table = markdown_table(
        [
            "model",
            "routing right",
            "extraction F1, model alone",
            "extraction F1, as the graph runs",
            "texts kept by grounding",
            "invented claims shown",
            "routing s/call",
            "median s/call (all calls)",
            "tokens/s",
            "demo wall s",
            "load s",
        ],
        rows,
    )
    return (
        "# Embedded chat models side by side\n\n"
        f"Interleaved item by item, one run, {summary.total_s} s in all. Extraction on "
        f"{summary.utterances} labeled utterances (rules alone: F1 {rules['f1']:.2f}); "
        f"grounding on the demo's texts (reply, specialists' findings, follow-up) and "
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
        "extraction F1 (alone)": [float(m.extraction_alone["f1"]) for m in figures],
        "texts kept": [m.texts_kept / m.texts if m.texts else 0.0 for m in figures],
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
    fig.suptitle(f"embedded chat models, interleaved, {summary.utterances} utterances")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
