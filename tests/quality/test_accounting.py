"""Accounting: in = kept + quarantined for the sample's planted rows and random bad rows,
the refusal when it does not add up, and the KPIs whose n the quarantine cut."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportlib import quality, sources
from reportlib.cli import main
from reportlib.config import load_project
from reportlib.errors import QualityGateError
from reportlib.pipeline import compute_scorecard
from reportlib.quality import reject

from ..conftest import SURVEYS, write_project
from .helpers import HEADER, project, report_of, speeders


def test_kpis_whose_n_the_quarantine_cut_are_listed(tmp_path: Path) -> None:
    # R0 (February) and 3 of the 7 March NPS answers come from a bot: n 7 -> 4 kept.
    rows = SURVEYS.replace(",email,40,\n", ",email,1,\n", 4)
    config = project(tmp_path, survey_responses=rows, quality_toml="max_reject_share = 0.5")
    result = compute_scorecard(load_project(config), "2026-03")
    assert result.quality is not None
    entries = {(e.node, e.kpi): e for e in result.quality.n_reduced}
    assert entries[("all", "nps")].n == 4 and entries[("all", "nps")].n_all == 7
    assert entries[("all", "nps")].share == pytest.approx(3 / 7, abs=1e-4)
    assert ("all", "csat") not in entries and ("all", "revenue") not in entries
    assert all(e.share > 0.1 for e in entries.values())


# --- the sample company: every planted bad row under its rule -------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_sample_planted_rows_are_caught_by_their_rules(tmp_path: Path, fmt: str) -> None:
    from reportlib.sample import generate_sample

    report = generate_sample(
        tmp_path / "data" / "sample",
        customers=1500,
        months=14,
        fmt=fmt,
        config_dir=tmp_path / "data",
    )
    config = tmp_path / "reportlib.toml"
    config.write_text('source = "data/sample"\n[quality]\nallow_credit_notes = true\n')
    proj = load_project(config)
    src = sources.load(proj)
    period = sources.latest_complete_period(src)
    result = quality.validate(proj, src, period)
    for table, t in report_of(result)["tables"].items():
        assert t["rows_in"] == t["rows_kept"] + t["rows_quarantined"], table
        assert t["by_rule"] == report.planted.get(table, {}), table
        assert result.rejected[table].num_rows == t["rows_quarantined"]
        assert t["rows_in"] == report.tables[table]
    assert report_of(result)["gate"]["passed"]


# --- random malformed rows -------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
ODD = st.sampled_from(
    ["", " ", "NaN", "inf", "-1", "ten", "1e3", '"', ",", "\n", "é", "\x00", "2026-13-45", "3.5"]
)
TIMESTAMP = st.one_of(
    st.datetimes(min_value=datetime(2025, 6, 1), max_value=datetime(2026, 6, 1)).map(
        lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
    ),
    st.sampled_from(["2026-03-02T10:00:00+02:00", "2026-03-02 10:00:00Z"]),
)
SURVEY_ROW = st.fixed_dictionaries(
    {
        "response_id": st.one_of(
            st.sampled_from(["R1", "R2", "H1", "H2", "H3"]), TEXT.filter(lambda s: s.strip())
        ),
        "customer_id": st.sampled_from(["C1", "C2", "C3", "C4", "C5", "C9", " C1", "tf_1"]),
        "survey": st.sampled_from(["nps", "csat", "ces", "NPS", "x"]),
        "score": st.one_of(st.integers(-2, 12).map(str), ODD),
        "sent_at": st.one_of(TIMESTAMP, st.just("")),
        "responded_at": TIMESTAMP,
        "channel": TEXT,
        "duration_seconds": st.one_of(
            st.integers(-10, 100).map(str), st.sampled_from(["", "NaN", "2.5"])
        ),
        "comment": st.one_of(TEXT, ODD),
    }
)


@settings(
    max_examples=int(os.environ.get("QUALITY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(SURVEY_ROW, min_size=0, max_size=12))
def test_random_rows_are_accounted_for_and_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path_factory.mktemp("random")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HEADER.strip().split(","), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    config = write_project(
        root, tables={"survey_responses": SURVEYS + buf.getvalue().split("\n", 1)[1]}
    )
    code = main(["validate", "--period", "2026-03", "--config", str(config)])
    captured = capsys.readouterr()
    assert code in (0, 2), captured.err
    assert "Traceback" not in captured.err and "internal error" not in captured.err
    report_file = root / "output" / "2026-03" / "quality" / "report.json"
    if code == 2 and "error: data-quality gate failed" not in captured.err:
        assert captured.err.startswith("error: ") and not report_file.exists()  # a schema error
        return
    report = json.loads(report_file.read_text())
    t = report["tables"]["survey_responses"]
    assert t["rows_in"] == 15 + len(rows)
    assert t["rows_in"] == t["rows_kept"] + t["rows_quarantined"]
    with (root / "output" / "2026-03" / "quality" / "survey_responses.rejected.csv").open(
        newline=""
    ) as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == t["rows_quarantined"]


def test_the_run_refuses_to_go_on_when_the_accounting_does_not_add_up(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = reject.rejected_rows

    def one_row_lost(*args: object) -> object:
        rows = real(*args)
        return rows.slice(1)

    speedy = tiny.parent / "data" / "src" / "survey_responses.csv"
    speedy.write_text(SURVEYS + speeders(1), encoding="utf-8")
    monkeypatch.setattr(reject, "rejected_rows", one_row_lost)
    with pytest.raises(QualityGateError, match="accounting does not add up for survey_responses"):
        compute_scorecard(load_project(tiny), "2026-03", accept_quality="not even with a reason")
