"""How figures read in a board pack: numbers by unit, deltas, and the status vocabulary.

One place for these so the scorecard table, the charts, the commentary drafts and
the email body all say "12.3%" and "Off target" the same way. Every number function takes
the project's `locale` (separators, where `%` and the currency symbol go; see `locales`);
the default `en_US` reads `$1,234,567` and `12.3%`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from . import locales, periods
from .locales import DEFAULT as DEFAULT_LOCALE

MINUS = "\u2212"
"""Typographic minus sign, so negative figures line up with positive ones."""

DASH = "–"
"""Shown for a missing figure."""

CURRENCY_SYMBOLS: Mapping[str, str] = MappingProxyType(
    {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹"}
)


@dataclass(frozen=True)
class StatusStyle:
    """How a status reads: a colour, a shape (so it works in black and white) and a label."""

    colour: str
    tint: str
    shape: str
    label: str
    ink: str = ""
    """The colour for the status word as text on white (4.5:1 contrast at least; amber and
    grey are darkened, the pack's chips keep `colour`)."""


STATUS: Mapping[str, StatusStyle] = MappingProxyType(
    {
        "green": StatusStyle("#2e7d32", "#e8f3e9", "circle", "On target", "#256628"),
        "amber": StatusStyle("#f0a202", "#fdf3dc", "triangle", "Watch", "#8a5a00"),
        "red": StatusStyle("#c62828", "#f9e5e5", "square", "Off target", "#c62828"),
        "insufficient": StatusStyle("#8a8f98", "#f1f2f4", "hollow", "Insufficient", "#5f6670"),
        "no-target": StatusStyle("#8a8f98", "#f1f2f4", "dash", "No target", "#5f6670"),
        "no-data": StatusStyle("#b4b8bf", "#f6f7f8", "dash", "No data", "#5f6670"),
    }
)
"""DESIGN.md status colours; the shape and label carry the meaning without colour."""

STATUS_SYMBOLS: Mapping[str, str] = MappingProxyType(
    {"circle": "●", "triangle": "▲", "square": "■", "hollow": "○", "dash": "–"}
)
"""Text form of the shapes, for plain-text and Markdown output."""


def status_style(status: str | None) -> StatusStyle:
    """The style of a status; unknown or missing statuses read as "No data"."""
    return STATUS.get(status or "no-data", STATUS["no-data"])


def status_text(status: str | None) -> str:
    """`● On target`: symbol and label, for text that has no colour."""
    s = status_style(status)
    return f"{STATUS_SYMBOLS[s.shape]} {s.label}"


def missing(x: object) -> bool:
    """True for None, NaN and pandas' NA."""
    if x is None:
        return True
    try:
        return bool(x != x) or (isinstance(x, float) and math.isnan(x))
    except TypeError:  # pd.NA compares to NA, whose truth value is ambiguous
        return True


def format_number(x: float, decimals: int, locale: str = DEFAULT_LOCALE) -> str:
    """`1,234.5` (en_US), `1.234,5` (de_DE): digits grouped, a typographic minus when negative.

    A value that rounds to zero carries no sign. Rounding is Python's own (`f"{x:.2f}"`), so a
    figure rounds the same way in every locale.
    """
    text = f"{abs(x):.{decimals}f}"
    whole, _, fraction = text.partition(".")
    style = locales.number_style(locale)
    body = locales.group_digits(whole, style) + (style.decimal + fraction if fraction else "")
    return (MINUS if x < 0 and float(text) != 0 else "") + body


def currency_affixes(currency: str, locale: str = DEFAULT_LOCALE) -> tuple[str, str]:
    """What goes before and after an amount: `("$", "")` (en_US), `("", "\u00a0€")` (de_DE).

    The `currency` setting picks the symbol (the ISO code when it has none here, kept apart from
    the digits by a space); the locale picks its side and spacing.
    """
    code = currency.upper()
    symbol = CURRENCY_SYMBOLS.get(code, code)
    prefix, suffix = locales.number_style(locale).currency
    prefix, suffix = prefix.replace("¤", symbol), suffix.replace("¤", symbol)
    if symbol == code:
        prefix = prefix + " " if prefix.endswith(code) else prefix
        suffix = " " + suffix if suffix.startswith(code) else suffix
    return prefix, suffix


def percent_affixes(locale: str = DEFAULT_LOCALE) -> tuple[str, str]:
    """What goes before and after a percentage: `("", "%")` (en_US), `("", "\u00a0%")` (de_DE)."""
    return locales.number_style(locale).percent


def format_value(
    value: object, unit: str, currency: str = "USD", locale: str = DEFAULT_LOCALE
) -> str:
    """A figure as the pack prints it: `$1,234,567`, `12.3%`, `41.5`, `3.2 h`, `0.87`, `12 tickets`.

    Units the pack does not know (a manual KPI's "tickets" or "days") read as a plain number
    and the unit's label.
    """
    if missing(value):
        return DASH
    x = float(value)  # type: ignore[arg-type]
    text = format_number(x, _decimals(unit, x), locale)
    sign, body = (MINUS, text.removeprefix(MINUS)) if text.startswith(MINUS) else ("", text)
    if unit == "currency":
        prefix, suffix = currency_affixes(currency, locale)
        return f"{sign}{prefix}{body}{suffix}"
    if unit == "percent":
        prefix, suffix = percent_affixes(locale)
        return f"{sign}{prefix}{body}{suffix}"
    if unit == "hours":
        return f"{text} h"
    if unit in KNOWN_UNITS:
        return text
    return f"{text} {unit}"


KNOWN_UNITS = frozenset({"currency", "percent", "points", "hours", "ratio", "count", "score"})
"""Units with a format of their own; any other unit label is printed after a plain number."""


def _decimals(unit: str, x: float) -> int:
    if unit == "currency":
        return 0 if abs(x) >= 1000 else 2
    if unit == "ratio":
        return 2
    if unit == "count":
        return 0
    if unit not in KNOWN_UNITS:
        return 0 if math.isfinite(x) and float(x).is_integer() else 1
    return 1


def format_delta(
    delta: object, unit: str, currency: str = "USD", locale: str = DEFAULT_LOCALE
) -> str:
    """A signed change: `+1.2 pp` for percentages (percentage points), `−$3,400`, `+0.5 h`."""
    if missing(delta):
        return DASH
    x = float(delta)  # type: ignore[arg-type]
    if unit == "percent":
        body = format_number(abs(x), 1, locale) + " pp"
    else:
        body = format_value(abs(x), unit, currency, locale)
    if round(abs(x), _decimals(unit, x)) == 0:
        return f"±{body}"
    return f"{'+' if x > 0 else MINUS}{body}"


SHORT_FROM = 10_000
"""Amounts from this size up read in executive form (`$155K`, `$15.0M`) in `format_short`."""

_SCALES = ((1e12, "T", 1), (1e9, "B", 1), (1e6, "M", 1), (1e3, "K", 0))
"""English abbreviations of large amounts and their decimals: `$155K`, `$15.0M`, `$1.2B`."""


def format_short(
    value: object, unit: str, currency: str = "USD", locale: str = DEFAULT_LOCALE
) -> str:
    """A figure in executive form: amounts of SHORT_FROM and more abbreviated, `$15.0M`, `$155K`.

    Other units and smaller amounts read as `format_value`. English locales abbreviate with
    K, M, B, T (thousands with no decimal, millions and up with one: `$999.9K` never, the
    amount is rounded to the unit it is shown in first, so 999,950 reads `$1.0M`). Other
    locales take their own words from Babel's CLDR tables (`15,0 Mio. €`), and keep
    thousands in full where CLDR has no short form for them in that language.
    """
    if unit != "currency" or missing(value) or abs(float(value)) < SHORT_FROM:  # type: ignore[arg-type]
        return format_value(value, unit, currency, locale)
    x = float(value)  # type: ignore[arg-type]
    sign = MINUS if x < 0 else ""
    if not locales.canonical(locale).startswith("en"):
        if abs(x) < 1e6:
            return format_value(x, unit, currency, locale)
        return sign + locales.compact_currency(abs(x), currency, locale)
    prefix, suffix = currency_affixes(currency, locale)
    body = ""
    for i, (size, letter, decimals) in enumerate(_SCALES):
        if abs(x) >= size or i == len(_SCALES) - 1:
            scaled = round(abs(x) / size, decimals)
            if i > 0 and scaled >= 1000:  # rounds up into the next unit
                size, letter, decimals = _SCALES[i - 1]
                scaled = round(abs(x) / size, decimals)
            body = format_number(scaled, decimals, locale) + letter
            break
    return f"{sign}{prefix}{body}{suffix}"


def format_short_delta(
    delta: object, unit: str, currency: str = "USD", locale: str = DEFAULT_LOCALE
) -> str:
    """A signed change in executive form: `+$155K`, `−$1.2M`; else as `format_delta`."""
    if unit != "currency" or missing(delta) or abs(float(delta)) < SHORT_FROM:  # type: ignore[arg-type]
        return format_delta(delta, unit, currency, locale)
    x = float(delta)  # type: ignore[arg-type]
    return f"{'+' if x > 0 else MINUS}{format_short(abs(x), unit, currency, locale)}"


def format_n(n: object, locale: str = DEFAULT_LOCALE) -> str:
    """A sample or population size with thousands separators."""
    if missing(n):
        return DASH
    whole = int(n)  # type: ignore[call-overload]
    grouped = locales.group_digits(str(abs(whole)), locales.number_style(locale))
    return ("-" if whole < 0 else "") + grouped


N_NOUNS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "survey_responses": ("response", "responses"),
        "tickets": ("ticket", "tickets"),
        "revenue": ("invoice", "invoices"),
        "customers": ("customer", "customers"),
        "workforce": ("employee", "employees"),
    }
)
"""What a KPI's n counts, by the input table it comes from (singular, plural)."""

N_BY_KPI: Mapping[str, str] = MappingProxyType({"nrr": "customers", "enps": "survey_responses"})
"""Built-in KPIs whose n counts other things than their table's rows: NRR's cohort of
customers, eNPS's answers to the employee survey."""


def n_noun(kpi: str, tables: tuple[str, ...]) -> tuple[str, str] | None:
    """What KPI `kpi`'s n counts (singular, plural), from the tables it reads; None if unknown."""
    table = N_BY_KPI.get(kpi) or next((t for t in tables if t in N_NOUNS), None)
    return None if table is None else N_NOUNS[table]


def format_count(n: object, noun: tuple[str, str] | None, locale: str = DEFAULT_LOCALE) -> str:
    """`1,524 responses`, `1 ticket`: a size with its unit; the bare number without a noun."""
    if missing(n):
        return DASH
    text = format_n(n, locale)
    if noun is None:
        return text
    return f"{text} {noun[0] if int(n) == 1 else noun[1]}"  # type: ignore[call-overload]


def format_score(score: object, locale: str = DEFAULT_LOCALE) -> str:
    """A 0–10 score with one decimal."""
    if missing(score):
        return DASH
    return f"{float(score):.1f}".replace(".", locales.number_style(locale).decimal)  # type: ignore[arg-type]


def favourable(delta: object, direction: str) -> bool | None:
    """Whether a change is good news for a KPI with this direction; None for no change."""
    if missing(delta) or float(delta) == 0:  # type: ignore[arg-type]
        return None
    return (float(delta) > 0) == (direction == "up")  # type: ignore[arg-type]


def unit_label(unit: str, currency: str = "USD") -> str:
    """Unit as the methodology appendix names it."""
    return {
        "currency": f"currency ({currency.upper()})",
        "percent": "percent",
        "points": "points",
        "hours": "hours",
        "ratio": "ratio",
        "count": "count",
        "score": "score (0–10)",
    }.get(unit, unit)


def _longer(period: str, locale: str, short: bool) -> str | None:
    """A quarter's or a year to date's name (`Q3 2026`, `January–September 2026`); None for a month."""
    cadence = periods.cadence_of(period)
    if cadence.name == "month":
        return None
    first = periods.first_day(period)
    if cadence.name == "quarter":
        return f"Q{(first.month - 1) // 3 + 1} {first.year}"
    last = periods.first_day(periods.last_month(period))
    whole = locales.month_short(last, locale) if short else locales.month_name(last, locale)
    if cadence.through == 1:
        return whole if short else f"{whole} (year to date)"
    name = f"{locales.month_alone(first, locale, 'LLL' if short else 'LLLL')}–{whole}"
    return name if short else f"{name} (year to date)"


def period_name(period: str, locale: str = DEFAULT_LOCALE) -> str:
    """`October 2026` for `2026-10` (`Oktober 2026` in de_DE); `Q3 2026` for `2026-Q3`,
    `January–September 2026` for the year to date `2026-09-YTD`."""
    longer = _longer(period, locale, short=False)
    return longer if longer is not None else locales.month_name(periods.first_day(period), locale)


def period_short(period: str, locale: str = DEFAULT_LOCALE) -> str:
    """`Oct 2026` for `2026-10` (`Okt. 2026` in de_DE); `Q3 2026`; `Jan–Sep 2026`."""
    longer = _longer(period, locale, short=True)
    return longer if longer is not None else locales.month_short(periods.first_day(period), locale)


def period_tick(period: str, locale: str = DEFAULT_LOCALE) -> str:
    """`Oct ’26` for `2026-10`: a month on a chart's time axis; `Q3 ’26` for a quarter, the
    year (`2025`) for a year to date (each point the same months of its year)."""
    cadence = periods.cadence_of(period)
    first = periods.first_day(period)
    if cadence.name == "quarter":
        return f"Q{(first.month - 1) // 3 + 1} ’{first.year % 100:02d}"
    if cadence.name == "ytd":
        return str(first.year)
    return locales.month_tick(first, locale)


def day_text(day: str, locale: str = DEFAULT_LOCALE) -> str:
    """An ISO day (`2026-11-05`) as the locale writes it; text that is no ISO day as it is."""
    try:
        d = date.fromisoformat(day)
    except ValueError:
        return day
    return locales.day_date(d, locale)


def timestamp_text(d: datetime, locale: str = DEFAULT_LOCALE) -> str:
    """`1 November 2026, 06:00` (en_US), `1. November 2026, 06:00` (de_DE)."""
    return locales.timestamp(d, locale)
