"""The store benchmark runs end to end on tiny stores; its typed summary, JSON and markdown
show what it measured (no timings asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import evals.bench_store as bench
from evals.bench_store import Percentiles, run_bench_store


def test_tiny_run_reports_what_it_measured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the embedded model's own latency is not what this test is about
    monkeypatch.setattr(bench, "measure_embed_query", lambda notes: Percentiles(p50=3, p95=4))
    out, reports = tmp_path / "out.json", tmp_path / "reports"
    summary = run_bench_store(
        sizes=[120, 60], backends=["faiss", "inmemory"], queries=10, json_out=out, reports=reports
    )
    assert set(summary.results) == {"faiss", "inmemory"}
    written = json.loads(out.read_text())
    assert written == json.loads((reports / "bench_store.json").read_text())
    assert "results" not in written  # the JSON holds the views, not the raw series twice
    for name, sizes in summary.results.items():
        assert list(sizes) == [60, 120]
        for size, result in sizes.items():
            key = str(size)
            assert result.search.queries == result.search_namespace.queries == 10
            assert 0 < result.search.p50 <= result.search.p95
            assert result.search.recall == pytest.approx(1.0)  # exact search at this size
            assert written["search_ms"][name][key] == {
                "p50": result.search.p50,
                "p95": result.search.p95,
            }
            assert written["search_ms_namespace"][name][key]["p50"] == result.search_namespace.p50
            assert written["put_per_s"][name][key] == result.put_per_s > 0
            assert written["queries_run"][name][key] == {"prefix": 10, "namespace": 10}
            assert written["recall_at_10"][name][key]["prefix"] == result.search.recall
    ratio = summary.ratios["inmemory_over_faiss"][60]
    expected = summary.results["inmemory"][60].search.p50 / summary.results["faiss"][60].search.p50
    assert (
        ratio == pytest.approx(expected) and written["ratios"]["inmemory_over_faiss"]["60"] == ratio
    )
    assert written["embed_query_ms"] == {"p50": 3.0, "p95": 4.0}
    assert (
        written["settings"]["queries"] == 10 and written["machine"]["cpus"] == summary.machine.cpus
    )
    markdown = (reports / "bench_store.md").read_text()
    faiss = summary.results["faiss"][60]
    assert f"| faiss | 60 | {round(faiss.put_per_s)} | {faiss.search.p50:.2f} |" in markdown
    assert "embed_query p50 3.00 ms, p95 4.00 ms." in markdown
    png = (reports / "bench_store.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
