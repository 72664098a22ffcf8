"""The index-scale eval runs end to end on a tiny HNSW index and writes its reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evals.cli import app
from evals.index_scale import (
    CASE_SHARE,
    CASES,
    IndexScaleReport,
    exact_top_k,
    namespace_plan,
    parse_dims,
    recall,
    run_index_scale,
)


def test_tiny_run_writes_json_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    reports = tmp_path / "reports"
    report = run_index_scale(
        sizes=[3000],
        dims=[16],
        queries=20,
        json_out=out,
        reports=reports,
        hnsw_threshold=1000,
        exact_limit=100,
    )
    data = json.loads(out.read_text())
    assert data == json.loads((reports / "index_scale.json").read_text())
    assert IndexScaleReport.model_validate(data) == report
    assert (reports / "index_scale.md").read_text().startswith("# FAISS index at scale")
    assert (reports / "index_scale.png").stat().st_size > 0

    (size,) = report.sizes
    assert (size.size, size.dims, size.kind) == (3000, 16, "hnsw")
    assert size.index_bytes > 3000 * 16 * 4  # vectors plus the graph
    by_case = {c.case: c for c in size.cases}
    assert list(by_case) == list(CASES)
    assert by_case["unrestricted"].matching == 3000
    assert by_case["large"].matching == 1200
    assert by_case["medium"].matching == 300
    assert by_case["small"].matching == 15
    # 300 vectors > exact_limit but < 20%: exact; 1200 = 40%: HNSW with a filter.
    assert by_case["small"].path == by_case["medium"].path == "exact-subset"
    assert by_case["large"].path == "hnsw-filtered"
    assert by_case["unrestricted"].path == "hnsw"
    for case in size.cases:
        assert 0.0 <= case.recall_at_10_min <= case.recall_at_10_mean <= 1.0
        assert case.short_results == 0
        assert 0 < case.latency.p50_ms <= case.latency.p95_ms
    # Exact paths are exact.
    assert by_case["small"].recall_at_10_min == by_case["medium"].recall_at_10_min == 1.0


def test_cli_rejects_mismatched_dims(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["index-scale", "--sizes", "1000,2000", "--dims", "16,16,16", "--reports", "x"]
    )
    assert result.exit_code == 2
    assert "3 values for 2 sizes" in result.output


def test_parse_dims() -> None:
    assert parse_dims("384", [10, 20]) == [384, 384]
    assert parse_dims("384,64", [10, 20]) == [384, 64]
    with pytest.raises(ValueError, match="integers"):
        parse_dims("big", [10])


def test_namespace_plan_has_the_case_shares() -> None:
    names, ids = namespace_plan(20_000, np.random.default_rng(0))
    counts = np.bincount(ids, minlength=len(names))
    assert counts.sum() == 20_000
    assert counts[0] == 20_000 * CASE_SHARE["large"]
    assert counts[1] == 20_000 * CASE_SHARE["medium"]
    assert counts[2] == 20_000 * CASE_SHARE["small"]
    assert names[:3] == ["team.t.shared.", "team.t.agent.a0.", "team.t.agent.a1."]


def test_exact_top_k_matches_a_full_sort_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("evals.index_scale.BRUTE_FORCE_CHUNK", 37)
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((200, 8)).astype(np.float32)
    queries = rng.standard_normal((5, 8)).astype(np.float32)
    mask = rng.random(200) < 0.3
    few = np.zeros(200, dtype=bool)
    few[[3, 150]] = True
    truth = exact_top_k(vectors, queries, {"large": mask, "small": few}, 10)
    scores = queries @ vectors.T
    for q in range(5):
        allowed = np.flatnonzero(mask)
        expected = allowed[np.argsort(-scores[q, allowed])[:10]]
        assert set(truth["large"][q].tolist()) == set(expected.tolist())
        assert set(truth["small"][q].tolist()) - {-1} == {3, 150}


def test_recall_counts_the_overlap() -> None:
    assert recall([1, 2, 3], np.array([3, 2, 9])) == pytest.approx(2 / 3)
    assert recall([], np.array([-1, -1])) == 1.0


def test_quantized_tier_is_measured_and_recalls_well(tmp_path: Path) -> None:
    report = run_index_scale(
        sizes=[3000],
        dims=[16],
        queries=20,
        json_out=None,
        reports=tmp_path,
        quantize_threshold=1000,
        exact_limit=100,
    )
    (size,) = report.sizes
    by_case = {c.case: c for c in size.cases}
    assert size.kind == "sq8"
    assert by_case["unrestricted"].path == "sq8"
    assert by_case["large"].path == "sq8-filtered"
    # candidates re-scored exactly: the 8-bit scan costs little recall
    assert by_case["unrestricted"].recall_at_10_mean >= 0.9
    assert all(c.short_results == 0 for c in size.cases)
