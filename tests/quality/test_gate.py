"""The quality gate both ways: stop with a clear message, the threshold, the override, sending."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from reportlib import quality
from reportlib.cli import main
from reportlib.config import load_project
from reportlib.errors import QualityGateError
from reportlib.layout import PeriodOutput
from reportlib.notebook import scorecard_step
from reportlib.pipeline import compute_scorecard

from ..conftest import SURVEYS, TICKETS, write_project
from .helpers import check, project, report_of, speeders


def test_gate_stops_the_run_and_says_where_to_look(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, survey_responses=SURVEYS + speeders(2))
    assert main(["compute", "--period", "2026-03", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    qdir = tmp_path / "output" / "2026-03" / "quality"
    assert "data-quality gate failed" in err
    assert "survey_responses: 2 of 17 rows quarantined (11.8% > 5%; rule hits: speeder 2)" in err
    assert str(qdir / "survey_responses.rejected.csv") in err and "--accept-quality" in err
    assert "Traceback" not in err
    # The quarantine and the report were written before stopping; no scorecard was.
    report = json.loads((qdir / "report.json").read_text())
    assert report["gate"]["passed"] is False and report["gate"]["accepted"] is False
    (failure,) = report["gate"]["failures"]
    assert failure["table"] == "survey_responses" and failure["by_rule"] == {"speeder": 2}
    assert len(list(csv.DictReader((qdir / "survey_responses.rejected.csv").open()))) == 2
    assert not (tmp_path / "output" / "2026-03" / "scorecard.csv").exists()


def test_gate_threshold_is_from_config(tmp_path: Path) -> None:
    config = project(
        tmp_path, survey_responses=SURVEYS + speeders(2), quality_toml="max_reject_share = 0.12"
    )
    result = check(config)
    assert report_of(result)["gate"]["passed"] is True and not result.gate_failed


def test_accept_quality_overrides_and_is_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, survey_responses=SURVEYS + speeders(2))
    reason = "Typeform bot attack on 1 March; speeders are quarantined anyway"
    args = ["compute", "--period", "2026-03", "--config", str(config), "--accept-quality", reason]
    assert main(args) == 0
    out = tmp_path / "output" / "2026-03"
    assert (out / "scorecard.csv").is_file()
    gate = json.loads((out / "quality" / "report.json").read_text())["gate"]
    assert gate["passed"] is False and gate["accepted"] is True and gate["reason"] == reason
    assert "gate failed, accepted: " + reason in capsys.readouterr().out
    # The run step records the override in the manifest.
    result = scorecard_step(load_project(config), "2026-03", accept_quality=reason)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["quality"]["accepted"] is True and manifest["quality"]["reason"] == reason
    assert result.quality is not None and result.quality.gate.accepted is True


def test_a_run_that_failed_the_gate_cannot_be_sent(tmp_path: Path) -> None:
    config = project(tmp_path, survey_responses=SURVEYS + speeders(2))
    out = PeriodOutput(tmp_path / "output", "2026-03")
    with pytest.raises(QualityGateError, match="no readable quality report"):
        quality.require_sendable(out)
    assert main(["compute", "--period", "2026-03", "--config", str(config)]) == 2
    with pytest.raises(QualityGateError, match="failed the data-quality gate and cannot be sent"):
        quality.require_sendable(out)
    assert (
        main(
            ["compute", "--period", "2026-03", "--config", str(config), "--accept-quality", "bots"]
        )
        == 0
    )
    assert quality.require_sendable(out).gate.reason == "bots"


def test_accept_quality_needs_a_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "compute",
                "--period",
                "2026-03",
                "--config",
                str(write_project(tmp_path)),
                "--accept-quality",
                " ",
            ]
        )
        == 2
    )
    assert "give a reason" in capsys.readouterr().err


def test_gate_fails_on_a_required_table_without_rows(tmp_path: Path) -> None:
    config = project(tmp_path, tickets=TICKETS.splitlines()[0] + "\n")
    with pytest.raises(QualityGateError, match=r"tickets has no data rows"):
        compute_scorecard(load_project(config), "2026-03")


def test_validate_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = project(tmp_path, survey_responses=SURVEYS + speeders(2))
    assert main(["validate", "--period", "2026-03", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert "survey_responses" in captured.out and "speeder 2" in captured.out
    assert "data-quality gate failed" in captured.err
    assert (tmp_path / "output" / "2026-03" / "quality" / "report.json").is_file()
    assert (
        main(
            [
                "validate",
                "--period",
                "2026-03",
                "--config",
                str(config),
                "--accept-quality",
                "known bot",
            ]
        )
        == 0
    )
    assert "quality gate failed but accepted: known bot" in capsys.readouterr().out
    assert (
        main(
            ["validate", "--period", "2026-03", "--config", str(write_project(tmp_path / "clean"))]
        )
        == 0
    )
    assert "quality gate passed" in capsys.readouterr().out
