"""Invented facts in what users read: chat turns, the team's replies, the seed's demo.

Every user-visible text (a chat reply, the team's reply) is checked against what it was
given: the user's message, the memories the agent read and, for the team, the
specialists' facts (``nodes.grounding.unsupported``: numbers, ids, channels, names,
dates). Reported per text:

- ``replaced``: the model's text stated something unsupported (or dropped a required
  amount or channel), so the grounded, composed text was shown instead;
- ``invented``: unsupported claims left in the text the user saw (the target is 0).

The turns are written here (30 chat turns over the seed's memories, including questions
whose answer memory does not hold, and 6 team requests), plus the seed's demo. They run on
the chosen chat model (default: the embedded one); ``--llm none`` checks the composed
texts alone.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel
from rich.console import Console

from evals.evaluators import EvaluatorResult
from evals.report import markdown_table, reports_dir, write_json, write_markdown
from graphs.app import TeamApp, open_team_app
from nodes.context import ChatContext, LLMChoice, TeamContext
from nodes.grounding import unsupported
from teams.support.demo import DEMO_CUSTOMER_ID, DEMO_REQUEST, prepare_demo


@dataclass(frozen=True)
class ChatTurn:
    agent: str
    text: str


CHAT_TURNS: tuple[ChatTurn, ...] = (
    ChatTurn("alex", "How should we contact customer #12345?"),
    ChatTurn("alex", "Is customer #12345 a premium member?"),
    ChatTurn("alex", "What is the refund window for premium members?"),
    ChatTurn("alex", "What is the refund window for standard members?"),
    ChatTurn("alex", "How does the team handle a refund request?"),
    ChatTurn("alex", "What do we do when an order has not arrived?"),
    ChatTurn("alex", "How does John Okafor like to be contacted?"),
    ChatTurn("alex", "Which channel does customer #34567 prefer?"),
    ChatTurn("alex", "What is the order number of customer #12345's latest order?"),
    ChatTurn("alex", "When will the refund for customer #12345 arrive?"),
    ChatTurn("sam", "Has customer #23456 had a late delivery before?"),
    ChatTurn("sam", "What happened with order ORD-2001?"),
    ChatTurn("sam", "Which tool should I use before promising a refund?"),
    ChatTurn("sam", "Can customer #12345 get a refund within 48 hours?"),
    ChatTurn("sam", "Which carrier delivers to customer #12345?"),
    ChatTurn("sam", "What is Priya Raman's membership tier?"),
    ChatTurn("sam", "Is there a discount code for customer #12345?"),
    ChatTurn("sam", "Summarise what you know about customer #34567."),
    ChatTurn("sam", "Remember that customer #45678 prefers phone calls."),
    ChatTurn("sam", "How should we reach customer #45678?"),
    ChatTurn("jordan", "Are our systems down right now?"),
    ChatTurn("jordan", "How do I rule out an outage before blaming the carrier?"),
    ChatTurn("jordan", "Has customer #12345 had delivery problems before?"),
    ChatTurn("jordan", "What is the status of the payment gateway?"),
    ChatTurn("jordan", "Which customers prefer SMS?"),
    ChatTurn("jordan", "Who is customer #23456?"),
    ChatTurn("jordan", "What did we do about John Okafor's late delivery?"),
    ChatTurn("jordan", "Remember that the mobile app crashed for customer #56789 on login."),
    ChatTurn("jordan", "What do you know about customer #56789?"),
    ChatTurn("jordan", "Tell me the email address of customer #12345."),
)
"""30 chat turns over the seed's memories; some ask what memory does not hold."""

TEAM_REQUESTS: tuple[tuple[str, str], ...] = (
    (DEMO_CUSTOMER_ID, DEMO_REQUEST),
    ("12345", "Where is my order? It is late again."),
    ("23456", "I want to return my last order and get my money back."),
    ("34567", "Your app shows an error when I try to check out."),
    ("12345", "Please send me the refund status by my preferred channel."),
    ("23456", "Did my package ship yet?"),
)
"""The demo's request and 5 more, each about a customer of the seed's desk."""


class TextCheck(BaseModel):
    kind: str
    agent: str
    prompt: str
    text: str
    replaced: bool
    invented: list[str]
    seconds: float


def invented_facts(
    *, inputs: dict[str, Any], outputs: dict[str, Any], reference_outputs: dict[str, Any]
) -> EvaluatorResult:
    """Claims of the text the user saw that no given source states (score 1: none)."""
    claims = unsupported(outputs["text"], reference_outputs["sources"])
    return {
        "key": "invented_facts",
        "score": 0.0 if claims else 1.0,
        "comment": ", ".join(claims) or "every claim is supported",
    }


def _chat(app: TeamApp, turn: ChatTurn, llm: LLMChoice) -> TextCheck:
    started = time.perf_counter()
    config: RunnableConfig = {"configurable": {"thread_id": f"g-{uuid.uuid4().hex[:8]}"}}
    ctx = ChatContext(agent=turn.agent, team=app.team, llm=llm)
    state = app.chat_graph.invoke({"messages": [("user", turn.text)]}, config, context=ctx)
    # what the agent was given: the message and its memories, with their confidence
    retrieved = state.get("retrieved", [])
    sources = [turn.text, *(f"{m.content} (confidence {m.confidence:.2f})" for m in retrieved)]
    result = invented_facts(
        inputs={"text": turn.text},
        outputs={"text": state["reply"]},
        reference_outputs={"sources": sources},
    )
    return TextCheck(
        kind="chat",
        agent=turn.agent,
        prompt=turn.text,
        text=state["reply"],
        replaced="chat reply" in state.get("fallbacks", []),
        invented=[] if result["score"] == 1.0 else result["comment"].split(", "),
        seconds=round(time.perf_counter() - started, 2),
    )


def _team(app: TeamApp, customer_id: str, text: str, llm: LLMChoice) -> TextCheck:
    started = time.perf_counter()
    config: RunnableConfig = {"configurable": {"thread_id": f"g-{uuid.uuid4().hex[:8]}"}}
    ctx = TeamContext(team=app.team, customer_id=customer_id, llm=llm)
    state = app.team_graph.invoke({"messages": [("user", text)]}, config, context=ctx)
    sources = [text, *(m.content for m in state.get("retrieved", []))]
    sources += [fact for finding in state.get("findings", []) for fact in finding.facts]
    result = invented_facts(
        inputs={"text": text},
        outputs={"text": state["reply"]},
        reference_outputs={"sources": sources},
    )
    return TextCheck(
        kind="team",
        agent=app.spec.coordinator.name,
        prompt=text,
        text=state["reply"],
        replaced="synthesis" in state.get("fallbacks", []),
        invented=[] if result["score"] == 1.0 else result["comment"].split(", "),
        seconds=round(time.perf_counter() - started, 2),
    )


def run_grounding_eval(
    *,
    llm: LLMChoice = "embedded",
    quick: bool = False,
    json_out: Path | None = None,
    reports: Path | None = None,
    console: Console | None = None,
    embeddings: Embeddings | None = None,
) -> dict[str, Any]:
    """Run the turns on `llm`; `quick` runs 5 chat turns and the demo request only.
    `embeddings` (default: the embedded MiniLM) embed the memories."""
    console = console or Console(stderr=True)
    turns: Sequence[ChatTurn] = CHAT_TURNS[:5] if quick else CHAT_TURNS
    requests = TEAM_REQUESTS[:1] if quick else TEAM_REQUESTS
    checks: list[TextCheck] = []
    with tempfile.TemporaryDirectory() as data, open_team_app(data, embeddings=embeddings) as app:
        prepare_demo(app)
        for customer_id, text in requests:
            checks.append(_team(app, customer_id, text, llm))
        for turn in turns:
            checks.append(_chat(app, turn, llm))
    result = {
        "suite": "grounding",
        "llm": llm,
        "quick": quick,
        "texts": len(checks),
        "replaced": sum(c.replaced for c in checks),
        "invented": sum(len(c.invented) for c in checks),
        "texts_with_invented_facts": sum(bool(c.invented) for c in checks),
        "checks": [c.model_dump() for c in checks],
    }
    out_dir = reports_dir(reports)
    write_json(out_dir / "grounding.json", result)
    if json_out is not None:
        write_json(json_out, result)
    rows = [[c.kind, c.agent, c.prompt, c.replaced, ", ".join(c.invented) or "-"] for c in checks]
    write_markdown(
        out_dir / "grounding.md",
        f"# Grounding: invented facts in user-visible texts ({llm})\n\n"
        f"{result['texts']} texts, {result['replaced']} replaced by the grounded text, "
        f"{result['invented']} invented claims shown.\n\n"
        + markdown_table(["kind", "agent", "prompt", "replaced", "invented"], rows),
    )
    console.print(
        f"grounding ({llm}): {result['texts']} texts, {result['replaced']} replaced, "
        f"{result['invented']} invented claims shown"
    )
    return result
