"""The summary-by-node and data-quality tables the CLI prints and the notebooks display."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from reportlib import layout, tables
from reportlib.config import Project, load_project
from reportlib.pipeline import compute

from .conftest import write_project

PERIOD = "2026-03"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    config = write_project(
        tmp_path_factory.mktemp("tables"), quality="allow_credit_notes = false\n"
    )
    p = load_project(config)
    compute(p, PERIOD, accept_quality="tiny fixture: the credit note is planted")
    return p


@pytest.fixture(scope="module")
def current(project: Project) -> pd.DataFrame:
    path = layout.PeriodOutput(project.settings.output_path, PERIOD).scorecard_parquet
    return pd.read_parquet(path)


def test_summary_has_every_node_in_tree_order_with_scores_and_status(
    project: Project, current: pd.DataFrame
) -> None:
    summary = tables.summary_by_node(project, current)
    assert list(summary.index) == list(dict.fromkeys(current["node"]))
    assert summary.index[0] == "all" and summary.index.name == "id"
    names = [p.name for p in project.hierarchy.perspectives]
    assert list(summary.columns) == ["node", *names, tables.OVERALL, "status"]
    assert summary.at["all", "node"] == "Tiny Co"
    overall = current[(current["node"] == "ent") & (current["kpi"] == "score:overall")].iloc[0]
    assert summary.at["ent", tables.OVERALL] == round(float(overall["value"]), 1)
    assert summary.at["ent", "status"] == overall["status"]
    process = next(p for p in project.hierarchy.perspectives if p.id == "process")
    score = current[(current["node"] == "ent/eu") & (current["kpi"] == "score:process")]
    assert summary.at["ent/eu", process.name] == round(float(score["value"].iloc[0]), 1) > 0
    assert pd.isna(summary.at["smb", tables.OVERALL])  # no score: NaN, printed as a dash


def test_quality_table_and_gate_line_from_the_report(project: Project) -> None:
    path = layout.PeriodOutput(project.settings.output_path, PERIOD).quality_report
    report = json.loads(path.read_text(encoding="utf-8"))
    table = tables.quality_table(report)
    assert list(table.columns) == ["rows in", "kept", "quarantined", "share %", "by rule"]
    revenue = report["tables"]["revenue"]
    assert table.at["revenue", "rows in"] == revenue["rows_in"]
    assert table.at["revenue", "quarantined"] == revenue["rows_quarantined"] == 1
    assert table.at["revenue", "share %"] == round(100 * revenue["reject_share"], 2)
    assert table.at["revenue", "by rule"] == "negative_amount 1"
    line = tables.gate_line(report)
    assert line.startswith("quality gate overridden: tiny fixture: the credit note is planted")
    assert line.endswith(
        f"(limit {100 * report['gate']['max_reject_share']:g}% quarantined per table)"
    )


def test_quality_table_is_defensive_about_odd_reports() -> None:
    assert tables.quality_table({}).empty
    odd = {"gate": "yes", "tables": {"t": {"rows_in": 3, "by_rule": {"a": 0, "b": 2}}, "bad": 1}}
    table = tables.quality_table(odd)
    assert list(table.index) == ["t"] and table.at["t", "by rule"] == "b 2"
    assert tables.gate_outcome(odd) == "failed"
    assert tables.gate_line({"gate": {"passed": True}}) == "quality gate passed"
