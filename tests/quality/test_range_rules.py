"""The rules on impossible numbers (DOMAIN.md §7): non_finite, sla_range, workforce_range.

Each test adds a few written-out rows to the tiny project (conftest.py) and checks the row
is quarantined with its line and a detail saying why, and that the figures computed from
the kept rows are those of the tiny project without it (hand-checkable from conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reportlib import hierarchy, measures, periods, pipeline, sources
from reportlib.config import load_project
from reportlib.errors import DataError

from ..conftest import REVENUE, TICKETS, WORKFORCE
from .helpers import by_id, check, kept_ids, project, rejected, report_of

LOOSE = "max_reject_share = 0.9"
"""The gate is not what these tests are about: let every quarantine through."""


def _figure(config: Path, node: str, kpi: str) -> float:
    """One March 2026 value of the scorecard computed from the kept rows."""
    result = pipeline.compute_scorecard(load_project(config), "2026-03")
    sc = result.current
    row = sc[(sc["node"] == node) & (sc["kpi"] == kpi)]
    return float(row["value"].iloc[0])


# --- non_finite ---------------------------------------------------------------------------

NON_FINITE = [
    ("inf", "amount inf is not a finite number"),
    ("-inf", "amount -inf is not a finite number"),
    ("NaN", "amount nan is not a finite number"),
    ("Infinity", "amount inf is not a finite number"),
    ("1e308", "amount 1e+308 is beyond ±1e12"),
    ("-2e12", "amount -2e+12 is beyond ±1e12"),
]


@pytest.mark.parametrize(("amount", "detail"), NON_FINITE)
@pytest.mark.parametrize("date", ["2026-03-07", "2025-11-07"])  # the reported month, and earlier
def test_non_finite_amounts_are_quarantined_in_any_month(
    tmp_path: Path, amount: str, detail: str, date: str
) -> None:
    config = project(tmp_path, revenue=REVENUE + f"I8,C1,{date},{amount}\n", quality_toml=LOOSE)
    result = check(config)
    (bad,) = rejected(result, "revenue")
    assert bad["invoice_id"] == "I8" and bad["amount"] == amount  # the text as read
    assert bad["rule"] == "non_finite" and bad["source_line"] == 9
    assert bad["detail"] == f"non_finite: {detail}"
    assert "I8" not in kept_ids(result, "revenue", "invoice_id")


def test_a_finite_amount_at_the_limit_is_kept(tmp_path: Path) -> None:
    config = project(tmp_path, revenue=REVENUE + "I8,C1,2026-03-07,1e12\nI9,C1,2026-03-07,-1e12\n")
    assert rejected(check(config), "revenue") == []


def test_revenue_is_unchanged_by_a_quarantined_inf(tmp_path: Path) -> None:
    """March 2026 revenue of the tiny company is 120 + 150 - 10 + 80 = 340, with or without."""
    config = project(tmp_path, revenue=REVENUE + "I8,C1,2026-03-07,inf\n", quality_toml=LOOSE)
    assert _figure(config, "all", "revenue") == 340.0
    assert _figure(config, "ent", "revenue") == 260.0


WORKFORCE_NON_FINITE = [
    ("inf", "5", "headcount inf is not a finite number"),
    ("10", "NaN", "leavers nan is not a finite number"),
    ("5000000000000", "0", "headcount 5e+12 is beyond ±1e12"),
]


@pytest.mark.parametrize(("headcount", "leavers", "detail"), WORKFORCE_NON_FINITE)
def test_non_finite_workforce_numbers_are_quarantined_not_refused(
    tmp_path: Path, headcount: str, leavers: str, detail: str
) -> None:
    """A whole-number column holding inf is not a schema error: the row goes to quarantine."""
    row = f"2026-03,smb,us,{headcount},{leavers},1,0,0,0\n"
    result = check(project(tmp_path, workforce=WORKFORCE + row, quality_toml=LOOSE))
    (bad,) = rejected(result, "workforce")
    assert bad["headcount"] == headcount and bad["source_line"] == 5
    assert bad["rule"] == "non_finite"
    assert detail in bad["detail"]


def test_training_hours_infinite_and_negative_breaks_both_rules(tmp_path: Path) -> None:
    row = "2026-03,smb,us,4,0,-inf,0,0,0\n"
    result = check(project(tmp_path, workforce=WORKFORCE + row, quality_toml=LOOSE))
    (bad,) = rejected(result, "workforce")
    assert bad["rule"] == "non_finite;workforce_range"
    assert bad["detail"] == (
        "non_finite: training_hours -inf is not a finite number; "
        "workforce_range: training_hours -inf is negative"
    )
    t = report_of(result)["tables"]["workforce"]
    assert (t["rows_in"], t["rows_kept"], t["rows_quarantined"], t["rule_hits"]) == (4, 3, 1, 2)
    assert t["by_rule"] == {"non_finite": 1, "workforce_range": 1}


# --- workforce_range ----------------------------------------------------------------------

WORKFORCE_RANGE = [
    ("0,3,0,0,0,0", "headcount 0 is not positive; leavers 3 exceed headcount 0"),
    ("-5,0,0,0,0,0", "headcount -5 is not positive"),
    ("20,500,0,0,0,0", "leavers 500 exceed headcount 20"),
    ("20,0,0,0,0,-40", "enps_detractors -40 is negative"),
    ("20,-1,-2.5,-3,0,0", "leavers -1 is negative; training_hours -2.5 is negative; "
     "enps_promoters -3 is negative"),
]  # fmt: skip


@pytest.mark.parametrize(("values", "detail"), WORKFORCE_RANGE)
def test_workforce_range(tmp_path: Path, values: str, detail: str) -> None:
    result = check(
        project(tmp_path, workforce=WORKFORCE + f"2026-03,smb,us,{values}\n", quality_toml=LOOSE)
    )
    (bad,) = rejected(result, "workforce")
    assert bad["rule"] == "workforce_range" and bad["source_line"] == 5
    assert bad["detail"] == f"workforce_range: {detail}"


def test_a_full_team_leaving_is_possible(tmp_path: Path) -> None:
    row = "2026-03,smb,us,3,3,0,0,0,0\n"  # leavers = headcount: every head left, but no more
    assert rejected(check(project(tmp_path, workforce=WORKFORCE + row)), "workforce") == []


@pytest.mark.parametrize("values", ["0,3,0,0,0,0", "20,0,0,0,0,-40"])
def test_parents_are_unchanged_by_an_impossible_workforce_row(tmp_path: Path, values: str) -> None:
    """Without the smb/us row: SMB attrition 100·1/5 = 20%, company 100·2/35 ≈ 5.71%,
    company eNPS 100·(11 − 4)/21 ≈ 33.3 (conftest.py WORKFORCE)."""
    config = project(
        tmp_path, workforce=WORKFORCE + f"2026-03,smb,us,{values}\n", quality_toml=LOOSE
    )
    assert _figure(config, "smb", "attrition_rate") == pytest.approx(20.0)
    assert _figure(config, "all", "attrition_rate") == pytest.approx(200 / 35)
    assert _figure(config, "all", "enps") == pytest.approx(100 * 7 / 21)


# --- sla_range ----------------------------------------------------------------------------

SLA = [
    ("0", "sla_hours 0 is not positive"),
    ("-4", "sla_hours -4 is not positive"),
    ("", "sla_hours is missing"),
    ("NaN", "sla_hours nan is not a finite number"),
    ("inf", "sla_hours inf is not a finite number"),
]


@pytest.mark.parametrize(("sla", "detail"), SLA)
def test_sla_range(tmp_path: Path, sla: str, detail: str) -> None:
    row = f"T8,C1,email,2026-03-10 10:00:00,2026-03-10 11:00:00,,1,false,{sla}\n"
    result = check(project(tmp_path, tickets=TICKETS + row, quality_toml=LOOSE))
    (bad,) = rejected(result, "tickets")
    assert bad["ticket_id"] == "T8" and bad["source_line"] == 9
    assert bad["rule"] == "sla_range" and bad["detail"] == f"sla_range: {detail}"


def test_sla_compliance_is_unchanged_by_a_zero_deadline(tmp_path: Path) -> None:
    """A zero deadline would count T8 as a breach; quarantined, the figure is the tiny one."""
    row = "T8,C1,email,2026-03-10 10:00:00,2026-03-10 11:00:00,,1,false,0\n"
    clean = _figure(project(tmp_path / "a"), "all", "sla_compliance")
    with_row = _figure(
        project(tmp_path / "b", tickets=TICKETS + row, quality_toml=LOOSE), "all", "sla_compliance"
    )
    assert with_row == clean


def test_a_ticket_breaking_time_order_and_sla_range_is_quarantined_once(tmp_path: Path) -> None:
    row = "T8,C1,email,2026-03-10 10:00:00,2026-03-10 09:00:00,,1,false,-1\n"
    result = check(project(tmp_path, tickets=TICKETS + row, quality_toml=LOOSE))
    (bad,) = rejected(result, "tickets")
    assert bad["rule"] == "time_order;sla_range"
    t = report_of(result)["tables"]["tickets"]
    assert (t["rows_in"], t["rows_kept"], t["rows_quarantined"], t["rule_hits"]) == (8, 7, 1, 2)
    assert by_id(result, "tickets", "ticket_id").keys() == {"T8"}


# --- the backstop -------------------------------------------------------------------------


def test_measures_refuse_an_infinite_figure(tiny: Path) -> None:
    """Were an infinite value to reach the measures, compute stops naming measure, node, month."""
    proj = load_project(tiny)
    src = sources.load(proj)
    tree = hierarchy.build(proj.hierarchy, measures.combos(src, proj.hierarchy.levels))
    month = periods.parse("2026-03")
    m = measures.compute(src, tree, month, month)
    measures.require_finite(m.frame)  # the tiny project's figures are finite
    broken = m.frame.copy()
    broken.loc[("all", month), "training_hours"] = float("inf")
    with pytest.raises(DataError) as e:
        measures.require_finite(broken)
    assert str(e.value).startswith("measure training_hours is inf for node all in 2026-03: ")
