"""How a declared KPI says where its value comes from, in kpis.yaml (DOMAIN.md §3).

"Users add KPIs without code for the simple cases": a KPI with `source: declared`
defines its value from measures over one canonical input table, each a count of rows,
or a sum or mean of a numeric column, of the rows that pass an optional filter, per
node and month. The value is one such measure, or a ratio of two times a scale
(`scale: 1000` for "per 1,000 customers", `scale: 100` for a percent share).

A row belongs to the month of its `month` column (a timestamp, a date, or workforce's
`period`), or, with `open_at_month_end`, to every month at whose end it is open
(opened before the month's end, not closed by then). Timestamps are compared as UTC
instants; months are calendar months of the project time zone (DOMAIN.md §1).

These are the records only (shape and one-of rules, checked by pydantic when kpis.yaml
is read); what needs the tables' columns is checked by `declared.check`, and the values
are computed by `declared.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from .frozen import Frozen

if TYPE_CHECKING:
    from .config import KpiDef

Aggregate = Literal["count", "sum", "mean"]

TESTS = ("equals", "not_equals", "one_of", "is_null", "above", "at_least", "below", "at_most")
"""The tests a `where` condition may make, exactly one per condition."""

NUMERIC_TESTS = ("above", "at_least", "below", "at_most")

Scalar = str | int | float | bool


class Condition(Frozen):
    """One filter condition: `column` and exactly one test (all conditions of a `where` must hold)."""

    column: str = Field(min_length=1)
    equals: Scalar | None = None
    not_equals: Scalar | None = None
    """A null value is neither equal nor unequal to anything: such rows are left out."""
    one_of: tuple[Scalar, ...] | None = None
    is_null: bool | None = None
    """True: the column is empty; false: it has a value."""
    above: float | None = None
    at_least: float | None = None
    below: float | None = None
    at_most: float | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        given = [t for t in TESTS if getattr(self, t) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a condition on {self.column!r} needs exactly one of {', '.join(TESTS)}"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    @property
    def test(self) -> str:
        """The name of the one test this condition makes."""
        return next(t for t in TESTS if getattr(self, t) is not None)


class OpenSpan(Frozen):
    """`open_at_month_end`: the columns that open and close a row (e.g. opened_at, resolved_at)."""

    opened: str = Field(min_length=1)
    closed: str = Field(min_length=1)


class Measure(Frozen):
    """A counted, summed or averaged measure over one canonical table, per node and month."""

    table: str = Field(min_length=1)
    aggregate: Aggregate = "count"
    column: str | None = None
    """The numeric column summed or averaged (not for `count`)."""
    month: str | None = None
    """The timestamp or date column that puts a row in a month."""
    open_at_month_end: OpenSpan | None = None
    """Instead of `month`: the row counts in every month at whose end it is open."""
    where: tuple[Condition, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Measure:
        if self.aggregate == "count" and self.column is not None:
            raise ValueError("column: `count` counts rows; use aggregate sum or mean for a column")
        if self.aggregate != "count" and self.column is None:
            raise ValueError(f"column: aggregate {self.aggregate} needs the column it applies to")
        if (self.month is None) == (self.open_at_month_end is None):
            raise ValueError(
                "month: give exactly one of month (the column that dates a row) "
                "or open_at_month_end (opened and closed columns)"
            )
        return self

    def columns(self) -> dict[str, str]:
        """Every column this measure reads, with the kind of value it needs from it.

        Kinds: `time` (month or open/close columns), `number` (aggregated or compared),
        `any` (a filter on equality or emptiness).
        """
        out: dict[str, str] = {}
        for c in self.where:
            out.setdefault(c.column, "number" if c.test in NUMERIC_TESTS else "any")
        if self.column is not None:
            out[self.column] = "number"
        if self.month is not None:
            out[self.month] = "time"
        if self.open_at_month_end is not None:
            out[self.open_at_month_end.opened] = "time"
            out[self.open_at_month_end.closed] = "time"
        return out


COLUMN_TYPES = {"time": "timestamp", "number": "float", "any": "string"}
"""How a column that is not one of the table's canonical columns is typed when loaded."""


def declared_columns(kpis: Iterable[KpiDef]) -> dict[str, dict[str, str]]:
    """Per table, the columns the declared KPIs read and the type each needs.

    The loader types a column the canonical table does not have with this (a timestamp,
    a float or text) so a company's own column (e.g. `handle_minutes` in tickets) can be
    used; a canonical column keeps its own type.
    """
    out: dict[str, dict[str, str]] = {}
    for k in kpis:
        for m in (k.measure, k.numerator, k.denominator):
            if m is None:
                continue
            cols = out.setdefault(m.table, {})
            for name, kind in m.columns().items():
                # A column read both as text and as a number is typed as the number.
                if cols.get(name) not in ("timestamp", "float") or kind == "time":
                    cols[name] = COLUMN_TYPES[kind]
    return out
