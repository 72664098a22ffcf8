"""The extraction eval: precision, recall and F1 of memory extraction on labeled utterances.

The labeled set (evals/data/extraction_labeled.jsonl) holds customer-service and
personal-assistant utterances, many of them negatives (questions, hypotheticals, requests,
small talk). It has a dev split, used while writing the rules, and a held-out test split.
Part of the test split was written after the rules ("written": "after_rules"), as the
fairest estimate of how the rules do on talk they were not shaped by; it is reported apart.
Timed lines carry the message's time: their labels give the event date the content must
state, and lines that ask something of the memory itself ("don't remember this call",
"forget my phone number") are labeled with that request and must store nothing.

`python -m evals extraction --json OUT` writes the JSON, reports/extraction.md (tables and
every miss and false positive) and reports/extraction.png.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from rich.console import Console
from rich.progress import track
from rich.table import Table

from evals.evaluators import (
    ExpectedMemory,
    PredictedMemory,
    as_predicted,
    date_agreement,
    extraction_match,
    match_memories,
    mechanism_agreement,
    slot_agreement,
)
from evals.report import Report, markdown_table, write_report
from memory.extraction import ExtractionContext, extract_memories
from memory.extraction.forget_requests import ForgetKind, detect_forget_request
from memory.models import MEMORY_TYPES, Memory

LABELED_PATH = Path(__file__).parent / "data" / "extraction_labeled.jsonl"
TARGET_PRECISION = 0.90
TARGET_RECALL = 0.80

Split = Literal["dev", "test"]
Written = Literal["before_rules", "after_rules"]
Extractor = Callable[[str, ExtractionContext], list[Memory]]


class LabeledUtterance(BaseModel):
    """One line of the labeled set."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    expected: list[ExpectedMemory]
    split: Split
    speaker_subject: str = "user"
    """Whose facts the speaker's "I" and "my" are, as the caller would pass it."""
    written: Written = "before_rules"
    message_time: AwareDatetime | None = None
    """When it was said: dates in it resolve against this (labels' event_date too)."""
    request: ForgetKind | None = None
    """The memory request it makes ("don't remember this call", "forget my phone
    number"): then nothing from it is to be stored, and `expected` is empty."""


def load_labeled(path: Path = LABELED_PATH) -> list[LabeledUtterance]:
    """The labeled utterances; a bad line raises naming its line number."""
    utterances = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            utterances.append(LabeledUtterance.model_validate_json(line))
        except ValueError as error:
            raise ValueError(f"{path}:{number}: invalid labeled utterance: {error}") from error
    return utterances


class Counts(BaseModel):
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tp: int, fp: int, fn: int) -> None:
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def summary(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


class Failure(BaseModel):
    """A miss (an expected memory not extracted) or a false positive (an extra one)."""

    kind: Literal["miss", "false_positive"]
    text: str
    split: Split
    written: Written
    type: str
    detail: str


class UtteranceResult(BaseModel):
    utterance: LabeledUtterance
    predicted: list[PredictedMemory]
    pairs: list[tuple[int, int]]
    score: float
    request: ForgetKind | None = None
    """The memory request detected in it, if any."""


def _judge(
    utterance: LabeledUtterance, memories: Sequence[Memory], request: ForgetKind | None = None
) -> UtteranceResult:
    predicted = as_predicted(memories)
    verdict = extraction_match(
        inputs={"text": utterance.text},
        outputs={"memories": memories},
        reference_outputs={"expected": utterance.expected},
    )
    pairs = match_memories(predicted, utterance.expected)
    return UtteranceResult(
        utterance=utterance,
        predicted=predicted,
        pairs=pairs,
        score=verdict["score"],
        request=request,
    )


def evaluate(
    utterances: Iterable[LabeledUtterance], extractor: Extractor, *, progress: bool = False
) -> list[UtteranceResult]:
    """Run `extractor` on each utterance and match its memories against the labels."""
    items = list(utterances)
    iterator = track(items, description="extracting") if progress else items
    results = []
    for utterance in iterator:
        ctx = ExtractionContext(
            source_agent="eval",
            speaker_subject=utterance.speaker_subject,
            message_time=utterance.message_time,
        )
        # As the graphs do: a request about the memory itself stores nothing.
        request = detect_forget_request(utterance.text)
        memories = [] if request else extractor(utterance.text, ctx)
        results.append(_judge(utterance, memories, request.kind if request else None))
    return results


def _failures(result: UtteranceResult) -> list[Failure]:
    u = result.utterance
    matched_p = {i for i, _ in result.pairs}
    matched_e = {j for _, j in result.pairs}
    failures = []
    for j, want in enumerate(u.expected):
        if j not in matched_e:
            detail = f"subject={want.subject}, must contain {want.must_contain}"
            failures.append(
                Failure(
                    kind="miss",
                    text=u.text,
                    split=u.split,
                    written=u.written,
                    type=want.type,
                    detail=detail,
                )
            )
    for i, got in enumerate(result.predicted):
        if i not in matched_p:
            detail = f"subject={got.subject}: {got.content}"
            failures.append(
                Failure(
                    kind="false_positive",
                    text=u.text,
                    split=u.split,
                    written=u.written,
                    type=got.type,
                    detail=detail,
                )
            )
    return failures


def summarize(results: Sequence[UtteranceResult]) -> dict[str, Any]:
    """Precision, recall and F1 overall, per type, per split and per split and type."""
    overall = Counts()
    by_type: dict[str, Counts] = {t: Counts() for t in MEMORY_TYPES}
    by_split: dict[str, Counts] = defaultdict(Counts)
    by_written: dict[str, Counts] = defaultdict(Counts)
    by_split_type: dict[str, dict[str, Counts]] = defaultdict(lambda: defaultdict(Counts))
    slots = {"checked": 0, "right": 0}
    mechanisms = {"checked": 0, "right": 0}
    dates = {"checked": 0, "right": 0}
    requests = {"labeled": 0, "detected": 0, "right_kind": 0, "false_alarms": 0}
    negatives = clean = 0
    for result in results:
        u = result.utterance
        matched_p = {i for i, _ in result.pairs}
        matched_e = {j for _, j in result.pairs}
        for memory_type in MEMORY_TYPES:
            tp = sum(1 for _, j in result.pairs if u.expected[j].type == memory_type)
            fp = sum(
                1
                for i, p in enumerate(result.predicted)
                if i not in matched_p and p.type == memory_type
            )
            fn = sum(
                1 for j, e in enumerate(u.expected) if j not in matched_e and e.type == memory_type
            )
            for counts in (
                overall,
                by_type[memory_type],
                by_split[u.split],
                by_split_type[u.split][memory_type],
            ):
                counts.add(tp, fp, fn)
            if u.split == "test":
                by_written[u.written].add(tp, fp, fn)
        for total, count in (
            (slots, slot_agreement(result.predicted, u.expected)),
            (mechanisms, mechanism_agreement(result.predicted, u.expected)),
            (dates, date_agreement(result.predicted, u.expected)),
        ):
            total["checked"] += count["checked"]
            total["right"] += count["right"]
        if not u.expected:
            negatives += 1
            clean += not result.predicted
        if u.request is not None:
            requests["labeled"] += 1
            requests["detected"] += result.request is not None
            requests["right_kind"] += result.request == u.request
        elif result.request is not None:
            requests["false_alarms"] += 1
    splits = {name: counts.summary() for name, counts in sorted(by_split.items())}
    return {
        "overall": overall.summary(),
        "by_split": splits,
        "by_type": {name: counts.summary() for name, counts in by_type.items()},
        "by_split_type": {
            split: {t: c.summary() for t, c in types.items()}
            for split, types in sorted(by_split_type.items())
        },
        "test_by_written": {name: c.summary() for name, c in sorted(by_written.items())},
        "slot_accuracy": _rate(slots),
        "mechanism_accuracy": _rate(mechanisms),
        "event_date_accuracy": _rate(dates),
        "memory_requests": requests,
        "negatives": {
            "utterances": negatives,
            "left_empty": clean,
            "rate": round(clean / negatives, 4) if negatives else 1.0,
        },
        "mean_utterance_score": round(
            sum(r.score for r in results) / len(results) if results else 0.0, 4
        ),
        "targets": {
            "precision": TARGET_PRECISION,
            "recall": TARGET_RECALL,
            "met": {
                split: s["precision"] >= TARGET_PRECISION and s["recall"] >= TARGET_RECALL
                for split, s in splits.items()
            },
        },
    }


def _rate(count: dict[str, int]) -> dict[str, float | int]:
    checked, right = count["checked"], count["right"]
    return {
        "checked": checked,
        "right": right,
        "accuracy": round(right / checked, 4) if checked else 1.0,
    }


def _markdown(summary: dict[str, Any], failures: Sequence[Failure]) -> str:
    def rows(groups: dict[str, dict[str, Any]]) -> list[list[Any]]:
        return [
            [name, g["precision"], g["recall"], g["f1"], g["tp"], g["fp"], g["fn"]]
            for name, g in groups.items()
        ]

    headers = ["", "precision", "recall", "F1", "TP", "FP", "FN"]
    data = summary["dataset"]
    lines = [
        "# Memory extraction",
        "",
        f"Extractor: **{summary['extractor']}**. Labeled set: {data['utterances']} utterances "
        f"({data['negatives']} that should yield nothing), {data['expected_memories']} expected "
        f"memories; dev {data['by_split'].get('dev', 0)}, test {data['by_split'].get('test', 0)} "
        f"utterances, of which {data['after_rules']} were written after the rules.",
        "",
        f"Targets: precision >= {TARGET_PRECISION}, recall >= {TARGET_RECALL}. "
        + ", ".join(
            f"{split}: {'met' if met else 'NOT met'}"
            for split, met in summary["targets"]["met"].items()
        ),
        "",
        "A predicted memory matches an expected one when the type is equal, the subject is "
        "equal (when the label gives one) and the content holds every labeled word; matching "
        "is greedy and one-to-one.",
        "",
        "## Overall and by split",
        "",
        markdown_table(headers, rows({"overall": summary["overall"], **summary["by_split"]})),
        "",
        "## Test split by when it was written",
        "",
        "The labels and the rules have one author. The dev and the first test utterances were "
        "written before the rules; the `after_rules` ones were written afterwards and never "
        "used to change them: the fairest figure here.",
        "",
        markdown_table(headers, rows(summary["test_by_written"])),
        "",
        "## By type",
        "",
        markdown_table(headers, rows(summary["by_type"])),
        "",
    ]
    for split, types in summary["by_split_type"].items():
        lines += [f"### {split}", "", markdown_table(headers, rows(types)), ""]
    slots, mech, neg = (
        summary["slot_accuracy"],
        summary["mechanism_accuracy"],
        summary["negatives"],
    )
    dates, req = summary["event_date_accuracy"], summary["memory_requests"]
    lines += [
        "## Slots, mechanisms, negatives, dates, requests",
        "",
        f"- Slot (attribute and value) right on {slots['right']}/{slots['checked']} matched "
        f"memories whose label names one ({slots['accuracy']:.2f}).",
        f"- Mechanism right on {mech['right']}/{mech['checked']} matched memories "
        f"({mech['accuracy']:.2f}).",
        f"- Negatives left empty: {neg['left_empty']}/{neg['utterances']} ({neg['rate']:.2f}).",
        f"- Event date (resolved against the message's time) right on "
        f"{dates['right']}/{dates['checked']} matched memories whose label gives one "
        f"({dates['accuracy']:.2f}).",
        f'- Memory requests ("don\'t remember this call", "forget my phone number"): '
        f"{req['detected']}/{req['labeled']} detected, {req['right_kind']} of the right kind, "
        f"{req['false_alarms']} false alarms on other utterances.",
        "",
        "## Misses and false positives",
        "",
    ]
    if not failures:
        lines.append("None.")
    else:
        table = [
            [
                f.kind,
                f.split,
                f.written,
                f.type,
                f.text.replace("|", "/"),
                f.detail.replace("|", "/"),
            ]
            for f in failures
        ]
        lines.append(markdown_table(["kind", "split", "written", "type", "text", "detail"], table))
    return "\n".join(lines)


def _plot(summary: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {
        "overall": summary["overall"],
        **summary["by_split"],
        **{f"test {k}": v for k, v in summary["test_by_written"].items()},
    }
    panels = [("By split", groups), ("By type", summary["by_type"])]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, (title, data) in zip(axes, panels, strict=True):
        names = list(data)
        for k, metric in enumerate(("precision", "recall", "f1")):
            xs = [i + (k - 1) * 0.26 for i in range(len(names))]
            ax.bar(xs, [data[n][metric] for n in names], width=0.26, label=metric)
        ax.axhline(TARGET_PRECISION, color="grey", linestyle="--", linewidth=0.8)
        ax.axhline(TARGET_RECALL, color="grey", linestyle=":", linewidth=0.8)
        ax.set_xticks(range(len(names)), names, rotation=20)
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
    axes[0].set_ylabel("score")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    fig.suptitle(f"Memory extraction ({summary['extractor']}); dashed: P target, dotted: R target")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _print(summary: dict[str, Any], console: Console) -> None:
    table = Table(title=f"Memory extraction ({summary['extractor']})")
    for column in ("", "precision", "recall", "F1", "TP", "FP", "FN"):
        table.add_column(column, justify="right" if column else "left")
    groups = {
        "overall": summary["overall"],
        **summary["by_split"],
        **{f"test {k}": v for k, v in summary["test_by_written"].items()},
        **summary["by_type"],
    }
    for name, g in groups.items():
        table.add_row(
            name,
            f"{g['precision']:.2f}",
            f"{g['recall']:.2f}",
            f"{g['f1']:.2f}",
            str(g["tp"]),
            str(g["fp"]),
            str(g["fn"]),
        )
    console.print(table)


def run_extraction_eval(
    *,
    json_out: Path | None,
    reports: Path,
    llm: BaseChatModel | None = None,
    labeled: Path = LABELED_PATH,
) -> dict[str, Any]:
    """Evaluate extraction (rules, or `llm` with the rules as fallback) and write the reports."""
    utterances = load_labeled(labeled)

    def extractor(text: str, ctx: ExtractionContext) -> list[Memory]:
        return extract_memories(text, ctx, llm)

    results = evaluate(utterances, extractor, progress=True)
    failures = [f for r in results for f in _failures(r)]
    summary: dict[str, Any] = {
        "extractor": "rules" if llm is None else f"llm:{type(llm).__name__} (rules fallback)",
        "dataset": {
            "path": str(labeled),
            "utterances": len(utterances),
            "negatives": sum(1 for u in utterances if not u.expected),
            "expected_memories": sum(len(u.expected) for u in utterances),
            "by_split": {s: sum(1 for u in utterances if u.split == s) for s in ("dev", "test")},
            "after_rules": sum(1 for u in utterances if u.written == "after_rules"),
        },
        **summarize(results),
        "failures": [f.model_dump() for f in failures],
    }
    report = Report(
        "extraction",
        summary,
        _markdown(summary, failures),
        {"extraction.png": lambda path: _plot(summary, path)},
    )
    write_report(report, reports=reports, json_out=json_out)
    _print(summary, Console(stderr=True))
    return json.loads(json.dumps(summary))
