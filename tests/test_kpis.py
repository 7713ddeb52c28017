"""Every built-in KPI against values worked out by hand from the tiny project (tests/conftest.py)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from reportlib.config import load_project
from reportlib.pipeline import compute_scorecard

from .conftest import write_project


@pytest.fixture(scope="module")
def march(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The tiny project's scorecard for March 2026, indexed by (node, kpi)."""
    config = write_project(tmp_path_factory.mktemp("tiny"))
    result = compute_scorecard(load_project(config), "2026-03")
    return result.scorecard.period("2026-03").set_index(["node", "kpi"])


@pytest.fixture(scope="module")
def february(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    config = write_project(tmp_path_factory.mktemp("tiny"))
    result = compute_scorecard(load_project(config), "2026-03")
    return result.scorecard.period("2026-02").set_index(["node", "kpi"])


def v(frame: pd.DataFrame, node: str, kpi: str, col: str = "value") -> float:
    return frame.loc[(node, kpi), col]


# --- financial -------------------------------------------------------------------


def test_revenue_sums_invoices_including_credit_notes(march: pd.DataFrame) -> None:
    # 120 + 150 - 10 + 80
    assert v(march, "all", "revenue") == pytest.approx(340.0)
    assert v(march, "all", "revenue", "n") == 4
    assert v(march, "ent", "revenue") == pytest.approx(260.0)
    assert v(march, "smb/us", "revenue") == pytest.approx(80.0)
    # A node with no invoices in a month the revenue table covers has revenue 0, not no data
    # (DOMAIN.md §3): smb/eu (C4) had none in March, when the company had four.
    assert v(march, "smb/eu", "revenue") == 0.0
    assert v(march, "smb/eu", "revenue", "n") == 0
    assert v(march, "smb/eu", "revenue", "status") == "no-target"


def test_revenue_is_no_data_only_for_a_month_the_table_does_not_cover(
    february: pd.DataFrame,
) -> None:
    # No invoice anywhere in February 2026: not covered, so no data at every node.
    for node in ("all", "ent", "smb/eu"):
        assert math.isnan(v(february, node, "revenue")), node
        assert v(february, node, "revenue", "status") == "no-data"


# March 2025: C1 100, C2 50, C3 200. March 2026 without I4: C3 150 − 10, C5 80.
REVENUE_WITHOUT_I4 = """\
invoice_id,customer_id,invoice_date,amount
I1,C1,2025-03-05,100.00
I2,C2,2025-03-05,50.00
I3,C3,2025-03-05,200.00
I5,C3,2026-03-05,150.00
I6,C3,2026-03-20,-10.00
I7,C5,2026-03-05,80.00
"""


def test_growth_of_a_node_that_fell_to_zero_is_minus_100(tmp_path: Path) -> None:
    config = write_project(tmp_path, tables={"revenue": REVENUE_WITHOUT_I4})
    card = compute_scorecard(load_project(config), "2026-03").scorecard
    march = card.period("2026-03").set_index(["node", "kpi"])
    # ent/eu (C1, C2): 150 in March 2025, nothing in March 2026 (a covered month): 0 and −100%.
    assert v(march, "ent/eu", "revenue") == 0.0
    assert v(march, "ent/eu", "revenue_growth_yoy") == pytest.approx(-100.0)
    # The company: 220 against 350.
    assert v(march, "all", "revenue_growth_yoy") == pytest.approx(100 * (220 - 350) / 350)
    # smb had 0 in March 2025 (covered): a base ≤ 0 gives no growth.
    assert math.isnan(v(march, "smb", "revenue_growth_yoy"))
    # February 2026 and February 2025 had no invoices at all: not covered, no growth, no revenue.
    february = card.period("2026-02").set_index(["node", "kpi"])
    assert math.isnan(v(february, "ent/eu", "revenue_growth_yoy"))
    assert v(february, "ent/eu", "revenue", "status") == "no-data"


def test_revenue_growth_against_same_month_last_year(march: pd.DataFrame) -> None:
    assert v(march, "all", "revenue_growth_yoy") == pytest.approx(100 * (340 - 350) / 350)
    assert v(march, "ent", "revenue_growth_yoy") == pytest.approx(100 * (260 - 350) / 350)
    # smb had no revenue in March 2025: growth is undefined.
    assert math.isnan(v(march, "smb", "revenue_growth_yoy"))


def test_nrr_follows_last_years_cohort(march: pd.DataFrame) -> None:
    # Cohort {C1, C2, C3} had 350 in March 2025; now C1 120 + C2 0 + C3 140 = 260.
    assert v(march, "all", "nrr") == pytest.approx(100 * 260 / 350)
    assert v(march, "all", "nrr", "n") == 3
    # C5 is new this year: not in the cohort, so smb has none.
    assert math.isnan(v(march, "smb", "nrr"))
    # ent/eu: C1 100 + C2 50 = 150 then; C1 120 now.
    assert v(march, "ent/eu", "nrr") == pytest.approx(100 * 120 / 150)


# --- customer ----------------------------------------------------------------------


def test_nps_value_interval_and_min_n(march: pd.DataFrame) -> None:
    # 10 9 8 7 6 0 10: n 7, promoters 3, detractors 2.
    assert v(march, "all", "nps") == pytest.approx(100 * (3 - 2) / 7)
    assert v(march, "all", "nps", "n") == 7
    se = 100 * math.sqrt((3 / 7 + 2 / 7 - (3 / 7 - 2 / 7) ** 2) / 7)
    assert v(march, "all", "nps", "ci_low") == pytest.approx(100 / 7 - 1.96 * se)
    assert v(march, "all", "nps", "ci_high") == pytest.approx(100 / 7 + 1.96 * se)
    # n 7 < min n 30: shown, but insufficient and unscored.
    assert v(march, "all", "nps", "status") == "insufficient"
    assert math.isnan(v(march, "all", "nps", "score"))


def test_month_boundary_attribution(march: pd.DataFrame, february: pd.DataFrame) -> None:
    # R0 at 2026-02-28 23:59:59 is February's only response; R1 at 03-01 00:00:00 is March's.
    assert v(february, "all", "nps", "n") == 1
    assert v(february, "all", "nps") == -100.0
    assert v(march, "ent/eu", "nps", "n") == 2  # R1 (C1) and R2 (C2)


def test_csat_top_two_box_with_wilson_interval(march: pd.DataFrame) -> None:
    # 5 4 3 1: two of four score 4 or 5.
    assert v(march, "all", "csat") == 50.0
    # Wilson for 2/4 at z = 1.96, worked through by hand: centre 0.5, half-width 0.349965.
    assert v(march, "all", "csat", "ci_low") == pytest.approx(15.0036, abs=1e-3)
    assert v(march, "all", "csat", "ci_high") == pytest.approx(84.9964, abs=1e-3)


def test_ces_counts_five_to_seven_as_easy(march: pd.DataFrame) -> None:
    assert v(march, "all", "ces") == pytest.approx(200 / 3)
    assert v(march, "smb/us", "ces") == 0.0  # C5 answered 4


def test_logo_retention_with_churn_on_first_day(
    march: pd.DataFrame, february: pd.DataFrame
) -> None:
    # February: S = C1 C2 C3 C4 (C5 acquired 02-10); C4 churned 02-15 -> 3/4.
    assert v(february, "all", "logo_retention") == 75.0
    assert v(february, "smb", "logo_retention") == 0.0
    # March: S = C1 C2 C3 C5; C2 churned on 03-01, before the end -> 3/4.
    assert v(march, "all", "logo_retention") == 75.0
    assert v(march, "all", "logo_retention", "n") == 4
    assert v(march, "ent", "logo_retention") == pytest.approx(200 / 3)


# --- process -------------------------------------------------------------------------


def test_ticket_kpis_for_resolved_tickets(march: pd.DataFrame) -> None:
    # Resolved in March: T1 (1 contact), T2 (2 contacts), T3 (reopened), T6 (opened in Feb).
    assert v(march, "all", "fcr") == 50.0
    assert v(march, "all", "fcr", "n") == 4
    assert v(march, "all", "reopen_rate") == 25.0
    # Resolution hours 3, 24, 48, 48: median (24 + 48) / 2.
    assert v(march, "all", "resolution_hours") == 36.0
    assert v(march, "ent/us", "resolution_hours") == 48.0


def test_first_response_counts_only_answers_by_as_of(march: pd.DataFrame) -> None:
    # Opened in March and answered by 03-31 12:00: T1 1h, T2 6h, T3 2h (T7 answered at 13:00).
    assert v(march, "all", "first_response_hours") == 2.0
    assert v(march, "all", "first_response_hours", "n") == 3


def test_sla_excludes_pending_tickets(march: pd.DataFrame) -> None:
    # T1 met, T2 late, T3 met, T4 unanswered past deadline, T7 deadline passed before its answer;
    # T5's deadline (18:00) is after as_of (12:00): pending, left out.
    assert v(march, "all", "sla_compliance") == 40.0
    assert v(march, "all", "sla_compliance", "n") == 5
    assert math.isnan(v(march, "smb/us", "sla_compliance"))  # only T5
    assert v(march, "smb/us", "sla_compliance", "n") == 0


# --- learning ---------------------------------------------------------------------------


def test_workforce_kpis(march: pd.DataFrame) -> None:
    # Headcount 10 + 20 + 5, leavers 1 + 0 + 1, training 25 + 15 + 0.
    assert v(march, "all", "attrition_rate") == pytest.approx(100 * 2 / 35)
    assert v(march, "all", "training_hours_per_fte") == pytest.approx(40 / 35)
    # eNPS: promoters 11, passives 6, detractors 4.
    assert v(march, "all", "enps") == pytest.approx(100 * 7 / 21)
    assert v(march, "all", "enps", "n") == 21
    assert v(march, "all", "enps", "status") == "no-target"
    # smb/eu: n = 3 < 10.
    assert v(march, "smb/eu", "enps", "status") == "insufficient"
    # No workforce row for smb/us: no data.
    assert v(march, "smb/us", "attrition_rate", "status") == "no-data"


# --- targets, scores and roll-up on real rows ------------------------------------------------


def test_status_uses_target_in_force_and_most_specific_node(
    march: pd.DataFrame, february: pd.DataFrame
) -> None:
    # `*` changed to 45/30 from March: all's FCR 50 is green in March.
    assert (v(march, "all", "fcr", "target"), v(march, "all", "fcr", "status")) == (45.0, "green")
    # ent has its own 80/70 from January, and ent/eu inherits it: both red.
    assert (v(march, "ent", "fcr", "target"), v(march, "ent", "fcr", "status")) == (80.0, "red")
    assert v(march, "ent/eu", "fcr", "target") == 80.0
    # smb inherits `*`.
    assert v(march, "smb", "fcr", "target") == 45.0
    # February still used the old `*` row (60/40) for all.
    assert v(february, "all", "fcr", "target") == 60.0


def test_down_kpis_and_perspective_score(march: pd.DataFrame) -> None:
    # resolution 36h between target 24 and threshold 48 (down): amber, score 10/3 + 0.5·10/3.
    assert v(march, "all", "resolution_hours", "status") == "amber"
    assert v(march, "all", "resolution_hours", "score") == pytest.approx(5.0)
    # reopen 25% worse than threshold 20 (down): red, score 10/3 − 0.5·10/3.
    assert v(march, "all", "reopen_rate", "status") == "red"
    assert v(march, "all", "reopen_rate", "score") == pytest.approx(5 / 3)
    # fcr 50 vs 45/30: score 10/3 + (20/15)·10/3 = 70/9. Process = (2·70/9 + 5 + 5/3)/4 = 50/9.
    assert v(march, "all", "fcr", "score") == pytest.approx(70 / 9)
    assert v(march, "all", "score:process") == pytest.approx(50 / 9)
    assert v(march, "all", "score:process", "status") == "amber"
    # FCR (weight 2), resolution and reopen scored: 4 of the process weight 7, at least half.
    assert (
        v(march, "all", "score:process", "scored"),
        v(march, "all", "score:process", "total"),
    ) == (3, 5)
    assert v(march, "all", "score:process", "coverage") == pytest.approx(4 / 7)
    # No other perspective has a scored KPI, so process alone carries 1 of the 4 equal
    # perspective weights: below half, the overall score is insufficient (DOMAIN.md §6).
    assert math.isnan(v(march, "all", "score:customer"))
    assert math.isnan(v(march, "all", "score:overall"))
    assert v(march, "all", "score:overall", "status") == "insufficient"
    assert (
        v(march, "all", "score:overall", "scored"),
        v(march, "all", "score:overall", "total"),
    ) == (1, 4)
    assert v(march, "all", "score:overall", "coverage") == pytest.approx(1 / 4)


def test_deltas_and_significance(march: pd.DataFrame) -> None:
    assert v(march, "all", "revenue", "yoy_delta") == pytest.approx(-10.0)
    assert v(march, "all", "sla_compliance", "prev_value") == 100.0  # T6 in Feb, met
    assert v(march, "all", "sla_compliance", "mom_delta") == -60.0
    # Census KPIs carry no significance test.
    assert pd.isna(v(march, "all", "sla_compliance", "mom_significant"))
    # NPS from −100 (n 1, SE 0) to 100/7 (SE 31.5): z = 114.3/31.5 > 1.96.
    assert bool(v(march, "all", "nps", "mom_significant")) is True


def test_non_utc_timezone_month_of_last_second(tmp_path: Path) -> None:
    """A response at 23:59:59 on the last day in New York is March, even written in UTC."""
    surveys = """\
response_id,customer_id,survey,score,sent_at,responded_at,channel,duration_seconds,comment
A1,C1,nps,10,2026-03-30 10:00:00,2026-03-31 23:59:59,email,40,
A2,C2,nps,10,2026-03-30 10:00:00,2026-04-01T03:59:59+00:00,email,40,
A3,C3,nps,0,2026-03-30 10:00:00,2026-04-01T04:00:00+00:00,email,40,
"""
    config = write_project(
        tmp_path,
        tables={"survey_responses": surveys},
        settings='timezone = "America/New_York"\nas_of = "2026-04-02T12:00:00"\n',
    )
    card = compute_scorecard(load_project(config), "2026-04").scorecard
    mar = card.period("2026-03").set_index(["node", "kpi"])
    apr = card.period("2026-04").set_index(["node", "kpi"])
    # 03:59:59 UTC is 23:59:59 EDT on 31 March; 04:00:00 UTC is midnight, April.
    assert v(mar, "all", "nps", "n") == 2
    assert v(mar, "all", "nps") == 100.0
    assert v(apr, "all", "nps", "n") == 1
    assert v(apr, "all", "nps") == -100.0


def test_empty_period_has_no_data_everywhere(tmp_path: Path) -> None:
    """January 2026 has customers but no responses, tickets or invoices."""
    config = write_project(tmp_path)
    card = compute_scorecard(load_project(config), "2026-03").scorecard
    jan = card.period("2026-01").set_index(["node", "kpi"])
    for kpi in ("nps", "csat", "fcr", "sla_compliance", "revenue", "first_response_hours"):
        assert v(jan, "all", kpi, "status") == "no-data", kpi
        assert math.isnan(v(jan, "all", kpi))
    # Retention still has a population (customers exist) and a value.
    assert v(jan, "all", "logo_retention") == 100.0
