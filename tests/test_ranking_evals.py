"""The retrieval and timeline suites: their typed summaries report what was measured.

Each suite runs whole on the deterministic embedder; its rankers are wrapped so that the
test sees every ranked list the suite scored, recomputes hit@1 / hit@5 (and leak and
stale for retrieval) from them on its own, and compares with the typed summary, the JSON
and the markdown. The scoring itself is checked on scripted rankers with known answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evals import retrieval, timeline
from evals.ranking import HitTally
from evals.report import summary_json
from memory.models import GENERAL_OWNER
from tests.fakes import DeterministicEmbeddings

PNG_HEADER = b"\x89PNG\r\n\x1a\n"

Ranked = list[tuple[Any, list[str]]]
"""What one system was asked and answered: (question, ranked ids) in order."""


def recording(factory: Callable[..., Callable[[Any], list[str]]], log: list[Ranked]) -> Any:
    """`factory` (a suite's ranker maker) whose rankers also record each answer in `log`."""

    def make(*args: Any, **kwargs: Any) -> Callable[[Any], list[str]]:
        rank = factory(*args, **kwargs)
        answers: Ranked = []
        log.append(answers)

        def recorded(question: Any) -> list[str]:
            ranked = rank(question)
            answers.append((question, ranked))
            return ranked

        return recorded

    return make


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_HEADER), path


def share(flags: list[bool]) -> float:
    return sum(flags) / len(flags)


# ---- the tally -----------------------------------------------------------------------------


def test_the_tally_counts_first_and_top_k_per_kind() -> None:
    tally = HitTally[str]()
    assert tally.add("a", ["x", "y"], frozenset({"x"})) == (True, True)
    assert tally.add("a", ["z", "y"], frozenset({"y"})) == (False, True)
    assert tally.add("b", ["z"], frozenset({"y"})) == (False, False)
    assert tally.add("b", [], frozenset({"y"})) == (False, False)
    overall = tally.overall()
    assert (overall.hit_at_1, overall.hit_at_5, overall.questions) == (0.25, 0.5, 4)
    by_kind = tally.by_kind()
    assert (by_kind["a"].hit_at_1, by_kind["a"].hit_at_5) == (0.5, 1.0)
    assert (by_kind["b"].hit_at_1, by_kind["b"].hit_at_5, by_kind["b"].questions) == (0, 0, 2)
    assert summary_json(overall) == {"hit@1": 0.25, "hit@5": 0.5, "questions": 4}


# ---- retrieval -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def support_memory() -> Any:
    with retrieval.temporary_store(DeterministicEmbeddings(64)) as store:
        yield retrieval.build_memory(store)


def test_retrieval_scoring_on_scripted_rankers(support_memory: retrieval.SupportMemory) -> None:
    built, qs = support_memory, retrieval.questions()
    ids = built.ids

    def oracle(question: retrieval.Question) -> list[str]:
        return [ids[key] for key in sorted(question.expected)]

    right = retrieval.score(built, qs, oracle)
    assert (right.hit_at_1, right.hit_at_5, right.leak_rate, right.stale_rate) == (1, 1, 0, 0)
    assert right.misses == [] and right.questions == len(qs)

    customer_questions = [q for q in qs if q.customer]
    other = {  # for each customer, the first fact of another customer
        q.customer: next(
            m
            for m, owner in built.owner.items()
            if owner not in (GENERAL_OWNER, q.customer) and m not in built.stale
        )
        for q in customer_questions
    }

    def leaky(question: retrieval.Question) -> list[str]:
        leaked = [other[question.customer]] if question.customer else []
        return [*leaked, *oracle(question)]

    leaks = retrieval.score(built, qs, leaky)
    shown = sum(len(leaky(q)) for q in customer_questions)
    assert leaks.leak_rate == pytest.approx(len(customer_questions) / shown)
    assert leaks.hit_at_1 == pytest.approx((len(qs) - len(customer_questions)) / len(qs))
    assert (leaks.hit_at_5, leaks.stale_rate) == (1.0, 0.0)

    superseded = sorted(built.stale)[0]
    stale = retrieval.score(built, qs, lambda question: [superseded, *oracle(question)])
    assert (stale.hit_at_1, stale.hit_at_5, stale.stale_rate) == (0.0, 1.0, 1.0)
    # a superseded fact is its customer's still: shown to any other customer, it leaks
    assert stale.leak_rate > 0
    nothing = retrieval.score(built, qs, lambda question: [])
    assert (nothing.hit_at_5, nothing.leak_rate) == (0.0, 0.0)
    assert len(nothing.misses) == 10  # the first ten, in question order
    assert nothing.misses == [q.text for q in qs[:10]]
    assert sum(k.questions for k in nothing.by_kind.values()) == len(qs)


def test_the_retrieval_suite_reports_what_its_systems_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered: list[Ranked] = []
    built: list[retrieval.SupportMemory] = []
    build = retrieval.build_memory

    def keep(store: Any) -> retrieval.SupportMemory:
        built.append(build(store))
        return built[-1]

    monkeypatch.setattr(retrieval, "build_memory", keep)
    monkeypatch.setattr(retrieval, "memory_ranker", recording(retrieval.memory_ranker, answered))
    monkeypatch.setattr(retrieval, "dense_ranker", recording(retrieval.dense_ranker, answered))
    summary = retrieval.run_retrieval_eval(
        reports=tmp_path, json_out=tmp_path / "out.json", embeddings=DeterministicEmbeddings(64)
    )
    (memory,) = built
    assert list(summary.systems) == ["memory", "memory, no subject", "plain dense"]
    assert summary.memories == len(memory.ids) + len(memory.stale) >= 300
    assert summary.superseded == len(memory.stale) >= 20
    labels = memory.keys
    for (name, score), answers in zip(summary.systems.items(), answered, strict=True):
        assert [q for q, _ in answers] == retrieval.questions()  # every question, once
        firsts = [bool(r) and labels.get(r[0]) in q.expected for q, r in answers]
        found = [any(labels.get(m) in q.expected for m in r) for q, r in answers]
        stale = [any(m in memory.stale for m in r) for _, r in answers]
        owners = [(q.customer, memory.owner[m]) for q, r in answers if q.customer for m in r]
        leaked = [owner not in (GENERAL_OWNER, customer) for customer, owner in owners]
        assert score.hit_at_1 == pytest.approx(share(firsts)), name
        assert score.hit_at_5 == pytest.approx(share(found)), name
        assert score.stale_rate == pytest.approx(share(stale)), name
        assert score.leak_rate == pytest.approx(share(leaked)), name
        missed = [q.text for (q, _), hit in zip(answers, found, strict=True) if not hit]
        assert score.misses == missed[:10], name
        for kind, rates in score.by_kind.items():
            of_kind = [hit for (q, _), hit in zip(answers, found, strict=True) if q.kind == kind]
            assert rates.hit_at_5 == pytest.approx(share(of_kind)), (name, kind)
    best, dense = summary.systems["memory"], summary.systems["plain dense"]
    assert summary.targets_met == (
        best.hit_at_5 >= retrieval.TARGET_HIT5
        and best.leak_rate == best.stale_rate == 0.0
        and best.hit_at_5 > dense.hit_at_5
    )
    written = json.loads((tmp_path / "retrieval.json").read_text())
    assert written == json.loads((tmp_path / "out.json").read_text()) == summary_json(summary)
    assert written["systems"]["memory"]["hit@5"] == best.hit_at_5
    assert written["targets_met"] is summary.targets_met
    markdown = (tmp_path / "retrieval.md").read_text()
    row = f"| memory | {best.hit_at_1:.2f} | {best.hit_at_5:.2f} | {best.leak_rate:.2f} |"
    assert row in markdown and "(retrieval.png)" in markdown
    assert_png(tmp_path / "retrieval.png")


# ---- timeline ------------------------------------------------------------------------------


def test_the_timeline_suite_reports_what_its_systems_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered: list[Ranked] = []
    monkeypatch.setattr(timeline, "memory_ranker", recording(timeline.memory_ranker, answered))
    monkeypatch.setattr(timeline, "dense_ranker", recording(timeline.dense_ranker, answered))
    summary = timeline.run_timeline_eval(reports=tmp_path, embeddings=DeterministicEmbeddings(64))
    assert list(summary.systems) == ["memory", "memory, period ignored", "plain dense"]
    assert summary.incidents == 8 * timeline.CUSTOMERS
    for (name, score), answers in zip(summary.systems.items(), answered, strict=True):
        assert len(answers) == summary.questions == score.questions >= 60
        firsts = [bool(r) and r[0] in q.expected for q, r in answers]
        found = [bool(q.expected & set(r)) for q, r in answers]
        assert score.hit_at_1 == pytest.approx(share(firsts)), name
        assert score.hit_at_5 == pytest.approx(share(found)), name
        assert set(score.by_form) == set(timeline.FORMS)
        for form, rates in score.by_form.items():
            mine = [
                (f, t)
                for (q, _), f, t in zip(answers, firsts, found, strict=True)
                if q.form == form
            ]
            assert rates.questions == len(mine)
            assert rates.hit_at_1 == pytest.approx(share([f for f, _ in mine])), (name, form)
            assert rates.hit_at_5 == pytest.approx(share([t for _, t in mine])), (name, form)
        missed = [q.text for (q, _), first in zip(answers, firsts, strict=True) if not first]
        assert score.misses == missed[:10], name
    written = json.loads((tmp_path / "timeline.json").read_text())
    assert written == summary_json(summary)
    ignored = summary.systems["memory, period ignored"]
    assert written["systems"]["memory, period ignored"]["by_form"]["day"]["hit@1"] == (
        ignored.by_form["day"].hit_at_1
    )
    markdown = (tmp_path / "timeline.md").read_text()
    cells = [
        ignored.hit_at_1,
        ignored.hit_at_5,
        *(ignored.by_form[f].hit_at_1 for f in timeline.FORMS),
    ]
    assert "| memory, period ignored | " + " | ".join(f"{c:.2f}" for c in cells) + " |" in markdown
    assert_png(tmp_path / "timeline.png")
