"""Database sources: a DuckDB file, or any database Ibis connects to by URL (DESIGN.md "Inputs").

`source` may be a `.duckdb` file, `duckdb:///path.duckdb`, `sqlite:///path.db`,
`postgresql://user@host:port/db` or another Ibis URL. Every table (or the SQL query its
mapping gives) ends up as the raw view `raw_<table>` of the embedded DuckDB, where
loading and the quality stage read it as they read a file:

- a DuckDB file is ATTACHed read-only and its tables are views (nothing is copied);
- any other database is read through Ibis in record batches of at most `CHUNK_ROWS`
  rows, streamed into a table of the embedded DuckDB, which spills to disk when the
  table outgrows memory (`engine.connect`): only the columns reportlib needs travel,
  and the whole table is never held in Python.

This module and `engine` are the only places that know which engine is which.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from ..errors import DataError
from . import engine
from .schema import raw_view

log = logging.getLogger(__name__)

CHUNK_ROWS = 100_000
"""The most rows of a remote table held in Python at once (one record batch)."""

ATTACHED = "src"
"""The catalog name a DuckDB file source is attached under."""


@dataclass(frozen=True)
class Wanted:
    """One table to open: where it is in the database and which of its columns to bring.

    `columns` maps each canonical column to the user's name for it; `query` replaces
    `table` when the mapping gives one.
    """

    name: str
    table: str
    columns: Mapping[str, str]
    query: str | None = None


def is_database(source: str) -> bool:
    """True when `source` names a database (an Ibis URL or a `.duckdb` file), not a folder."""
    return "://" in source or source.endswith(".duckdb")


def duckdb_file(source: str, root: Path) -> Path | None:
    """The DuckDB file a source names (a path or a `duckdb://` URL), resolved against `root`."""
    if "://" not in source:
        return _resolved(source, root) if source.endswith(".duckdb") else None
    parts = urlsplit(source)
    if parts.scheme != "duckdb":
        return None
    path = parts.netloc + parts.path
    path = "/" + path.lstrip("/") if path.startswith("//") else path
    if not path or path == ":memory:":
        raise DataError("a duckdb:// source must name a database file", file=source)
    return _resolved(path, root)


def _resolved(path: str, root: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else root / p


def url_for(source: str, root: Path) -> str:
    """The URL Ibis connects with: a relative SQLite path (`sqlite://data/x.db`) is the project's.

    As in Ibis, `sqlite:///abs/x.db` (three slashes) is an absolute path.
    """
    parts = urlsplit(source)
    if parts.scheme == "sqlite" and parts.netloc and parts.netloc != ":memory:":
        return urlunsplit(parts._replace(netloc="", path=str(root / (parts.netloc + parts.path))))
    return source


def shown(source: str) -> str:
    """A source as messages show it: without the password of a URL."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", source)


def open_tables(
    con: ibis.BaseBackend, source: str, root: Path, wanted: list[Wanted]
) -> dict[str, tuple[str, str]]:
    """Open each wanted table present in the database as its raw view: name -> (view, where).

    A table that is absent is left out (the loader decides whether it was required); a
    query that fails is a DataError naming the source and the table.
    """
    path = duckdb_file(source, root)
    if path is not None:
        return _attach(con, path, wanted)
    return _stream(con, url_for(source, root), shown(source), wanted)


# --------------------------------------------------------------------------- a DuckDB file


def _attach(con: ibis.BaseBackend, path: Path, wanted: list[Wanted]) -> dict[str, tuple[str, str]]:
    """Views over the tables of a DuckDB file attached read-only (nothing copied)."""
    if not path.is_file():
        raise DataError("the DuckDB file does not exist", file=str(path))
    try:
        engine.execute(con, f"ATTACH {engine.literal(str(path))} AS {ATTACHED} (READ_ONLY)")
    except engine.Error as e:
        raise DataError(engine.error_message(e), file=str(path)) from e
    present = {
        r[0]
        for r in engine.rows(
            con,
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_catalog = {engine.literal(ATTACHED)}",
        )
    }
    out = {}
    for w in wanted:
        where = f"{path}:{w.name if w.query else w.table}"
        if w.query is not None:
            relation = f"({w.query})"
        elif w.table in present:
            relation = f"{ATTACHED}.{engine.quote(w.table)}"
        else:
            continue
        view = engine.quote(raw_view(w.name))
        select = _selected(con, relation, w, where)
        try:
            if w.query is not None:
                # A query names the file's tables unqualified: run it with the file as the
                # default catalog, into a table of the embedded database (DuckDB to DuckDB).
                engine.execute(con, f"USE {ATTACHED}")
                try:
                    engine.execute(con, f"CREATE OR REPLACE TABLE memory.main.{view} AS {select}")
                finally:
                    engine.execute(con, "USE memory")
            else:
                engine.execute(con, f"CREATE OR REPLACE VIEW {view} AS {select}")
        except engine.Error as e:
            raise DataError(engine.error_message(e), file=where) from e
        out[w.name] = (raw_view(w.name), where)
    return out


def _selected(con: ibis.BaseBackend, relation: str, w: Wanted, where: str) -> str:
    """`SELECT` the wanted columns of a DuckDB relation under their canonical names."""
    if w.query is not None:
        engine.execute(con, f"USE {ATTACHED}")
    try:
        names = [r[0] for r in engine.rows(con, f"DESCRIBE SELECT * FROM {relation}")]
    except engine.Error as e:
        raise DataError(engine.error_message(e), file=where) from e
    finally:
        if w.query is not None:
            engine.execute(con, "USE memory")
    renamed_absent(names, w, where)
    items = _kept(names, w)
    return f"SELECT {', '.join(items)} FROM {relation}"


def renamed_absent(names: list[str], w: Wanted, where: str) -> None:
    """A DataError when a column the mapping renames is not in the table or query."""
    absent = [
        user for canonical, user in w.columns.items() if user != canonical and user not in names
    ]
    if absent:
        raise DataError(
            f"required column(s) missing: {', '.join(absent)} (found: {', '.join(names)})",
            file=where,
            column=absent[0],
        )


def _kept(names: list[str], w: Wanted) -> list[str]:
    """SELECT items: every wanted column present, under its canonical name (all, if none is)."""
    by_user = {user: canonical for canonical, user in w.columns.items()}
    items = [
        f"{engine.quote(n)} AS {engine.quote(by_user[n])}" if by_user[n] != n else engine.quote(n)
        for n in names
        if n in by_user
    ]
    # Nothing recognised: keep every column, so the schema check names what was found.
    return items or [engine.quote(n) for n in names]


# --------------------------------------------------------------------------- any other database


def _stream(
    con: ibis.BaseBackend, url: str, shown_source: str, wanted: list[Wanted]
) -> dict[str, tuple[str, str]]:
    """Tables of a database Ibis connects to, streamed into the embedded DuckDB in batches."""
    try:
        remote = ibis.connect(url)
    except Exception as e:  # any backend's connection failure is a data-source problem
        raise DataError(f"cannot connect: {_first_line(e)}", file=shown_source) from e
    try:
        present = set(remote.list_tables())
        out = {}
        for w in wanted:
            where = f"{shown_source}:{w.name if w.query else w.table}"
            if w.query is None and w.table not in present:
                continue
            try:
                expr = remote.sql(w.query) if w.query is not None else remote.table(w.table)
                renamed_absent(list(expr.columns), w, where)
                stream_into(con, raw_view(w.name), reader(remote, needed(expr, w)))
            except DataError:
                raise
            except Exception as e:  # the database's own error for this table or query
                raise DataError(_first_line(e), file=where) from e
            out[w.name] = (raw_view(w.name), where)
        return out
    finally:
        disconnect = getattr(remote, "disconnect", None)
        if disconnect is not None:
            disconnect()


def needed(expr: ir.Table, w: Wanted) -> ir.Table:
    """Only the wanted columns, under their canonical names (every column, if none is there)."""
    by_user = {user: canonical for canonical, user in w.columns.items()}
    kept = {by_user[c]: expr[c] for c in expr.columns if c in by_user}
    return expr.select(**kept) if kept else expr


def reader(
    remote: ibis.BaseBackend, expr: ir.Table, chunk_rows: int = CHUNK_ROWS
) -> pa.RecordBatchReader:
    """The rows of an Ibis expression as a stream of record batches of at most `chunk_rows` rows.

    PostgreSQL and most backends stream through a server-side cursor (Ibis's
    `to_pyarrow_batches`). Ibis reads a whole SQLite result before cutting it into batches,
    so SQLite, whose values are untyped anyway, is fetched here `chunk_rows` at a time as
    text, which the loader types as it types a CSV file.
    """
    if remote.name != "sqlite":
        return expr.to_pyarrow_batches(chunk_size=chunk_rows)
    columns = list(expr.columns)
    sql = str(remote.compile(expr.select(*[expr[c].cast("string").name(c) for c in columns])))
    schema = pa.schema([(c, pa.string()) for c in columns])

    def batches() -> Iterator[pa.RecordBatch]:
        cursor = remote.raw_sql(sql)
        try:
            while rows := cursor.fetchmany(chunk_rows):
                arrays = [pa.array(values, pa.string()) for values in zip(*rows, strict=True)]
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        finally:
            cursor.close()

    return pa.RecordBatchReader.from_batches(schema, batches())


def stream_into(con: ibis.BaseBackend, table: str, batches: pa.RecordBatchReader) -> int:
    """Create `table` in the embedded DuckDB from a stream of batches; returns its row count.

    The batches are read and inserted one at a time, in this thread (a database connection
    may be used only by the thread that opened it), so Python holds one batch at a time.
    """
    name, q = f"__stream_{table}", engine.quote(table)
    with engine.registered(con, name, batches.schema.empty_table()):
        engine.execute(con, f"CREATE OR REPLACE TABLE {q} AS SELECT * FROM {name}")
    rows = 0
    for batch in batches:
        with engine.registered(con, name, pa.Table.from_batches([batch])):
            engine.execute(con, f"INSERT INTO {q} SELECT * FROM {name}")
        rows += batch.num_rows
    return rows


def _first_line(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return shown(lines[0]) if lines else type(e).__name__
