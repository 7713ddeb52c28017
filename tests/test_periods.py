"""Period labels of every cadence: months, quarters (`2026-Q3`), years to date (`2026-09-YTD`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportlib import kpis, periods
from reportlib.errors import ConfigError
from reportlib.formatting import period_name, period_short, period_tick
from reportlib.layout import OutputRoot
from reportlib.period_words import words


def test_a_quarter_is_its_three_months() -> None:
    assert periods.cadence_of("2026-Q3") == periods.QUARTER
    assert periods.months_of("2026-Q3") == (periods.parse("2026-07"), periods.parse("2026-09"))
    assert periods.last_month("2026-Q3") == "2026-09"
    assert periods.first_day("2026-Q3").isoformat() == "2026-07-01"
    assert periods.long_name("2026-Q3") == "Q3 2026"


def test_a_year_to_date_runs_from_january() -> None:
    c = periods.cadence_of("2026-09-YTD")
    assert (c.name, c.through, c.months, c.per_year) == ("ytd", 9, 9, 1)
    assert periods.months_of("2026-09-YTD") == (periods.parse("2026-01"), periods.parse("2026-09"))
    assert periods.long_name("2026-09-YTD") == "January–September 2026 (year to date)"
    assert c.holds(periods.parse("2025-09")) and not c.holds(periods.parse("2025-10"))


@pytest.mark.parametrize(
    ("period", "back", "expected"),
    [
        ("2026-Q1", 1, "2025-Q4"),  # QoQ across the year end
        ("2026-Q3", 4, "2025-Q3"),  # YoY: four quarters back
        ("2026-09-YTD", 1, "2025-09-YTD"),  # a year to date's previous period is last year's
        ("2026-01", 1, "2025-12"),  # months as before
    ],
)
def test_shift_counts_periods_of_the_labels_cadence(period: str, back: int, expected: str) -> None:
    assert periods.shift(period, -back) == expected
    assert periods.shift(expected, back) == period


def test_span_of_quarters() -> None:
    assert periods.span("2025-Q4", "2026-Q2") == ["2025-Q4", "2026-Q1", "2026-Q2"]
    with pytest.raises(ConfigError, match="same cadence"):
        periods.span("2025-12", "2026-Q2")


@pytest.mark.parametrize(
    ("latest_month", "quarter", "ytd"),
    [
        ("2026-09", "2026-Q3", "2026-09-YTD"),  # September completes Q3
        ("2026-10", "2026-Q3", "2026-10-YTD"),  # October: Q4 is not complete
        ("2026-08", "2026-Q2", "2026-08-YTD"),
        ("2027-01", "2026-Q4", "2027-01-YTD"),
    ],
)
def test_latest_complete_quarter_and_year_to_date(
    latest_month: str, quarter: str, ytd: str
) -> None:
    assert periods.latest("quarter", latest_month) == quarter
    assert periods.latest("ytd", latest_month) == ytd
    assert periods.latest("month", latest_month) == latest_month


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2026-Q5", "a quarter is YYYY-Qn with n from 1 to 4"),
        ("2026-q3", "a quarter is YYYY-Qn"),
        ("2026-9-YTD", "a year to date is YYYY-MM-YTD with a two-digit month"),
        ("2026-13-YTD", "a year to date is YYYY-MM-YTD"),
        (" 2026-Q3", "leading or trailing spaces"),
    ],
)
def test_bad_labels_are_refused_with_a_hint(text: str, why: str) -> None:
    assert why in (periods.any_problem(text) or "")
    with pytest.raises(ConfigError):
        periods.check(text)


def test_month_only_parsing_stays_month_only() -> None:
    """Manual values, definition and target dates are months: a quarter there is an error."""
    with pytest.raises(ConfigError, match="not a month"):
        periods.parse("2026-Q3")
    assert periods.problem("2026-Q3") is not None
    assert periods.any_problem("2026-Q3") is None


def test_month_messages_are_unchanged() -> None:
    assert periods.any_problem("26-10") == periods.problem("26-10")
    assert periods.any_problem("2026-1") == periods.problem("2026-1")


def test_trend_length_per_cadence() -> None:
    assert periods.trend_length("2026-10", 24) == 24
    assert periods.trend_length("2026-Q3", 24) == 8
    assert periods.trend_length("2026-09-YTD", 24) == 3


def test_bucket_is_the_same_formula_on_ints() -> None:
    q = periods.QUARTER
    for month in ("2026-07", "2026-08", "2026-09"):
        assert q.label(q.bucket(periods.parse(month))) == "2026-Q3"
    y = periods.ytd(9)
    assert y.label(y.bucket(periods.parse("2026-03"))) == "2026-09-YTD"


def test_period_names_for_the_pack() -> None:
    assert period_name("2026-Q3") == "Q3 2026"
    assert period_tick("2026-Q3") == "Q3 ’26"
    assert period_name("2026-09-YTD") == "January–September 2026 (year to date)"
    assert period_short("2026-09-YTD") == "Jan–Sep 2026"
    assert period_tick("2025-09-YTD") == "2025"
    assert period_name("2026-10") == "October 2026"
    assert period_tick("2026-10") == "Oct ’26"


def test_the_words_of_each_cadence() -> None:
    month, quarter, ytd = (words(p) for p in ("2026-10", "2026-Q3", "2026-09-YTD"))
    assert (month.this, month.last, month.change, month.spark) == (
        "this month",
        "last month",
        "MoM",
        "13 months",
    )
    assert (quarter.this, quarter.last, quarter.change, quarter.spark, quarter.step) == (
        "this quarter",
        "last quarter",
        "QoQ",
        "8 quarters",
        "quarter",
    )
    assert quarter.year_ago == "the same quarter a year earlier"
    assert "This pack covers a quarter" in quarter.method and month.method == ""
    assert (ytd.change, ytd.step, ytd.spark) == ("YoY", "year", "3 years")


def test_output_root_lists_each_cadence_in_calendar_order(tmp_path: Path) -> None:
    for name in ("2026-09", "2026-Q3", "2026-10", "2026-09-YTD", "2026-Q2", "notes", "2026-Q5"):
        (tmp_path / name).mkdir()
    root = OutputRoot(tmp_path)
    assert list(root.periods()) == ["2026-09", "2026-10"]  # months, as before
    assert list(root.periods("quarter")) == ["2026-Q2", "2026-Q3"]
    assert list(root.periods(None)) == ["2026-Q2", "2026-09", "2026-Q3", "2026-09-YTD", "2026-10"]


@pytest.mark.parametrize(
    ("kpi", "monthly", "months", "expected"),
    [
        ("revenue", 1000.0, 3, 3000.0),
        ("training_hours_per_fte", 2.0, 9, 18.0),
        ("attrition_rate", 2.0, 3, 100 * (1 - 0.98**3)),
        ("logo_retention", 99.0, 3, 100 * 0.99**3),
        ("nps", 25.0, 3, 25.0),  # a rate keeps its target
    ],
)
def test_monthly_targets_scaled_to_the_period(
    kpi: str, monthly: float, months: int, expected: float
) -> None:
    assert kpis.period_target(kpi, monthly, months) == pytest.approx(expected)
