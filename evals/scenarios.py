"""The multi-agent scenarios eval: does the team's memory behave as the design promises?

Each case acts on a fresh team app (FAISS store and SQLite checkpointer in a temporary
directory, the real embedded embedder; by default no chat model, so every LLM step takes
its deterministic fallback; `--llm embedded` drafts with the default model) through
MemoryManager, A2ABridge or the graphs, records what it observed as `outputs`, and is
scored by an evaluator with the shared signature
`(*, inputs, outputs, reference_outputs) -> {"key", "score", "comment"}`. A case passes
when its score is 1.0. Every chat reply a case produces is also checked for invented
claims against what its agent was given (the grounding eval's `invented`).

`python -m evals scenarios --json OUT` writes reports/scenarios.{json,md,png}. The exit
code is 0 even when a case fails: evals report scores; the tests gate behaviour.
"""

from __future__ import annotations

import math
import re
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, computed_field
from rich.console import Console
from rich.progress import track
from rich.table import Table

from evals.evaluators import EvaluatorResult
from evals.grounding import chat_sources, invented
from evals.report import Report, bar_panels, markdown_table, write_report
from graphs.app import TeamApp, open_team_app
from memory.bridge import A2ABridge
from memory.models import EXPLICIT_CONFIDENCE, SYNC_DECAY, Memory, Provenance
from nodes.context import ChatContext, LLMChoice
from teams.support.team import SUPPORT_TEAM

TEAM_AGENTS: tuple[str, ...] = tuple(agent.name for agent in SUPPORT_TEAM.agents)
"""Every agent of the seed's team (alex, sam, jordan)."""

Outputs = dict[str, Any]
Evaluator = Callable[..., EvaluatorResult]


@dataclass(frozen=True)
class ScenarioCase:
    """One scenario: what it does (`act`), what it should observe, and how that is scored."""

    name: str
    description: str
    inputs: Mapping[str, Any]
    reference_outputs: Mapping[str, Any]
    act: Callable[[TeamApp, Mapping[str, Any]], Outputs]
    evaluator: Evaluator


class CaseResult(BaseModel):
    name: str
    description: str
    key: str
    score: float
    passed: bool
    comment: str
    seconds: float
    outputs: dict[str, Any]
    replies: int = 0
    """Chat replies the case produced (what a user saw)."""
    invented: list[str] = []
    """Claims of those replies no source given to their agent states."""


class Totals(BaseModel):
    cases: int
    passed: int
    failed: int
    replies: int
    """Chat replies the cases produced."""
    invented_claims: int
    """Claims in those replies that no source given to their agent states (target 0)."""
    mean_score: float


class ScenariosSummary(BaseModel):
    """One run: every case's result; the totals are derived from them."""

    model_config = ConfigDict(frozen=True)

    suite: Literal["scenarios"] = "scenarios"
    quick: bool
    embedding_model: str
    llm: LLMChoice
    cases: list[CaseResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def totals(self) -> Totals:
        cases = self.cases
        passed = sum(c.passed for c in cases)
        return Totals(
            cases=len(cases),
            passed=passed,
            failed=len(cases) - passed,
            replies=sum(c.replies for c in cases),
            invented_claims=sum(len(c.invented) for c in cases),
            mean_score=round(sum(c.score for c in cases) / len(cases), 4) if cases else 0.0,
        )


@dataclass
class _Turns:
    """The chat model choice of a running case, and what its replies claimed."""

    llm: LLMChoice
    replies: int = 0
    invented: list[str] = field(default_factory=list)


_TURNS: ContextVar[_Turns | None] = ContextVar("scenario_turns", default=None)


# ---- acting -------------------------------------------------------------------------------


def chat(app: TeamApp, agent: str, thread: str, text: str, **context: Any) -> dict[str, Any]:
    """One user turn with `agent` through the chat graph; returns the thread's state.

    The user is staff (the chat graph's default) unless `speaker_role` says otherwise."""
    turns = _TURNS.get()
    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    ctx = ChatContext(agent=agent, team=app.team, llm=turns.llm if turns else "none", **context)
    app.chat_graph.invoke({"messages": [("user", text)]}, config, context=ctx)
    state = app.chat_graph.get_state(config).values
    if turns is not None:
        turns.replies += 1
        found = invented(state["reply"], chat_sources(text, state))
        turns.invented += [f"{claim} (in {state['reply']!r})" for claim in found]
    return state


def explicit_memory(content: str, agent: str, *, scope: str, **slot: str) -> Memory:
    """A memory `agent` was told explicitly ("remember that ..."), as extraction makes it."""
    return Memory.model_validate(
        {
            "content": content,
            "type": "entity" if slot else "semantic",
            "scope": scope,
            "mechanism": "explicit",
            "confidence": EXPLICIT_CONFIDENCE,
            "provenance": Provenance(source_agent=agent, thread_id=f"{agent}-scenario"),
            **slot,
        }
    )


def contains_all(text: str, words: Sequence[str]) -> bool:
    return all(word.lower() in text.lower() for word in words)


def act_handoff(app: TeamApp, inputs: Mapping[str, Any]) -> Outputs:
    said = chat(app, "sam", "thread-sam", inputs["fact"])
    asked = chat(app, "jordan", "thread-jordan", inputs["question"])
    return {
        "sam_wrote": [w.content for w in said.get("written") or []],
        "jordan_retrieved": [m.content for m in asked.get("retrieved", [])],
    }


def act_shared_write(app: TeamApp, inputs: Mapping[str, Any]) -> Outputs:
    memory = explicit_memory(inputs["content"], "sam", scope="shared")
    stored = app.manager("sam").add(memory).memory
    seen: dict[str, dict[str, bool]] = {}
    for agent in TEAM_AGENTS:  # no sync, no delay: each reads right after the write
        manager = app.manager(agent)
        hits = manager.search(inputs["query"], limit=3)
        seen[agent] = {
            "get": manager.get(stored.memory_id) is not None,
            "search": any(h.memory.memory_id == stored.memory_id for h in hits),
        }
    return {"memory_id": stored.memory_id, "seen": seen}


def act_private_write(app: TeamApp, inputs: Mapping[str, Any]) -> Outputs:
    owner = inputs["owner"]
    memory = explicit_memory(inputs["content"], owner, scope="private")
    stored = app.manager(owner).add(memory).memory

    def channels(agent: str) -> list[str]:
        manager = app.manager(agent)
        found = []
        if manager.get(stored.memory_id) is not None:
            found.append("get")
        if any(m.memory_id == stored.memory_id for m in manager.list(include_invalid=True)):
            found.append("list")
        hits = manager.search(inputs["query"], limit=10, min_confidence=0.0, include_invalid=True)
        if any(h.memory.memory_id == stored.memory_id for h in hits):
            found.append("search")
        return found

    return {"owner_sees": channels(owner), "others": {a: channels(a) for a in inputs["others"]}}


def act_supersede(app: TeamApp, inputs: Mapping[str, Any]) -> Outputs:
    for number, text in enumerate(inputs["statements"]):
        chat(app, "alex", f"thread-update-{number}", text)
    manager = app.manager("alex")
    hits = manager.search(inputs["query"], limit=5, min_confidence=0.0)
    kept = manager.list(include_invalid=True, limit=1000)
    return {
        "retrieved": [h.memory.content for h in hits],
        "invalidated": [m.content for m in kept if m.invalidated_at is not None],
    }


def act_compaction(app: TeamApp, inputs: Mapping[str, Any]) -> Outputs:
    budget = {"budget_tokens": inputs["budget_tokens"]}
    chat(app, "alex", "thread-long", inputs["fact"], **budget)
    state: dict[str, Any] = {}
    for number in range(inputs["filler_turns"]):
        state = chat(app, "alex", "thread-long", inputs["filler"].format(n=number), **budget)
    messages = state.get("messages", [])
    hits = app.manager("alex").search(inputs["query"], limit=3)
    fact_words = inputs["fact_words"]
    return {
        "summary_present": any(m.type == "system" for m in messages),
        "fact_turn_still_in_thread": any(
            m.type == "human" and contains_all(str(m.content), fact_words) for m in messages
        ),
        "found": [h.memory.content for h in hits],
        # The chat turn stored the fact once; compaction re-extracting the dropped turn
        # reinforces it, so a count of 2 shows the compaction path itself kept the fact.
        "mention_counts": [
            h.memory.mention_count for h in hits if contains_all(h.memory.content, fact_words)
        ],
    }


def act_sync_loop(app: TeamApp, inputs: Mapping[str, Any]) -> Outputs:
    bridge = A2ABridge(app.store, app.team, max_hops=inputs["max_hops"])
    first, second = inputs["loop"]
    original = app.manager(first).add(explicit_memory(inputs["content"], first, scope="private"))
    there = bridge.sync(original.memory, [second], source_agent=first).for_target(second)
    back = bridge.sync(there.stored, [first], source_agent=second).for_target(first)  # type: ignore[arg-type]
    chain: list[dict[str, Any]] = []
    sender = inputs["chain_origin"]
    memory = (
        app.manager(sender)
        .add(explicit_memory(inputs["chain_content"], sender, scope="private"))
        .memory
    )
    origin_confidence = memory.confidence
    for target in inputs["chain"]:
        outcome = bridge.sync(memory, [target], source_agent=sender).for_target(target)
        stored = outcome.stored
        chain.append(
            {
                "target": target,
                "status": outcome.status,
                "reason": outcome.reason,
                "hops": stored.provenance.hops if stored else None,
                "confidence": stored.confidence if stored else None,
            }
        )
        if stored is None:
            break
        memory, sender = stored, target
    syncs = bridge.log.read(content_type="application/vnd.a2a.memory-sync+json")
    return {
        "there": there.status,
        "back": {"status": back.status, "reason": back.reason},
        "chain": chain,
        "sync_messages": len(syncs),
        "origin_confidence": origin_confidence,
        "decay": bridge.decay,
        "floor": bridge.min_copy_confidence,
    }


def act_sync_confidence(app: TeamApp, inputs: Mapping[str, Any]) -> Outputs:
    bridge = A2ABridge(app.store, app.team)
    source = app.manager("sam").add(explicit_memory(inputs["content"], "sam", scope="private"))
    copy = bridge.sync(source.memory, ["jordan"], source_agent="sam").for_target("jordan")
    stored = app.manager("jordan").get(copy.stored.memory_id) if copy.stored else None
    return {
        "source_confidence": source.memory.confidence,
        "copy_confidence": stored.confidence if stored else None,
        "copy_mechanism": stored.mechanism if stored else None,
    }


# ---- evaluators (the shared openevals signature) ------------------------------------------


def _result(key: str, checks: Mapping[str, bool], detail: str = "") -> EvaluatorResult:
    """Score = share of checks that hold; the comment names the ones that failed."""
    failed = [name for name, ok in checks.items() if not ok]
    comment = "all checks hold" if not failed else "failed: " + "; ".join(failed)
    return {
        "key": key,
        "score": sum(checks.values()) / len(checks),
        "comment": comment + (f" ({detail})" if detail else ""),
    }


def handoff_keeps_facts(
    *, inputs: Mapping[str, Any], outputs: Mapping[str, Any], reference_outputs: Mapping[str, Any]
) -> EvaluatorResult:
    words = reference_outputs["must_contain"]
    checks = {
        "sam stored the fact": any(contains_all(c, words) for c in outputs["sam_wrote"]),
        "jordan retrieved it in another thread": any(
            contains_all(c, words) for c in outputs["jordan_retrieved"]
        ),
    }
    return _result("handoff_keeps_facts", checks, f"jordan got {outputs['jordan_retrieved']}")


def shared_write_visible(
    *, inputs: Mapping[str, Any], outputs: Mapping[str, Any], reference_outputs: Mapping[str, Any]
) -> EvaluatorResult:
    seen = outputs["seen"]
    checks = {
        f"{agent} {how}": bool(seen.get(agent, {}).get(how))
        for agent in reference_outputs["agents"]
        for how in ("get", "search")
    }
    return _result("shared_write_visible", checks)


def private_never_leaks(
    *, inputs: Mapping[str, Any], outputs: Mapping[str, Any], reference_outputs: Mapping[str, Any]
) -> EvaluatorResult:
    # The owner must see it, or "nobody else sees it" would hold for a lost write too.
    checks = {
        "owner reads it by get, list and search": outputs["owner_sees"] == ["get", "list", "search"]
    }
    checks |= {
        f"{agent} cannot {', '.join(found) or 'read it'}": not found
        for agent, found in outputs["others"].items()
    }
    return _result("private_never_leaks", checks)


def superseded_not_returned(
    *, inputs: Mapping[str, Any], outputs: Mapping[str, Any], reference_outputs: Mapping[str, Any]
) -> EvaluatorResult:
    current, old = reference_outputs["current"], reference_outputs["superseded"]
    retrieved = outputs["retrieved"]
    checks = {
        f"the current fact ({current}) is returned": any(current in c for c in retrieved),
        f"the old fact ({old}) is not returned": not any(old in c for c in retrieved),
        "the old fact is kept, marked invalid": any(old in c for c in outputs["invalidated"]),
    }
    return _result("superseded_not_returned", checks, f"retrieved {retrieved}")


def compaction_keeps_facts(
    *, inputs: Mapping[str, Any], outputs: Mapping[str, Any], reference_outputs: Mapping[str, Any]
) -> EvaluatorResult:
    words = reference_outputs["must_contain"]
    checks = {
        "the thread was compacted (summary present)": outputs["summary_present"],
        "the early fact turn left the thread": not outputs["fact_turn_still_in_thread"],
        "the fact is in long-term memory": any(contains_all(c, words) for c in outputs["found"]),
        # Compaction reads the dropped turn again: the same message is one statement, so it
        # is found, not counted twice (memory/trust.py: distinct statements reinforce).
        "compaction's re-reading counts the message once": bool(outputs["mention_counts"])
        and all(n == 1 for n in outputs["mention_counts"]),
    }
    return _result("compaction_keeps_facts", checks)


def expected_chain(
    origin_confidence: float, decay: float, floor: float, max_hops: int
) -> tuple[int, str]:
    """The bridge's documented rule: a copy is sent while its sender is under `max_hops`
    and the copy's confidence (sender x decay) stays at or above the floor. Returns the
    number of hops copied and the reason the next one is refused."""
    confidence, hops = origin_confidence, 0
    while hops < max_hops and confidence * decay >= floor:
        confidence, hops = confidence * decay, hops + 1
    return hops, "max hops" if hops >= max_hops else "below floor"


def sync_loops_stop(
    *, inputs: Mapping[str, Any], outputs: Mapping[str, Any], reference_outputs: Mapping[str, Any]
) -> EvaluatorResult:
    chain = outputs["chain"]
    floor = outputs["floor"]
    hops, reason = expected_chain(
        outputs["origin_confidence"], outputs["decay"], floor, reference_outputs["max_hops"]
    )
    copied = [step for step in chain if step["status"] == "copied"]
    last = chain[-1] if chain else {}
    checks = {
        "the first sync is delivered": outputs["there"] == "copied",
        "the copy is not synced back to its origin": outputs["back"]["reason"] == "origin",
        f"the scenario's chain is stopped by {reference_outputs['stops_at']!r}": reason
        == reference_outputs["stops_at"],
        f"the chain copies {hops} hops": [s["hops"] for s in copied] == list(range(1, hops + 1)),
        f"every copy is at or above the floor ({floor})": all(
            s["confidence"] is not None and s["confidence"] >= floor for s in copied
        ),
        f"the chain then stops, reason {reason!r} recorded": last.get("status") == "skipped"
        and last.get("reason") == reason,
        "one logged message per copy": outputs["sync_messages"] == 1 + len(copied),
    }
    return _result(
        "sync_loops_stop",
        checks,
        f"chain {[(s['target'], s['reason'] or s['hops']) for s in chain]}",
    )


def synced_confidence_decays(
    *, inputs: Mapping[str, Any], outputs: Mapping[str, Any], reference_outputs: Mapping[str, Any]
) -> EvaluatorResult:
    expected = outputs["source_confidence"] * reference_outputs["decay"]
    got = outputs["copy_confidence"]
    checks = {
        "the copy exists": got is not None,
        f"its confidence is {reference_outputs['decay']} x the source's": got is not None
        and math.isclose(got, expected, abs_tol=1e-9),
        "it is marked synced": outputs["copy_mechanism"] == "synced",
    }
    return _result("synced_confidence_decays", checks, f"{outputs['source_confidence']} -> {got}")


# ---- the cases ----------------------------------------------------------------------------


def _team_cases() -> list[ScenarioCase]:
    return [
        ScenarioCase(
            "handoff",
            "Sam learns a customer fact in one thread; Jordan retrieves it in another (chat graph)",
            {
                "fact": "Remember that customer #777 prefers phone calls for updates.",
                "question": "How does customer #777 want to be contacted?",
            },
            {"must_contain": ["#777", "phone"]},
            act_handoff,
            handoff_keeps_facts,
        ),
        ScenarioCase(
            "shared_write",
            "A shared write is visible to every agent at once (get and search)",
            {
                "content": "The Berlin warehouse is closed for inventory until Monday.",
                "query": "Is the Berlin warehouse open?",
            },
            {"agents": list(TEAM_AGENTS)},
            act_shared_write,
            shared_write_visible,
        ),
        ScenarioCase(
            "private_isolation",
            "A private memory never leaks to another agent (get, list, search)",
            {
                "owner": "sam",
                "others": [a for a in TEAM_AGENTS if a != "sam"],
                # not a secret: secrets are never stored at all (memory/trust.py)
                "content": "Sam's escalation contact is the night supervisor, Dana.",
                "query": "escalation contact",
            },
            {},
            act_private_write,
            private_never_leaks,
        ),
        ScenarioCase(
            "supersession",
            "A superseded fact (email, then phone) is not returned, but kept",
            {
                "statements": [
                    "Customer #5150 prefers email.",
                    "Actually customer #5150 prefers phone now.",
                ],
                "query": "How does customer #5150 want to be contacted?",
            },
            {"current": "phone", "superseded": "email"},
            act_supersede,
            superseded_not_returned,
        ),
        ScenarioCase(
            "compaction",
            "A long thread with a small budget compacts; the early fact is in long-term memory",
            {
                "fact": "Remember that customer #4242 prefers SMS for updates.",
                "fact_words": ["#4242", "SMS"],
                "filler": "Filler question number {n} about nothing in particular that goes "
                "on for a while to use up the budget.",
                "filler_turns": 6,
                "budget_tokens": 400,
                "query": "How does customer 4242 want updates?",
            },
            {"must_contain": ["#4242", "SMS"]},
            act_compaction,
            compaction_keeps_facts,
        ),
        ScenarioCase(
            "sync_loop",
            "A2A sync loops stop: sam -> jordan -> sam is refused; a chain stops where a copy "
            "would fall under the confidence floor (0.95 x 0.9^3 < 0.7), before max hops",
            {
                "content": "Customer #9001 is moving to Lisbon in May.",
                "loop": ["sam", "jordan"],
                "chain_content": "Customer #9002 pays by bank transfer only.",
                "chain_origin": "alex",
                "chain": ["sam", "jordan", "riley", "casey", "morgan"],
                "max_hops": 3,
            },
            {"max_hops": 3, "stops_at": "below floor"},
            act_sync_loop,
            sync_loops_stop,
        ),
        ScenarioCase(
            "sync_confidence",
            "A synced copy's confidence is 0.9 x its source's",
            {"content": "Customer #3131 is allergic to latex packaging."},
            {"decay": SYNC_DECAY},
            act_sync_confidence,
            synced_confidence_decays,
        ),
    ]


def redteam_cases() -> list[ScenarioCase]:
    """The red-team cases (evals/redteam.py): trust, poisoning, conflicts, subjects."""
    from evals.redteam import act_redteam, redteam_holds, redteam_specs

    return [
        ScenarioCase(
            spec["name"],
            spec["description"],
            spec["inputs"],
            spec["reference_outputs"],
            act_redteam,
            redteam_holds,
        )
        for spec in redteam_specs()
    ]


def scenario_cases() -> list[ScenarioCase]:
    """The team's behaviour cases, then the red-team suite."""
    return [*_team_cases(), *redteam_cases()]


# ---- running and reporting ----------------------------------------------------------------


@contextmanager
def _fresh_app(root: Path, name: str, embeddings: Embeddings) -> Iterator[TeamApp]:
    with open_team_app(root / name, embeddings=embeddings) as app:
        yield app


def run_case(
    case: ScenarioCase, root: Path, embeddings: Embeddings, llm: LLMChoice = "none"
) -> CaseResult:
    """Run one case on its own fresh app; an exception fails the case, not the suite."""
    started = time.perf_counter()
    turns = _Turns(llm)
    token = _TURNS.set(turns)
    try:
        with _fresh_app(root, case.name, embeddings) as app:
            outputs = case.act(app, case.inputs)
        verdict = case.evaluator(
            inputs=case.inputs, outputs=outputs, reference_outputs=case.reference_outputs
        )
    except Exception as error:  # a broken case is a failing score, reported with its cause
        outputs = {"error": traceback.format_exception_only(error)[-1].strip()}
        verdict = {"key": case.evaluator.__name__, "score": 0.0, "comment": outputs["error"]}
    finally:
        _TURNS.reset(token)
    return CaseResult(
        name=case.name,
        description=case.description,
        key=verdict["key"],
        score=round(verdict["score"], 4),
        passed=verdict["score"] >= 1.0,
        comment=verdict["comment"],
        seconds=round(time.perf_counter() - started, 2),
        outputs=outputs,
        replies=turns.replies,
        invented=turns.invented,
    )


def _markdown(summary: ScenariosSummary) -> str:
    totals = summary.totals
    rows = [
        [c.name, "PASS" if c.passed else "FAIL", c.score, c.comment.replace("|", "/")]
        for c in summary.cases
    ]
    return "\n".join(
        [
            "# Multi-agent scenarios",
            "",
            f"{totals.passed}/{totals.cases} cases pass (mean score "
            f"{totals.mean_score:.2f}). Embedder: {summary.embedding_model}; "
            "FAISS store and SQLite checkpointer in a temporary directory per case; "
            + (
                "no chat model (every LLM step takes its deterministic fallback)."
                if summary.llm == "none"
                else f"chat model: {summary.llm} (its drafts grounded as in the graphs)."
            ),
            f"Chat replies: {totals.replies}; invented claims in them: "
            f"{totals.invented_claims}"
            + "".join(f"\n- {c.name}: {claim}" for c in summary.cases for claim in c.invented),
            "",
            "A case's score is the share of its checks that hold; it passes at 1.0.",
            "",
            markdown_table(["case", "result", "score", "comment"], rows),
            "",
            "## Cases",
            "",
            *[f"- **{c.name}**: {c.description}" for c in summary.cases],
        ]
    )


def case_family(name: str) -> str:
    """A red-team case's family (``poison_policy_3`` -> ``poison_policy``); a team case is
    its own."""
    return re.sub(r"_\d+$", "", name)


def _plot(summary: ScenariosSummary, path: Path) -> Path:
    """Cases passed and failed per family: 69 cases side by side are unreadable."""
    bars: dict[str, dict[str, float]] = {}
    for case in summary.cases:
        counts = bars.setdefault(case_family(case.name), {"passed": 0.0, "failed": 0.0})
        counts["passed" if case.passed else "failed"] += 1
    most = max((v for counts in bars.values() for v in counts.values()), default=1.0)
    totals = summary.totals
    return bar_panels(
        path,
        {"cases per family": bars},
        title=f"Multi-agent scenarios: {totals.passed}/{totals.cases} pass",
        ylabel="cases",
        ylim=(0.0, most + 0.5),
    )


def _print(summary: ScenariosSummary, console: Console) -> None:
    table = Table(title="Multi-agent scenarios")
    for column in ("case", "result", "score", "comment"):
        table.add_column(column)
    for c in summary.cases:
        result = "[green]PASS[/green]" if c.passed else "[bold red]FAIL[/bold red]"
        table.add_row(c.name, result, f"{c.score:.2f}", c.comment)
    console.print(table)
    for c in summary.cases:
        if not c.passed:
            console.print(f"[bold red]FAILED[/bold red] {c.name}: {c.comment}")
    console.print(f"{summary.totals.passed}/{summary.totals.cases} scenario cases pass")


def run_scenarios(
    *,
    json_out: Path | None,
    reports: Path,
    quick: bool = False,
    embeddings: Embeddings | None = None,
    cases: Sequence[ScenarioCase] | None = None,
    llm: LLMChoice = "none",
) -> ScenariosSummary:
    """Run the cases, write reports/scenarios.{json,md,png} (and `json_out`).

    The cases take seconds, so `quick` runs them all too; it is recorded in the report.
    """
    from memory.embeddings import embedding_model_name, make_embeddings

    embeddings = embeddings or make_embeddings()
    chosen = list(cases) if cases is not None else scenario_cases()
    with tempfile.TemporaryDirectory(prefix="scenarios-") as tmp:
        results = [
            run_case(case, Path(tmp), embeddings, llm)
            for case in track(chosen, description="scenarios", console=Console(stderr=True))
        ]
    summary = ScenariosSummary(
        quick=quick, embedding_model=embedding_model_name(embeddings), llm=llm, cases=results
    )
    report = Report(
        "scenarios",
        summary,
        _markdown(summary),
        {"scenarios.png": lambda path: _plot(summary, path)},
    )
    write_report(report, reports=reports, json_out=json_out)
    _print(summary, Console(stderr=True))
    return summary
