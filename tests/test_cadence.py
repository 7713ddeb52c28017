"""Quarterly and year-to-date scorecards computed from the raw rows (DOMAIN.md §8).

The tiny project (tests/conftest.py) with tickets, surveys and workforce rows over the
first quarter of 2026, every expected figure worked out by hand from the rows below.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from reportlib import kpis, pipeline, stats
from reportlib.cli import main
from reportlib.config import load_project
from reportlib.errors import ConfigError
from reportlib.scorecard import COLUMNS

from .conftest import SURVEYS, write_project

# Resolved tickets, hours from opening to resolution: January 10; February 20, 30;
# March 1, 2, 3, 4. The quarter's median is 4 (the middle of the seven), not the mean of
# the monthly medians (10 + 25 + 2.5) / 3 = 12.5. Every ticket answered 1 hour after opening.
TICKETS = """\
ticket_id,customer_id,channel,opened_at,first_response_at,resolved_at,contacts,reopened,sla_hours
T1,C1,email,2026-01-05 00:00:00,2026-01-05 01:00:00,2026-01-05 10:00:00,1,false,4
T2,C1,email,2026-02-02 00:00:00,2026-02-02 01:00:00,2026-02-02 20:00:00,1,false,4
T3,C3,chat,2026-02-09 00:00:00,2026-02-09 01:00:00,2026-02-10 06:00:00,2,false,4
T4,C1,email,2026-03-02 00:00:00,2026-03-02 01:00:00,2026-03-02 01:00:00,1,false,4
T5,C3,email,2026-03-03 00:00:00,2026-03-03 01:00:00,2026-03-03 02:00:00,1,true,4
T6,C5,email,2026-03-04 00:00:00,2026-03-04 01:00:00,2026-03-04 03:00:00,1,false,4
T7,C1,phone,2026-03-09 00:00:00,2026-03-09 01:00:00,2026-03-09 04:00:00,1,false,4
"""

# A year earlier (Q1 2025) and the quarter before (Q4 2025): NPS answers to compare with.
# Q1 2026 (conftest): February R0 (0) and March 10 9 8 7 6 0 10 -> n 8, P 3, D 3, NPS 0.
# Q4 2025: 10 10 10 0 -> n 4, P 3, D 1, NPS +50. Q1 2025: 10 0 -> n 2, NPS 0.
EARLIER = """\
Q1,C1,nps,10,2025-10-01 10:00:00,2025-10-02 10:00:00,email,40,
Q2,C2,nps,10,2025-10-01 10:00:00,2025-10-02 10:00:00,email,40,
Q3,C3,nps,10,2025-11-01 10:00:00,2025-11-02 10:00:00,email,40,
Q4,C4,nps,0,2025-12-01 10:00:00,2025-12-02 10:00:00,email,40,
Y1,C1,nps,10,2025-03-01 10:00:00,2025-03-02 10:00:00,email,40,
Y2,C2,nps,0,2025-03-01 10:00:00,2025-03-02 10:00:00,email,40,
"""

# Company headcount 30 in each month of the quarter, 3 leavers: a quarterly attrition of
# 3 / 30 = 10% of the average headcount, 1 − 0.9^4 = 34.39% annualised.
WORKFORCE = """\
period,segment,region,headcount,leavers,training_hours,enps_promoters,enps_passives,enps_detractors
2026-01,ent,eu,10,1,10,4,3,1
2026-01,ent,us,20,0,20,6,2,2
2026-02,ent,eu,10,0,10,4,3,1
2026-02,ent,us,20,1,20,6,2,2
2026-03,ent,eu,10,1,10,4,3,1
2026-03,ent,us,20,0,20,6,2,2
"""

TARGETS = """\
kpi,node,effective_from,target,threshold
attrition_rate,*,2025-01,2,4
training_hours_per_fte,*,2025-01,1,0.5
nps,*,2025-01,10,-10
nps,*,2026-03,20,0
"""


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("quarter")
    config = write_project(
        root,
        tables={
            "tickets": TICKETS,
            "survey_responses": SURVEYS + EARLIER,
            "workforce": WORKFORCE,
        },
        targets=TARGETS,
    )
    result = pipeline.compute_scorecard(load_project(config), "2026-Q1")
    assert result.period == "2026-Q1"
    return result.scorecard.frame


def at(frame: pd.DataFrame, kpi: str, period: str = "2026-Q1", node: str = "all") -> pd.Series:
    rows = frame[(frame["kpi"] == kpi) & (frame["period"] == period) & (frame["node"] == node)]
    assert len(rows) == 1, (kpi, period, node)
    return rows.iloc[0]


def test_the_quarters_median_comes_from_its_rows_not_from_monthly_medians(
    quarter: pd.DataFrame,
) -> None:
    r = at(quarter, "resolution_hours")
    assert r["value"] == pytest.approx(4.0)
    assert r["n"] == 7
    assert r["value"] != pytest.approx((10 + 25 + 2.5) / 3)
    assert at(quarter, "first_response_hours")["value"] == pytest.approx(1.0)
    # Counted measures add up: 6 of the 7 resolved with one contact and not reopened.
    assert at(quarter, "fcr")["value"] == pytest.approx(100 * 5 / 7)
    assert at(quarter, "reopen_rate")["value"] == pytest.approx(100 / 7)


def test_retention_counts_the_customers_active_at_the_quarters_start(quarter: pd.DataFrame) -> None:
    # Active on 1 January: C1, C2, C3, C4 (C5 arrives in February); C4 churns in
    # February and C2 on 1 March, both before 1 April: 2 of 4 retained.
    r = at(quarter, "logo_retention")
    assert (r["value"], r["n"]) == (pytest.approx(50.0), 4)


def test_nrr_and_growth_against_the_same_quarter_a_year_earlier(quarter: pd.DataFrame) -> None:
    # Q1 2025: C1 100, C2 50, C3 200 (350). Q1 2026: C1 120, C3 140, C5 80 (340).
    assert at(quarter, "revenue")["value"] == pytest.approx(340.0)
    assert at(quarter, "revenue_growth_yoy")["value"] == pytest.approx(100 * (340 - 350) / 350)
    nrr = at(quarter, "nrr")
    assert (nrr["value"], nrr["n"]) == (pytest.approx(100 * 260 / 350), 3)


def test_attrition_over_the_average_headcount_with_a_quarterly_target(
    quarter: pd.DataFrame,
) -> None:
    r = at(quarter, "attrition_rate")
    assert r["value"] == pytest.approx(10.0)
    assert r["n"] == 30
    # The monthly target 2% (threshold 4%) compounds over three months (DOMAIN.md §8).
    assert r["target"] == pytest.approx(100 * (1 - 0.98**3))
    assert r["threshold"] == pytest.approx(100 * (1 - 0.96**3))
    # 10% lies between the quarter's target 5.88% and its red line 11.53%: amber.
    assert r["status"] == "amber"
    assert kpis.annualised(r["value"], 4) == pytest.approx(100 * (1 - 0.9**4))
    # Training: 90 hours over an average 30 FTE; the monthly target 1 hour is 3 a quarter.
    t = at(quarter, "training_hours_per_fte")
    assert (t["value"], t["target"]) == (pytest.approx(3.0), pytest.approx(3.0))
    # eNPS counts add up over the months: 3 × (10 promoters, 5 passives, 3 detractors).
    assert at(quarter, "enps")["value"] == pytest.approx(100 * (30 - 9) / 54)


def test_qoq_and_yoy_with_the_monthly_tests(quarter: pd.DataFrame) -> None:
    r = at(quarter, "nps")
    assert (r["value"], r["n"]) == (pytest.approx(0.0), 8)
    # The target in force at the quarter's last month (March), not at its first.
    assert (r["target"], r["threshold"]) == (20.0, 0.0)
    before = at(quarter, "nps", "2025-Q4")
    assert (before["value"], before["n"]) == (pytest.approx(50.0), 4)
    assert r["prev_value"] == pytest.approx(50.0)
    assert r["mom_delta"] == pytest.approx(-50.0)
    assert r["mom_test"] == "tested"
    se_now = stats.nps_se(pd.Series([3.0]), pd.Series([3.0]), pd.Series([8.0]))[0]
    se_before = stats.nps_se(pd.Series([3.0]), pd.Series([1.0]), pd.Series([4.0]))[0]
    z = -50.0 / math.sqrt(se_now**2 + se_before**2)
    assert bool(r["mom_significant"]) == (abs(z) >= 1.96)
    assert r["yoy_delta"] == pytest.approx(0.0 - at(quarter, "nps", "2025-Q1")["value"])
    assert r["yoy_test"] == "tested"
    # Census KPIs: changes are not tested.
    assert at(quarter, "logo_retention")["mom_test"] == "not-tested"


def test_every_row_is_a_quarter(quarter: pd.DataFrame) -> None:
    assert set(quarter["period"]) <= {
        f"{y}-Q{q}" for y in (2023, 2024, 2025, 2026) for q in (1, 2, 3, 4)
    }
    assert quarter["period"].max() == "2026-Q1"


def test_year_to_date_compares_the_same_months(tmp_path: Path) -> None:
    config = write_project(
        tmp_path, tables={"survey_responses": SURVEYS + EARLIER, "tickets": TICKETS}
    )
    result = pipeline.compute_scorecard(load_project(config), "2026-03-YTD")
    frame = result.scorecard.frame
    assert set(frame["period"]) <= {"2023-03-YTD", "2024-03-YTD", "2025-03-YTD", "2026-03-YTD"}
    r = at(frame, "nps", "2026-03-YTD")
    assert (r["value"], r["n"]) == (pytest.approx(0.0), 8)
    # January–March 2025 only: Y1 and Y2; the Q4 2025 answers belong to no year to date.
    last = at(frame, "nps", "2025-03-YTD")
    assert last["n"] == 2
    assert r["yoy_delta"] == pytest.approx(0.0 - last["value"])
    assert at(frame, "revenue", "2026-03-YTD")["value"] == pytest.approx(340.0)


def test_default_period_of_a_cadence_and_the_cut_off(tiny: Path) -> None:
    project = load_project(tiny)
    # as_of 2026-03-31: the latest complete month is February, so Q1 is not complete.
    assert pipeline.resolve_period(project, None, cadence="quarter") == "2025-Q4"
    assert pipeline.resolve_period(project, None, cadence="ytd") == "2026-02-YTD"
    with pytest.raises(ConfigError, match="after the data cut-off"):
        pipeline.compute_scorecard(project, "2026-Q2")


def test_manual_values_are_not_applied_to_a_quarter(tmp_path: Path) -> None:
    manual = (
        "period,node,kpi,value,n,author,reason\n2026-03,all,nps,55,100,ana,survey vendor figure\n"
    )
    config = write_project(tmp_path, kpi_values=manual)
    q = pipeline.compute_scorecard(load_project(config), "2026-Q1")
    assert q.scorecard.overrides == ()
    assert at(q.scorecard.frame, "nps")["value"] == pytest.approx(0.0)


def test_compute_of_a_quarter_writes_the_files_of_a_month(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compute", "--period", "2026-03", "--config", str(tiny)]) == 0
    assert main(["compute", "--period", "2026-Q1", "--config", str(tiny)]) == 0
    output = tiny.parent / "output"
    month, quarter = output / "2026-03", output / "2026-Q1"
    names = {p.relative_to(month).as_posix() for p in month.rglob("*") if p.is_file()}
    assert names == {p.relative_to(quarter).as_posix() for p in quarter.rglob("*") if p.is_file()}
    csv = pd.read_csv(quarter / "scorecard.csv")
    assert tuple(csv.columns) == COLUMNS
    assert set(csv["period"]) == {"2026-Q1"}
    assert "Scorecard Q1 2026" in capsys.readouterr().out


def test_cadence_without_a_period_takes_the_latest_complete_one(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compute", "--cadence", "ytd", "--config", str(tiny)]) == 0
    assert (tiny.parent / "output" / "2026-02-YTD" / "scorecard.parquet").is_file()
    assert "January–February 2026 (year to date)" in capsys.readouterr().out


@pytest.mark.slow  # charts and the section's HTML
def test_the_scorecard_of_a_year_to_date_has_one_change_column(tiny: Path) -> None:
    """A year to date's previous period is the same months a year earlier: its change is the
    YoY one, so the table has one change column (a quarter keeps QoQ and YoY)."""
    from reportlib import commentary, packdata, render
    from reportlib.charts import Charts

    project = load_project(tiny)
    heads = {}
    for period in ("2026-02-YTD", "2025-Q4"):
        pipeline.compute(project, period)
        ctx = packdata.load_context(project, period, "all")
        notes = commentary.Commentary("all", period, None, {}, True)
        html = render.render_section(ctx, Charts({}, {}, {}), notes, "scorecard")
        thead = html.split("<thead>")[1].split("</thead>")[0]
        heads[period] = [h.split(">", 1)[1] for h in thead.split("</th>")[:-1]]
        lede = html.split('<p class="lede">')[1].split("</p>")[0]
        row = html.split('<tr class="group">')[1].split("</tr>")[0]
        assert f'colspan="{len(heads[period])}"' in row, (period, row)
        if period.endswith("YTD"):
            assert lede.startswith("January–February 2026"), lede
            assert "YoY against the same months a year earlier" in lede and lede.count("YoY") == 1
    assert [h for h in heads["2026-02-YTD"] if h in ("YoY", "QoQ", "MoM")] == ["YoY"]
    assert [h for h in heads["2025-Q4"] if h in ("YoY", "QoQ", "MoM")] == ["QoQ", "YoY"]
    assert len(heads["2025-Q4"]) == len(heads["2026-02-YTD"]) + 1 == 10
