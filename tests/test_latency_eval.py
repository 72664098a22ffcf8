"""The latency eval runs end to end on a tiny store and writes its reports (no timings asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.latency import METRICS, PoolEmbeddings, run_latency
from tests.fakes import DeterministicEmbeddings


def test_tiny_run_writes_json_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    reports = tmp_path / "reports"
    summary = run_latency(
        sizes=[50],
        backends=["faiss", "inmemory"],
        queries=5,
        json_out=out,
        reports=reports,
        embeddings=DeterministicEmbeddings(),
    )
    written = json.loads(out.read_text())
    assert written == json.loads((reports / "latency.json").read_text())
    assert (reports / "latency.md").read_text().startswith("# Latency")
    png = (reports / "latency.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    for metric in METRICS:
        for backend in ("faiss", "inmemory"):
            series = summary.metrics_ms[metric][backend][50]
            assert 0 < series.p50 <= series.p95
            assert series.runs == 5
            assert written["metrics_ms"][metric][backend]["50"] == {
                "p50": series.p50,
                "p95": series.p95,
                "runs": 5,
            }
        ratio = summary.ratios[metric]["inmemory_over_faiss"][50]
        expected = (
            summary.metrics_ms[metric]["inmemory"][50].p50
            / summary.metrics_ms[metric]["faiss"][50].p50
        )
        assert ratio == pytest.approx(expected)
        assert written["ratios"][metric]["inmemory_over_faiss"]["50"] == ratio
    assert (
        summary.settings.embeddings == written["settings"]["embeddings"] == "test-hash-embeddings"
    )
    assert summary.settings.pool_sentences == 50
    assert written["seed_ms"] == {"lookup": 50.0, "context": 150.0, "sync_per_message": 30.0}
    assert written["machine"]["cpus"] == summary.machine.cpus


def test_pool_embeddings_call_the_model_only_for_unseen_texts() -> None:
    inner = DeterministicEmbeddings()
    cached = {"known": [1.0] + [0.0] * 63}
    embedder = PoolEmbeddings(inner, cached, dims=64)
    vectors = embedder.embed_documents(["known", "new text", "known"])
    assert vectors[0] == vectors[2] == cached["known"]
    assert vectors[1] == inner.embed_query("new text")
    assert embedder.embed_query("another") == inner.embed_query("another")
    assert embedder.misses == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sizes": [0]}, "sizes"),
        ({"backends": ["redis"]}, "unknown backends"),
        ({"queries": 0}, "queries"),
    ],
)
def test_bad_arguments_are_named(tmp_path: Path, kwargs: dict, message: str) -> None:
    args: dict = {"sizes": [10], "backends": ["faiss"], "queries": 3}
    with pytest.raises(ValueError, match=message):
        run_latency(
            **{**args, **kwargs},
            json_out=None,
            reports=tmp_path,
            embeddings=DeterministicEmbeddings(),
        )
