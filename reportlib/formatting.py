"""How figures read in a board pack: numbers by unit, deltas, and the status vocabulary.

One place for these so the scorecard table, the charts, the commentary drafts and
the email body all say "12.3%" and "Off target" the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

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


STATUS: Mapping[str, StatusStyle] = MappingProxyType(
    {
        "green": StatusStyle("#2e7d32", "#e8f3e9", "circle", "On target"),
        "amber": StatusStyle("#f0a202", "#fdf3dc", "triangle", "Watch"),
        "red": StatusStyle("#c62828", "#f9e5e5", "square", "Off target"),
        "insufficient": StatusStyle("#8a8f98", "#f1f2f4", "hollow", "Insufficient"),
        "no-target": StatusStyle("#8a8f98", "#f1f2f4", "dash", "No target"),
        "no-data": StatusStyle("#b4b8bf", "#f6f7f8", "dash", "No data"),
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


def _grouped(x: float, decimals: int) -> str:
    text = f"{abs(x):,.{decimals}f}"
    return (MINUS if x < 0 and float(text.replace(",", "")) != 0 else "") + text


def currency_prefix(currency: str) -> str:
    """`$` for USD; otherwise the ISO code and a space, e.g. `CHF `."""
    return CURRENCY_SYMBOLS.get(currency.upper(), f"{currency.upper()} ")


def format_value(value: object, unit: str, currency: str = "USD") -> str:
    """A figure as the pack prints it: `$1,234,567`, `12.3%`, `41.5`, `3.2 h`, `0.87`."""
    if missing(value):
        return DASH
    x = float(value)  # type: ignore[arg-type]
    if unit == "currency":
        text = _grouped(x, _decimals(unit, x))
        sign = MINUS if text.startswith(MINUS) else ""
        return f"{sign}{currency_prefix(currency)}{text.removeprefix(MINUS)}"
    if unit == "percent":
        return f"{_grouped(x, 1)}%"
    if unit == "hours":
        return f"{_grouped(x, 1)} h"
    if unit == "ratio":
        return _grouped(x, 2)
    if unit == "count":
        return _grouped(x, 0)
    return _grouped(x, 1)  # points, score


def _decimals(unit: str, x: float) -> int:
    if unit == "currency":
        return 0 if abs(x) >= 1000 else 2
    if unit == "ratio":
        return 2
    if unit == "count":
        return 0
    return 1


def format_delta(delta: object, unit: str, currency: str = "USD") -> str:
    """A signed change: `+1.2 pp` for percentages (percentage points), `−$3,400`, `+0.5 h`."""
    if missing(delta):
        return DASH
    x = float(delta)  # type: ignore[arg-type]
    body = format_value(abs(x), unit, currency)
    if unit == "percent":
        body = body.removesuffix("%") + " pp"
    if round(abs(x), _decimals(unit, x)) == 0:
        return f"±{body}"
    return f"{'+' if x > 0 else MINUS}{body}"


def format_n(n: object) -> str:
    """A sample or population size with thousands separators."""
    return DASH if missing(n) else f"{int(n):,}"  # type: ignore[call-overload]


def format_score(score: object) -> str:
    """A 0–10 score with one decimal."""
    return DASH if missing(score) else f"{float(score):.1f}"  # type: ignore[arg-type]


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
