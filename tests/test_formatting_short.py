"""Executive number formats: `$15.0M`, `+$155K`, and sizes with their unit, `1,524 responses`."""

from __future__ import annotations

import pytest

from reportlib.formatting import (
    MINUS,
    format_count,
    format_short,
    format_short_delta,
    format_value,
    n_noun,
)

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (15_000_000, "$15.0M"),
        (15_040_000, "$15.0M"),
        (155_000, "$155K"),
        (154_600, "$155K"),
        (999_499, "$999K"),
        (999_950, "$1.0M"),  # rounded into the next unit, never "$1000K"
        (1_234_567_890, "$1.2B"),
        (-2_500_000, f"{MINUS}$2.5M"),
        (10_000, "$10K"),
        (9_999, "$9,999"),  # below SHORT_FROM: in full
        (340, "$340.00"),
    ],
)
def test_amounts_in_executive_form(value: float, text: str) -> None:
    assert format_short(value, "currency") == text


def test_changes_in_executive_form() -> None:
    assert format_short_delta(155_000, "currency") == "+$155K"
    assert format_short_delta(-1_240_000, "currency") == f"{MINUS}$1.2M"
    assert format_short_delta(-3_400, "currency") == f"{MINUS}$3,400"
    assert format_short_delta(1.26, "percent") == "+1.3 pp"


def test_other_units_read_as_before() -> None:
    for value, unit in ((12.345, "percent"), (41.5, "points"), (3.2, "hours"), (25_000, "count")):
        assert format_short(value, unit) == format_value(value, unit)


def test_the_locale_decides_symbol_side_and_words() -> None:
    assert format_short(15_000_000, "currency", "GBP", "en_GB") == "£15.0M"
    assert format_short(15_040_000, "currency", "EUR", "de_DE") == f"15{NBSP}Mio.{NBSP}€"
    assert format_short(1_234_567_890, "currency", "EUR", "de_DE") == f"1,2{NBSP}Mrd.{NBSP}€"
    # German has no short form for thousands: in full
    assert format_short(155_000, "currency", "EUR", "de_DE") == f"155.000{NBSP}€"
    assert format_short(-2_500_000, "currency", "EUR", "de_DE") == f"{MINUS}2,5{NBSP}Mio.{NBSP}€"


def test_sizes_carry_their_unit() -> None:
    assert format_count(1524, n_noun("nps", ("survey_responses",))) == "1,524 responses"
    assert format_count(1, n_noun("fcr", ("tickets",))) == "1 ticket"
    assert format_count(35, n_noun("attrition_rate", ("workforce",))) == "35 employees"
    assert format_count(40, n_noun("nrr", ("revenue",))) == "40 customers"
    assert format_count(12, n_noun("revenue", ("revenue",))) == "12 invoices"
    assert format_count(7, None) == "7"
    assert format_count(None, None) == "–"
