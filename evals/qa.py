"""The LoCoMo question-answering eval: answer from retrieved turns, judged by an LLM.

For each question, the best `top_k` (10) turns of its conversation are retrieved with the
turns-mode retriever of evals/locomo/turns.py (`TurnIndex`, best measured configuration); the
answer model (phi4-mini on Ollama) answers from them, and an LLM judge compares that
answer with the gold one (CORRECT / WRONG, as in Mem0's LoCoMo protocol). Accuracy is
reported overall and per category. Adversarial questions (category 5) have no gold
answer in the data (only a bait answer), so they are left out, as Mem0 does.

It runs only when Ollama answers: the embedded 135M model is too small to answer or to
judge. Otherwise it writes a report saying "skipped" and why, and exits 0. The chat models
are injectable (`answer_model`, `judge_model`) so tests drive it with a scripted fake.

`python -m evals qa --json OUT` writes reports/qa.{json,md} (and qa.png when it ran).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field
from rich.console import Console

from evals.evaluators import EvaluatorResult
from evals.locomo.cache import DEFAULT_CACHE_DIR, cached_embeddings, warm
from evals.locomo.scoring import select
from evals.locomo.turns import TurnIndex, TurnsConfig, render_turn
from evals.locomo_data import (
    CATEGORY_NAMES,
    DEFAULT_DATA,
    Conversation,
    LocomoDataError,
    Question,
    load_locomo,
    recall_at,
)
from evals.report import Report, bar_panels, markdown_table, write_report

TOP_K = 10
ADVERSARIAL = 5
"""The category without a gold answer (left out)."""

Status = Literal["completed", "skipped"]

_ANSWER_PROMPT = (
    "You answer questions about a long conversation between two people, using only the "
    "excerpts given (each with its date). Answer in a few words; for a time question, give "
    "the date or period. If the excerpts do not say, answer 'unknown'."
)
_JUDGE_PROMPT = (
    "You grade an answer to a question about a conversation. Compare the generated answer "
    "with the gold answer: it is CORRECT when it states the same fact (wording, extra "
    "detail or a different date format are fine; a time question must name the same date "
    "or period), and WRONG otherwise."
)


class Answer(BaseModel):
    answer: str = Field(description="The answer, in a few words.")


class Verdict(BaseModel):
    reasoning: str = Field(default="", description="One sentence on why.")
    label: Literal["CORRECT", "WRONG"]


class QAItem(BaseModel):
    """One answerable question: LoCoMo's question, its category, evidence and gold answer."""

    sample_id: str
    question: Question
    gold: str


class QAResult(BaseModel):
    sample_id: str
    question: str
    category: str
    gold: str
    predicted: str | None
    """None when the answer model gave no valid answer (counted wrong)."""
    correct: bool
    judge_comment: str
    judge_failed: bool
    evidence_recall: float
    """Share of the evidence turns among the `top_k` retrieved (what the answerer could see)."""


# ---- data -------------------------------------------------------------------------------------


def gold_answers(path: Path) -> dict[tuple[str, str], str]:
    """(sample_id, question) -> gold answer, for every question that has one."""
    try:
        samples = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise LocomoDataError(f"cannot read gold answers from {path}: {exc}") from exc
    answers: dict[tuple[str, str], str] = {}
    for sample in samples:
        for item in sample.get("qa", []):
            if "answer" in item:
                answers.setdefault(
                    (str(sample["sample_id"]), item["question"]), str(item["answer"])
                )
    return answers


def qa_items(conversation: Conversation, answers: Mapping[tuple[str, str], str]) -> list[QAItem]:
    """The conversation's questions that have a gold answer (adversarial ones do not)."""
    return [
        QAItem(sample_id=conversation.sample_id, question=q, gold=answers[key])
        for q in conversation.questions
        if q.category != ADVERSARIAL and (key := (conversation.sample_id, q.question)) in answers
    ]


# ---- answering and judging ----------------------------------------------------------------


def answer_question(llm: BaseChatModel, question: str, context: Sequence[str]) -> str | None:
    """The model's short answer from the retrieved excerpts, or None if it gave none."""
    from memory.llm_calls import structured_call

    excerpts = "\n".join(f"- {line}" for line in context) or "(none)"
    reply = structured_call(
        llm,
        Answer,
        [
            SystemMessage(_ANSWER_PROMPT),
            HumanMessage(f"Excerpts:\n{excerpts}\n\nQuestion: {question}"),
        ],
        step="qa answer",
    )
    return reply.answer.strip() if reply and reply.answer.strip() else None


def llm_judge(llm: BaseChatModel) -> Callable[..., EvaluatorResult]:
    """An evaluator (shared signature) grading outputs["answer"] against the gold answer."""
    from memory.llm_calls import structured_call

    def qa_correct(
        *,
        inputs: Mapping[str, Any],
        outputs: Mapping[str, Any],
        reference_outputs: Mapping[str, Any],
    ) -> EvaluatorResult:
        answer = outputs.get("answer")
        if not answer:
            return {"key": "qa_correct", "score": 0.0, "comment": "no answer given"}
        verdict = structured_call(
            llm,
            Verdict,
            [
                SystemMessage(_JUDGE_PROMPT),
                HumanMessage(
                    f"Question: {inputs['question']}\nGold answer: {reference_outputs['answer']}"
                    f"\nGenerated answer: {answer}"
                ),
            ],
            step="qa judge",
        )
        if verdict is None:
            return {"key": "qa_correct", "score": 0.0, "comment": "judge output invalid"}
        return {
            "key": "qa_correct",
            "score": 1.0 if verdict.label == "CORRECT" else 0.0,
            "comment": f"{verdict.label}: {verdict.reasoning}".strip(),
        }

    return qa_correct


def answer_and_judge(
    index: TurnIndex,
    item: QAItem,
    answer_model: BaseChatModel,
    judge: Callable[..., EvaluatorResult],
    top_k: int = TOP_K,
) -> QAResult:
    ranked = index.rank(item.question.question, top_k)
    turns = {t.dia_id: t for t in index.conversation.turns}
    context = [render_turn(turns[d], index.config) for d in ranked]
    predicted = answer_question(answer_model, item.question.question, context)
    verdict = judge(
        inputs={"question": item.question.question, "context": context},
        outputs={"answer": predicted},
        reference_outputs={"answer": item.gold},
    )
    return QAResult(
        sample_id=item.sample_id,
        question=item.question.question,
        category=item.question.category_name,
        gold=item.gold,
        predicted=predicted,
        correct=verdict["score"] >= 1.0,
        judge_comment=verdict["comment"],
        judge_failed=verdict["comment"] == "judge output invalid",
        evidence_recall=recall_at(ranked, item.question.evidence, top_k),
    )


# ---- the run --------------------------------------------------------------------------------


def _accuracy(results: Sequence[QAResult]) -> float:
    return round(100 * sum(r.correct for r in results) / len(results), 1) if results else 0.0


class Accuracy(BaseModel):
    questions: int
    accuracy: float
    """Percent right, one decimal."""


class QAScores(BaseModel):
    """Accuracy overall and per LoCoMo category, and why answers were counted wrong."""

    questions: int
    accuracy: float
    """Percent right, one decimal."""
    by_category: dict[str, Accuracy]
    no_answer: int
    """Questions the answer model gave no valid answer to (counted wrong)."""
    judge_failures: int
    """Judgements that were not a valid verdict (counted wrong)."""
    mean_evidence_recall: float
    """Percent of the evidence turns among the retrieved ones, averaged over questions."""


class QASummary(QAScores):
    """A completed run: what the JSON, the markdown and the plot show."""

    suite: Literal["qa"] = "qa"
    status: Literal["completed"] = "completed"
    data: str
    quick: bool
    conversations: list[str]
    answer_model: str
    judge_model: str
    top_k: int
    seconds: float
    results: list[QAResult]


class QASkipped(BaseModel):
    """A run that could not start here, and why."""

    suite: Literal["qa"] = "qa"
    status: Literal["skipped"] = "skipped"
    reason: str
    data: str
    quick: bool


def summarize(results: Sequence[QAResult]) -> QAScores:
    by_category: dict[str, list[QAResult]] = defaultdict(list)
    for result in results:
        by_category[result.category].append(result)
    ordered = [name for name in CATEGORY_NAMES.values() if name in by_category]
    return QAScores(
        questions=len(results),
        accuracy=_accuracy(results),
        by_category={
            name: Accuracy(questions=len(by_category[name]), accuracy=_accuracy(by_category[name]))
            for name in ordered
        },
        no_answer=sum(r.predicted is None for r in results),
        judge_failures=sum(r.judge_failed for r in results),
        mean_evidence_recall=round(100 * sum(r.evidence_recall for r in results) / len(results), 1)
        if results
        else 0.0,
    )


def skip_reason(ollama_url: str | None) -> str | None:
    """Why the eval cannot run here, or None when Ollama answers."""
    from memory.llm import ollama_available, ollama_base_url

    if ollama_available(ollama_url):
        return None
    return (
        f"no Ollama server answers at {ollama_base_url(ollama_url)}; the embedded 135M model "
        "(SmolLM2) is too small to answer LoCoMo questions or to judge answers, so the QA "
        "eval needs Ollama (phi4-mini). Start `ollama serve` and `ollama pull phi4-mini`, "
        "or set OLLAMA_BASE_URL."
    )


def run_qa(
    *,
    data: Path | None = None,
    json_out: Path | None,
    reports: Path,
    quick: bool = False,
    answer_model: BaseChatModel | None = None,
    judge_model: BaseChatModel | None = None,
    embeddings: Embeddings | None = None,
    ollama_url: str | None = None,
    cache_dir: Path | None = DEFAULT_CACHE_DIR,
    top_k: int = TOP_K,
) -> QASummary | QASkipped:
    """Answer and judge LoCoMo questions; with no model given, Ollama or a "skipped" report.

    `judge_model` defaults to the answer model. Writes reports/qa.{json,md,png}.
    """
    data = data or DEFAULT_DATA
    console = Console(stderr=True)
    if answer_model is None:
        reason = skip_reason(ollama_url)
        if reason is not None:
            return _write_skipped(reason, data, quick, json_out, reports, console)
        from memory.llm import make_ollama_chat_model

        answer_model = make_ollama_chat_model(base_url=ollama_url)
    judge = llm_judge(judge_model or answer_model)
    conversations = select(load_locomo(data), quick)
    answers = gold_answers(data)
    embeddings = cached_embeddings(embeddings, cache_dir)
    started = time.perf_counter()
    results = _answer_all(conversations, answers, embeddings, answer_model, judge, top_k, console)
    from memory.llm import model_label

    summary = QASummary(
        data=str(data),
        quick=quick,
        conversations=[c.sample_id for c in conversations],
        answer_model=model_label(answer_model),
        judge_model=model_label(judge_model or answer_model),
        top_k=top_k,
        **dict(summarize(results)),
        seconds=round(time.perf_counter() - started, 1),
        results=results,
    )
    report = Report(
        "qa", summary, _markdown(summary), {"qa.png": lambda path: _plot(summary, path)}
    )
    write_report(report, reports=reports, json_out=json_out)
    console.print(
        f"LoCoMo QA accuracy {summary.accuracy:.1f}% on {summary.questions} questions "
        f"({summary.answer_model}); "
        + ", ".join(f"{n} {c.accuracy:.1f}%" for n, c in summary.by_category.items())
    )
    return summary


def _answer_all(
    conversations: Sequence[Conversation],
    answers: Mapping[tuple[str, str], str],
    embeddings: Embeddings,
    answer_model: BaseChatModel,
    judge: Callable[..., EvaluatorResult],
    top_k: int,
    console: Console,
) -> list[QAResult]:
    from rich.progress import track

    config = TurnsConfig()
    results: list[QAResult] = []
    with tempfile.TemporaryDirectory(prefix="locomo-qa-") as tmp:
        for conversation in conversations:
            items = qa_items(conversation, answers)
            warm(embeddings, [item.question.question for item in items])
            index = TurnIndex.build(
                conversation, config, embeddings, Path(tmp) / conversation.sample_id
            )
            try:
                for item in track(items, description=conversation.sample_id, console=console):
                    results.append(answer_and_judge(index, item, answer_model, judge, top_k))
            finally:
                index.close()
    return results


def _write_skipped(
    reason: str,
    data: Path,
    quick: bool,
    json_out: Path | None,
    reports: Path,
    console: Console,
) -> QASkipped:
    summary = QASkipped(reason=reason, data=str(data), quick=quick)
    markdown = f"# LoCoMo question answering\n\n**Skipped**: {reason}"
    write_report(Report("qa", summary, markdown), reports=reports, json_out=json_out)
    console.print(f"[bold yellow]LoCoMo QA skipped[/bold yellow]: {reason}")
    return summary


def _markdown(summary: QASummary) -> str:
    rows = [["overall", summary.questions, summary.accuracy]]
    rows += [[n, c.questions, c.accuracy] for n, c in summary.by_category.items()]
    wrong = [r for r in summary.results if not r.correct][:30]
    lines = [
        "# LoCoMo question answering",
        "",
        f"Answer model **{summary.answer_model}**, judge **{summary.judge_model}**, "
        f"top {summary.top_k} turns retrieved (turns mode, best configuration). "
        f"Data: {summary.data} ({', '.join(summary.conversations)}"
        f"{', quick' if summary.quick else ''}). Adversarial questions have no gold "
        "answer and are left out.",
        "",
        markdown_table(["", "questions", "accuracy %"], rows),
        "",
        f"No answer: {summary.no_answer}; judge output invalid: {summary.judge_failures} "
        f"(both counted wrong). Evidence recall@{summary.top_k} of the answered questions: "
        f"{summary.mean_evidence_recall:.1f}%.",
        "",
        "## Wrong answers (first 30)",
        "",
    ]
    if not wrong:
        lines.append("None.")
    else:
        table = [[r.category, r.question, r.gold, r.predicted or "(none)"] for r in wrong]
        cells = [[str(c).replace("|", "/") for c in row] for row in table]
        lines.append(markdown_table(["category", "question", "gold", "answer"], cells))
    return "\n".join(lines)


def _plot(summary: QASummary, path: Path) -> Path:
    """Accuracy overall and per category."""
    groups = {"overall": summary.accuracy}
    groups |= {n: c.accuracy for n, c in summary.by_category.items()}
    return bar_panels(
        path,
        {"accuracy per category": {n: {"accuracy": a} for n, a in groups.items()}},
        title=f"LoCoMo QA ({summary.answer_model}, top {summary.top_k} turns)",
        ylabel="accuracy (%)",
        ylim=(0.0, 105.0),
    )
