"""The LoCoMo retrieval metric and a small end-to-end run, on a synthetic conversation.

The conversation below is written for these tests (no LoCoMo text): two sessions between
Ana and Ben, with questions of every category, malformed evidence ids and one question
without evidence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.cli import app
from evals.locomo.ablation import (
    AblationStep,
    ablation_section,
    command_for,
    measured,
    plot_ablation,
)
from evals.locomo.cache import CachedEmbeddings
from evals.locomo.memory_mode import MemoryIndex, MemoryModeConfig
from evals.locomo.scoring import ScoredRun, evaluate, select
from evals.locomo.suite import run_locomo
from evals.locomo.turns import (
    TurnIndex,
    TurnsConfig,
    render_turn,
    rewrite_query,
    turns_builder,
    window_of,
)
from evals.locomo_data import (
    QuestionResult,
    RecallTable,
    aggregate,
    load_locomo,
    normalize_evidence,
    parse_sample,
    recall_at,
)
from tests.fakes import DeterministicEmbeddings

SESSION_1 = [
    ("Ana", "Morning Ben! I finally adopted a grey kitten from the shelter."),
    ("Ben", "No way, congratulations! What did you name the kitten?"),
    ("Ana", "We called her Pepper because of her speckled fur."),
    ("Ben", "Lovely. I started training for the harbour marathon in October."),
    ("Ana", "That sounds exhausting. How far do you run each week?"),
    ("Ben", "About forty kilometres, mostly along the river path."),
    ("Ana", "My sister Lucia is visiting from Lisbon next month."),
    ("Ben", "Tell her to try the bakery on Quay Street, their cinnamon rolls are famous."),
]
SESSION_2 = [
    ("Ben", "I finished the marathon in three hours and fifty minutes!"),
    ("Ana", "Amazing! Pepper says congratulations too."),
    ("Ben", "Ha. Did Lucia enjoy her stay?"),
    ("Ana", "She loved the cinnamon rolls and bought a painting of the lighthouse."),
    ("Ben", "I am thinking about learning the cello this winter."),
    ("Ana", "My neighbour teaches cello lessons on Saturdays, I can introduce you."),
]


def turns(session: int, lines: list[tuple[str, str]]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for number, (speaker, text) in enumerate(lines, start=1):
        turn: dict[str, object] = {
            "speaker": speaker,
            "dia_id": f"D{session}:{number}",
            "text": text,
        }
        if (session, number) == (2, 4):
            turn["blip_caption"] = "a photo of a painting of a lighthouse at sunset"
        out.append(turn)
    return out


def sample() -> dict[str, object]:
    return {
        "sample_id": "synthetic-1",
        "conversation": {
            "speaker_a": "Ana",
            "speaker_b": "Ben",
            "session_1_date_time": "9:00 am on 3 March, 2024",
            "session_1": turns(1, SESSION_1),
            "session_2_date_time": "6:30 pm on 20 April, 2024",
            "session_2": turns(2, SESSION_2),
        },
        "qa": [
            {
                "question": "What is the name of Ana's kitten?",
                "answer": "Pepper",
                "evidence": ["D1:3"],
                "category": 4,
            },
            {
                "question": "How long did Ben take to finish the marathon?",
                "answer": "3h50",
                "evidence": ["D1:4; D2:1"],
                "category": 1,
            },
            {
                "question": "What did Lucia buy on her visit?",
                "answer": "a painting",
                "evidence": ["D2:4", "D"],
                "category": 2,
            },
            {
                "question": "Who teaches cello lessons?",
                "answer": "Ana's neighbour",
                "evidence": ["D:2:6"],
                "category": 5,
                "adversarial_answer": "Ben",
            },
            {
                "question": "Would Ana enjoy a quiet evening?",
                "answer": 1,
                "evidence": [],
                "category": 3,
            },
        ],
        # Annotations are never indexed; their text must not matter.
        "observation": {"session_1_observation": "IGNORED"},
        "session_summary": {"session_1_summary": "IGNORED"},
        "event_summary": {},
    }


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "locomo_synthetic.json"
    path.write_text(json.dumps([sample()]))
    return path


# ---- the metric -----------------------------------------------------------------------------


def test_recall_is_the_share_of_evidence_in_the_top_k() -> None:
    retrieved = ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2"]
    assert recall_at(retrieved, ["D1:2", "D2:2"], 5) == 1.0
    assert recall_at(retrieved, ["D1:2", "D2:2"], 3) == 0.5
    assert recall_at(retrieved, ["D1:2", "D2:2", "D9:9"], 5) == pytest.approx(2 / 3)
    assert recall_at(retrieved, ["D3:1"], 5) == 0.0


def test_a_question_without_evidence_counts_as_fully_recalled() -> None:
    assert recall_at([], [], 5) == 1.0
    assert recall_at(["D1:1"], (), 1) == 1.0


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        recall_at(["D1:1"], ["D1:1"], 0)


def test_malformed_evidence_is_split_repaired_and_pruned() -> None:
    known = {"D1:3", "D1:5", "D11:26", "D2:4"}
    fix = normalize_evidence(["D1:3;D1:5", " D:11:26 ", "D", "D2:4", "D2:4", "D7:1"], known)
    assert fix.ids == ("D1:3", "D1:5", "D11:26", "D2:4")
    assert any("'D'" in r and "unparseable" in r for r in fix.repairs)
    assert any("D7:1" in r and "no such turn" in r for r in fix.repairs)
    assert normalize_evidence(["D1:3 D1:5", "D1 : 3"], known).ids == ("D1:3", "D1:5")
    assert normalize_evidence(["D2:4"], known).repairs == ()


def test_parsing_normalises_evidence_and_reads_turns_in_session_order() -> None:
    conversation = parse_sample(sample())
    assert [t.dia_id for t in conversation.turns][:2] == ["D1:1", "D1:2"]
    assert len(conversation.turns) == len(SESSION_1) + len(SESSION_2)
    assert conversation.turns[-3].caption == "a photo of a painting of a lighthouse at sunset"
    assert conversation.turns[0].date_time == "9:00 am on 3 March, 2024"
    evidence = [q.evidence for q in conversation.questions]
    assert evidence == [("D1:3",), ("D1:4", "D2:1"), ("D2:4",), ("D2:6",), ()]
    assert len(conversation.evidence_repairs) == 4
    assert conversation.questions[3].category_name == "adversarial"


def test_a_malformed_sample_is_reported_by_name(tmp_path: Path) -> None:
    broken = sample()
    del broken["qa"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps([broken]))
    with pytest.raises(ValueError, match=r"sample 0: missing key 'qa'"):
        load_locomo(path)
    with pytest.raises(ValueError, match="not found"):
        load_locomo(tmp_path / "absent.json")


def test_aggregation_averages_overall_and_per_category_in_percent() -> None:
    results = [
        QuestionResult(category=1, recall={5: 0.5, 10: 1.0}),
        QuestionResult(category=1, recall={5: 0.0, 10: 0.5}),
        QuestionResult(category=2, recall={5: 1.0, 10: 1.0}),
    ]
    table = aggregate(results, ks=(5, 10))
    assert table.recall_at == {"5": pytest.approx(50.0), "10": pytest.approx(250 / 3)}
    assert table.by_category == {
        "multi-hop": {"5": pytest.approx(25.0), "10": pytest.approx(75.0)},
        "temporal": {"5": pytest.approx(100.0), "10": pytest.approx(100.0)},
    }
    assert table.questions_by_category == {"multi-hop": 2, "temporal": 1}
    assert table.questions == 3


# ---- units and queries ------------------------------------------------------------------------


def test_a_unit_renders_date_speaker_text_and_caption() -> None:
    turn = parse_sample(sample()).turns[-3]
    text = render_turn(turn, TurnsConfig())
    assert text.startswith("[20 April 2024] Ana: She loved the cinnamon rolls")
    assert text.endswith("[shares a photo of a painting of a lighthouse at sunset]")
    bare = TurnsConfig(speaker=False, date=False, caption=False)
    assert render_turn(turn, bare) == turn.text


def test_windows_stop_at_session_boundaries() -> None:
    conversation = parse_sample(sample())
    last_of_first = len(SESSION_1) - 1
    assert list(window_of(conversation, last_of_first, 1)) == [last_of_first - 1, last_of_first]
    assert list(window_of(conversation, 2, 2)) == [0, 1, 2, 3, 4]


def test_query_stripping_keeps_the_topic_words_and_month_names() -> None:
    assert rewrite_query("What did Ana do in May 2024?", "strip") == "Ana May 2024"
    assert rewrite_query("What is it?", "strip") == "What is it?"  # nothing left: unchanged
    assert rewrite_query("What is it?", "none") == "What is it?"


def test_the_command_of_a_config_names_only_what_differs_from_the_default() -> None:
    assert command_for(TurnsConfig()) == "python -m evals locomo --mode turns"
    command = command_for(TurnsConfig(retriever="bm25", date=False, rrf_k=60))
    assert command == "python -m evals locomo --mode turns --retriever bm25 --no-date --rrf-k 60"


# ---- end to end -------------------------------------------------------------------------------


def test_turns_mode_finds_the_evidence_turns(tmp_path: Path) -> None:
    conversation = parse_sample(sample())
    plain = TurnsConfig(window=0, neighbour_weight=0.0)
    index = TurnIndex.build(conversation, plain, DeterministicEmbeddings(), tmp_path / "s")
    try:
        assert index.rank("Pepper and her speckled fur", 1) == ["D1:3"]
        assert "D2:6" in index.rank("Who teaches cello lessons?", 3)
        everything = index.rank("cello", 100)
        assert sorted(everything) == sorted(t.dia_id for t in conversation.turns)
    finally:
        index.close()


def test_neighbours_receive_a_share_of_a_turns_score(tmp_path: Path) -> None:
    conversation = parse_sample(sample())
    question = "What did you name the kitten?"
    scores = {}
    for weight in (0.0, 0.3):
        config = TurnsConfig(window=0, neighbour_weight=weight)
        index = TurnIndex.build(
            conversation, config, DeterministicEmbeddings(), tmp_path / f"{weight}"
        )
        scores[weight] = index.scores(question)
        index.close()
    plain, spread = scores[0.0], scores[0.3]
    expected = plain["D1:3"] + 0.3 * (plain["D1:2"] + plain["D1:4"])
    assert spread["D1:3"] == pytest.approx(expected)
    # The last turn of session 1 has no neighbour in session 2.
    assert spread["D1:8"] == pytest.approx(plain["D1:8"] + 0.3 * plain["D1:7"])


def test_turns_mode_scores_every_question_and_category(tmp_path: Path) -> None:
    conversation = parse_sample(sample())
    run = evaluate([conversation], turns_builder(TurnsConfig(), DeterministicEmbeddings()))
    table = run.table
    assert table.questions == 5
    assert set(table.by_category) == {
        "multi-hop",
        "temporal",
        "open-domain",
        "single-hop",
        "adversarial",
    }
    assert table.by_category["open-domain"]["5"] == 100.0  # no evidence
    assert table.recall_at["50"] == 100.0  # 14 turns: k = 50 retrieves them all
    assert table.recall_at["5"] >= 60.0


def test_quick_takes_the_first_conversation_with_questions_of_every_category() -> None:
    many = sample()
    many["qa"] = [
        {**question, "question": f"{question['question']} ({n})"}
        for question in many["qa"]  # type: ignore[attr-defined]
        for n in range(30)
    ]  # grouped by category, as LoCoMo lists them
    conversations = [parse_sample(many), parse_sample(sample())]
    (quick,) = select(conversations, quick=True)
    assert len(quick.questions) == 60
    assert {q.category for q in quick.questions} == {1, 2, 3, 4, 5}
    assert len(set(quick.questions)) == 60
    assert select(conversations, quick=False) == conversations


def test_memory_mode_maps_memories_back_to_their_turns(tmp_path: Path) -> None:
    conversation = parse_sample(sample())
    index = MemoryIndex.build(
        conversation, MemoryModeConfig(), DeterministicEmbeddings(), tmp_path / "m"
    )
    try:
        everything = index.rank("cello lessons neighbour", 100)
        # Turns without an extracted memory are stored verbatim: every turn is reachable.
        assert sorted(everything) == sorted(t.dia_id for t in conversation.turns)
        assert index.raw_memories + index.extracted_turns >= len(conversation.turns)
        assert "D2:6" in index.rank("Who teaches cello lessons on Saturdays?", 3)
    finally:
        index.close()


def test_run_writes_json_report_and_plot(data_file: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    out = tmp_path / "locomo.json"
    result = run_locomo(
        data=data_file,
        embeddings=DeterministicEmbeddings(),
        cache_dir=tmp_path / "cache",
        json_out=out,
        reports=reports,
    )
    written = json.loads(out.read_text())
    assert set(written["recall_at"]) == {"5", "10", "25", "50"}
    assert written["recall_at"] == result["recall_at"]
    assert written["by_category"]["adversarial"]["50"] == 100.0
    assert written["evidence_repairs"]["synthetic-1"]
    report = (reports / "locomo_turns.md").read_text()
    assert "DRAGON" in report and "| multi-hop |" in report
    assert (reports / "locomo_turns.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class CountingEmbeddings(DeterministicEmbeddings):
    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += texts
        return super().embed_documents(texts)


def test_the_embedding_cache_embeds_each_text_once_across_instances(tmp_path: Path) -> None:
    inner = CountingEmbeddings()
    first = CachedEmbeddings(inner, tmp_path)
    vectors = first.embed_documents(["a kitten", "a marathon", "a kitten"])
    first.close()
    second = CachedEmbeddings(inner, tmp_path)
    again = second.embed_documents(["a marathon", "a kitten"])
    assert second.embed_query("a kitten") == again[1]
    second.close()
    assert inner.embedded == ["a kitten", "a marathon"]
    assert again == [vectors[1], vectors[0]]
    assert first.model_name == inner.model_name and first.dims == inner.dims


def test_cli_reports_a_missing_data_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["locomo", "--data", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "LoCoMo data file not found" in result.output


def _run(r10: float) -> ScoredRun:
    recall = {"5": r10 - 10, "10": r10, "25": r10 + 5, "50": r10 + 8}
    table = RecallTable(recall_at=recall, by_category={}, questions=1)
    return ScoredRun(table=table, results=[], seconds=0.0)


def test_the_ablation_tables_measure_steps_against_the_row_above_and_variants_the_default(
    tmp_path: Path,
) -> None:
    start = AblationStep("hybrid", "plain", TurnsConfig(window=0), kept=True)
    best = AblationStep("+window=2", "window", TurnsConfig(), kept=True)
    variant = AblationStep("rrf_k=60", "usual k", TurnsConfig(rrf_k=60), kept=False)
    measured_steps = [
        measured(start, _run(60.0)),
        measured(best, _run(75.0)),
        measured(variant, _run(72.5)),
    ]
    text = "\n".join(ablation_section(measured_steps))
    assert "| +window=2 | window | 65.00 | 75.00 | 80.00 | 83.00 | +15.0 |" in text
    assert "| rrf_k=60 | usual k | 62.50 | 72.50 | 77.50 | 80.50 | -2.5 |" in text
    assert "`python -m evals locomo --mode turns --rrf-k 60`" in text
    assert "largest first: +window=2 +15.0." in text
    png = plot_ablation(tmp_path / "ablation.png", measured_steps).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


def test_an_ablation_run_reports_every_step_and_plots_them(data_file: Path, tmp_path: Path) -> None:
    from evals.locomo.ablation import ABLATION, DEFAULT_COMMAND

    reports = tmp_path / "reports"
    result = run_locomo(
        data=data_file,
        ablation=True,
        embeddings=DeterministicEmbeddings(),
        cache_dir=tmp_path / "cache",
        reports=reports,
    )
    steps = result["ablation"]
    assert isinstance(steps, list) and [s["step"] for s in steps] == [s.name for s in ABLATION]
    default = next(s for s in steps if s["command"] == DEFAULT_COMMAND)
    assert default["recall_at"] == result["recall_at"]  # the default step is the main run
    markdown = (reports / "locomo_turns.md").read_text()
    assert "## Ablation: what helped" in markdown and "(locomo_turns_ablation.png)" in markdown
    png = (reports / "locomo_turns_ablation.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
