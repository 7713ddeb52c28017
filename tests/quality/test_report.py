"""The typed quality report: JSON round trip, the file's key order, schema_version refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from reportlib import quality
from reportlib.errors import QualityGateError, ReportlibError
from reportlib.layout import PeriodOutput
from reportlib.quality import (
    Gate,
    GateFailure,
    NReduced,
    QualityReport,
    TableReport,
)

from ..conftest import SURVEYS
from .helpers import check, project, speeders


def table(rows_in: int = 10, quarantined: int = 2, **by_rule: int) -> TableReport:
    return TableReport(
        file="data/src/survey_responses.csv",
        rows_in=rows_in,
        rows_kept=rows_in - quarantined,
        rows_quarantined=quarantined,
        by_rule=by_rule or {"speeder": quarantined},
        reject_share=round(quarantined / rows_in, 6) if rows_in else 0.0,
        rejected_file="quality/survey_responses.rejected.csv",
        in_equals_kept_plus_quarantined=True,
        notes=("column(s) x not used by reportlib: ignored",),
    )


def sample_report() -> QualityReport:
    t = table()
    return QualityReport(
        period="2026-03",
        as_of="2026-03-31T12:00:00",
        gate=Gate(
            passed=False,
            max_reject_share=0.05,
            accepted=True,
            reason="bots",
            failures=(
                GateFailure(
                    table="survey_responses",
                    problem="reject_share",
                    rows_in=t.rows_in,
                    rejected_file=t.rejected_file,
                    rows_quarantined=t.rows_quarantined,
                    reject_share=t.reject_share,
                    by_rule=t.by_rule,
                ),
                GateFailure(
                    table="tickets",
                    problem="empty",
                    rows_in=0,
                    rejected_file="quality/tickets.rejected.csv",
                ),
            ),
        ),
        tables={"survey_responses": t, "tickets": table(0, 0)},
        n_reduced=(NReduced(node="all", kpi="nps", share=0.4286, n=4.0, n_all=7.0),),
    )


def test_round_trip_is_exact() -> None:
    report = sample_report()
    again = QualityReport.from_json(report.to_json())
    assert again == report
    assert again.to_json() == report.to_json()
    assert again.gate.outcome == "accepted" and not again.gate.blocks
    assert again.rows_quarantined == 2


def test_json_keeps_the_keys_and_order_readers_rely_on() -> None:
    data = json.loads(sample_report().to_json())
    assert list(data) == ["schema_version", "period", "as_of", "gate", "tables", "n_reduced"]
    assert data["schema_version"] == quality.SCHEMA_VERSION == 1
    assert list(data["gate"]) == ["passed", "max_reject_share", "accepted", "reason", "failures"]
    share, empty = data["gate"]["failures"]
    assert list(share) == [
        "table",
        "problem",
        "rows_in",
        "rows_quarantined",
        "reject_share",
        "by_rule",
        "rejected_file",
    ]
    assert list(empty) == ["table", "problem", "rows_in", "rejected_file"]
    assert list(data["tables"]["survey_responses"]) == [
        "file",
        "rows_in",
        "rows_kept",
        "rows_quarantined",
        "rule_hits",
        "by_rule",
        "reject_share",
        "rejected_file",
        "in_equals_kept_plus_quarantined",
        "notes",
    ]
    assert data["n_reduced"] == [
        {"node": "all", "kpi": "nps", "share": 0.4286, "n": 4.0, "n_all": 7.0}
    ]


def test_a_report_without_schema_version_is_read_as_version_1() -> None:
    data = json.loads(sample_report().to_json())
    del data["schema_version"]
    assert QualityReport.from_json(json.dumps(data)) == sample_report()


def test_a_newer_schema_version_is_refused_naming_the_file(tmp_path: Path) -> None:
    out = PeriodOutput(tmp_path / "output", "2026-03")
    data = json.loads(sample_report().to_json())
    data["schema_version"] = quality.SCHEMA_VERSION + 1
    out.quality_dir.mkdir(parents=True)
    out.quality_report.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReportlibError, match="schema_version 2 is newer") as e:
        quality.read(out)
    assert str(out.quality_report) in str(e.value)
    # send refuses it too, with the reason.
    with pytest.raises(QualityGateError, match=r"no readable quality report.*schema_version 2"):
        quality.require_sendable(out)


def test_a_malformed_report_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportlibError, match=r"x/report.json: not a quality report"):
        QualityReport.from_json('{"period": "2026-03"}', "x/report.json")
    with pytest.raises(ReportlibError, match=r"x/report.json: not a quality report"):
        QualityReport.from_json("[1, 2]", "x/report.json")
    data = json.loads(sample_report().to_json())
    data["gate"]["failures"][1]["problem"] = "odd"
    with pytest.raises(ReportlibError, match="unknown gate problem 'odd'"):
        QualityReport.from_json(json.dumps(data), "x/report.json")


def test_write_names_every_file_through_the_layout(tmp_path: Path) -> None:
    out = PeriodOutput(tmp_path / "output", "2026-03")
    rows = pa.table({"a": ["1"], "source_file": ["f.csv"], "source_line": [2]})
    files = quality.write(out, sample_report(), {"survey_responses": rows})
    assert files == (out.rejected("survey_responses"), out.quality_report)
    assert out.rejected("survey_responses").read_text() == (
        '"a","source_file","source_line"\n"1","f.csv",2\n'
    )
    assert quality.read(out) == sample_report()
    assert quality.require_sendable(out).gate.reason == "bots"


def test_a_validation_writes_what_it_reports(tmp_path: Path) -> None:
    config = project(
        tmp_path, survey_responses=SURVEYS + speeders(2), quality_toml="max_reject_share = 0.5"
    )
    result = check(config)
    out = PeriodOutput(tmp_path / "output", "2026-03")
    quality.write(out, result.report, result.rejected)
    assert quality.read(out) == result.report
    t = result.report.tables["survey_responses"]
    assert (t.rows_in, t.rows_kept, t.rows_quarantined) == (17, 15, 2)
    assert t.rejected_file == out.rejected("survey_responses").relative_to(out.dir).as_posix()
