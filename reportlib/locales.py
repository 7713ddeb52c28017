"""What the `locale` setting decides: digit separators, where `%` and the currency go, month names.

The data comes from Babel (the Unicode CLDR tables), looked up once per locale. Only the look of
figures and dates changes with the locale: the words of the pack stay English, CSV and Parquet
outputs stay machine-readable, and node ids do not depend on it.

The default `en_US` keeps the pack's own date style, which predates the setting: day-first long
dates (`1 November 2026, 06:00`) and ISO day dates (`2026-11-05`). Every other locale takes
CLDR's long and medium date formats (`de_DE`: `1. November 2026, 06:00`, `05.11.2026`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton
from babel.numbers import format_compact_currency, get_decimal_symbol, get_group_symbol

DEFAULT = "en_US"
"""The locale when none is set."""


def canonical(name: str) -> str:
    """`de_DE` for `de_DE` or `de-DE`; ValueError naming the value for a locale Babel lacks."""
    text = name.strip().replace("-", "_")
    try:
        return str(Locale.parse(text))
    except (UnknownLocaleError, ValueError, TypeError) as e:
        raise ValueError(
            f"unknown locale {name!r} (use a language and region such as en_US or de_DE)"
        ) from e


@functools.cache
def _locale(name: str) -> Locale:
    return Locale.parse(canonical(name))


@dataclass(frozen=True)
class NumberStyle:
    """How a locale writes numbers: separators, digit grouping, and the text around `%` and `¤`."""

    decimal: str
    group: str
    primary: int
    """Digits in the rightmost group (3 almost everywhere)."""
    secondary: int
    """Digits in the groups to its left (2 in India: 12,34,567)."""
    percent: tuple[str, str]
    """Prefix and suffix of a percentage, `%` included (`("", "%")`, `("", "\u00a0%")`)."""
    currency: tuple[str, str]
    """Prefix and suffix of an amount, `¤` standing for the currency (`("¤", "")`)."""


@functools.cache
def number_style(name: str) -> NumberStyle:
    """The number conventions of a locale (cached)."""
    loc = _locale(name)
    decimal_pattern = loc.decimal_formats[None]
    percent = loc.percent_formats[None]
    money = loc.currency_formats["standard"]
    primary, secondary = decimal_pattern.grouping
    return NumberStyle(
        decimal=get_decimal_symbol(loc),
        group=get_group_symbol(loc),
        primary=primary,
        secondary=secondary,
        percent=(percent.prefix[0], percent.suffix[0]),
        currency=(money.prefix[0], money.suffix[0]),
    )


def group_digits(digits: str, style: NumberStyle) -> str:
    """`1234567` as `1,234,567` (or `12,34,567`, `1.234.567`, ...) in the locale's grouping."""
    if style.primary <= 0 or len(digits) <= style.primary:
        return digits
    head, parts = digits[: -style.primary], [digits[-style.primary :]]
    step = style.secondary or style.primary
    while len(head) > step:
        head, parts = head[:-step], [head[-step:], *parts]
    return style.group.join([head, *parts])


def month_name(d: date, locale: str) -> str:
    """`October 2026`, `Oktober 2026`, `2026年10月`: a month and its year, written out."""
    return format_skeleton("yMMMM", d, locale=_locale(locale))


def month_short(d: date, locale: str) -> str:
    """`Oct 2026`, `Okt. 2026`: a month abbreviated, with its year."""
    return format_skeleton("yMMM", d, locale=_locale(locale))


def month_alone(d: date, locale: str, width: str = "LLLL") -> str:
    """`September`, `Sep`: a month's stand-alone name without its year (`LLL` abbreviated)."""
    return format_date(d, width, locale=_locale(locale))


def month_tick(d: date, locale: str) -> str:
    """`Oct ’26`: a chart's month tick (the stand-alone abbreviation and a two-digit year)."""
    return format_date(d, "LLL ’yy", locale=_locale(locale))


def day_date(d: date, locale: str) -> str:
    """A calendar day: `2026-11-05` (en_US, the pack's style), `05.11.2026` (de_DE)."""
    if canonical(locale) == DEFAULT:
        return d.isoformat()
    return format_date(d, "medium", locale=_locale(locale))


def timestamp(d: datetime, locale: str) -> str:
    """A day and a time of day: `1 November 2026, 06:00` (en_US), `1. November 2026, 06:00`."""
    if canonical(locale) == DEFAULT:
        return f"{d.day} {format_date(d, 'MMMM y', locale=_locale(locale))}, {d:%H:%M}"
    return f"{format_date(d, 'long', locale=_locale(locale))}, {d:%H:%M}"


def compact_currency(amount: float, currency: str, locale: str) -> str:
    """`15 Mio. €`: a large amount in the locale's short form, one decimal at most (CLDR)."""
    return str(
        format_compact_currency(amount, currency.upper(), locale=_locale(locale), fraction_digits=1)
    )
