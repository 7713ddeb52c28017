"""Numbers by unit, deltas and the status vocabulary of the board pack."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from reportlib.formatting import (
    MINUS,
    favourable,
    format_delta,
    format_n,
    format_score,
    format_value,
    status_style,
    status_text,
)


@pytest.mark.parametrize(
    ("value", "unit", "currency", "text"),
    [
        (1234567.4, "currency", "USD", "$1,234,567"),
        (-1234.5, "currency", "EUR", f"{MINUS}€1,234"),
        (12.345, "currency", "USD", "$12.35"),
        (1500, "currency", "CHF", "CHF 1,500"),
        (12.345, "percent", "USD", "12.3%"),
        (-0.04, "percent", "USD", "0.0%"),
        (41.56, "points", "USD", "41.6"),
        (-7.25, "points", "USD", f"{MINUS}7.2"),
        (3.21, "hours", "USD", "3.2 h"),
        (0.876, "ratio", "USD", "0.88"),
        (12345, "count", "USD", "12,345"),
    ],
)
def test_values_by_unit(value: float, unit: str, currency: str, text: str) -> None:
    assert format_value(value, unit, currency) == text


@pytest.mark.parametrize("empty", [None, math.nan, pd.NA])
def test_missing_values_show_a_dash(empty: object) -> None:
    assert format_value(empty, "percent") == "–"
    assert format_delta(empty, "percent") == "–"
    assert format_n(empty) == "–"
    assert format_score(empty) == "–"


def test_deltas_are_signed_and_percentages_are_points() -> None:
    assert format_delta(1.25, "percent") == "+1.2 pp"
    assert format_delta(-3.4, "percent") == f"{MINUS}3.4 pp"
    assert format_delta(0.01, "percent") == "±0.0 pp"
    assert format_delta(-125076, "currency") == f"{MINUS}$125,076"
    assert format_delta(0.5, "hours") == "+0.5 h"
    assert format_delta(2, "points") == "+2.0"


def test_favourable_follows_the_direction() -> None:
    assert favourable(2.0, "up") is True
    assert favourable(2.0, "down") is False
    assert favourable(-1.0, "down") is True
    assert favourable(0.0, "up") is None
    assert favourable(math.nan, "up") is None


def test_statuses_read_without_colour() -> None:
    assert status_text("green") == "● On target"
    assert status_text("amber") == "▲ Watch"
    assert status_text("red") == "■ Off target"
    assert status_text("insufficient") == "○ Insufficient"
    assert status_style("red").colour == "#c62828"
    assert status_style(None).label == "No data"
    assert status_style("something-else").label == "No data"
