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

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, computed_field
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
from evals.report import Report, bar_panels, markdown_table, write_report
from memory.extraction import ExtractionContext, extract_memories
from memory.extraction.forget_requests import ForgetKind, detect_forget_request
from memory.models import MEMORY_TYPES, Memory, MemoryType

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

    def summary(self) -> Scores:
        return Scores(
            precision=round(self.precision, 4),
            recall=round(self.recall, 4),
            f1=round(self.f1, 4),
            tp=self.tp,
            fp=self.fp,
            fn=self.fn,
        )


class Scores(BaseModel):
    """Precision, recall and F1 (4 decimals) and the counts behind them."""

    model_config = ConfigDict(frozen=True)

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


class Agreement(BaseModel):
    """Of the matched memories whose label gives a value, how many got it right."""

    checked: int = 0
    right: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accuracy(self) -> float:
        return round(self.right / self.checked, 4) if self.checked else 1.0


class MemoryRequests(BaseModel):
    """Utterances asking something of the memory itself ("forget my phone number")."""

    labeled: int = 0
    detected: int = 0
    right_kind: int = 0
    false_alarms: int = 0
    """Requests detected in utterances labeled with none."""


class Negatives(BaseModel):
    """Utterances that should yield no memory."""

    utterances: int = 0
    left_empty: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rate(self) -> float:
        return round(self.left_empty / self.utterances, 4) if self.utterances else 1.0


class Targets(BaseModel):
    precision: float = TARGET_PRECISION
    recall: float = TARGET_RECALL
    met: dict[Split, bool]
    """Per split: both targets met."""


class ExtractionScores(BaseModel):
    """Precision, recall and F1 overall, per type, per split and per split and type, and
    the agreements on what matched memories say."""

    overall: Scores
    by_split: dict[Split, Scores]
    by_type: dict[MemoryType, Scores]
    by_split_type: dict[Split, dict[MemoryType, Scores]]
    test_by_written: dict[Written, Scores]
    """The test split by when it was written (before or after the rules)."""
    slot_accuracy: Agreement
    mechanism_accuracy: Agreement
    event_date_accuracy: Agreement
    memory_requests: MemoryRequests
    negatives: Negatives
    mean_utterance_score: float
    targets: Targets


class Dataset(BaseModel):
    path: str
    utterances: int
    negatives: int
    expected_memories: int
    by_split: dict[Split, int]
    after_rules: int
    """Test utterances written after the rules."""


class ExtractionSummary(ExtractionScores):
    """One run: what the JSON, the markdown and the plot show."""

    extractor: str
    dataset: Dataset
    failures: list[Failure]
    """Every miss and false positive."""


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


def summarize(results: Sequence[UtteranceResult]) -> ExtractionScores:
    """Precision, recall and F1 overall, per type, per split and per split and type."""
    overall = Counts()
    by_type: dict[MemoryType, Counts] = {t: Counts() for t in MEMORY_TYPES}
    by_split: dict[Split, Counts] = defaultdict(Counts)
    by_written: dict[Written, Counts] = defaultdict(Counts)
    by_split_type: dict[Split, dict[MemoryType, Counts]] = defaultdict(lambda: defaultdict(Counts))
    slots, mechanisms, dates = Agreement(), Agreement(), Agreement()
    requests, negatives = MemoryRequests(), Negatives()
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
            total.checked += count["checked"]
            total.right += count["right"]
        if not u.expected:
            negatives.utterances += 1
            negatives.left_empty += not result.predicted
        if u.request is not None:
            requests.labeled += 1
            requests.detected += result.request is not None
            requests.right_kind += result.request == u.request
        elif result.request is not None:
            requests.false_alarms += 1
    splits = {name: counts.summary() for name, counts in sorted(by_split.items())}
    return ExtractionScores(
        overall=overall.summary(),
        by_split=splits,
        by_type={name: counts.summary() for name, counts in by_type.items()},
        by_split_type={
            split: {t: c.summary() for t, c in types.items()}
            for split, types in sorted(by_split_type.items())
        },
        test_by_written={name: c.summary() for name, c in sorted(by_written.items())},
        slot_accuracy=slots,
        mechanism_accuracy=mechanisms,
        event_date_accuracy=dates,
        memory_requests=requests,
        negatives=negatives,
        mean_utterance_score=round(
            sum(r.score for r in results) / len(results) if results else 0.0, 4
        ),
        targets=Targets(
            met={
                split: s.precision >= TARGET_PRECISION and s.recall >= TARGET_RECALL
                for split, s in splits.items()
            }
        ),
    )


def _markdown(summary: ExtractionSummary) -> str:
    def rows(groups: Iterable[tuple[str, Scores]]) -> list[list[Any]]:
        return [[name, g.precision, g.recall, g.f1, g.tp, g.fp, g.fn] for name, g in groups]

    headers = ["", "precision", "recall", "F1", "TP", "FP", "FN"]
    data, failures = summary.dataset, summary.failures
    lines = [
        "# Memory extraction",
        "",
        f"Extractor: **{summary.extractor}**. Labeled set: {data.utterances} utterances "
        f"({data.negatives} that should yield nothing), {data.expected_memories} expected "
        f"memories; dev {data.by_split.get('dev', 0)}, test {data.by_split.get('test', 0)} "
        f"utterances, of which {data.after_rules} were written after the rules.",
        "",
        f"Targets: precision >= {TARGET_PRECISION}, recall >= {TARGET_RECALL}. "
        + ", ".join(
            f"{split}: {'met' if met else 'NOT met'}" for split, met in summary.targets.met.items()
        ),
        "",
        "A predicted memory matches an expected one when the type is equal, the subject is "
        "equal (when the label gives one) and the content holds every labeled word; matching "
        "is greedy and one-to-one.",
        "",
        "## Overall and by split",
        "",
        markdown_table(headers, rows([("overall", summary.overall), *summary.by_split.items()])),
        "",
        "## Test split by when it was written",
        "",
        "The labels and the rules have one author. The dev and the first test utterances were "
        "written before the rules; the `after_rules` ones were written afterwards and never "
        "used to change them: the fairest figure here.",
        "",
        markdown_table(headers, rows(summary.test_by_written.items())),
        "",
        "## By type",
        "",
        markdown_table(headers, rows(summary.by_type.items())),
        "",
    ]
    for split, types in summary.by_split_type.items():
        lines += [f"### {split}", "", markdown_table(headers, rows(types.items())), ""]
    slots, mech, neg = summary.slot_accuracy, summary.mechanism_accuracy, summary.negatives
    dates, req = summary.event_date_accuracy, summary.memory_requests
    lines += [
        "## Slots, mechanisms, negatives, dates, requests",
        "",
        f"- Slot (attribute and value) right on {slots.right}/{slots.checked} matched "
        f"memories whose label names one ({slots.accuracy:.2f}).",
        f"- Mechanism right on {mech.right}/{mech.checked} matched memories ({mech.accuracy:.2f}).",
        f"- Negatives left empty: {neg.left_empty}/{neg.utterances} ({neg.rate:.2f}).",
        f"- Event date (resolved against the message's time) right on "
        f"{dates.right}/{dates.checked} matched memories whose label gives one "
        f"({dates.accuracy:.2f}).",
        f'- Memory requests ("don\'t remember this call", "forget my phone number"): '
        f"{req.detected}/{req.labeled} detected, {req.right_kind} of the right kind, "
        f"{req.false_alarms} false alarms on other utterances.",
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


def _by_split(summary: ExtractionScores) -> list[tuple[str, Scores]]:
    """Overall, each split, and the test split by when it was written."""
    written = [(f"test {k}", v) for k, v in summary.test_by_written.items()]
    return [("overall", summary.overall), *summary.by_split.items(), *written]


def _plot(summary: ExtractionSummary, path: Path) -> Path:
    def bars(groups: Iterable[tuple[str, Scores]]) -> dict[str, dict[str, float]]:
        return {n: {"precision": g.precision, "recall": g.recall, "f1": g.f1} for n, g in groups}

    return bar_panels(
        path,
        {"By split": bars(_by_split(summary)), "By type": bars(summary.by_type.items())},
        title=f"Memory extraction ({summary.extractor})",
        ylabel="score",
        lines={"precision target": TARGET_PRECISION, "recall target": TARGET_RECALL},
    )


def _print(summary: ExtractionSummary, console: Console) -> None:
    table = Table(title=f"Memory extraction ({summary.extractor})")
    for column in ("", "precision", "recall", "F1", "TP", "FP", "FN"):
        table.add_column(column, justify="right" if column else "left")
    for name, g in [*_by_split(summary), *summary.by_type.items()]:
        table.add_row(
            name,
            f"{g.precision:.2f}",
            f"{g.recall:.2f}",
            f"{g.f1:.2f}",
            str(g.tp),
            str(g.fp),
            str(g.fn),
        )
    console.print(table)


def run_extraction_eval(
    *,
    json_out: Path | None,
    reports: Path,
    llm: BaseChatModel | None = None,
    labeled: Path = LABELED_PATH,
) -> ExtractionSummary:
    """Evaluate extraction (rules, or `llm` with the rules as fallback) and write the reports."""
    utterances = load_labeled(labeled)

    def extractor(text: str, ctx: ExtractionContext) -> list[Memory]:
        return extract_memories(text, ctx, llm)

    results = evaluate(utterances, extractor, progress=True)
    summary = ExtractionSummary(
        **dict(summarize(results)),
        extractor="rules" if llm is None else f"llm:{type(llm).__name__} (rules fallback)",
        dataset=Dataset(
            path=str(labeled),
            utterances=len(utterances),
            negatives=sum(1 for u in utterances if not u.expected),
            expected_memories=sum(len(u.expected) for u in utterances),
            by_split={s: sum(1 for u in utterances if u.split == s) for s in ("dev", "test")},
            after_rules=sum(1 for u in utterances if u.written == "after_rules"),
        ),
        failures=[f for r in results for f in _failures(r)],
    )
    report = Report(
        "extraction",
        summary,
        _markdown(summary),
        {"extraction.png": lambda path: _plot(summary, path)},
    )
    write_report(report, reports=reports, json_out=json_out)
    _print(summary, Console(stderr=True))
    return summary
