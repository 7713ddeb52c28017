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

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, cast

import ibis

from ..config import TableSettings
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

MANUAL = "kpi_values"
"""The table of manual KPI values and overrides (DOMAIN.md §8), read beside the others."""

MANUAL_COLUMNS = ("period", "node", "kpi", "value", "n", "author", "reason")
"""The columns of kpi_values (DOMAIN.md §8)."""

MAPPABLE = (*TABLES, MANUAL)
"""The tables a `[tables.<name>]` mapping may name."""

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
class Formats:
    """How the text of a table's numbers, dates and timestamps is written (the table's mapping)."""

    decimal: str = "."
    thousands: str | None = None
    date_format: str | None = None
    timestamp_format: str | None = None

    def expected(self, col_type: ColType) -> str:
        """Words for the format a column of this type is read in ("" when the default)."""
        fmt = {"date": self.date_format, "timestamp": self.timestamp_format}.get(col_type)
        if fmt:
            return f" (expected format {fmt})"
        if col_type in ("float", "score", "int") and (self.decimal != "." or self.thousands):
            sep = f", thousands {self.thousands!r}" if self.thousands else ""
            return f" (decimal {self.decimal!r}{sep})"
        return ""


@dataclass(frozen=True)
class TableSpec:
    """Required columns of one canonical table; `key` is its primary key.

    `renamed` pairs a canonical column with the user's name for it (the table's mapping);
    `formats` says how its text is written. Both default to the canonical shape.
    """

    name: str
    columns: tuple[Column, ...]
    key: str | None = None
    required: bool = True
    renamed: tuple[tuple[str, str], ...] = ()
    formats: Formats = Formats()

    def as_read(self, column: str) -> str:
        """The user's name of a canonical column (itself when it is not renamed)."""
        return dict(self.renamed).get(column, column)

    def worded(self, text_sql: str) -> str:
        """SQL: a message (`text_sql`) with each renamed canonical column written the user's way."""
        for canonical, user in self.renamed:
            pattern = engine.literal(f"\\b{canonical}\\b")
            text_sql = f"regexp_replace({text_sql}, {pattern}, {engine.literal(user)}, 'g')"
        return text_sql


def mapped(spec: TableSpec, mapping: TableSettings | None) -> TableSpec:
    """`spec` with a table's mapping applied: its column renames and number/date formats."""
    if mapping is None:
        return spec
    formats = Formats(
        mapping.decimal, mapping.thousands, mapping.date_format, mapping.timestamp_format
    )
    return replace(spec, renamed=tuple(mapping.columns.items()), formats=formats)


def table_specs(
    levels: tuple[str, ...],
    tables: Mapping[str, TableSettings] | None = None,
    extra: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[TableSpec, ...]:
    """The canonical tables, with the project's mapping of each (`tables`) applied.

    `extra`: per table, more columns to read and their type (the columns declared KPIs
    read, `declaration.declared_columns`); a canonical column keeps its own type.
    """
    return tuple(
        mapped(with_columns(spec, (extra or {}).get(spec.name, {})), (tables or {}).get(spec.name))
        for spec in _canonical(levels)
    )


def with_columns(spec: TableSpec, extra: Mapping[str, str]) -> TableSpec:
    """`spec` with the columns of `extra` it does not name, nullable, typed as given."""
    have = {c.name for c in spec.columns}
    more = tuple(Column(n, cast(ColType, t)) for n, t in extra.items() if n not in have)
    return replace(spec, columns=spec.columns + more) if more else spec


def _canonical(levels: tuple[str, ...]) -> tuple[TableSpec, ...]:
    """The canonical tables; `customers` carries one column per hierarchy level."""
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


def parsed(col: Column, q: str, formats: Formats) -> str:
    """SQL: the text `q` read as the column's type under the table's formats (NULL when it does not parse)."""
    text = f"TRIM(CAST({q} AS VARCHAR))"
    if col.type in ("float", "score", "int") and (formats.decimal != "." or formats.thousands):
        if formats.thousands:
            text = f"replace({text}, {engine.literal(formats.thousands)}, '')"
        if formats.decimal != ".":
            text = f"replace({text}, {engine.literal(formats.decimal)}, '.')"
        return f"TRY_CAST({text} AS {SQL_TYPES[col.type]})"
    if col.type == "date" and formats.date_format:
        return f"CAST(TRY_STRPTIME({text}, {engine.literal(formats.date_format)}) AS DATE)"
    if col.type == "timestamp" and formats.timestamp_format:
        return f"TRY_STRPTIME({text}, {engine.literal(formats.timestamp_format)})"
    return f"TRY_CAST({q} AS {SQL_TYPES[col.type]})"


def _zoned(fmt: str | None) -> bool:
    """True when a timestamp format reads a zone or offset (the result is an instant)."""
    return fmt is not None and ("%z" in fmt or "%Z" in fmt)


def _timestamp_items(
    col: Column, raw_type: str, tz: str, formats: Formats = Formats()
) -> list[str]:
    """The UTC instant and the local month index of a timestamp column (DOMAIN.md §1).

    A naive timestamp is wall-clock time in the project zone. Text may carry an offset,
    so it is parsed as TIMESTAMPTZ in the session zone (= the project zone). Zone
    arithmetic is costly, so a naive typed column in a UTC project skips it.
    """
    q, month = engine.quote(col.name), engine.quote(col.name + "_month")
    fmt = formats.timestamp_format
    native = raw_type in _NATIVE["timestamp"]
    if native or (fmt and not _zoned(fmt)):
        naive = f"CAST({q} AS TIMESTAMP)" if native else parsed(col, q, formats)
        instant = naive if tz == "UTC" else f"timezone('UTC', timezone('{tz}', {naive}))"
        return [
            f"{instant} AS {q}",
            f"{engine.month_index(f'year({naive})', f'month({naive})')} AS {month}",
        ]
    tstz = parsed(col, q, formats) if fmt else f"TRY_CAST({q} AS TIMESTAMPTZ)"
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
            items.extend(_timestamp_items(col, raw_types[col.name], tz, spec.formats))
        elif is_native(col, raw_types[col.name]):
            items.append(f"CAST({q} AS {SQL_TYPES[col.type]}) AS {q}")
        else:
            items.append(f"{parsed(col, q, spec.formats)} AS {q}")
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
    missing = [spec.as_read(c.name) for c in spec.columns if c.name not in raw_types]
    if missing:
        found = ", ".join(_user_names(spec, raw_types))
        raise DataError(
            f"required column(s) missing: {', '.join(missing)} (found: {found})",
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
                    f"is not a valid {col.type}{spec.formats.expected(col.type)}",
                    f"{txt} IS NOT NULL AND {parsed(col, q, spec.formats)} IS NULL{impossible}",
                )
            )
        if col.type == "int" and not native:
            # TRY_CAST rounds '2.5' to 3: a count that is not whole is refused, never rounded.
            d = parsed(Column(col.name, "float"), q, spec.formats)
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
            raise DataError(
                f"value{shown} {what}{at}", file=path, column=spec.as_read(col.name), row=rn
            )


def _user_names(spec: TableSpec, raw_types: Mapping[str, str]) -> list[str]:
    """The columns of a raw view under the user's names."""
    return [spec.as_read(c) for c in raw_types]


def typed_select_sql(con: ibis.BaseBackend, spec: TableSpec, view: str, tz: str) -> str:
    """The SELECT list that types a raw view's columns as the typed view does (for the quality stage)."""
    return ", ".join(typed_select(spec, engine.column_types(con, view), tz))
