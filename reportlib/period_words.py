"""The words a pack uses for its period: month, quarter or year to date (DOMAIN.md §8).

A monthly pack says "this month", "MoM" and "the same month a year earlier"; a quarterly
pack (`2026-Q3`) says "this quarter", "QoQ" and "the same quarter a year earlier"; a
year-to-date pack (`2026-09-YTD`) compares with the same months of the year before. The
templates print these words (the `words` variable) instead of a fixed "month".
"""

from __future__ import annotations

from dataclasses import dataclass

from . import periods


@dataclass(frozen=True)
class PeriodWords:
    """How the pack names its period and its changes."""

    unit: str
    """`month`, `quarter` or `year to date`: "13 months", "this quarter"."""
    units: str
    """The plural: `months`, `quarters`, `years`."""
    this: str
    """`this month`, `this quarter`, `this year to date`."""
    last: str
    """`last month`, `last quarter`, `the same months last year`."""
    change: str
    """The previous-period change's short label: `MoM`, `QoQ`, `vs last year` (a year to date's
    previous period is the same months a year earlier)."""
    year_ago: str
    """What YoY compares with: `the same month a year earlier`."""
    monthly: bool
    """True for a monthly pack."""
    previous: bool = True
    """Whether the change on the previous period is a column of its own. A year to date's
    previous period is the same months a year earlier, so that change is the YoY one and
    the scorecard shows one column, not two equal ones."""
    step: str = "month"
    """One period in a count: "red for 3 {step}s" (`month`, `quarter`, `year`)."""
    spark: str = "13 months"
    """What a sparkline covers: `13 months`, or the longer periods of the trend (`8 quarters`)."""
    method: str = ""
    """How a longer period's figures are made, for the methodology appendix ("" for a month)."""


SPARK_MONTHS = 13
"""Months in a monthly sparkline (charts.py draws the same number of points at most)."""


def _method(unit: str, months: str, year_ago: str) -> str:
    return (
        f"This pack covers a {unit}: every KPI is computed from the rows of {months}, never from "
        f"monthly figures (medians over all the rows, retention from the customers active at the "
        f"start, NRR and growth against {year_ago} a year earlier, attrition and training hours "
        f"over the average headcount). Where a definition below says month, read {unit}. "
        "Targets are those in force at the last month; the monthly targets of revenue, training "
        "hours, attrition and logo retention are scaled to the period's length. Manual values (kpi_values.csv) "
        "are monthly and not used; declared KPIs are computed for months only."
    )


def words(period: str, trend_months: int = 24) -> PeriodWords:
    """The words of `period`'s cadence (`trend_months`: the setting the trend's length comes from)."""
    cadence = periods.cadence_of(period)
    points = min(SPARK_MONTHS, periods.trend_length(period, trend_months))
    if cadence.name == "quarter":
        return PeriodWords(
            unit="quarter",
            units="quarters",
            this="this quarter",
            last="last quarter",
            change="QoQ",
            year_ago="the same quarter a year earlier",
            monthly=False,
            spark=f"{points} quarters",
            step="quarter",
            method=_method("quarter", "the quarter's three months", "the same quarter"),
        )
    if cadence.name == "ytd":
        return PeriodWords(
            unit="year to date",
            units="years",
            this="this year to date",
            last="the same months last year",
            change="YoY",
            year_ago="the same months a year earlier",
            monthly=False,
            spark=f"{points} years",
            step="year",
            previous=False,
            method=_method("year to date", "January to the period's last month", "the same months"),
        )
    return PeriodWords(
        unit="month",
        units="months",
        this="this month",
        last="last month",
        change="MoM",
        year_ago="the same month a year earlier",
        monthly=True,
    )
