"""Provenance of the quarantined rows: physical lines, parquet rows, the files compute writes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from reportlib.cli import main

from ..conftest import SURVEYS
from .helpers import HEADER, by_id, check, project, rejected

# --- provenance and files ------------------------------------------------------------


def test_source_line_counts_quoted_newlines_and_blank_lines(tmp_path: Path) -> None:
    text = (
        HEADER
        + 'N1,C1,nps,9,2026-03-01 09:00:00,2026-03-01 10:00:00,email,40,"two\nlines"\n'
        + "\n"
        + 'N2,C2,nps,9,2026-03-01 09:00:00,2026-03-01 10:00:00,email,1,"a ""quoted"", comma"\n'
        + 'N3,C3,nps,9,2026-03-01 09:00:00,2026-03-01 10:00:00,email,40,"three\r\nline\ncomment"\n'
        + "N4,C4,nps,9,2026-03-01 09:00:00,2026-03-01 10:00:00,email,2,\n"
    )
    result = check(project(tmp_path, survey_responses=text, quality_toml="max_reject_share = 0.9"))
    rows = by_id(result, "survey_responses", "response_id")
    assert rows["N2"]["source_line"] == 5  # header, N1 on lines 2-3, a blank line 4
    assert rows["N2"]["comment"] == 'a "quoted", comma'
    assert rows["N4"]["source_line"] == 9  # N3 spans lines 6-8
    assert rows["N2"]["source_file"] == "data/src/survey_responses.csv"


def test_parquet_source_lines_are_row_numbers(tmp_path: Path) -> None:
    import pandas as pd

    rows = SURVEYS + "X1,C1,nps,11,2026-03-20 10:00:00,2026-03-20 11:00:00,email,40,\n"
    config = project(tmp_path, survey_responses=rows, quality_toml="max_reject_share = 0.5")
    folder = tmp_path / "data" / "src"
    frame = pd.read_csv(folder / "survey_responses.csv", dtype=str)
    frame.to_parquet(folder / "survey_responses.parquet", index=False)
    (folder / "survey_responses.csv").unlink()
    (bad,) = rejected(check(config), "survey_responses")
    assert bad["response_id"] == "X1" and bad["source_line"] == 16 and bad["rule"] == "score_range"


def test_compute_writes_quarantine_files_and_report(tmp_path: Path) -> None:
    row = 'X1,C1,nps,eleven,2026-03-20 10:00:00,2026-03-20 11:00:00,email,40,"why, ""this"""\n'
    config = project(
        tmp_path, survey_responses=SURVEYS + row, quality_toml="max_reject_share = 0.5"
    )
    assert main(["compute", "--period", "2026-03", "--config", str(config)]) == 0
    qdir = tmp_path / "output" / "2026-03" / "quality"
    report = json.loads((qdir / "report.json").read_text())
    assert set(report) == {"schema_version", "period", "as_of", "gate", "tables", "n_reduced"}
    assert report["schema_version"] == 1
    assert report["period"] == "2026-03" and report["as_of"] == "2026-03-31T12:00:00"
    t = report["tables"]["survey_responses"]
    assert t["file"] == "data/src/survey_responses.csv"
    assert (t["rows_in"], t["rows_kept"], t["rows_quarantined"]) == (16, 15, 1)
    assert t["by_rule"] == {"score_range": 1} and t["reject_share"] == pytest.approx(
        1 / 16, abs=1e-6
    )
    assert t["rejected_file"] == "quality/survey_responses.rejected.csv"
    with (qdir / "survey_responses.rejected.csv").open(newline="", encoding="utf-8") as fh:
        (out,) = list(csv.DictReader(fh))
    assert out == {
        "response_id": "X1",
        "customer_id": "C1",
        "survey": "nps",
        "score": "eleven",
        "sent_at": "2026-03-20 10:00:00",
        "responded_at": "2026-03-20 11:00:00",
        "channel": "email",
        "duration_seconds": "40",
        "comment": 'why, "this"',
        "source_file": "data/src/survey_responses.csv",
        "source_line": "17",
        "rule": "score_range",
        "detail": "score_range: score 'eleven' is not a number",
    }
    for name in ("customers", "tickets", "revenue", "workforce"):
        assert (qdir / f"{name}.rejected.csv").is_file()
        assert report["tables"][name]["rows_quarantined"] == 0
