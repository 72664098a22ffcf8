"""The models eval's own logic (its figures come from real models, run by hand)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, cast

from typer.testing import CliRunner

from evals.cli import app
from evals.grounding import TextCheck
from evals.models import (
    ROUTING_SET,
    CallTimer,
    ModelRun,
    RoutedRequest,
    RoutingKind,
    _route,
    _summary,
    _write,
    extraction_sample,
    spread,
)
from nodes.routing import keyword_route
from teams.helpdesk.team import HELPDESK_TEAM
from teams.support.team import SUPPORT_TEAM
from tests.fakes import ScriptedChatModel


def test_spread_takes_items_evenly_and_all_when_asked_for_more() -> None:
    assert spread(list(range(10)), 3) == [0, 3, 6]
    assert spread([1, 2], 5) == [1, 2]
    assert spread([], 2) == []
    assert spread([1, 2], 0) == []


def test_the_routing_set_is_labeled_with_real_specialists_and_is_not_the_examples() -> None:
    for case in ROUTING_SET:
        ids = {a.name for a in case.team.specialists}
        assert case.expected and case.expected <= ids, case.request
        shown = {example.request for example in case.team.routing_examples}
        assert case.request not in shown


def test_the_routing_set_covers_each_kind_on_both_teams() -> None:
    teams = {case.team.name for case in ROUTING_SET}
    assert teams == {SUPPORT_TEAM.name, HELPDESK_TEAM.name}
    assert len(ROUTING_SET) >= 20
    for team in teams:
        kinds = Counter(case.kind for case in ROUTING_SET if case.team.name == team)
        assert set(kinds) == {"one", "other", "both", "neither"}, team
    for case in ROUTING_SET:
        first, second = (a.name for a in case.team.specialists)
        labels = {"one": {first}, "other": {second}, "both": {first, second}}
        if case.kind in labels:
            assert case.expected == labels[case.kind], case.request


def test_neither_requests_use_no_keyword_of_any_specialist() -> None:
    """The keyword router finds no one: only the model can route them."""
    for case in ROUTING_SET:
        hits = keyword_route(case.request, case.team.by_name)
        assert (not hits) == (case.kind == "neither"), (case.request, hits)


def test_the_extraction_sample_holds_facts_to_find_and_utterances_without() -> None:
    sample = extraction_sample(13)
    assert len(sample) == 13
    assert len({u.text for u in sample}) == 13
    assert all(u.split == "test" for u in sample)
    assert sum(len(u.expected) for u in sample) >= 10
    assert sum(not u.expected for u in sample) == 3


def test_an_unknown_model_name_is_refused_before_anything_loads() -> None:
    result = CliRunner().invoke(app, ["models", "--models", "smollm2,llama-70b"])
    assert result.exit_code == 2
    assert "must be one of smollm2, qwen-0.5b, qwen-1.5b; got 'llama-70b'" in result.output


def _check(kind: str, *, drafted: bool, kept: bool, invented: list[str]) -> TextCheck:
    return TextCheck(
        kind=kind,
        agent="alex",
        prompt="p",
        draft="a draft" if drafted else None,
        shown="shown",
        kept=kept,
        kept_claims_only=kept,
        flagged_words=[],
        invented=invented,
        seconds=1.0,
    )


def _routed(
    kind: RoutingKind, right: bool, proposed: list[str] | None, seconds: float
) -> RoutedRequest:
    return RoutedRequest(
        team="support",
        kind=kind,
        request=f"r-{kind}",
        expected=["sam"],
        proposed=proposed,
        right=right,
        keyword=["sam"] if kind != "neither" else [],
        keyword_right=kind != "neither",
        routers=["sam"],
        routers_right=True,
        with_keywords_right=kind != "neither",
        graph_right=True,
        seconds=seconds,
    )


def test_a_run_is_summarised_and_written_as_every_suite_writes_its_report(
    tmp_path: Path,
) -> None:
    def run(name: str, seconds: list[float], demo_s: float) -> ModelRun:
        return ModelRun(
            name=name,  # type: ignore[arg-type]
            model=cast(Any, None),  # the figures read what the run recorded, not the model
            app=cast(Any, None),
            timer=CallTimer(seconds=seconds, tokens=[10] * len(seconds)),
            load_s=0.5,
            routing=[
                _routed("one", True, ["sam"], 1),
                _routed("neither", False, None, 3),
            ],
            demo_texts=[
                _check("synthesis", drafted=True, kept=False, invented=[]),
                _check("findings:sam", drafted=False, kept=False, invented=[]),
            ],
            chat_texts=[
                _check("chat reply", drafted=True, kept=True, invented=["ORD-9"]),
                _check("chat reply", drafted=True, kept=True, invented=[]),
            ],
            demo_s=demo_s,
        )

    runs = [run("smollm2", [1.0, 3.0, 2.0], 10.0), run("qwen-1.5b", [4.0, 8.0, 6.0], 35.0)]
    summary = _summary(runs, utterances=[], turns=[], total=20.0, load=[2.0, 5.5, 3.0])
    small, large = summary.models["smollm2"], summary.models["qwen-1.5b"]
    assert (small.routing_right, small.routing_valid, small.routing_total) == (1, 1, 2)
    assert small.routing_right_by_kind == {"one": "1/1", "neither": "0/1"}
    assert small.routing_with_keywords_right == 1 and summary.routing_keyword_router_right == 1
    assert small.routing_graph_right == 2 and summary.routing_routers_right == 2
    assert small.routing_s_median == 2.0 and small.s_per_call_median == 2.0
    assert (small.drafted, small.kept, small.grounded_rate) == (3, 2, 0.667)
    assert (small.chat_replies_drafted, small.chat_replies_kept) == (2, 2)
    assert small.invented_shown == 1 and small.texts == 4
    assert (large.s_per_call_median_x, large.demo_x) == (3.0, 3.5)
    assert (small.s_per_call_median_x, small.demo_x) == (1.0, 1.0)
    assert summary.baseline == "smollm2"
    assert summary.load_average_1min == {"min": 2.0, "max": 5.5, "samples": 3}

    _write(summary, tmp_path / "out.json", tmp_path / "reports")
    written = json.loads((tmp_path / "reports" / "models.json").read_text())
    assert written == json.loads((tmp_path / "out.json").read_text())
    assert written["suite"] == "models" and written["models"]["smollm2"]["routing_right"] == 1
    first = written["models"]["smollm2"]["routing"][0]
    assert first["kind"] == "one" and first["proposed"] == ["sam"] and first["seconds"] == 1
    assert [c["kind"] for c in written["models"]["smollm2"]["checks"]][:2] == [
        "synthesis",
        "findings:sam",
    ]
    assert written["models"]["smollm2"]["checks"][2]["invented"] == ["ORD-9"]
    assert set(written["extraction_rules_alone"]) == {"precision", "recall", "f1", "tp", "fp", "fn"}
    markdown = (tmp_path / "reports" / "models.md").read_text()
    assert "| smollm2 | 1/2 (1 valid) | one 1/1, neither 0/1 | 1/2 | 2/2 | not run |" in markdown
    assert "| 6.0 (3.0x) |" in markdown and "| 35.0 (3.5x) |" in markdown
    assert "ranged 2.0-5.5 over 3 samples" in markdown
    assert (tmp_path / "reports" / "models.png").stat().st_size > 0


def test_a_routing_request_is_scored_as_sets_and_as_the_graph_routes() -> None:
    both = next(c for c in ROUTING_SET if c.kind == "both" and c.team is SUPPORT_TEAM)
    keyword = keyword_route(both.request, both.team.by_name)
    assert keyword != sorted(both.expected)  # the router's order is the team's, not sorted

    def scored(routes: bool, proposal: str) -> RoutedRequest:
        model = ScriptedChatModel(script=lambda messages: proposal, routes=routes)
        run = ModelRun("smollm2", cast(Any, model), cast(Any, None), CallTimer(), 0.0)
        return _route(run, both, routers=["jordan"])

    # a wrong proposal: the keyword hits are right in any order; the graph runs the union
    # for a model that routes, the routers for one that does not
    routing = scored(True, '{"reason": "a fault", "specialists": ["jordan"]}')
    assert routing.keyword_right and routing.with_keywords_right and routing.graph_right
    assert not routing.right and not routing.routers_right
    assert not scored(False, '{"reason": "a fault", "specialists": ["jordan"]}').graph_right
