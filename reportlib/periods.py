"""Calendar-month periods `YYYY-MM` (DOMAIN.md §1) and their integer month index."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T", bound=Any)

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_index(year: T, month: T) -> T:
    """The month index year*12 + month-1 of a calendar month.

    The one formula for it: works on ints, numpy arrays and Ibis expressions alike, so
    Python, pandas and the queries that Ibis compiles all count months the same way.
    """
    return year * 12 + month - 1


def parse(period: str) -> int:
    """Return the month index (year*12 + month-1) of `YYYY-MM`, or raise ConfigError."""
    m = _PERIOD.match(str(period).strip())
    if not m:
        raise ConfigError(f"period {period!r} is not a month in the form YYYY-MM (e.g. 2026-10)")
    return month_index(int(m.group(1)), int(m.group(2)))


def label(index: int) -> str:
    """Return `YYYY-MM` for a month index."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def shift(period: str, months: int) -> str:
    """Return the period `months` after (or before, if negative) `period`."""
    return label(parse(period) + months)


def first_day(period: str) -> date:
    """First calendar day of the period."""
    i = parse(period)
    return date(i // 12, i % 12 + 1, 1)


def of_date(d: date) -> str:
    """Period containing a date."""
    return f"{d.year:04d}-{d.month:02d}"


def span(first: str, last: str) -> list[str]:
    """All periods from `first` to `last` inclusive."""
    return [label(i) for i in range(parse(first), parse(last) + 1)]


def long_name(period: str) -> str:
    """`October 2026` for `2026-10`."""
    return first_day(period).strftime("%B %Y")
