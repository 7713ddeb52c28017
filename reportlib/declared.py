"""The measures of declared KPIs (kpis.yaml `source: declared`) as Ibis queries (DOMAIN.md §3).

A declaration (see `declaration.py`) becomes one grouped query per measure, run by
`measures.compute` beside the built-in ones, so every node's figure comes from the raw
rows of the customers under it, added up from the finest groups like every other count
(DOMAIN.md §1, §2). Each measure gives two additive columns per node × month: the rows
counted and, for a sum or mean, the column's sum (`kpis.measure_column`); `kpis.declared`
turns them into the KPI's value.

Months: a row with a timestamp belongs to the calendar month, in the project time zone,
of that instant (the loader's `<column>_month`); a date to its own month; workforce's
`period` to the month it names. Events after the data cut-off are left out (§1). With
`open_at_month_end`, a row counts in each month at whose end (the first instant of the
next month in the project zone, or the cut-off if earlier) it was opened and not yet closed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from . import measures, periods, sources
from .config import KpiDef
from .declaration import NUMERIC_TESTS, Condition, Measure, declared_columns
from .errors import ConfigError
from .kpis import declared_measures, measure_column
from .sources import Source

log = logging.getLogger(__name__)

TIME_TYPES = ("timestamp", "date")
NUMBER_TYPES = ("int", "float", "score")
READABLE = tuple(t for t in sources.TABLES if t != "customer_aliases")
"""The tables a declared measure may read (customer_aliases only maps ids)."""


# --- checks against the tables (the shape was checked when kpis.yaml was read) -------------


def _column_keys(m: Measure) -> list[tuple[str, str, str]]:
    """(key in kpis.yaml, column, what the column must be) for each column `m` names."""
    keys = []
    for i, c in enumerate(m.where):
        keys.append((f"where.{i}.{c.test}", c.column, "number" if c.test in NUMERIC_TESTS else ""))
    if m.column is not None:
        keys.append(("column", m.column, "number"))
    if m.month is not None:
        keys.append(("month", m.month, "month"))
    if m.open_at_month_end is not None:
        keys.append(("open_at_month_end.opened", m.open_at_month_end.opened, "time"))
        keys.append(("open_at_month_end.closed", m.open_at_month_end.closed, "time"))
    return keys


def check(kpis: tuple[KpiDef, ...], levels: tuple[str, ...], source: str = "kpis.yaml") -> None:
    """Refuse a declaration that names an unknown table or uses a column as what it is not.

    The message names `source` (the kpis.yaml file), the KPI id and the key. A column the canonical table does
    not have is the company's own: it is read and typed on load (a missing one is then a
    data error naming the file and the column).
    """
    specs = {s.name: s for s in sources.table_specs(levels)}
    for k in kpis:
        for role, m in declared_measures(k).items():
            where = f"{source}: KPI {k.id}: {role}"
            if m.table not in READABLE:
                raise ConfigError(
                    f"{where}.table: {m.table!r} is not an input table a KPI can read "
                    f"(one of {', '.join(READABLE)})"
                )
            types = {c.name: c.type for c in specs[m.table].columns}
            for key, column, need in _column_keys(m):
                kind = types.get(column)
                ok = (
                    kind is None
                    or not need
                    or (need == "number" and kind in NUMBER_TYPES)
                    or (need == "time" and kind in TIME_TYPES)
                    or (need == "month" and kind in (*TIME_TYPES, "period"))
                )
                if not ok:
                    wanted = {"number": "a number", "time": "a timestamp or date"}.get(
                        need, "a timestamp, date or period"
                    )
                    raise ConfigError(
                        f"{where}.{key}: column {column!r} of {m.table} is a {kind}, not {wanted}"
                    )
            for i, c in enumerate(m.where):
                _check_literal(c, types.get(c.column), f"{where}.where.{i}.{c.test}")


def _check_literal(c: Condition, kind: str | None, key: str) -> None:
    if kind in (*TIME_TYPES, "period") and c.test != "is_null":
        raise ConfigError(f"{key}: column {c.column!r} is a {kind}: only is_null tests it")
    values = c.one_of if c.one_of is not None else (c.equals, c.not_equals)
    for v in values:
        if v is None or kind not in NUMBER_TYPES:
            continue
        try:
            float(v)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{key}: {v!r} is not a number, and column {c.column!r} holds numbers"
            ) from None


# --- the queries ---------------------------------------------------------------------------


def _literal(value: object, kind: str) -> ir.Value:
    """A YAML value as a literal of the column's type (text columns compare as text)."""
    if kind in NUMBER_TYPES:
        return ibis.literal(float(cast(float, value)))
    if kind == "bool" or isinstance(value, bool):
        return ibis.literal(bool(value)) if kind == "bool" else ibis.literal(str(value).lower())
    return ibis.literal(str(value))


def _condition(t: ir.Table, c: Condition, kind: str) -> ir.BooleanValue:
    col = t[c.column]
    if c.is_null is not None:
        return col.isnull() if c.is_null else col.notnull()
    if c.equals is not None:
        return col == _literal(c.equals, kind)
    if c.not_equals is not None:
        return col != _literal(c.not_equals, kind)
    if c.one_of is not None:
        return col.isin([_literal(v, kind) for v in c.one_of])
    number = col.cast("float64")
    if c.above is not None:
        return number > c.above
    if c.at_least is not None:
        return number >= c.at_least
    if c.below is not None:
        return number < c.below
    return number <= c.at_most


def _month_of(t: ir.Table, column: str, kind: str, as_of: datetime) -> tuple[ir.Table, str]:
    """`t` with `_month`, the month each row belongs to, and without events after as_of."""
    c = t[column]
    if kind == "timestamp":
        t = t.filter(c <= ibis.literal(as_of, type="timestamp"))
        return t.mutate(_month=t[f"{column}_month"]), "_month"
    if kind == "date":
        return t.mutate(_month=periods.month_index(c.year(), c.month())), "_month"
    p = c.strip()
    month = periods.month_index(p.substr(0, 4).cast("int64"), p.substr(5, 2).cast("int64"))
    return t.mutate(_month=month), "_month"


def month_ends(lo: int, hi: int, timezone: str, as_of: datetime) -> ir.Table:
    """Months lo..hi with their end: `_end_at`, the UTC instant the next month starts in the
    project zone (or the cut-off if earlier), and `_end_on`, the next month's first day."""
    zone, utc = ZoneInfo(timezone), ZoneInfo("UTC")
    ends = [periods.first_day(periods.label(i + 1)) for i in range(lo, hi + 1)]
    at = [
        min(
            datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(utc).replace(tzinfo=None),
            as_of,
        )
        for d in ends
    ]
    return ibis.memtable({"_month": list(range(lo, hi + 1)), "_end_at": at, "_end_on": ends}).cast(
        {"_end_at": "timestamp", "_end_on": "date"}
    )


def _open_at_end(
    t: ir.Table, m: Measure, types: Mapping[str, str], months: ir.Table
) -> tuple[ir.Table, str]:
    """Each row once for every month at whose end it is open (opened before, not closed by then)."""
    assert m.open_at_month_end is not None
    span = m.open_at_month_end
    x = t.cross_join(months)

    def before_end(column: str) -> ir.BooleanValue:
        end = x._end_on if types[column] == "date" else x._end_at
        return x[column] < end

    closed = x[span.closed]
    x = x.filter(before_end(span.opened), closed.isnull() | ~before_end(span.closed))
    return x, "_month"


def _with_levels(src: Source, table: str, levels: tuple[str, ...]) -> ir.Table:
    """The table's rows with the hierarchy levels: its customer's, or its own (workforce)."""
    t = src.tables[table]
    if table == "customers":
        return t
    if "customer_id" in t.columns:
        return measures.with_levels(t, src.tables["customers"], levels)
    return t.mutate(**{lv: measures.level_value(t[lv]) for lv in levels})


def query(
    src: Source,
    levels: tuple[str, ...],
    lo: int,
    hi: int,
    kpi_id: str,
    role: str,
    m: Measure,
    types: Mapping[str, str],
) -> ir.Table:
    """The grouped query of one declared measure: rows (and the column's sum) per group × month."""
    t = _with_levels(src, m.table, levels)
    for c in m.where:
        t = t.filter(_condition(t, c, types[c.column]))
    if m.month is not None:
        t, month = _month_of(t, m.month, types[m.month], src.as_of)
    else:
        t, month = _open_at_end(t, m, types, month_ends(lo, hi, src.timezone, src.as_of))
    t = t.filter(t[month].between(lo, hi))
    rows, total = measure_column(kpi_id, role, "rows"), measure_column(kpi_id, role, "sum")

    def aggs(x: ir.Table) -> dict[str, ir.Value]:
        if m.column is None:
            return {rows: x.count()}
        value = x[m.column]
        # Summed as decimals, exact and independent of the order rows are added (measures.EXACT).
        return {rows: value.notnull().sum(), total: value.cast(measures.EXACT).sum()}

    return measures.grouped(t, levels, month, aggs)


def queries(kpis: tuple[KpiDef, ...], levels: tuple[str, ...]) -> measures.More | None:
    """The declared KPIs' queries for `measures.compute(more=...)`; None when there are none."""
    parts = [
        (k.id, role, m)
        for k in kpis
        if k.source == "declared"
        for role, m in declared_measures(k).items()
    ]
    if not parts:
        return None
    specs = {s.name: s for s in sources.table_specs(levels, extra=declared_columns(kpis))}

    def build(src: Source, lo: int, hi: int) -> Sequence[ir.Table]:
        out = []
        for kpi_id, role, m in parts:
            types = {c.name: c.type for c in specs[m.table].columns}
            out.append(query(src, levels, lo, hi, kpi_id, role, m, types))
        log.info("declared measures: %d queries", len(out))
        return out

    return build
