"""The SQL engine's specifics, in one place: DuckDB under Ibis.

Loading (`sources`) and the quality rules (`quality`) write set-based SQL that Ibis has
no expression for (CSV reading options, ASOF joins, recursive CTEs, file row numbers).
Everything that depends on the engine lives here, the way Ibis keeps one module per
backend: quoting identifiers and literals, the SQL text of the month index, running a
statement on the raw connection, registering a small Arrow table, the session settings
and the wording of the engine's errors. Nothing else calls `con.raw_sql` or reaches
for the DuckDB connection under Ibis.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa

from .. import periods
from ..errors import ConfigError

Error = duckdb.Error
"""What a failed statement raises."""


MEMORY_LIMIT_VARIABLE = "REPORTLIB_MEMORY_LIMIT"
"""Environment variable capping the engine's memory (a DuckDB size such as `700MB` or `4GB`).

Unset, DuckDB takes up to 80% of the machine's memory. Set, whatever does not fit (the
sorts and hash tables of the quality stage and the measures) spills to the temporary
folder: the same figures, a smaller peak, some more time."""


def memory_limit() -> str | None:
    """The configured memory cap (`REPORTLIB_MEMORY_LIMIT`), None for DuckDB's default."""
    value = os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip()
    return value or None


def connect(timezone: str) -> ibis.BaseBackend:
    """An embedded DuckDB whose session time zone is the project's.

    It runs on every core (DuckDB's default thread count), and keeps insertion order:
    the quality stage numbers CSV rows in scan order and reports them in file order.
    """
    con = ibis.duckdb.connect()
    execute(con, f"SET TimeZone = {literal(timezone)}")
    # A progress bar would be drawn on the user's terminal in the middle of the CLI's output.
    execute(con, "SET enable_progress_bar = false")
    # The quality stage numbers CSV rows in scan order (row_number() OVER ()), which is the
    # file's order only while insertion order is preserved (DuckDB's default): keep it so.
    execute(con, "SET preserve_insertion_order = true")
    # A table streamed from a database may outgrow memory: DuckDB spills it to this folder
    # (by default an in-memory database would spill into `.tmp` of the working folder).
    spill = Path(tempfile.gettempdir()) / f"reportlib-duckdb-{os.getpid()}"
    execute(con, f"SET temp_directory = {literal(str(spill))}")
    limit = memory_limit()
    if limit is not None:
        try:
            execute(con, f"SET memory_limit = {literal(limit)}")
        except Error as e:
            raise ConfigError(
                f"{MEMORY_LIMIT_VARIABLE}={limit!r} is not a memory size such as 700MB or 4GB "
                f"({error_message(e)})"
            ) from e
    return con


# --------------------------------------------------------------------------- SQL text


def quote(name: str) -> str:
    """An identifier, double-quoted (a quote inside doubled)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string literal, single-quoted (a quote inside doubled)."""
    return "'" + text.replace("'", "''") + "'"


def timestamp(instant: datetime) -> str:
    """A naive instant as a TIMESTAMP literal, to the microsecond."""
    return f"TIMESTAMP '{instant.isoformat(sep=' ', timespec='microseconds')}'"


@dataclass(frozen=True)
class _Text:
    """SQL text that `periods.month_index` can do arithmetic on, so the formula stays its own."""

    text: str

    def __str__(self) -> str:
        return self.text

    def __mul__(self, other: object) -> _Text:
        return _Text(f"{self} * {other}")

    def __add__(self, other: object) -> _Text:
        return _Text(f"{self} + {other}")

    def __sub__(self, other: object) -> _Text:
        return _Text(f"{self} - {other}")


def month_index(year: str, month: str) -> str:
    """The SQL text of `periods.month_index` over two SQL expressions (in parentheses)."""
    return f"({periods.month_index(_Text(year), _Text(month))})"


# --------------------------------------------------------------------------- running SQL


def execute(con: ibis.BaseBackend, sql: str) -> Any:
    """Run one statement on the raw connection; returns DuckDB's result (fetchone/fetchall/arrow)."""
    return con.raw_sql(sql)


def scalar(con: ibis.BaseBackend, sql: str) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = execute(con, sql).fetchone()
    return row[0] if row else None


def rows(con: ibis.BaseBackend, sql: str) -> list[tuple[Any, ...]]:
    """Every row, as tuples."""
    return list(execute(con, sql).fetchall())


def row(con: ibis.BaseBackend, sql: str) -> tuple[Any, ...]:
    """The first row (a query that always returns one, such as an aggregate)."""
    return tuple(execute(con, sql).fetchone())


def arrow(con: ibis.BaseBackend, sql: str) -> pa.Table:
    """The result as an Arrow table."""
    out = execute(con, sql).arrow()
    return out.read_all() if hasattr(out, "read_all") else out


def column_types(con: ibis.BaseBackend, relation: str) -> dict[str, str]:
    """The engine's type name of each column of a view or table, in order."""
    return {r[0]: r[1] for r in rows(con, f"DESCRIBE {quote(relation)}")}


@contextmanager
def registered(
    con: ibis.BaseBackend, name: str, table: pa.Table | pa.RecordBatchReader
) -> Iterator[str]:
    """A small Arrow table (or a stream of batches, read once) visible to SQL as `name` while the block runs."""
    duck = con.con  # the DuckDB connection under Ibis
    duck.register(name, table)
    try:
        yield name
    finally:
        duck.unregister(name)


# --------------------------------------------------------------------------- errors

_CSV_PROBLEMS = (
    "Expected Number of Columns",
    "Value with unterminated quote",
    "Invalid unicode",
    "Maximum line size",
)


def error_message(e: Exception) -> str:
    """The useful first line of an engine error (CSV errors: the line and what was wrong)."""
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
