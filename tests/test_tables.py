"""The summary-by-node and data-quality tables the CLI prints and the notebooks display."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from reportlib import layout, quality, tables
from reportlib.config import Project, load_project
from reportlib.pipeline import compute
from reportlib.quality import QualityReport

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
    # ent's overall is insufficient (DOMAIN.md §6: too little of the weight scored): empty.
    assert overall["status"] == "insufficient" and pd.isna(overall["value"])
    assert pd.isna(summary.at["ent", tables.OVERALL])
    assert summary.at["ent", "status"] == overall["status"]
    process = next(p for p in project.hierarchy.perspectives if p.id == "process")
    score = current[(current["node"] == "ent/eu") & (current["kpi"] == "score:process")]
    assert summary.at["ent/eu", process.name] == round(float(score["value"].iloc[0]), 1) > 0
    assert pd.isna(summary.at["smb", tables.OVERALL])  # no score: NaN, printed as a dash


def test_quality_table_and_gate_line_from_the_report(project: Project) -> None:
    out = layout.PeriodOutput(project.settings.output_path, PERIOD)
    raw = json.loads(out.quality_report.read_text(encoding="utf-8"))
    report = quality.read(out)
    table = tables.quality_table(report)
    assert list(table.columns) == ["rows in", "kept", "quarantined", "share %", "rule hits"]
    revenue = raw["tables"]["revenue"]
    assert table.at["revenue", "rows in"] == revenue["rows_in"]
    assert table.at["revenue", "quarantined"] == revenue["rows_quarantined"] == 1
    assert table.at["revenue", "share %"] == round(100 * revenue["reject_share"], 2)
    assert table.at["revenue", "rule hits"] == "negative_amount 1"
    line = tables.gate_line(report)
    assert line.startswith("quality gate overridden: tiny fixture: the credit note is planted")
    assert line.endswith(
        f"(limit {100 * raw['gate']['max_reject_share']:g}% quarantined per table)"
    )


def test_quality_table_leaves_out_rules_without_rows_and_says_passed() -> None:
    report = QualityReport.from_json(
        json.dumps(
            {
                "period": "2026-03",
                "as_of": "2026-03-31T12:00:00",
                "gate": {
                    "passed": True,
                    "max_reject_share": 0.05,
                    "accepted": False,
                    "reason": None,
                },
                "tables": {
                    "t": {
                        "file": "t.csv",
                        "rows_in": 3,
                        "rows_kept": 1,
                        "rows_quarantined": 2,
                        "by_rule": {"a": 0, "b": 2},
                        "reject_share": 2 / 3,
                        "rejected_file": "quality/t.rejected.csv",
                        "in_equals_kept_plus_quarantined": True,
                    }
                },
            }
        ),
        "report.json",
    )
    table = tables.quality_table(report)
    assert list(table.index) == ["t"] and table.at["t", "rule hits"] == "b 2"
    assert table.at["t", "share %"] == 66.67
    assert tables.gate_outcome(report) == "passed"
    assert tables.gate_line(report) == "quality gate passed (limit 5% quarantined per table)"
