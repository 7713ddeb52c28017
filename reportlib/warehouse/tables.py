"""The input tables of a warehouse source as typed Ibis expressions on the warehouse itself.

Nothing is copied: each table (or the query its mapping gives) is selected under the
canonical column names (the `[tables.<t>]` mapping applies as for any database), its
columns' native types are checked, and the typed expression is built the way the
embedded path's typed view is (DOMAIN.md §1): a timestamp without a zone is wall-clock
time in the project zone, exposed as the naive UTC instant plus `<col>_month`, the local
calendar month index (`periods.month_index`). A column of the wrong type is one
DataError naming the table and the column; so is a required column with empty values.

Rows of a warehouse have no file line: `ordinal` numbers them in a fixed order (the
key, then the timestamp that places the row in time, then every other column), which
decides which row of a repeated key is kept (docs/warehouse.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import sqlglot as sg

from .. import periods
from ..config import Settings
from ..errors import DataError
from ..sources import TableSpec, database
from ..sources.schema import MANUAL, MANUAL_COLUMNS
from . import backend
from .backend import Warehouse

log = logging.getLogger(__name__)

ROW = "__rn"
"""A row's 1-based ordinal in the order `ordinal` defines (the quality stage's row number)."""

DEFINING = {
    "customers": "acquired_on",
    "survey_responses": "responded_at",
    "tickets": "opened_at",
    "revenue": "invoice_date",
}
"""The column that places a row in time, second in the row order after the key."""

PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


POSITION = "__pos"
"""A stored table's row position in the engine's storage order (see `stored`)."""


@dataclass(frozen=True)
class Opened:
    """One table of the warehouse: its wanted columns under canonical names, and where it is.

    `positioned` is the same with the row's storage position (`POSITION`) beside, for a
    stored table of an engine that keeps one; None for a query.
    """

    raw: ir.Table
    where: str
    positioned: ir.Table | None = None


def stored(remote: ibis.BaseBackend, kind: str, table: str) -> ir.Table:
    """A table with its rows' storage position: the order they were written in.

    DuckDB's `rowid`; PostgreSQL's `ctid` (block, then item: the insertion order of a
    table that is only appended to); Spark's `monotonically_increasing_id()` over the
    table's files. The position decides which row of a repeated key is the first kept,
    as a file's line does (docs/warehouse.md).
    """
    quoted = sg.to_identifier(table, quoted=True).sql(remote.dialect)
    position = {
        "duckdb": "rowid",
        "postgres": "((ctid::text::point)[0]::bigint * 65536 + (ctid::text::point)[1]::bigint)",
        "spark": "monotonically_increasing_id()",
    }[kind]
    return remote.sql(f"SELECT *, {position} AS {POSITION} FROM {quoted}")


def open_tables(
    remote: ibis.BaseBackend, wh: Warehouse, settings: Settings, specs: tuple[TableSpec, ...]
) -> dict[str, Opened]:
    """Each wanted table present in the warehouse (or its mapping's query), columns renamed."""
    wanted = [(s.name, [c.name for c in s.columns]) for s in specs]
    wanted.append((MANUAL, list(MANUAL_COLUMNS)))
    present = set(remote.list_tables())
    out = {}
    for name, columns in wanted:
        m = settings.tables.get(name)
        renames = m.columns if m else {}
        w = database.Wanted(
            name=name,
            table=(m.table if m and m.table else name),
            columns={c: renames.get(c, c) for c in columns},
            query=m.query if m else None,
        )
        where = f"{wh.shown}:{w.name if w.query else w.table}"
        if w.query is None and w.table not in present:
            continue
        try:
            expr = remote.sql(w.query) if w.query is not None else remote.table(w.table)
        except Exception as e:  # the warehouse's own error for this table or query
            lines = str(e).strip().splitlines()
            raise DataError(lines[0] if lines else type(e).__name__, file=where) from e
        database.renamed_absent(list(expr.columns), w, where)
        raw = database.needed(expr, w)
        positioned = None
        if w.query is None and name != MANUAL:
            with_position = stored(remote, wh.kind, w.table)
            by_user = {user: canonical for canonical, user in w.columns.items()}
            kept = {by_user[c]: with_position[c] for c in raw_names(raw, w)}
            positioned = with_position.select(**kept, **{POSITION: with_position[POSITION]})
        out[name] = Opened(raw=raw, where=where, positioned=positioned)
    return out


def raw_names(raw: ir.Table, w: database.Wanted) -> list[str]:
    """The user's names of the columns `database.needed` kept, in their order."""
    user = dict(w.columns)
    return [user.get(c, c) for c in raw.columns]


# --------------------------------------------------------------------------- typing

_ACCEPTS = {
    "string": ("text", lambda t: t.is_string() or t.is_integer()),
    "period": ("text", lambda t: t.is_string()),
    "date": ("DATE", lambda t: t.is_date()),
    "timestamp": ("TIMESTAMP", lambda t: t.is_timestamp()),
    "int": ("integer", lambda t: t.is_integer()),
    "float": ("numeric", lambda t: t.is_numeric()),
    "score": ("numeric", lambda t: t.is_numeric()),
    "bool": ("BOOLEAN", lambda t: t.is_boolean()),
}


def check_types(raw: ir.Table, spec: TableSpec, where: str) -> None:
    """DataError for a missing column or one whose native type cannot hold the column's type."""
    missing = [spec.as_read(c.name) for c in spec.columns if c.name not in raw.columns]
    if missing:
        found = ", ".join(spec.as_read(c) for c in raw.columns)
        raise DataError(
            f"required column(s) missing: {', '.join(missing)} (found: {found})",
            file=where,
            column=missing[0],
        )
    schema = raw.schema()
    for col in spec.columns:
        what, ok = _ACCEPTS[col.type]
        found = schema[col.name]
        if not ok(found):
            raise DataError(
                f"the column is {found} in the warehouse; a {col.type} column must be "
                f"{what} (a warehouse table's columns must be natively typed)",
                file=where,
                column=spec.as_read(col.name),
            )


def check_values(raw: ir.Table, spec: TableSpec, where: str) -> None:
    """DataError for empty values in a required column or a period that is not YYYY-MM (one scan)."""
    tests: dict[str, ir.BooleanValue] = {}
    for i, col in enumerate(spec.columns):
        c = raw[col.name]
        if not col.nullable:
            empty = c.isnull()
            if c.type().is_string():
                empty = empty | (c.strip() == "")
            tests[f"e{i}"] = empty
        if col.type == "period":
            tests[f"p{i}"] = c.notnull() & ~c.strip().re_search(PERIOD_PATTERN)
    if not tests:
        return
    counts = raw.aggregate(**{k: v.ifelse(1, 0).sum() for k, v in tests.items()}).to_pyarrow()
    for key in tests:
        n = counts[key][0].as_py() or 0
        if n:
            col = spec.columns[int(key[1:])]
            what = "is empty" if key[0] == "e" else "is not a month YYYY-MM"
            raise DataError(
                f"value {what} in {n} row(s)", file=where, column=spec.as_read(col.name)
            )


def typed_columns(raw: ir.Table, spec: TableSpec, kind: str, tz: str) -> dict[str, ir.Value]:
    """The typed columns of a table, as the embedded path's typed view has them (in order)."""
    out: dict[str, ir.Value] = {}
    for col in spec.columns:
        c = raw[col.name]
        if col.type in ("string", "period"):
            out[col.name] = c.cast("string")
        elif col.type == "timestamp":
            t = c.type()
            assert isinstance(t, dt.Timestamp)
            if t.timezone is not None:  # an instant: UTC, and its wall-clock time in the zone
                instant = c.cast(dt.Timestamp())
                local = backend.local_of_utc(kind, instant, tz)
            else:  # wall-clock time in the project zone
                local = c.cast(dt.Timestamp())
                instant = backend.utc_of_local(kind, local, tz)
            out[col.name] = instant
            out[col.name + "_month"] = periods.month_index(
                local.year().cast("int64"), local.month().cast("int64")
            )
        elif col.type == "int":
            out[col.name] = c.cast("int64")
        elif col.type in ("float", "score"):
            out[col.name] = c.cast("float64")
        else:
            out[col.name] = c.cast(dt.Date() if col.type == "date" else dt.Boolean())
    return out


def typed(raw: ir.Table, spec: TableSpec, kind: str, tz: str) -> ir.Table:
    """The typed table (what measures read before validation keeps or drops rows)."""
    return raw.select(**typed_columns(raw, spec, kind, tz))


def order_keys(table: ir.Table, spec: TableSpec, key: tuple[str, ...]) -> list[ir.Value]:
    """The row order of a warehouse table: its storage order (`stored`) when it has one;
    for a query, the key, the defining timestamp, then every other column."""
    if POSITION in table.columns:
        return [table[POSITION]]
    first = [*key, *([DEFINING[spec.name]] if spec.name in DEFINING else [])]
    rest = [c for c in table.columns if c not in first and not c.startswith("__")]
    return [table[c] for c in (*dict.fromkeys(first), *rest)]


def ordinal(table: ir.Table, spec: TableSpec, key: tuple[str, ...]) -> ir.Table:
    """`table` with `__rn`, the row's 1-based ordinal in the order of `order_keys`."""
    rn = ibis.row_number().over(order_by=order_keys(table, spec, key)) + 1
    return table.mutate(**{ROW: rn.cast("int64")})


def fetch_small(expr: ir.Table) -> Mapping[str, list[object]]:
    """A small result (kpi_values, counts) as columns of Python values."""
    return expr.to_pyarrow().to_pydict()
