"""The models eval's own logic (its figures come from real models, run by hand)."""

from __future__ import annotations

from typer.testing import CliRunner

from evals.cli import app
from evals.models import ROUTING_SET, spread
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
