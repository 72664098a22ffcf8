"""The models eval's own logic (its figures come from real models, run by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from typer.testing import CliRunner

from evals.cli import app
from evals.models import ROUTING_SET, CallTimer, ModelRun, _summary, _write, spread
from teams.support.team import SUPPORT_TEAM


def test_spread_takes_items_evenly_and_all_when_asked_for_more() -> None:
    assert spread(list(range(10)), 3) == [0, 3, 6]
    assert spread([1, 2], 5) == [1, 2]
    assert spread([], 2) == []
    assert spread([1, 2], 0) == []


def test_the_routing_set_is_labeled_with_real_specialists_and_is_not_the_examples() -> None:
    ids = {a.name for a in SUPPORT_TEAM.specialists}
    assert all(expected and expected <= ids for _, expected in ROUTING_SET)
    shown = {example.request for example in SUPPORT_TEAM.routing_examples}
    assert not shown & {request for request, _ in ROUTING_SET}


def test_an_unknown_model_name_is_refused_before_anything_loads() -> None:
    result = CliRunner().invoke(app, ["models", "--models", "smollm2,llama-70b"])
    assert result.exit_code == 2
    assert "must be one of smollm2, qwen-0.5b, qwen-1.5b; got 'llama-70b'" in result.output


def test_a_run_is_summarised_and_written_as_every_suite_writes_its_report(
    tmp_path: Path,
) -> None:
    run = ModelRun(
        name="smollm2",
        model=cast(Any, None),  # the figures read what the run recorded, not the model
        app=cast(Any, None),
        timer=CallTimer(seconds=[1.0, 3.0, 2.0], tokens=[10, 30, 20]),
        load_s=0.5,
        routing=[
            {
                "request": "r1",
                "expected": ["sam"],
                "proposed": ["sam"],
                "right": True,
                "seconds": 1,
            },
            {"request": "r2", "expected": ["sam"], "proposed": None, "right": False, "seconds": 3},
        ],
        demo_s=12.5,
    )
    summary = _summary([run], utterances=[], turns=[], total=20.0)
    figures = summary.models["smollm2"]
    assert (figures.routing_right, figures.routing_valid, figures.routing_total) == (1, 1, 2)
    assert figures.routing_s_per_call == 2.0 and figures.s_per_call_median == 2.0
    assert figures.tokens_per_s == 10.0 and figures.calls == 3 and figures.demo_s == 12.5

    _write(summary, tmp_path / "out.json", tmp_path / "reports")
    written = json.loads((tmp_path / "reports" / "models.json").read_text())
    assert written == json.loads((tmp_path / "out.json").read_text())
    assert written["suite"] == "models" and written["models"]["smollm2"]["routing_right"] == 1
    markdown = (tmp_path / "reports" / "models.md").read_text()
    assert "| smollm2 | 1/2 (1 valid) | not run | not run |" in markdown
    assert (tmp_path / "reports" / "models.png").stat().st_size > 0
