"""Figures and dates in the project's locale (Babel's CLDR data); en_US reads as it always did."""

from __future__ import annotations

from datetime import datetime

import pytest

from reportlib import locales
from reportlib.chartstyle import UnitFormatter
from reportlib.formatting import (
    MINUS,
    currency_affixes,
    day_text,
    format_delta,
    format_n,
    format_number,
    format_score,
    format_value,
    period_name,
    period_short,
    period_tick,
    timestamp_text,
)

NBSP = "\u00a0"
NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("value", "unit", "currency", "locale", "text"),
    [
        (1182.21, "currency", "EUR", "de_DE", f"1.182{NBSP}€"),
        (182.214, "currency", "EUR", "de_DE", f"182,21{NBSP}€"),
        (-1234567.4, "currency", "EUR", "de_DE", f"{MINUS}1.234.567{NBSP}€"),
        (1500, "currency", "CHF", "de_DE", f"1.500{NBSP}CHF"),
        (1500, "currency", "CHF", "de_CH", f"CHF{NBSP}1'500"),
        (1500, "currency", "USD", "fr_FR", f"1{NNBSP}500{NBSP}$"),
        (1234567, "count", "USD", "hi_IN", "12,34,567"),
        (12.345, "percent", "USD", "de_DE", f"12,3{NBSP}%"),
        (12.345, "percent", "USD", "tr_TR", "%12,3"),
        (3.25, "hours", "USD", "de_DE", "3,2 h"),
        (0.875, "ratio", "USD", "de_DE", "0,88"),
        (41.55, "points", "USD", "de_DE", "41,5"),
        (1234.5, "currency", "USD", "en_US", "$1,234"),
        (12.345, "percent", "USD", "en_US", "12.3%"),
    ],
)
def test_the_locale_writes_separators_and_places_symbols(
    value: float, unit: str, currency: str, locale: str, text: str
) -> None:
    assert format_value(value, unit, currency, locale) == text


def test_the_currency_setting_picks_the_symbol_the_locale_its_side() -> None:
    assert currency_affixes("USD", "en_US") == ("$", "")
    assert currency_affixes("EUR", "de_DE") == ("", f"{NBSP}€")
    assert currency_affixes("CHF", "en_US") == ("CHF ", "")  # a code stays apart from digits
    assert currency_affixes("EUR", "en_US") == ("€", "")


def test_deltas_scores_and_counts_follow_the_locale() -> None:
    assert format_delta(-1.26, "percent", locale="de_DE") == f"{MINUS}1,3 pp"
    assert format_delta(0.01, "percent", locale="de_DE") == "±0,0 pp"
    assert format_delta(-3400, "currency", "EUR", "de_DE") == f"{MINUS}3.400{NBSP}€"
    assert format_score(7.25, "de_DE") == "7,2"
    assert format_n(1234567, "de_DE") == "1.234.567"
    assert format_number(-0.04, 1, "de_DE") == "0,0"  # rounds to zero: no sign
    assert format_number(-1234.56, 1, "de_DE") == f"{MINUS}1.234,6"


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (12, "tickets", "12 tickets"),
        (1234, "tickets", "1,234 tickets"),
        (3.25, "days", "3.2 days"),
        (-2, "complaints per 1,000 customers", f"{MINUS}2 complaints per 1,000 customers"),
    ],
)
def test_an_unknown_unit_is_a_plain_number_and_its_label(
    value: float, unit: str, text: str
) -> None:
    assert format_value(value, unit) == text


def test_an_unknown_unit_in_deltas_and_other_locales() -> None:
    assert format_delta(2, "tickets") == "+2 tickets"
    assert format_delta(-0.5, "days", locale="de_DE") == f"{MINUS}0,5 days"
    assert format_delta(0, "tickets") == "±0 tickets"
    assert format_value(3.5, "days", locale="de_DE") == "3,5 days"


def test_month_names_and_dates() -> None:
    assert period_name("2026-10", "de_DE") == "Oktober 2026"
    assert period_name("2026-10", "fr_FR") == "octobre 2026"
    assert period_name("2026-10", "ja_JP") == "2026年10月"
    assert period_short("2026-10", "de_DE") == "Okt. 2026"
    assert period_tick("2026-10", "de_DE") == "Okt ’26"
    assert day_text("2026-02-23", "de_DE") == "23.02.2026"
    assert day_text("not a day", "de_DE") == "not a day"
    assert timestamp_text(datetime(2026, 11, 1, 6, 0), "de_DE") == "1. November 2026, 06:00"


@pytest.mark.parametrize("month", range(1, 13))
def test_en_us_dates_read_as_before_the_setting(month: int) -> None:
    first = datetime(2026, month, 1, 6, 5)
    period = f"2026-{month:02d}"
    assert period_name(period) == first.strftime("%B %Y")
    assert period_short(period) == first.strftime("%b %Y")
    assert period_tick(period) == first.strftime("%b ’%y")
    assert day_text(f"2026-{month:02d}-01") == f"2026-{month:02d}-01"
    assert timestamp_text(first) == f"1 {first:%B %Y, %H:%M}"


def test_chart_ticks_follow_the_locale() -> None:
    money = UnitFormatter("currency", "EUR", "de_DE")
    assert money.format_ticks([0, 500_000, 1_000_000, 1_500_000]) == [
        f"0{NBSP}€",
        f"0,5m{NBSP}€",
        f"1,0m{NBSP}€",
        f"1,5m{NBSP}€",
    ]
    assert UnitFormatter("percent", "USD", "de_DE").format_ticks([0, 12.5, 25]) == [
        f"0,0{NBSP}%",
        f"12,5{NBSP}%",
        f"25,0{NBSP}%",
    ]
    assert UnitFormatter("currency", "USD").format_ticks([0, 1500, 3000]) == [
        "$0",
        "$1.5k",
        "$3.0k",
    ]


@pytest.mark.parametrize("name", ["de_DE", "de-DE", " fr_FR ", "ja_JP", "en"])
def test_known_locales_are_accepted(name: str) -> None:
    assert locales.canonical(name) == name.strip().replace("-", "_")


@pytest.mark.parametrize("name", ["", "xx_YY", "english", "en_XX", "../de"])
def test_unknown_locales_are_refused_naming_the_value(name: str) -> None:
    with pytest.raises(ValueError, match=f"unknown locale {name!r}"):
        locales.canonical(name)
