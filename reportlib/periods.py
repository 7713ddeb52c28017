"""Calendar-month periods `YYYY-MM` (DOMAIN.md §1) and their integer month index."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T", bound=Any)

_PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def month_index(year: T, month: T) -> T:
    """The month index year*12 + month-1 of a calendar month.

    The one formula for it: works on ints, numpy arrays and Ibis expressions alike, so
    Python, pandas and the queries that Ibis compiles all count months the same way.
    """
    return year * 12 + month - 1


def parse(period: str) -> int:
    """Return the month index (year*12 + month-1) of `YYYY-MM`, or raise ConfigError.

    Strict: no surrounding spaces, a four-digit year from 0001 and a month 01–12. A period
    names an output folder, so `' 2026-10'` must never pass as October 2026 (it would
    create a folder whose name starts with a space); callers reading periods from data
    files strip the cell themselves.
    """
    text = str(period)
    m = _PERIOD.fullmatch(text)
    if not m or int(m.group(1)) == 0:
        raise ConfigError(f"period {period!r} is not a month in the form YYYY-MM (e.g. 2026-10)")
    return month_index(int(m.group(1)), int(m.group(2)))


def problem(period: str) -> str | None:
    """Why `period` is not a month `YYYY-MM`, in a few words (None when it is one).

    For the command line's one-line errors: whitespace, a two-digit year and a month
    out of range each get their own hint.
    """
    text = str(period)
    if _PERIOD.fullmatch(text) and int(text[:4]) > 0:
        return None
    if not text.strip():
        return "empty; give a month YYYY-MM, e.g. 2026-10"
    if text != text.strip():
        return "leading or trailing spaces are not allowed; give exactly YYYY-MM, e.g. 2026-10"
    two = re.fullmatch(r"([0-9]{2})-([0-9]{2})", text)
    if two:
        return f"the year needs four digits: YYYY-MM, e.g. 20{two.group(1)}-{two.group(2)}"
    loose = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", text)
    if loose and not 1 <= int(loose.group(2)) <= 12:
        return "the month must be 01 to 12 in YYYY-MM"
    if loose:
        return (
            f"the month needs two digits: YYYY-MM, e.g. {loose.group(1)}-{int(loose.group(2)):02d}"
        )
    return "not a month in the form YYYY-MM (e.g. 2026-10)"


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
