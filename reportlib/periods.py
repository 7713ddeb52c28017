"""Periods (DOMAIN.md §1, §8): calendar months `YYYY-MM`, quarters `YYYY-Qn` and years to date `YYYY-MM-YTD`.

A month is the unit every input row is dated in; a quarter (`2026-Q3`: July to September)
and a year to date (`2026-09-YTD`: January to September 2026) are longer review periods
whose figures are computed from the raw rows of all their months, never from monthly
figures. A `Cadence` maps a month index to the index of the longer period holding it (its
bucket), so the measure queries group rows by that bucket instead of by month; the
labels, shifts and spans of this module work on any cadence's labels alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeVar

from .errors import ConfigError

T = TypeVar("T", bound=Any)

_PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])")
_YTD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])-YTD")

CadenceName = Literal["month", "quarter", "ytd"]
CADENCES: tuple[CadenceName, ...] = ("month", "quarter", "ytd")


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


def of_date(d: date) -> str:
    """Period containing a date."""
    return f"{d.year:04d}-{d.month:02d}"


# --------------------------------------------------------------------------- cadences


@dataclass(frozen=True)
class Cadence:
    """How months group into review periods: by month, by quarter, or January to `through`.

    A period of the cadence is known by its index (`bucket`): the month index itself for
    months, year*4 + quarter-1 for quarters, the year for a year to date. A year to date
    holds the months January to `through` of its year; the other months belong to none.
    """

    name: CadenceName = "month"
    through: int = 12
    """The last month (1–12) of a year to date; 12 for the other cadences."""

    @property
    def per_year(self) -> int:
        """Periods a year: 12, 4 or 1; a year-on-year change compares a period with the one this many before."""
        return {"month": 12, "quarter": 4, "ytd": 1}[self.name]

    @property
    def annual(self) -> float:
        """Periods of this length in a year, for annualising a rate (12, 4, 12/9 for January–September)."""
        return 12 / self.months if self.name == "ytd" else self.per_year

    @property
    def months(self) -> int:
        """Months in one period of the cadence (1, 3, or January to `through`)."""
        return {"month": 1, "quarter": 3, "ytd": self.through}[self.name]

    def bucket(self, month: T) -> T:
        """The index of the period holding month index `month` (ints and Ibis expressions).

        For a year to date, months after `through` map to a period too (the year): callers
        keep only the months `holds` accepts.
        """
        if self.name == "month":
            return month
        return month // (3 if self.name == "quarter" else 12)

    def holds(self, month: int) -> bool:
        """Whether month index `month` belongs to a period of this cadence."""
        return self.name != "ytd" or month % 12 < self.through

    def month_range(self, index: int) -> tuple[int, int]:
        """The first and last month index of period `index`."""
        if self.name == "month":
            return index, index
        if self.name == "quarter":
            return 3 * index, 3 * index + 2
        return 12 * index, 12 * index + self.through - 1

    def label(self, index: int) -> str:
        """The label of period `index`: `2026-10`, `2026-Q3` or `2026-09-YTD`."""
        if self.name == "month":
            return label(index)
        if self.name == "quarter":
            return f"{index // 4:04d}-Q{index % 4 + 1}"
        return f"{index:04d}-{self.through:02d}-YTD"

    def of_month(self, month: int) -> int:
        """The latest complete period of the cadence whose last month is at or before `month`."""
        if self.name == "month":
            return month
        if self.name == "quarter":
            return (month - 2) // 3
        return month // 12 if month % 12 >= self.through - 1 else month // 12 - 1


MONTH = Cadence()
QUARTER = Cadence("quarter")


def trend_length(period: str, trend_months: int) -> int:
    """Periods in the trend window of `period`'s cadence, from the `trend_months` setting.

    Months: `trend_months` (24 by default). Quarters: the quarters in as many months (8).
    Years to date: this year and the earlier years of the window (3): every point covers
    the same months of its year, so the seasons compare like with like.
    """
    cadence = cadence_of(period)
    if cadence.name == "month":
        return trend_months
    if cadence.name == "quarter":
        return max(2, trend_months // 3)
    return max(2, trend_months // 12 + 1)


def cadence_name(name: str) -> CadenceName:
    """`name` as a cadence name (ConfigError when it is none of month, quarter, ytd)."""
    for known in CADENCES:
        if name == known:
            return known
    raise ConfigError(f"cadence {name!r}: give month, quarter or ytd")


def ytd(through: int) -> Cadence:
    """The year-to-date cadence January to month `through` (1–12)."""
    return Cadence("ytd", through)


def latest(cadence: CadenceName, last_month: str) -> str:
    """The latest complete period of `cadence` ending at or before month `last_month`.

    A quarter is complete when its third month is; a year to date ends at `last_month`.
    """
    month = parse(last_month)
    if cadence == "ytd":
        return ytd(month % 12 + 1).label(month // 12)
    c = QUARTER if cadence == "quarter" else MONTH
    return c.label(c.of_month(month))


def _match(period: str) -> tuple[Cadence, int] | None:
    text = str(period)
    if (m := _PERIOD.fullmatch(text)) and int(m.group(1)) > 0:
        return MONTH, month_index(int(m.group(1)), int(m.group(2)))
    if (m := _QUARTER.fullmatch(text)) and int(m.group(1)) > 0:
        return QUARTER, int(m.group(1)) * 4 + int(m.group(2)) - 1
    if (m := _YTD.fullmatch(text)) and int(m.group(1)) > 0:
        return ytd(int(m.group(2))), int(m.group(1))
    return None


def cadence_of(period: str) -> Cadence:
    """The cadence of a period label of any cadence (ConfigError when it is none)."""
    found = _match(period)
    if found is None:
        raise ConfigError(f"period {period!r} is not a period: {any_problem(period)}")
    return found[0]


def index(period: str) -> int:
    """The index of a period label within its cadence (see `Cadence.bucket`); ConfigError if invalid."""
    found = _match(period)
    if found is None:
        raise ConfigError(f"period {period!r} is not a period: {any_problem(period)}")
    return found[1]


def check(period: str) -> str:
    """`period` when it is a month, a quarter or a year to date; ConfigError otherwise.

    The validation of a period that names an output folder (`output/2026-Q3/`): as strict
    as `parse` for months.
    """
    index(period)
    return period


def months_of(period: str) -> tuple[int, int]:
    """First and last month index of a period label of any cadence."""
    return cadence_of(period).month_range(index(period))


def last_month(period: str) -> str:
    """The last month `YYYY-MM` of a period: targets and definitions in force then apply (DOMAIN.md §8)."""
    return label(months_of(period)[1])


def any_problem(period: str) -> str | None:
    """Why `period` is not a month, a quarter or a year to date (None when it is one)."""
    if _match(period) is not None:
        return None
    text = str(period)
    if re.fullmatch(r"[0-9]{4}-[qQ][0-9]+", text):
        return "a quarter is YYYY-Qn with n from 1 to 4, e.g. 2026-Q3"
    if re.fullmatch(r"[0-9]{4}-[0-9]{1,2}-[yY][tT][dD]", text):
        return "a year to date is YYYY-MM-YTD with a two-digit month 01 to 12, e.g. 2026-09-YTD"
    return problem(text)


def shift(period: str, months: int) -> str:
    """The period `months` periods of its own cadence after (or before, if negative) `period`.

    For a month label, months; for a quarter, quarters; for a year to date, years.
    """
    cadence = cadence_of(period)
    return cadence.label(index(period) + months)


def first_day(period: str) -> date:
    """First calendar day of the period (of its first month)."""
    i = months_of(period)[0]
    return date(i // 12, i % 12 + 1, 1)


def span(first: str, last: str) -> list[str]:
    """All periods from `first` to `last` inclusive (both of one cadence)."""
    cadence = cadence_of(last)
    if cadence_of(first) != cadence:
        raise ConfigError(f"periods {first} and {last} are not of the same cadence")
    return [cadence.label(i) for i in range(index(first), index(last) + 1)]


def long_name(period: str) -> str:
    """`October 2026` for `2026-10`, `Q3 2026` for `2026-Q3`, `January–September 2026 (year to date)` for `2026-09-YTD`."""
    cadence = cadence_of(period)
    if cadence.name == "quarter":
        i = index(period)
        return f"Q{i % 4 + 1} {i // 4}"
    if cadence.name == "ytd":
        first = first_day(period)
        end = date(first.year, cadence.through, 1)
        if cadence.through == 1:
            return f"{end:%B %Y} (year to date)"
        return f"{first:%B}–{end:%B %Y} (year to date)"
    return first_day(period).strftime("%B %Y")
