"""`--json` on `run`, `validate` and `send`: one JSON object on stdout and nothing else there,
also when the command fails (exit code and the one-line error, which stays on stderr)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reportlib import cli

from ..conftest import SURVEYS, write_project

# Two NPS scores out of range: 2 of 17 survey rows, over the 5% gate.
BAD_SURVEYS = (
    SURVEYS
    + "R90,C1,nps,11,2026-03-05 10:00:00,2026-03-05 11:00:00,email,40,\n"
    + "R91,C3,nps,12,2026-03-06 10:00:00,2026-03-06 11:00:00,email,40,\n"
)


def _json(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], list[str]]:
    """The one JSON object on stdout (the whole of stdout), and stderr's lines."""
    captured = capsys.readouterr()
    assert captured.out.endswith("\n") and captured.out.count("\n") == 1, captured.out
    return json.loads(captured.out), captured.err.splitlines()


def test_validate_json(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--json", "--period", "2026-03", "--config", str(tiny)]) == 0
    doc, err = _json(capsys)
    assert doc["command"] == "validate"
    assert doc["period"] == "2026-03"
    assert doc["exit_code"] == 0 and doc["error"] is None
    assert doc["gate"] == "passed" and doc["sandbox"] is False
    assert doc["counts"] == {"rows_in": 37, "rows_kept": 37, "rows_quarantined": 0}
    assert doc["tables"]["customers"]["rows_in"] == 5
    assert doc["tables"]["survey_responses"]["file"] == "data/src/survey_responses.csv"
    report = tiny.parent / "output" / "2026-03" / "quality" / "report.json"
    assert str(report) in doc["files"]
    assert all(Path(f).is_file() for f in doc["files"])
    # The table a person reads went to stderr instead of stdout.
    assert any("data quality: 0 rows quarantined" in line for line in err)


def test_validate_json_when_the_gate_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_project(tmp_path, tables={"survey_responses": BAD_SURVEYS})
    assert cli.main(["validate", "--period", "2026-03", "--config", str(config), "--json"]) == 2
    doc, err = _json(capsys)
    assert doc["exit_code"] == 2
    assert doc["gate"] == "failed" and doc["failures"] == ["survey_responses"]
    assert doc["counts"]["rows_quarantined"] == 2
    assert doc["tables"]["survey_responses"]["rows_quarantined"] == 2
    errors = [line for line in err if line.startswith("error: ")]
    assert len(errors) == 1
    assert errors[0] == f"error: {doc['error']}"
    assert "survey_responses" in doc["error"]


@pytest.mark.parametrize(
    ("args", "command", "fragment"),
    [
        (["validate", "--json", "--period", "2026-13"], "validate", "--period '2026-13'"),
        (["run", "--json", "--period", "2026-03", "--node", "nowhere"], "run", "nowhere"),
        (["run", "--json", "--workers", "0"], "run", "--workers"),
        (["send", "--json", "--dry-run"], "send", "no completed run with board packs"),
        (["send", "--json", "--period", "2026-03", "--only", "x y"], "send", "--only"),
        (["run", "--json", "--no-such-option"], "run", "no-such-option"),
    ],
)
def test_errors_in_json_mode(
    tiny: Path,
    args: list[str],
    command: str,
    fragment: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exit 2, one `error:` line on stderr, and on stdout an object with the same message."""
    assert cli.main([*args, "--config", str(tiny)]) == 2
    doc, err = _json(capsys)
    assert doc["command"] == command
    assert doc["exit_code"] == 2
    assert fragment in doc["error"]
    assert err[-1] == f"error: {doc['error']}"
    assert [line for line in err if line.startswith("error: ")] == [err[-1]]
    assert not (tiny.parent / "output" / "2026-03" / "manifest.json").exists()


def test_without_json_stdout_has_no_json(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--period", "2026-03", "--config", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert "data quality: 0 rows quarantined" in out
    assert not out.lstrip().startswith("{")
