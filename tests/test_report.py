"""The one report writer every eval suite uses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel

from evals.report import Report, write_report


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


def test_pydantic_and_dict_summaries_are_written_as_json(tmp_path: Path) -> None:
    write_report(Report("m", ModelSummary(suite="m", sizes=[1, 2]), "m"), reports=tmp_path)
    assert json.loads((tmp_path / "m.json").read_text()) == {"suite": "m", "sizes": [1, 2]}
    write_report(Report("d", {"suite": "d"}, "d"), reports=tmp_path)
    assert json.loads((tmp_path / "d.json").read_text()) == {"suite": "d"}


@pytest.mark.parametrize("name", ["", "../up", ".hidden"])
def test_a_report_name_is_a_plain_stem(name: str) -> None:
    with pytest.raises(ValueError, match="plain file stem"):
        Report(name, {}, "")


def test_plot_names_are_png_files() -> None:
    with pytest.raises(ValueError, match=r"plain \.png names"):
        Report("x", {}, "", {"x.svg": lambda p: None})
