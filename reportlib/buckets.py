"""Rows grouped by period: a month, or the quarter or year to date holding it (DOMAIN.md §8).

The measure queries (`measures.py`) filter and group their rows with these, so a
quarter's figure comes from the rows of its three months and a month's query is the
plain month filter it always was.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from . import periods


def in_periods(
    month: ir.IntegerValue, lo: int, hi: int, cadence: periods.Cadence
) -> ir.BooleanValue:
    """True for rows whose month index falls in periods lo..hi of `cadence`."""
    if cadence.name == "month":
        return month.between(lo, hi)
    first, last = cadence.month_range(lo)[0], cadence.month_range(hi)[1]
    ok = month.between(first, last)
    return ok & ((month % 12) < cadence.through) if cadence.name == "ytd" else ok


def by_period(
    t: ir.Table, month: str, cadence: periods.Cadence, name: str = "_period"
) -> tuple[ir.Table, str]:
    """`t` and the column to group it by: `month` itself, or `name`, the period holding it."""
    if cadence.name == "month":
        return t, month
    return t.mutate(**{name: cadence.bucket(t[month])}), name


def month_bounds(lo: int, hi: int, cadence: periods.Cadence = periods.MONTH) -> ir.Table:
    """A table of months lo..hi with their first day (`start`) and the next month's (`end`).

    With a longer cadence, its periods lo..hi: `start` the first day of a period's first
    month, `end` the first day after its last month.
    """
    if cadence.name != "month":
        ranges = [cadence.month_range(i) for i in range(lo, hi + 1)]
        return ibis.memtable(
            {
                "month": list(range(lo, hi + 1)),
                "start": [periods.first_day(periods.label(a)) for a, _ in ranges],
                "end": [periods.first_day(periods.label(b + 1)) for _, b in ranges],
            }
        ).cast({"start": "date", "end": "date"})
    return ibis.memtable(
        {
            "month": list(range(lo, hi + 1)),
            "start": [periods.first_day(periods.label(i)) for i in range(lo, hi + 1)],
            "end": [periods.first_day(periods.label(i + 1)) for i in range(lo, hi + 1)],
        }
    ).cast({"start": "date", "end": "date"})
