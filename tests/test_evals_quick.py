"""The eval suites end to end in their quick mode, and the QA eval's LLM path on a fake.

The `integration` tests run each suite as `python -m evals <suite> ...` in a subprocess
(real embedded embedder) and check the JSON shape and that the report files exist; they
never assert scores. The unit tests drive the QA eval with the scripted chat model on a
tiny synthetic conversation (never LoCoMo text), and check the scenario evaluators fail
when they should.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from evals.locomo_data import DEFAULT_DATA, REPO_ROOT
from evals.qa import QASkipped, QASummary, run_qa
from evals.scenarios import expected_chain, private_never_leaks, sync_loops_stop
from tests.fakes import DeterministicEmbeddings, ScriptedChatModel

# ---- the suites as subprocesses ------------------------------------------------------------


def run_suite(tmp_path: Path, *args: str) -> tuple[dict[str, Any], Path]:
    """`python -m evals <args> --json tmp/out.json --reports tmp/reports`: its JSON and dir."""
    out, reports = tmp_path / "out.json", tmp_path / "reports"
    command = [sys.executable, "-m", "evals", *args, "--json", str(out), "--reports", str(reports)]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, (
        f"{' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
    )
    return json.loads(out.read_text()), reports


def assert_reports(reports: Path, *names: str) -> None:
    for name in names:
        path = reports / name
        assert path.is_file() and path.stat().st_size > 0, f"missing report {path}"


@pytest.mark.integration
def test_scenarios_quick(tmp_path: Path) -> None:
    result, reports = run_suite(tmp_path, "scenarios", "--quick")
    assert result["suite"] == "scenarios" and result["quick"] is True
    names = {case["name"] for case in result["cases"]}
    assert {
        "handoff",
        "shared_write",
        "private_isolation",
        "supersession",
        "compaction",
        "sync_loop",
        "sync_confidence",
    } <= names
    families = ("poison", "secret", "cross_customer", "retraction", "conflicting", "trust_order")
    for family in (*families, "specific_slots", "anonymous_users", "small_talk"):
        assert any(name.startswith(family) for name in names), family
    for case in result["cases"]:
        assert 0.0 <= case["score"] <= 1.0 and isinstance(case["passed"], bool)
        assert case["passed"] == (case["score"] >= 1.0) and case["comment"]
    totals = result["totals"]
    assert totals["cases"] >= 7 + 60 and totals["passed"] + totals["failed"] == totals["cases"]
    # every chat reply a case produced is counted and checked (composed: none invented)
    handoff = next(case for case in result["cases"] if case["name"] == "handoff")
    assert result["llm"] == "none" and handoff["replies"] == 2 and handoff["invented"] == []
    assert totals["replies"] == sum(case["replies"] for case in result["cases"]) > 2
    assert totals["invented_claims"] == 0
    assert_reports(reports, "scenarios.json", "scenarios.md", "scenarios.png")
    assert "| handoff |" in (reports / "scenarios.md").read_text()


@pytest.mark.integration
def test_timeline_suite(tmp_path: Path) -> None:
    result, reports = run_suite(tmp_path, "timeline")
    systems = result["systems"]
    assert set(systems) == {"memory", "memory, period ignored", "plain dense"}
    assert result["questions"] >= 60
    # The period is a filter where candidates are drawn: the asked period's incidents
    # come first far more often than when the period is ignored (1.00 vs 0.30 measured).
    assert systems["memory"]["hit@5"] >= 0.9
    assert systems["memory"]["hit@1"] > systems["memory, period ignored"]["hit@1"] + 0.3
    assert_reports(reports, "timeline.json", "timeline.md", "timeline.png")


@pytest.mark.integration
def test_retrieval_suite(tmp_path: Path) -> None:
    result, reports = run_suite(tmp_path, "retrieval")
    systems = result["systems"]
    assert set(systems) == {"memory", "memory, no subject", "plain dense"}
    memory = systems["memory"]
    assert (memory["leak_rate"], memory["stale_rate"]) == (0.0, 0.0)
    assert sum(kind["questions"] for kind in memory["by_kind"].values()) == result["questions"]
    assert isinstance(result["targets_met"], bool)
    assert_reports(reports, "retrieval.json", "retrieval.md", "retrieval.png")


@pytest.mark.integration
def test_extraction_suite(tmp_path: Path) -> None:
    # The extraction eval runs the rules over ~a few hundred utterances: it is CI-sized as is.
    result, reports = run_suite(tmp_path, "extraction")
    assert set(result["overall"]) >= {"precision", "recall", "f1", "tp", "fp", "fn"}
    assert set(result["by_split"]) == {"dev", "test"}
    assert_reports(reports, "extraction.json", "extraction.md", "extraction.png")


@pytest.mark.integration
def test_locomo_quick(tmp_path: Path) -> None:
    if not DEFAULT_DATA.is_file():
        pytest.skip(f"LoCoMo dev split not found at {DEFAULT_DATA} (see ../shared/data/locomo)")
    result, reports = run_suite(tmp_path, "locomo", "--quick")
    assert result["quick"] is True and len(result["conversations"]) == 1
    assert result["questions"] == 60
    assert set(result["recall_at"]) == {"5", "10", "25", "50"}
    assert_reports(reports, "locomo_turns.json", "locomo_turns.md", "locomo_turns.png")


@pytest.mark.integration
def test_locomo_memory_mode_quick(tmp_path: Path) -> None:
    """Memory mode ranks with the product's search: every turn goes in, hits map back."""
    if not DEFAULT_DATA.is_file():
        pytest.skip(f"LoCoMo dev split not found at {DEFAULT_DATA} (see ../shared/data/locomo)")
    result, reports = run_suite(tmp_path, "locomo", "--quick", "--mode", "memory")
    assert result["mode"] == "memory" and result["questions"] == 60
    notes = result["notes"]
    assert notes["raw_turn_memories"] == notes["turns"] > 0  # raw_turns "all": every turn
    assert all(0.0 <= result["recall_at"][k] <= 100.0 for k in ("5", "10", "25", "50"))
    assert "MemoryManager.search" in (reports / "locomo_memory.md").read_text()
    assert_reports(reports, "locomo_memory.json", "locomo_memory.md", "locomo_memory.png")


@pytest.mark.integration
def test_latency_tiny(tmp_path: Path) -> None:
    result, reports = run_suite(
        tmp_path, "latency", "--sizes", "200", "--backends", "faiss,inmemory", "--queries", "5"
    )
    assert {"metrics_ms", "settings"} <= set(result)
    assert_reports(reports, "latency.md", "latency.png")


@pytest.mark.integration
def test_bench_store_tiny(tmp_path: Path) -> None:
    result, reports = run_suite(
        tmp_path, "bench-store", "--sizes", "500", "--backends", "faiss,inmemory", "--queries", "20"
    )
    assert {"search_ms", "put_per_s", "settings"} <= set(result)
    assert_reports(reports, "bench_store.md", "bench_store.png")


@pytest.mark.integration
def test_qa_quick_reports_skipped_without_ollama(tmp_path: Path) -> None:
    from memory.llm import ollama_available

    if ollama_available():
        pytest.skip("an Ollama server answers here: the QA eval would really run")
    result, reports = run_suite(tmp_path, "qa", "--quick")
    assert result["status"] == "skipped" and "Ollama" in result["reason"]
    assert "Skipped" in (reports / "qa.md").read_text()


# ---- the QA eval's LLM path, on a scripted model -------------------------------------------

CONVERSATION = {
    "sample_id": "synthetic-1",
    "conversation": {
        "speaker_a": "Ana",
        "speaker_b": "Ben",
        "session_1_date_time": "10:00 am on 3 March, 2023",
        "session_1": [
            {"speaker": "Ana", "dia_id": "D1:1", "text": "Morning Ben, how was your weekend?"},
            {"speaker": "Ben", "dia_id": "D1:2", "text": "Busy, I repaired the garden fence."},
            {"speaker": "Ana", "dia_id": "D1:3", "text": "We adopted a puppy named Biscuit!"},
            {"speaker": "Ben", "dia_id": "D1:4", "text": "Lovely. I play the guitar in a band."},
        ],
        "session_2_date_time": "6:30 pm on 20 April, 2023",
        "session_2": [
            {"speaker": "Ben", "dia_id": "D2:1", "text": "I started a pottery class in April."},
            {"speaker": "Ana", "dia_id": "D2:2", "text": "Fun! My sister moved to Oslo."},
            {"speaker": "Ben", "dia_id": "D2:3", "text": "The weather was rainy all week."},
        ],
    },
    "qa": [
        {
            "question": "What is the name of Ana's puppy?",
            "answer": "Biscuit",
            "evidence": ["D1:3"],
            "category": 4,
        },
        {
            "question": "When did Ben start the pottery class?",
            "answer": "April 2023",
            "evidence": ["D2:1"],
            "category": 2,
        },
        {
            # The gold answer is not what the conversation says: the judge must mark it wrong.
            "question": "Which instrument does Ben play in a band?",
            "answer": "violin",
            "evidence": ["D1:4"],
            "category": 1,
        },
        {
            "question": "Why did Ana's sister move to Paris?",
            "adversarial_answer": "for work",
            "evidence": ["D2:2"],
            "category": 5,
        },
    ],
}

_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"what", "is", "the", "of", "when", "did", "which", "does", "in", "a", "s", "name"}


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower())) - _STOP


def _text(messages: list[BaseMessage]) -> str:
    return "\n".join(str(m.content) for m in messages)


def scripted_reader(messages: list[BaseMessage]) -> str:
    """Answers with the excerpt sharing most words with the question (so it needs the
    retrieved context), and judges by whether the gold answer's words are in the answer."""
    prompt = _text(messages)
    if "You grade" in prompt:
        gold = re.search(r"Gold answer: (.*)", prompt)
        given = re.search(r"Generated answer: (.*)", prompt)
        assert gold and given
        right = _words(gold.group(1)) <= _words(given.group(1))
        return json.dumps({"reasoning": "compared", "label": "CORRECT" if right else "WRONG"})
    question = re.search(r"Question: (.*)", prompt)
    assert question
    excerpts = re.findall(r"^- (.*)$", prompt, re.MULTILINE)
    best = max(excerpts, key=lambda line: len(_words(line) & _words(question.group(1))))
    return json.dumps({"answer": best})


@pytest.fixture
def locomo_file(tmp_path: Path) -> Path:
    path = tmp_path / "synthetic_locomo.json"
    path.write_text(json.dumps([CONVERSATION]))
    return path


def run_fake_qa(locomo_file: Path, tmp_path: Path, judge: ScriptedChatModel | None = None):
    reader = ScriptedChatModel(script=scripted_reader)
    result = run_qa(
        data=locomo_file,
        json_out=tmp_path / "qa_out.json",
        reports=tmp_path / "reports",
        answer_model=reader,
        judge_model=judge,
        embeddings=DeterministicEmbeddings(64),
        cache_dir=None,
    )
    return result, reader


def test_qa_answers_from_retrieved_turns_and_reports_accuracy(
    locomo_file: Path, tmp_path: Path
) -> None:
    result, reader = run_fake_qa(locomo_file, tmp_path)
    assert isinstance(result, QASummary) and result.status == "completed"
    # the adversarial question has no gold answer: left out
    assert result.questions == len(result.results) == 3
    assert result.accuracy == pytest.approx(66.7)
    assert {n: c.model_dump() for n, c in result.by_category.items()} == {
        "multi-hop": {"questions": 1, "accuracy": 0.0},
        "temporal": {"questions": 1, "accuracy": 100.0},
        "single-hop": {"questions": 1, "accuracy": 100.0},
    }
    # 3 answers + 3 judgements; every answer prompt held the whole (7-turn) conversation
    assert len(reader.calls) == 6
    answer_prompts = [_text(c) for c in reader.calls if "You grade" not in _text(c)]
    assert len(answer_prompts) == 3
    assert all("We adopted a puppy named Biscuit!" in p for p in answer_prompts)
    wrong = next(r for r in result.results if not r.correct)
    assert wrong.gold == "violin" and wrong.predicted and "guitar" in wrong.predicted
    assert (result.no_answer, result.judge_failures) == (0, 0)
    saved = json.loads((tmp_path / "qa_out.json").read_text())
    assert saved["accuracy"] == result.accuracy and saved["status"] == "completed"
    assert saved["by_category"]["temporal"] == {"questions": 1, "accuracy": 100.0}
    assert saved == json.loads((tmp_path / "reports" / "qa.json").read_text())
    assert "| overall | 3 | 66.70 |" in (tmp_path / "reports" / "qa.md").read_text()
    png = (tmp_path / "reports" / "qa.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


def test_qa_counts_an_unusable_judge_as_wrong(locomo_file: Path, tmp_path: Path) -> None:
    junk = ScriptedChatModel(script=lambda messages: "I think it is fine")
    result, _ = run_fake_qa(locomo_file, tmp_path, judge=junk)
    assert isinstance(result, QASummary)
    assert result.judge_failures == 3
    assert result.accuracy == 0.0
    assert all(r.predicted for r in result.results)  # the answers themselves were fine


def test_qa_without_ollama_writes_a_skipped_report(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9"  # the discard port: nothing answers
    result = run_qa(data=None, json_out=tmp_path / "o.json", reports=tmp_path, ollama_url=url)
    assert isinstance(result, QASkipped) and result.status == "skipped"
    assert url in result.reason and "too small" in result.reason
    assert json.loads((tmp_path / "o.json").read_text())["status"] == "skipped"
    assert "Skipped" in (tmp_path / "qa.md").read_text()
    assert not (tmp_path / "qa.png").exists()


# ---- the scenario evaluators can fail -------------------------------------------------------


def test_private_isolation_evaluator_catches_a_leak_and_a_lost_write() -> None:
    leak = private_never_leaks(
        inputs={},
        outputs={"owner_sees": ["get", "list", "search"], "others": {"jordan": ["search"]}},
        reference_outputs={},
    )
    assert leak["score"] < 1.0 and "jordan cannot search" in leak["comment"]
    lost = private_never_leaks(
        inputs={}, outputs={"owner_sees": [], "others": {"jordan": []}}, reference_outputs={}
    )
    assert lost["score"] < 1.0 and "owner" in lost["comment"]


def test_sync_loop_evaluator_catches_an_endless_chain() -> None:
    chain = [
        {"target": t, "status": "copied", "reason": None, "hops": h, "confidence": 0.95 * 0.9**h}
        for h, t in enumerate(["a", "b", "c", "d"], 1)
    ]
    verdict = sync_loops_stop(
        inputs={},
        outputs={
            "there": "copied",
            "back": {"status": "copied", "reason": None},
            "chain": chain,
            "sync_messages": 5,
            "origin_confidence": 0.95,
            "decay": 0.9,
            "floor": 0.7,
        },
        reference_outputs={"max_hops": 3, "stops_at": "below floor"},
    )
    assert verdict["score"] < 1.0
    assert (
        "not synced back" in verdict["comment"] and "the chain copies 2 hops" in verdict["comment"]
    )
    assert "at or above the floor" in verdict["comment"] and "then stops" in verdict["comment"]


def test_sync_loop_evaluator_follows_the_floor_rule() -> None:
    """0.95 x 0.9^3 < 0.7: two hops are copied, the third is refused below the floor."""
    assert expected_chain(0.95, 0.9, 0.7, 3) == (2, "below floor")
    assert expected_chain(0.95, 0.9, 0.7, 1) == (1, "max hops")
    assert expected_chain(1.0, 1.0, 0.7, 3) == (3, "max hops")
    chain = [
        {"target": "a", "status": "copied", "reason": None, "hops": 1, "confidence": 0.855},
        {"target": "b", "status": "copied", "reason": None, "hops": 2, "confidence": 0.7695},
        {
            "target": "c",
            "status": "skipped",
            "reason": "below floor",
            "hops": None,
            "confidence": None,
        },
    ]
    outputs = {
        "there": "copied",
        "back": {"status": "skipped", "reason": "origin"},
        "chain": chain,
        "sync_messages": 3,
        "origin_confidence": 0.95,
        "decay": 0.9,
        "floor": 0.7,
    }
    reference = {"max_hops": 3, "stops_at": "below floor"}
    verdict = sync_loops_stop(inputs={}, outputs=outputs, reference_outputs=reference)
    assert verdict["score"] == 1.0, verdict["comment"]
    stopped_at_max_hops = [*chain[:2], {**chain[2], "reason": "max hops"}]
    verdict = sync_loops_stop(
        inputs={}, outputs={**outputs, "chain": stopped_at_max_hops}, reference_outputs=reference
    )
    assert verdict["score"] < 1.0 and "then stops" in verdict["comment"]


@pytest.mark.integration
def test_grounding_quick(tmp_path: Path) -> None:
    """The grounding suite end to end on the real embedder (no chat model: composed texts)."""
    result, reports = run_suite(tmp_path, "grounding", "--quick", "--llm", "none")
    assert result["suite"] == "grounding" and result["chat_turns"] == 5
    # every text the user sees is checked: each chat reply, the team's reply and each
    # specialist's findings (the two specialists the demo request routes to)
    assert result["by_kind"]["chat reply"] == 5 and result["by_kind"]["synthesis"] == 1
    assert result["by_kind"]["findings"] == 2
    assert result["texts"] == sum(result["by_kind"].values())
    assert result["invented"] == 0
    assert_reports(reports, "grounding.json", "grounding.md", "grounding.png")


@pytest.mark.integration
def test_bench_hotpath_quick(tmp_path: Path) -> None:
    result, reports = run_suite(
        tmp_path,
        "bench-hotpath",
        "--sizes",
        "200",
        "--systems",
        "floor,floor-dense,faiss,inmemory,mem0",
        "--queries",
        "5",
        "--adds",
        "3",
    )
    (size,) = result["sizes"]
    assert size["size"] == 200
    assert {"floor", "floor-dense", "faiss", "inmemory", "store (one namespace)"} <= set(
        size["series"]
    )
    for series in size["series"].values():
        assert series["runs"] >= 5 and 0 < series["p50_ms"] <= series["p95_ms"]
    assert size["embeds_per_search"] == 1.0  # the embedded model runs once per search
    assert result["embeds_per_add"] == 1.0 and result["adds_per_s"] > 0
    if "mem0" not in size["series"]:
        assert any("mem0" in note for note in result["notes"])
    assert_reports(reports, "hotpath.json", "hotpath.md", "hotpath.png")
    assert "| faiss |" in (reports / "hotpath.md").read_text()


def test_a_scenario_checks_the_reply_its_user_saw_when_a_model_drafts(tmp_path: Path) -> None:
    from evals.grounding import invented
    from evals.scenarios import ScenarioCase, chat, run_case
    from nodes.services import Services

    draft = "Customer #4242 prefers fax, and order ORD-9 ships today."
    model = ScriptedChatModel(script=lambda messages: draft)
    said = "Remember that customer #4242 prefers email."

    def act(app: Any, inputs: Any) -> dict[str, Any]:
        services = Services(
            data_dir=app.data_dir, chat_model=model, embeddings=app.services.router_embeddings()
        )
        return {"reply": chat(app, "alex", "t-draft", inputs["text"], services=services)["reply"]}

    def evaluator(**_: Any) -> dict[str, Any]:
        return {"key": "ran", "score": 1.0, "comment": "ran"}

    case = ScenarioCase("draft", "a drafted reply", {"text": said}, {}, act, evaluator)
    result = run_case(case, tmp_path, DeterministicEmbeddings(64))
    assert model.calls and result.replies == 1
    # the draft invents a channel and an order: had it been shown, it would count
    assert invented(draft, [said])
    # grounding replaced it, and the reply shown is what the scenario checked
    assert "ORD-9" not in result.outputs["reply"] and result.invented == []


def test_the_scenarios_summary_counts_what_its_cases_scored(tmp_path: Path) -> None:
    """Three scripted cases (a pass, a half pass, one that raises): the typed summary, its
    JSON, its markdown and its plot say what each scored."""
    from evals.scenarios import ScenarioCase, run_scenarios

    def act(app: Any, inputs: Any) -> dict[str, Any]:
        if inputs.get("fail"):
            raise RuntimeError("the case broke")
        return {"seen": inputs["score"]}

    def evaluator(*, inputs: Any, outputs: Any, reference_outputs: Any) -> dict[str, Any]:
        return {"key": "scripted", "score": outputs["seen"], "comment": f"saw {outputs['seen']}"}

    cases = [
        ScenarioCase("whole", "passes", {"score": 1.0}, {}, act, evaluator),
        ScenarioCase("half", "half its checks", {"score": 0.5}, {}, act, evaluator),
        ScenarioCase("broken", "raises", {"fail": True}, {}, act, evaluator),
    ]
    summary = run_scenarios(
        json_out=tmp_path / "out.json",
        reports=tmp_path,
        embeddings=DeterministicEmbeddings(64),
        cases=cases,
    )
    assert [(c.name, c.score, c.passed) for c in summary.cases] == [
        ("whole", 1.0, True),
        ("half", 0.5, False),
        ("broken", 0.0, False),
    ]
    assert "the case broke" in summary.cases[2].comment
    totals = summary.totals
    assert (totals.cases, totals.passed, totals.failed, totals.mean_score) == (3, 1, 2, 0.5)
    assert totals.replies == totals.invented_claims == 0
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["totals"] == totals.model_dump() and written["suite"] == "scenarios"
    assert [c["score"] for c in written["cases"]] == [1.0, 0.5, 0.0]
    markdown = (tmp_path / "scenarios.md").read_text()
    assert "1/3 cases pass (mean score 0.50)" in markdown and "| half | FAIL | 0.50 |" in markdown
    png = (tmp_path / "scenarios.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


def test_the_scenarios_plot_counts_cases_per_family() -> None:
    from evals.scenarios import case_family

    assert case_family("poison_policy_10") == case_family("poison_policy_3") == "poison_policy"
    assert case_family("sync_loop") == "sync_loop" and case_family("small_talk_2") == "small_talk"
