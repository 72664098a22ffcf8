"""The one report writer every eval suite uses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from evals.report import Report, bar_panels, write_report


@dataclass
class Summary:
    suite: str
    score: float


class ModelSummary(BaseModel):
    suite: str
    sizes: list[int]


def test_a_report_writes_its_json_markdown_and_plots(tmp_path: Path) -> None:
    drawn: list[Path] = []
    report = Report(
        "demo", Summary("demo", 0.5), "# Demo\n", {"demo.png": lambda p: drawn.append(p)}
    )
    out = write_report(report, reports=tmp_path / "r", json_out=tmp_path / "extra.json")
    assert out == tmp_path / "r"
    assert json.loads((out / "demo.json").read_text()) == {"suite": "demo", "score": 0.5}
    assert json.loads((tmp_path / "extra.json").read_text()) == {"suite": "demo", "score": 0.5}
    assert (out / "demo.md").read_text() == "# Demo\n"
    assert drawn == [out / "demo.png"]


class Aliased(BaseModel):
    hit_at_1: float = Field(serialization_alias="hit@1")


def test_pydantic_summaries_are_written_as_json_under_their_aliases(tmp_path: Path) -> None:
    write_report(Report("m", ModelSummary(suite="m", sizes=[1, 2]), "m"), reports=tmp_path)
    assert json.loads((tmp_path / "m.json").read_text()) == {"suite": "m", "sizes": [1, 2]}
    write_report(Report("a", Aliased(hit_at_1=0.5), "a"), reports=tmp_path)
    assert json.loads((tmp_path / "a.json").read_text()) == {"hit@1": 0.5}


def test_a_summary_is_typed() -> None:
    with pytest.raises(TypeError, match="must be a dataclass or a pydantic model, got dict"):
        Report("d", {"suite": "d"}, "d")
    with pytest.raises(TypeError, match="got type"):
        Report("d", Summary, "d")  # the class, not a summary


def test_bar_panels_draw_one_png_with_every_panel(tmp_path: Path) -> None:
    panels = {
        "per system": {"memory": {"hit@1": 0.8, "hit@5": 1.0}, "dense": {"hit@1": 0.4}},
        "per kind": {"billing": {"memory": 1.0, "dense": 0.5}},
    }
    path = bar_panels(
        tmp_path / "deep" / "bars.png", panels, title="t", ylabel="share", lines={"target": 0.9}
    )
    data = path.read_bytes()
    assert path == tmp_path / "deep" / "bars.png"
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000


@pytest.mark.parametrize("name", ["", "../up", ".hidden"])
def test_a_report_name_is_a_plain_stem(name: str) -> None:
    with pytest.raises(ValueError, match="plain file stem"):
        Report(name, {}, "")


def test_plot_names_are_png_files() -> None:
    with pytest.raises(ValueError, match=r"plain \.png names"):
        Report("x", {}, "", {"x.svg": lambda p: None})
