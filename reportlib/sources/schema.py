"""The canonical input tables (DESIGN.md "Inputs"): their columns, types and the typing SQL.

`table_specs` names every table's required columns; `typed_select` is the SELECT list
that turns a raw view (CSV text, or a database's own types) into the typed view the
rest of reportlib reads; `check_schema` refuses a missing column, a null in a required
column or a value that does not parse, naming file, column and line.

Timestamps are read in the project time zone when they carry no zone (DOMAIN.md §1)
and exposed as naive UTC instants plus `<col>_month`, the local calendar month index
(`periods.month_index`), so later stages never deal with zones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

import ibis

from ..errors import DataError
from . import engine
from .files import line_numbers

TABLES = (
    "customers",
    "customer_aliases",
    "survey_responses",
    "tickets",
    "revenue",
    "workforce",
)
"""The canonical input tables, in the order they are loaded and reported."""

ColType = Literal["string", "date", "timestamp", "int", "float", "bool", "score", "period"]

SQL_TYPES = {
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "score": "DOUBLE",
}


FINITE_LIMIT = 1e12
"""A number beyond ±this (or NaN, ±inf) in a `finite` column is impossible (DOMAIN.md §7 non_finite)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: ColType
    nullable: bool = True
    finite: bool = False
    """Checked by the non_finite rule (DOMAIN.md §7): a value that reads as NaN, ±inf or a
    number beyond ±FINITE_LIMIT is quarantined with its line, not refused by the schema."""


@dataclass(frozen=True)
class TableSpec:
    """Required columns of one canonical table; `key` is its primary key."""

    name: str
    columns: tuple[Column, ...]
    key: str | None = None
    required: bool = True


def table_specs(
    levels: tuple[str, ...], extra: Mapping[str, Mapping[str, str]] | None = None
) -> tuple[TableSpec, ...]:
    """The canonical tables; `customers` carries one column per hierarchy level.

    `extra`: per table, more columns to read and their type (the columns declared KPIs
    read, `declaration.declared_columns`); a canonical column keeps its own type.
    """
    specs = _canonical(levels)
    if not extra:
        return specs
    return tuple(with_columns(s, extra.get(s.name, {})) for s in specs)


def with_columns(spec: TableSpec, extra: Mapping[str, str]) -> TableSpec:
    """`spec` with the columns of `extra` it does not name, nullable, typed as given."""
    have = {c.name for c in spec.columns}
    more = tuple(Column(n, cast(ColType, t)) for n, t in extra.items() if n not in have)
    return dataclasses.replace(spec, columns=spec.columns + more) if more else spec


def _canonical(levels: tuple[str, ...]) -> tuple[TableSpec, ...]:
    s: ColType = "string"
    d: ColType = "date"
    t: ColType = "timestamp"
    i: ColType = "int"
    f: ColType = "float"
    return (
        TableSpec(
            "customers",
            (
                Column("customer_id", s, False),
                *(Column(level, s) for level in levels),
                Column("acquired_on", d, False),
                Column("churned_on", d),
            ),
            key="customer_id",
        ),
        TableSpec(
            "customer_aliases",
            (
                Column("source", s, False),
                Column("external_id", s, False),
                Column("customer_id", s, False),
            ),
            required=False,
        ),
        TableSpec(
            "survey_responses",
            (
                Column("response_id", s, False),
                Column("customer_id", s, False),
                Column("survey", s, False),
                # Unparseable or missing scores are left to the score_range rule (§7).
                Column("score", "score"),
                Column("sent_at", t),
                Column("responded_at", t, False),
                Column("channel", s),
                Column("duration_seconds", f),
                Column("comment", s),
            ),
            key="response_id",
        ),
        TableSpec(
            "tickets",
            (
                Column("ticket_id", s, False),
                Column("customer_id", s, False),
                Column("channel", s),
                Column("opened_at", t, False),
                Column("first_response_at", t),
                Column("resolved_at", t),
                Column("contacts", i),
                Column("reopened", "bool"),
                Column("sla_hours", f),
            ),
            key="ticket_id",
        ),
        TableSpec(
            "revenue",
            (
                Column("invoice_id", s, False),
                Column("customer_id", s, False),
                Column("invoice_date", d, False),
                Column("amount", f, False, finite=True),
            ),
            key="invoice_id",
        ),
        TableSpec(
            "workforce",
            (
                Column("period", "period", False),
                *(Column(level, s) for level in levels),
                Column("headcount", i, False, finite=True),
                Column("leavers", i, finite=True),
                Column("training_hours", f, finite=True),
                Column("enps_promoters", i, finite=True),
                Column("enps_passives", i, finite=True),
                Column("enps_detractors", i, finite=True),
            ),
        ),
    )


def out_of_range(expr: str) -> str:
    """SQL: `expr` (text or a number) reads as NaN, ±inf or a number beyond ±FINITE_LIMIT.

    NULL when it does not read as a number at all (then it is missing, or a schema error).
    """
    d = f"TRY_CAST({expr} AS DOUBLE)"
    return f"(NOT isfinite({d}) OR abs({d}) > {FINITE_LIMIT!r})"


def raw_view(table: str) -> str:
    """The view of a table as read (every CSV column as text): `raw_<table>`."""
    return f"raw_{table}"


def typed_view(table: str) -> str:
    """The view of a table with its columns typed: `typed_<table>`."""
    return f"typed_{table}"


# DuckDB type names that already hold each column type, so no parsing is needed.
_NATIVE = {
    "timestamp": ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"),
    "date": ("DATE",),
    "int": (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
    ),
    "bool": ("BOOLEAN",),
}
_NATIVE["float"] = (*_NATIVE["int"], "FLOAT", "DOUBLE")
_NATIVE["score"] = _NATIVE["float"]


def is_native(col: Column, raw_type: str) -> bool:
    """True when the engine's type already holds the column's type (no parsing needed)."""
    return raw_type in _NATIVE.get(col.type, ()) or (
        col.type in ("float", "score") and raw_type.startswith("DECIMAL")
    )


def _timestamp_items(col: Column, raw_type: str, tz: str) -> list[str]:
    """The UTC instant and the local month index of a timestamp column (DOMAIN.md §1).

    A naive timestamp is wall-clock time in the project zone. Text may carry an offset,
    so it is parsed as TIMESTAMPTZ in the session zone (= the project zone). Zone
    arithmetic is costly, so a naive typed column in a UTC project skips it.
    """
    q, month = engine.quote(col.name), engine.quote(col.name + "_month")
    if raw_type in _NATIVE["timestamp"]:
        naive = f"CAST({q} AS TIMESTAMP)"
        instant = naive if tz == "UTC" else f"timezone('UTC', timezone('{tz}', {naive}))"
        return [
            f"{instant} AS {q}",
            f"{engine.month_index(f'year({naive})', f'month({naive})')} AS {month}",
        ]
    tstz = f"TRY_CAST({q} AS TIMESTAMPTZ)"
    local = f"timezone('{tz}', {tstz})"
    return [
        f"timezone('UTC', {tstz}) AS {q}",
        f"{engine.month_index(f'year({local})', f'month({local})')} AS {month}",
    ]


def typed_select(spec: TableSpec, raw_types: dict[str, str], tz: str) -> list[str]:
    """SELECT items that type each column of a spec (`raw_types`: the raw view's column types).

    Columns the spec does not name are left out.
    """
    items = []
    for col in spec.columns:
        q = engine.quote(col.name)
        if col.type in ("string", "period"):
            items.append(f"CAST({q} AS VARCHAR) AS {q}")
        elif col.type == "timestamp":
            items.extend(_timestamp_items(col, raw_types[col.name], tz))
        elif is_native(col, raw_types[col.name]):
            items.append(f"CAST({q} AS {SQL_TYPES[col.type]}) AS {q}")
        else:
            items.append(f"TRY_CAST({q} AS {SQL_TYPES[col.type]}) AS {q}")
    return items


def check_schema(
    con: ibis.BaseBackend,
    spec: TableSpec,
    view: str,
    path: str,
    raw_types: dict[str, str],
    encoding: str = "utf-8",
) -> None:
    """Raise DataError for a missing column, a null in a required column, or a bad value."""
    missing = [c.name for c in spec.columns if c.name not in raw_types]
    if missing:
        raise DataError(
            f"required column(s) missing: {', '.join(missing)} (found: {', '.join(raw_types)})",
            file=path,
            column=missing[0],
        )
    checks = []
    for col in spec.columns:
        q = engine.quote(col.name)
        native = is_native(col, raw_types[col.name])
        txt = q if native else f"NULLIF(TRIM(CAST({q} AS VARCHAR)), '')"
        if not col.nullable:
            checks.append((col, "is empty", f"{txt} IS NULL"))
        if col.type in SQL_TYPES and col.type != "score" and not native:
            # A whole-number column holding inf, NaN or 1e13 is left to the non_finite rule.
            impossible = f" AND NOT coalesce({out_of_range(q)}, false)" if col.finite else ""
            checks.append(
                (
                    col,
                    f"is not a valid {col.type}",
                    f"{txt} IS NOT NULL AND TRY_CAST({q} AS {SQL_TYPES[col.type]}) IS NULL{impossible}",
                )
            )
        if col.type == "int" and not native:
            # TRY_CAST rounds '2.5' to 3: a count that is not whole is refused, never rounded.
            d = f"TRY_CAST({txt} AS DOUBLE)"
            checks.append((col, "is not a whole number", f"isfinite({d}) AND {d} <> round({d})"))
        if col.type == "period":
            checks.append(
                (
                    col,
                    "is not a month YYYY-MM",
                    f"NOT regexp_full_match({txt}, '\\d{{4}}-(0[1-9]|1[0-2])')",
                )
            )
    if not checks:
        return
    # One scan tells whether any check fails; the row number is looked up only then.
    flags = ", ".join(f"bool_or({cond}) AS c{i}" for i, (_, _, cond) in enumerate(checks))
    try:
        row = engine.row(con, f"SELECT {flags} FROM {engine.quote(view)}")
    except engine.Error as e:
        raise DataError(engine.error_message(e), file=path) from e
    for i, (col, what, cond) in enumerate(checks):
        if row and row[i]:
            bad = engine.rows(
                con,
                f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, "
                f"CAST({engine.quote(col.name)} AS VARCHAR) AS v, * FROM {engine.quote(view)}) "
                f"WHERE {cond} ORDER BY rn LIMIT 1",
            )
            rn, value = bad[0] if bad else (None, None)
            shown = "" if value is None else f" ({str(value)[:40]!r})"
            line = line_numbers(path, [rn], encoding).get(rn) if rn is not None else None
            at = f" (line {line} of the file)" if line is not None and path.endswith(".csv") else ""
            raise DataError(f"value{shown} {what}{at}", file=path, column=col.name, row=rn)


def typed_select_sql(con: ibis.BaseBackend, spec: TableSpec, view: str, tz: str) -> str:
    """The SELECT list that types a raw view's columns as the typed view does (for the quality stage)."""
    return ", ".join(typed_select(spec, engine.column_types(con, view), tz))
