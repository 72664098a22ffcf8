"""bench-hotpath on tiny stores with the deterministic embedder: the typed summary, its JSON
and its markdown show what was measured (no timings asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.hotpath import FLOOR, PRODUCT, STORE_ONE, STORE_TEAM, UNCACHED, run_hotpath
from tests.fakes import DeterministicEmbeddings


def test_a_tiny_run_reports_every_series_it_timed(tmp_path: Path) -> None:
    out, reports = tmp_path / "out.json", tmp_path / "reports"
    summary = run_hotpath(
        sizes=[40],
        systems=[FLOOR, PRODUCT, "inmemory"],
        queries=5,
        adds=2,
        budget_s=30.0,
        json_out=out,
        reports=reports,
        embedder_factory=lambda: DeterministicEmbeddings(64),
    )
    (size,) = summary.sizes
    assert size.size == 40
    assert set(size.series) == {FLOOR, PRODUCT, UNCACHED, "inmemory", STORE_ONE, STORE_TEAM}
    for series in size.series.values():
        assert series.runs == 5 and 0 < series.p50_ms <= series.p95_ms
    # the fake embedder counts no model runs: the figure is absent, not invented
    assert size.embeds_per_search is None and summary.embeds_per_add is None
    assert summary.adds_per_s is not None and summary.adds_per_s > 0 and summary.add_size == 40
    assert summary.settings.queries == 5 and summary.settings.embeddings == "test-hash-embeddings"
    ratio = summary.ratio(size, PRODUCT, FLOOR)
    assert ratio == pytest.approx(size.series[PRODUCT].p50_ms / size.series[FLOOR].p50_ms)
    written = json.loads(out.read_text())
    assert written == json.loads((reports / "hotpath.json").read_text())
    assert written["sizes"][0]["series"][PRODUCT]["p50_ms"] == size.series[PRODUCT].p50_ms
    assert written["settings"]["systems"] == [FLOOR, PRODUCT, "inmemory"]
    markdown = (reports / "hotpath.md").read_text()
    assert f"| this project / floor | {ratio:.2f} |" in markdown
    uncached = summary.ratio(size, UNCACHED, FLOOR)
    assert uncached is not None and f"| no row cache / floor | {uncached:.2f} |" in markdown
    png = (reports / "hotpath.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
