"""The command line: outputs of `compute`, one-line errors with exit code 2, no tracebacks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from reportlib.cli import main
from reportlib.scorecard import COLUMNS

from . import cliproc
from .conftest import CUSTOMERS, write_project
from .test_restate import LATE


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `reportlib` in a real child process, as a user would (tests/cliproc.py)."""
    return cliproc.run(
        list(args), cwd=cwd or Path.cwd(), env={**os.environ, "COLUMNS": "120"}, timeout=300
    )


def test_compute_writes_the_contract_files(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compute", "--period", "2026-03", "--config", str(tiny)]) == 0
    out = tiny.parent / "output" / "2026-03"
    csv = pd.read_csv(out / "scorecard.csv")
    parquet = pd.read_parquet(out / "scorecard.parquet")
    history = pd.read_parquet(out / "history.parquet")
    assert tuple(csv.columns) == COLUMNS
    assert tuple(parquet.columns) == COLUMNS
    assert tuple(history.columns) == COLUMNS
    # 7 nodes × (15 KPIs + 4 perspective scores + overall).
    assert len(csv) == 7 * 20
    assert set(csv["period"]) == {"2026-03"}
    assert set(csv.loc[csv["kpi"].str.startswith("score:"), "kpi"]) == {
        "score:financial", "score:customer", "score:process", "score:learning", "score:overall",
    }  # fmt: skip
    # history covers the trend window from the first month with data (March 2025 invoices).
    assert history["period"].min() == "2025-03" and history["period"].max() == "2026-03"
    pd.testing.assert_frame_equal(
        csv.drop(columns=["mom_significant", "yoy_significant", "kpi_version"]),
        parquet.drop(columns=["mom_significant", "yoy_significant", "kpi_version"]),
        check_dtype=False,
    )
    printed = capsys.readouterr().out
    assert "Scorecard March 2026" in printed and "ent/eu" in printed and "scorecard.csv" in printed
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_rerun_gives_identical_files(tiny: Path) -> None:
    out = tiny.parent / "output" / "2026-03"
    assert main(["compute", "--period", "2026-03", "--config", str(tiny)]) == 0
    first = (out / "scorecard.csv").read_bytes()
    assert main(["compute", "--period", "2026-03", "--config", str(tiny)]) == 0
    assert (out / "scorecard.csv").read_bytes() == first


def test_kpis_lists_the_catalogue(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kpis", "--config", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert "first_response_hours" in out and "Chief Financial Officer" in out


def test_latest_period(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_project(tmp_path, settings='timezone = "UTC"\nas_of = "2026-04-01T06:00:00"\n')
    assert main(["latest-period", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == "2026-03"


@pytest.mark.slow
@pytest.mark.parametrize("period", ["2026-13", "../x"])
def test_bad_period_is_exit_2_one_line(tiny: Path, period: str) -> None:
    r = run_cli("compute", "--period", period, "--config", str(tiny))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and period in lines[0] and "YYYY-MM" in lines[0]


@pytest.mark.slow
def test_period_after_the_cut_off(tiny: Path) -> None:
    r = run_cli("compute", "--period", "2026-05", "--config", str(tiny))
    assert r.returncode == 2
    assert "after the data cut-off" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_bad_data_names_file_column_row(tmp_path: Path) -> None:
    config = write_project(
        tmp_path, tables={"customers": CUSTOMERS.replace("2025-02-01", "yesterday")}
    )
    r = run_cli("compute", "--period", "2026-03", "--config", str(config))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "customers.csv" in r.stderr and "column acquired_on" in r.stderr and "row 3" in r.stderr
    # --debug shows the traceback for the same failure.
    r = run_cli("--debug", "compute", "--period", "2026-03", "--config", str(config))
    assert r.returncode == 2 and "Traceback" in r.stderr


@pytest.mark.slow
def test_hierarchy_level_not_a_customers_column(tmp_path: Path) -> None:
    segments = "company: Tiny Co\nlevels: [segment, country]\n"
    config = write_project(tmp_path, segments=segments)
    r = run_cli("compute", "--period", "2026-03", "--config", str(config))
    assert r.returncode == 2
    assert "column country" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_unknown_node_in_targets(tmp_path: Path) -> None:
    targets = "kpi,node,effective_from,target,threshold\nnps,ent/mars,2025-01,30,20\n"
    config = write_project(tmp_path, targets=targets)
    r = run_cli("compute", "--period", "2026-03", "--config", str(config))
    assert r.returncode == 2
    assert "targets.csv line 2: unknown node 'ent/mars'" in r.stderr


def test_manual_values_fill_and_override(tmp_path: Path) -> None:
    kpi_values = (
        "period,node,kpi,value,n,author,reason\n"
        "2026-03,smb,logo_retention,50,2,Jane Analyst,Churn of C4 was reversed after the cut-off\n"
    )
    config = write_project(tmp_path, kpi_values=kpi_values)
    assert main(["compute", "--period", "2026-03", "--config", str(config)]) == 0
    out = tmp_path / "output" / "2026-03"
    card = pd.read_csv(out / "scorecard.csv").set_index(["node", "kpi"])
    assert card.loc[("smb", "logo_retention"), "value"] == 50.0
    audit = pd.read_csv(out / "manual_values.csv")
    assert audit.to_dict("records") == [
        {
            "period": "2026-03",
            "node": "smb",
            "kpi": "logo_retention",
            "computed_value": 100.0,  # S = {C5}, retained
            "value": 50.0,
            "n": 2,
            "author": "Jane Analyst",
            "reason": "Churn of C4 was reversed after the cut-off",
        }
    ]


@pytest.mark.slow
def test_manual_value_without_reason(tmp_path: Path) -> None:
    kpi_values = "period,node,kpi,value,n,author,reason\n2026-03,smb,nps,50,40,Jane,\n"
    config = write_project(tmp_path, kpi_values=kpi_values)
    r = run_cli("compute", "--period", "2026-03", "--config", str(config))
    assert r.returncode == 2
    assert "kpi_values.csv line 2: column reason is empty" in r.stderr


@pytest.mark.slow
@pytest.mark.long
def test_run_lists_commentary_written_against_earlier_figures(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """DOMAIN.md §8: after a restatement, `reportlib run` names the nodes whose commentary is stale."""
    config, period = str(tiny), "2026-03"
    # One pack only (ent) keeps the two real runs short.
    run = ["run", "--period", period, "--node", "ent", "--workers", "1", "--config", config]
    assert main(["compute", "--period", period, "--config", config]) == 0
    assert (
        main(["commentary", "draft", "--period", period, "--node", "ent", "--config", config]) == 0
    )
    capsys.readouterr()
    assert main(run) == 0
    before = capsys.readouterr().out
    assert "board packs 1 done" in before
    assert "written against earlier figures" not in before
    # A late survey response restates March: the draft's scorecard_hash is now out of date.
    with (tiny.parent / "data" / "src" / "survey_responses.csv").open("a", encoding="utf-8") as fh:
        fh.write(LATE)
    assert main(run) == 0
    after = capsys.readouterr().out
    assert "scorecard computed (changed: data)" in after and "board packs 1 done" in after
    stale = [line for line in after.splitlines() if "written against earlier figures" in line]
    assert stale == ["commentary written against earlier figures: ent"]


def _snapshot(root: Path) -> dict[str, tuple[bytes, int] | None]:
    """Every file under `root` (output/) with its bytes and modification time; folders as None."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): (
            (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else None
        )
        for p in sorted(root.rglob("*"))
    }


BAD_ARGUMENTS = [
    (["compute", "--period", " 2026-03"], "error: --period ' 2026-03': leading or trailing"),
    (["compute", "--period", "2026-03 "], "error: --period '2026-03 ': leading or trailing"),
    (["validate", "--period", "2026-13"], "error: --period '2026-13': the month must be 01"),
    (["validate", "--period", "26-03"], "error: --period '26-03': the year needs four digits"),
    (["run", "--period", "2026-03", "--node", "ent/eux"], "error: --node 'ent/eux'"),
    (["run", "--period", "2026-03", "--node", " ent"], "error: --node ' ent': leading"),
    (["run", "--period", "2026-03", "--workers", "0"], "error: Invalid value for '--workers'"),
    (["run", "--period", "2026-04"], "error: period 2026-04 is after the data cut-off"),
    (["send", "--period", "2026-03 ", "--dry-run"], "error: --period '2026-03 '"),
    (["send", "--period", "2026-03", "--only", "bob"], "error: --only 'bob': not an email"),
    (["diff", "--period", "2026-3"], "error: --period '2026-3': the month needs two digits"),
    (
        ["commentary", "draft", "--period", "2026-03", "--node", "smb/uss"],
        "error: --node 'smb/uss': no such node in the hierarchy; did you mean smb/us",
    ),
    (["validate", "--period", "2026-03", "--accept-quality", " "], "error: --accept-quality"),
    (["compute", "--perod", "2026-03"], "error: No such option '--perod'"),
]


@pytest.mark.slow
def test_bad_arguments_change_nothing_in_output(tiny: Path) -> None:
    """Each bad argument: exit 2, one `error:` line, and output/ exactly as it was (bytes and times)."""
    assert main(["compute", "--period", "2026-03", "--config", str(tiny)]) == 0
    output = tiny.parent / "output"
    before = _snapshot(output)
    assert "2026-03/scorecard.csv" in before
    for args, message in BAD_ARGUMENTS:
        r = run_cli(*args, "--config", str(tiny))
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert r.returncode == 2, (args, r.stderr)
        assert len(lines) == 1 and lines[0].startswith(message), (args, r.stderr)
        assert "Traceback" not in r.stderr
        assert _snapshot(output) == before, args


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["comptue"], "error: No such command 'comptue'"),
        (["compute", "--config"], "error: Option '--config' requires an argument"),
        (["compute", "--config", ""], "error: --config is empty"),
        (["kpis", "--config", "."], "error: --config '.' is a folder, not a settings file"),
        (["kpis", "--config", "missing.toml"], "error: --config 'missing.toml': config file"),
        (["sample-data", "--months", "3"], "error: Invalid value for '--months'"),
        (["sample-data", "--end", "2026-10 "], "error: --end '2026-10 ': leading or trailing"),
        (["sample-data", "--out", ""], "error: --out '': empty; give a folder"),
        (["sample-data", "--seed", "-1"], "error: Invalid value for '--seed'"),
        (["compute", "--period", "2026-03", "stray"], "error: Got unexpected extra argument"),
    ],
)
def test_hostile_arguments_are_one_line(tiny: Path, args: list[str], message: str) -> None:
    r = run_cli(*args, cwd=tiny.parent)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1 and lines[0].startswith(message), r.stderr
    assert "Traceback" not in r.stderr and not (tiny.parent / "output").exists()
    assert not (tiny.parent / "data" / "sample").exists()
    r = run_cli("--debug", *args, cwd=tiny.parent)
    assert r.returncode == 2
