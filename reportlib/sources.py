"""Load the canonical input tables through Ibis on an embedded DuckDB (DESIGN.md "Inputs").

`source` is a folder of CSV/Parquet files (one per table), a `.duckdb` file, or an
Ibis connection URL. Every table's schema is checked on load: a missing file or
column, or a value that does not parse, is a DataError naming file, column and row.

Timestamps are read in the project time zone when they carry no zone (DOMAIN.md §1)
and exposed as naive UTC instants plus `<col>_month`, the local calendar month index
(year*12 + month-1), so later stages never deal with zones.
"""

from __future__ import annotations

import codecs
import csv
import itertools
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
    encodings: dict[str, str] = field(default_factory=dict)
    """Text encoding each CSV table was read with (`utf-8`, or `latin-1` as a fallback)."""

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
    # A progress bar would be drawn on the user's terminal in the middle of the CLI's output.
    con.raw_sql("SET enable_progress_bar = false")
    # The quality stage numbers CSV rows in scan order (row_number() OVER ()), which is the
    # file's order only while insertion order is preserved (DuckDB's default): keep it so.
    con.raw_sql("SET preserve_insertion_order = true")
    return con


def _locate(folder: Path, name: str) -> Path | None:
    for ext in (".parquet", ".csv"):
        p = folder / f"{name}{ext}"
        if p.is_file():
            return p
    return None


def _register_file(con: ibis.BaseBackend, path: Path, name: str, encoding: str = "utf-8") -> str:
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
            f"encoding = '{encoding}', columns = {_csv_columns(path, encoding)})"
        )
    try:
        con.raw_sql(sql)
    except duckdb.Error as e:
        raise DataError(_duckdb_message(e), file=str(path)) from e
    return view


def _csv_columns(path: Path, encoding: str = "utf-8") -> str:
    """Read the header line ourselves so every column is text and names are kept exactly."""
    encoding = "utf-8-sig" if encoding == "utf-8" else encoding
    with path.open(newline="", encoding=encoding, errors="replace") as fh:
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
    if first.startswith("CSV Error on Line: "):
        # DuckDB's CSV errors span many lines: keep the line number and what was wrong.
        where = "line " + first.removeprefix("CSV Error on Line: ").strip()
        for line in text[1:]:
            if line.startswith(_CSV_PROBLEMS):
                return f"{where}: {line.strip()}"
        return where + ": the row cannot be read as CSV"
    return first


_CSV_PROBLEMS = (
    "Expected Number of Columns",
    "Value with unterminated quote",
    "Invalid unicode",
    "Maximum line size",
)


def line_numbers(
    path: str, rows: list[int], encoding: str = "utf-8", total: int | None = None
) -> dict[int, int]:
    """The physical line where each 1-based data row of a CSV starts (others: the row itself).

    Quoted newlines make a row span lines and blank lines are skipped by the reader, so
    when the file does not hold exactly one line per row (`total` rows + header, counted
    from its bytes) the lines are counted by re-reading it with the csv module.
    """
    if not rows:
        return {}
    p = Path(path)
    if p.suffix != ".csv" or not p.is_file():
        return {r: r for r in rows}
    if total is not None and rows_are_lines(path, total):
        return {r: r + 1 for r in rows}
    wanted, last = set(rows), max(rows)
    out: dict[int, int] = {}
    with p.open(newline="", encoding=_python_encoding(encoding), errors="replace") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        row, start = 0, reader.line_num + 1
        for record in reader:
            if record:
                row += 1
                if row in wanted:
                    out[row] = start
                if row >= last:
                    break
            start = reader.line_num + 1
    return out


def rows_are_lines(path: str, total: int) -> bool:
    """True when a CSV holds its header and `total` rows on exactly one line each (row r on line r+1)."""
    p = Path(path)
    return p.suffix == ".csv" and p.is_file() and _physical_lines(p) == total + 1


def typed_select_sql(con: ibis.BaseBackend, spec: TableSpec, view: str, tz: str) -> str:
    """The SELECT list that types a raw view's columns as `typed_<table>` does (for the quality stage)."""
    return ", ".join(_typed_select(spec, _raw_types(con, view), tz))


def _python_encoding(encoding: str) -> str:
    return "utf-8-sig" if encoding == "utf-8" else encoding


def _physical_lines(path: Path) -> int:
    """Lines in a file: newlines, plus a last line without one."""
    count, last = 0, b"\n"
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 23), b""):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


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


def _is_native(col: Column, raw_type: str) -> bool:
    return raw_type in _NATIVE.get(col.type, ()) or (
        col.type in ("float", "score") and raw_type.startswith("DECIMAL")
    )


def _raw_types(con: ibis.BaseBackend, view: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.raw_sql(f"DESCRIBE {_quote(view)}").fetchall()}


def _timestamp_items(col: Column, raw_type: str, tz: str) -> list[str]:
    """The UTC instant and the local month index of a timestamp column (DOMAIN.md §1).

    A naive timestamp is wall-clock time in the project zone. Text may carry an offset,
    so it is parsed as TIMESTAMPTZ in the session zone (= the project zone). Zone
    arithmetic is costly, so a naive typed column in a UTC project skips it.
    """
    q, month = _quote(col.name), _quote(col.name + "_month")
    if raw_type in _NATIVE["timestamp"]:
        naive = f"CAST({q} AS TIMESTAMP)"
        instant = naive if tz == "UTC" else f"timezone('UTC', timezone('{tz}', {naive}))"
        return [f"{instant} AS {q}", f"(year({naive}) * 12 + month({naive}) - 1) AS {month}"]
    tstz = f"TRY_CAST({q} AS TIMESTAMPTZ)"
    local = f"timezone('{tz}', {tstz})"
    return [
        f"timezone('UTC', {tstz}) AS {q}",
        f"(year({local}) * 12 + month({local}) - 1) AS {month}",
    ]


def _typed_select(spec: TableSpec, raw_types: dict[str, str], tz: str) -> list[str]:
    """SELECT items that type each column of a spec, keeping unknown columns out."""
    items = []
    for col in spec.columns:
        q = _quote(col.name)
        if col.type in ("string", "period"):
            items.append(f"CAST({q} AS VARCHAR) AS {q}")
        elif col.type == "timestamp":
            items.extend(_timestamp_items(col, raw_types[col.name], tz))
        elif _is_native(col, raw_types[col.name]):
            items.append(f"CAST({q} AS {_SQL_TYPES[col.type]}) AS {q}")
        else:
            items.append(f"TRY_CAST({q} AS {_SQL_TYPES[col.type]}) AS {q}")
    return items


def _check_schema(
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
        q = _quote(col.name)
        native = _is_native(col, raw_types[col.name])
        txt = q if native else f"NULLIF(TRIM(CAST({q} AS VARCHAR)), '')"
        if not col.nullable:
            checks.append((col, "is empty", f"{txt} IS NULL"))
        if col.type in _SQL_TYPES and col.type != "score" and not native:
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
            line = line_numbers(path, [rn], encoding).get(rn) if rn is not None else None
            at = f" (line {line} of the file)" if line is not None and path.endswith(".csv") else ""
            raise DataError(f"value{shown} {what}{at}", file=path, column=col.name, row=rn)


def _folder_tables(con: ibis.BaseBackend, folder: Path) -> dict[str, tuple[str, str]]:
    found = {}
    for name in TABLES:
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
    encodings: dict[str, str] = {}
    for spec in table_specs(project.hierarchy.levels):
        if spec.name not in found:
            if spec.required:
                where = src if "://" in src else str(settings.path(src) / f"{spec.name}.csv")
                raise DataError(f"required table {spec.name} is missing", file=where)
            continue
        view, where = found[spec.name]
        if where.endswith(".csv"):
            encodings[spec.name] = _detect_encoding(Path(where))
            if encodings[spec.name] != "utf-8":
                _register_file(con, Path(where), spec.name, encodings[spec.name])
        raw_types = _raw_types(con, view)
        _check_schema(con, spec, view, where, raw_types, encodings.get(spec.name, "utf-8"))
        select = ", ".join(_typed_select(spec, raw_types, tz))
        typed = f"typed_{spec.name}"
        con.raw_sql(
            f"CREATE OR REPLACE VIEW {_quote(typed)} AS SELECT {select} FROM {_quote(view)}"
        )
        tables[spec.name] = con.table(typed)
        raw[spec.name] = con.table(view)
        files[spec.name] = where
    as_of = _as_of(con, settings.as_of, tz, tables)
    log.info("loaded %s; as_of %s UTC", ", ".join(f"{k}" for k in tables), as_of)
    return Source(
        con=con, tables=tables, files=files, as_of=as_of, timezone=tz, raw=raw, encodings=encodings
    )


def _detect_encoding(path: Path) -> str:
    """`utf-8` when the whole file decodes as UTF-8, else `latin-1` (which reads any byte), with a warning."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    seen = 0
    with path.open("rb") as fh:
        for chunk in itertools.chain(iter(lambda: fh.read(1 << 24), b""), [b""]):
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                line = _line_of_offset(path, seen + e.start)
                log.warning(
                    "%s is not valid UTF-8 (line %d): reading it as Latin-1; save it as UTF-8 to silence this",
                    path,
                    line,
                )
                return "latin-1"
            seen += len(chunk)
    return "utf-8"


def _line_of_offset(path: Path, offset: int) -> int:
    """1-based line of a byte offset in a file."""
    with path.open("rb") as fh:
        return fh.read(offset).count(b"\n") + 1


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
