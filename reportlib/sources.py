"""Load the canonical input tables through Ibis on an embedded DuckDB (DESIGN.md "Inputs").

`source` is a folder of CSV/Parquet files (one per table), a `.duckdb` file, or an
Ibis connection URL. Every table's schema is checked on load: a missing file or
column, or a value that does not parse, is a DataError naming file, column and row.

Timestamps are read in the project time zone when they carry no zone (DOMAIN.md §1)
and exposed as naive UTC instants plus `<col>_month`, the local calendar month index
(year*12 + month-1), so later stages never deal with zones.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import duckdb
import ibis
import ibis.expr.types as ir

from . import periods
from .config import Project
from .errors import ConfigError, DataError

log = logging.getLogger(__name__)

ColType = Literal["string", "date", "timestamp", "int", "float", "bool", "score", "period"]

_SQL_TYPES = {
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "score": "DOUBLE",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColType
    nullable: bool = True


@dataclass(frozen=True)
class TableSpec:
    """Required columns of one canonical table; `key` is its primary key."""

    name: str
    columns: tuple[Column, ...]
    key: str | None = None
    required: bool = True


def table_specs(levels: tuple[str, ...]) -> tuple[TableSpec, ...]:
    """The canonical tables; `customers` carries one column per hierarchy level."""
    s, d, t, i, f = "string", "date", "timestamp", "int", "float"
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
                Column("amount", f, False),
            ),
            key="invoice_id",
        ),
        TableSpec(
            "workforce",
            (
                Column("period", "period", False),
                *(Column(level, s) for level in levels),
                Column("headcount", i, False),
                Column("leavers", i),
                Column("training_hours", f),
                Column("enps_promoters", i),
                Column("enps_passives", i),
                Column("enps_detractors", i),
            ),
        ),
    )


@dataclass(frozen=True)
class Source:
    """The loaded tables (typed Ibis expressions over DuckDB) and where they came from."""

    con: ibis.BaseBackend
    tables: dict[str, ir.Table]
    files: dict[str, str]
    as_of: datetime
    """Data cut-off as a naive UTC instant (DOMAIN.md §1)."""
    timezone: str
    raw: dict[str, ir.Table] = field(default_factory=dict)
    """The same tables before typing, all columns as text, for the quality stage."""

    @property
    def as_of_local(self) -> datetime:
        """The cut-off in the project time zone."""
        return self.as_of.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(self.timezone))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect(timezone: str) -> ibis.BaseBackend:
    """An embedded DuckDB whose session time zone is the project's."""
    con = ibis.duckdb.connect()
    con.raw_sql(f"SET TimeZone = '{timezone}'")
    return con


def _locate(folder: Path, name: str) -> Path | None:
    for ext in (".parquet", ".csv"):
        p = folder / f"{name}{ext}"
        if p.is_file():
            return p
    return None


def _register_file(con: ibis.BaseBackend, path: Path, name: str) -> str:
    """Create a view of a CSV (every column as text) or Parquet file; return its name."""
    view = f"raw_{name}"
    p = str(path).replace("'", "''")
    if path.suffix == ".parquet":
        sql = f"CREATE OR REPLACE VIEW {_quote(view)} AS SELECT * FROM read_parquet('{p}')"
    else:
        if path.stat().st_size == 0:
            raise DataError("the file is empty (expected a header row)", file=str(path))
        sql = (
            f"CREATE OR REPLACE VIEW {_quote(view)} AS SELECT * FROM read_csv('{p}', "
            "header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', "
            "auto_detect = false, null_padding = false, max_line_size = 100000000, "
            f"columns = {_csv_columns(path)})"
        )
    try:
        con.raw_sql(sql)
    except duckdb.Error as e:
        raise DataError(_duckdb_message(e), file=str(path)) from e
    return view


def _csv_columns(path: Path) -> str:
    """Read the header line ourselves so every column is text and names are kept exactly."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        header = next(csv.reader(fh), [])
    if not header or all(not h.strip() for h in header):
        raise DataError("the file has no header row", file=str(path))
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        sep = "semicolon" if ";" in header[0] else "tab"
        raise DataError(
            f"the header is one column {header[0][:60]!r}: the file looks {sep}-separated, expected commas",
            file=str(path),
        )
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise DataError(f"column {h!r} appears twice in the header", file=str(path))
        seen.add(h)
    body = ", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for h in header)
    return "{" + body + "}"


def _duckdb_message(e: Exception) -> str:
    text = str(e).strip().splitlines()
    first = text[0] if text else type(e).__name__
    for prefix in ("Invalid Input Error: ", "Conversion Error: ", "IO Error: ", "Binder Error: "):
        first = first.removeprefix(prefix)
    return first


def _typed_select(spec: TableSpec, tz: str) -> list[str]:
    """SELECT items that type each column of a spec, keeping unknown columns out."""
    items = []
    for col in spec.columns:
        q = _quote(col.name)
        if col.type in ("string", "period"):
            items.append(f"CAST({q} AS VARCHAR) AS {q}")
        elif col.type == "timestamp":
            tstz = f"TRY_CAST({q} AS TIMESTAMPTZ)"
            items.append(f"timezone('UTC', {tstz}) AS {q}")
            local = f"timezone('{tz}', {tstz})"
            items.append(
                f"(year({local}) * 12 + month({local}) - 1) AS {_quote(col.name + '_month')}"
            )
        elif col.type == "date":
            items.append(f"TRY_CAST({q} AS DATE) AS {q}")
        else:
            items.append(f"TRY_CAST({q} AS {_SQL_TYPES[col.type]}) AS {q}")
    return items


def _check_schema(con: ibis.BaseBackend, spec: TableSpec, view: str, path: str) -> None:
    """Raise DataError for a missing column, a null in a required column, or a bad value."""
    cols = [r[0] for r in con.raw_sql(f"DESCRIBE {_quote(view)}").fetchall()]
    missing = [c.name for c in spec.columns if c.name not in cols]
    if missing:
        raise DataError(
            f"required column(s) missing: {', '.join(missing)} (found: {', '.join(cols)})",
            file=path,
            column=missing[0],
        )
    checks = []
    for col in spec.columns:
        q = _quote(col.name)
        txt = f"NULLIF(TRIM(CAST({q} AS VARCHAR)), '')"
        if not col.nullable:
            checks.append((col, "is empty", f"{txt} IS NULL"))
        if col.type in _SQL_TYPES and col.type != "score":
            checks.append(
                (
                    col,
                    f"is not a valid {col.type}",
                    f"{txt} IS NOT NULL AND TRY_CAST({q} AS {_SQL_TYPES[col.type]}) IS NULL",
                )
            )
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
        row = con.raw_sql(f"SELECT {flags} FROM {_quote(view)}").fetchone()
    except duckdb.Error as e:
        raise DataError(_duckdb_message(e), file=path) from e
    for i, (col, what, cond) in enumerate(checks):
        if row and row[i]:
            bad = con.raw_sql(
                f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, "
                f"CAST({_quote(col.name)} AS VARCHAR) AS v, * FROM {_quote(view)}) "
                f"WHERE {cond} ORDER BY rn LIMIT 1"
            ).fetchone()
            rn, value = bad if bad else (None, None)
            shown = "" if value is None else f" ({str(value)[:40]!r})"
            raise DataError(f"value{shown} {what}", file=path, column=col.name, row=rn)


def _folder_tables(con: ibis.BaseBackend, folder: Path) -> dict[str, tuple[str, str]]:
    found = {}
    for name in (
        "customers",
        "customer_aliases",
        "survey_responses",
        "tickets",
        "revenue",
        "workforce",
    ):
        path = _locate(folder, name)
        if path is not None:
            found[name] = (_register_file(con, path, name), str(path))
    return found


def _database_tables(con: ibis.BaseBackend, source: str) -> dict[str, tuple[str, str]]:
    """Tables of a .duckdb file or another Ibis backend, copied into the embedded DuckDB."""
    if source.endswith(".duckdb") and "://" not in source:
        p = source.replace("'", "''")
        try:
            con.raw_sql(f"ATTACH '{p}' AS src (READ_ONLY)")
        except duckdb.Error as e:
            raise DataError(_duckdb_message(e), file=source) from e
        names = {
            r[0]
            for r in con.raw_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src'"
            ).fetchall()
        }
        out = {}
        for name in names:
            view = f"raw_{name}"
            con.raw_sql(
                f"CREATE OR REPLACE VIEW {_quote(view)} AS SELECT * FROM src.{_quote(name)}"
            )
            out[name] = (view, f"{source}:{name}")
        return out
    try:
        remote = ibis.connect(source)
    except Exception as e:  # any backend's connection failure is a data-source problem
        raise DataError(f"cannot connect to {source}: {e}", file=source) from e
    out = {}
    for name in remote.list_tables():
        view = f"raw_{name}"
        con.create_table(view, remote.table(name).to_pyarrow(), overwrite=True)
        out[name] = (view, f"{source}:{name}")
    return out


def load(project: Project) -> Source:
    """Open the source, check every table's schema, and return typed tables."""
    settings = project.settings
    tz = settings.timezone
    con = connect(tz)
    src = settings.source
    if "://" in src or src.endswith(".duckdb"):
        path_src = src if "://" in src else str(settings.path(src))
        found = _database_tables(con, path_src)
    else:
        folder = settings.path(src)
        if not folder.is_dir():
            raise DataError(
                "the source folder does not exist (run `reportlib sample-data` for a sample)",
                file=str(folder),
            )
        found = _folder_tables(con, folder)

    tables: dict[str, ir.Table] = {}
    raw: dict[str, ir.Table] = {}
    files: dict[str, str] = {}
    for spec in table_specs(project.hierarchy.levels):
        if spec.name not in found:
            if spec.required:
                where = src if "://" in src else str(settings.path(src) / f"{spec.name}.csv")
                raise DataError(f"required table {spec.name} is missing", file=where)
            continue
        view, where = found[spec.name]
        _check_schema(con, spec, view, where)
        select = ", ".join(_typed_select(spec, tz))
        typed = f"typed_{spec.name}"
        con.raw_sql(
            f"CREATE OR REPLACE VIEW {_quote(typed)} AS SELECT {select} FROM {_quote(view)}"
        )
        tables[spec.name] = con.table(typed)
        raw[spec.name] = con.table(view)
        files[spec.name] = where
    as_of = _as_of(con, settings.as_of, tz, tables)
    log.info("loaded %s; as_of %s UTC", ", ".join(f"{k}" for k in tables), as_of)
    return Source(con=con, tables=tables, files=files, as_of=as_of, timezone=tz, raw=raw)


def parse_as_of(text: str, tz: str) -> datetime:
    """A configured cut-off: ISO date-time, read in the project zone when it has none."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as e:
        raise ConfigError(f"as_of {text!r} is not an ISO date-time") from e
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _as_of(
    con: ibis.BaseBackend, configured: str | None, tz: str, tables: dict[str, ir.Table]
) -> datetime:
    """The configured cut-off, or the latest timestamp seen in the data (DOMAIN.md §1)."""
    if configured:
        return parse_as_of(configured, tz)
    parts = []
    for name, cols in (
        ("survey_responses", ("responded_at",)),
        ("tickets", ("opened_at", "first_response_at", "resolved_at")),
    ):
        if name in tables:
            parts.append(
                f"SELECT greatest({', '.join(f'max({c})' for c in cols)}) AS m FROM typed_{name}"
            )
    latest = con.raw_sql(f"SELECT max(m) FROM ({' UNION ALL '.join(parts)})").fetchone()[0]
    if latest is None:
        raise DataError(
            "no timestamps in survey_responses or tickets: cannot tell the data cut-off (set as_of in the config)"
        )
    return latest


def latest_complete_period(source: Source) -> str:
    """The last calendar month that ended at or before the cut-off, in the project zone."""
    local = source.as_of_local
    index = local.year * 12 + local.month - 1
    return periods.label(index - 1)
