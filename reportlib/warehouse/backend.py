"""Which engine a warehouse source is, and an Ibis connection to it (docs/warehouse.md).

A warehouse source is computed where it lives: PostgreSQL (Ibis's postgres backend), a
DuckDB file (Ibis's duckdb backend opened read-only on the file) or Spark (Ibis's pyspark
backend, in local mode, on a standalone master or through Spark Connect). This module is
the only place of the `warehouse` package that knows which engine is which: the source
URL forms, connecting, the time-zone functions Ibis has no portable expression for, and
the rewriting of the rule catalogue's one DuckDB-only function (`isfinite`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot
import sqlglot.expressions as sge

from ..config import Settings
from ..errors import ConfigError, DataError
from ..sources import database, engine

log = logging.getLogger(__name__)

POSTGRES = ("postgres", "postgresql")
SPARK = ("spark", "sc")


@dataclass(frozen=True)
class Warehouse:
    """A source computed in its own engine: which engine, where, and how messages name it."""

    kind: str
    """"postgres", "duckdb" or "spark"."""
    source: str
    root: Path

    @property
    def shown(self) -> str:
        """The source as messages and quarantine files name it (no password)."""
        return database.shown(self.source)


def _scheme(source: str) -> str:
    return urlsplit(source).scheme.lower() if "://" in source else ""


def kind_of(source: str, root: Path) -> str | None:
    """ "postgres", "spark" or "duckdb" for a source that can be a warehouse; None otherwise."""
    scheme = _scheme(source)
    if scheme in POSTGRES:
        return "postgres"
    if scheme in SPARK:
        return "spark"
    if database.is_database(source) and database.duckdb_file(source, root) is not None:
        return "duckdb"
    return None


def chosen(settings: Settings) -> Warehouse | None:
    """The warehouse a project computes in, or None for the embedded DuckDB (`compute`).

    Unset, `compute` is "warehouse" for PostgreSQL and Spark and "local" for files,
    SQLite and DuckDB files; "warehouse" for a source that cannot be one is refused.
    """
    kind = kind_of(settings.source, settings.root)
    compute = settings.compute or ("warehouse" if kind in ("postgres", "spark") else "local")
    if compute == "local":
        if kind == "spark":
            raise ConfigError(
                'compute = "local" cannot read a Spark source: its tables are computed in Spark '
                '(remove compute or set it to "warehouse")'
            )
        return None
    if kind is None:
        raise ConfigError(
            f'compute = "warehouse" needs a PostgreSQL, Spark or DuckDB file source, not '
            f'{database.shown(settings.source)!r} (set compute = "local")'
        )
    return Warehouse(kind=kind, source=settings.source, root=settings.root)


def connect(wh: Warehouse) -> ibis.BaseBackend:
    """An Ibis connection to the warehouse (read-only for a DuckDB file); DataError when it fails."""
    try:
        if wh.kind == "duckdb":
            path = database.duckdb_file(wh.source, wh.root)
            assert path is not None
            if not path.is_file():
                raise DataError("the DuckDB file does not exist", file=str(path))
            # The file's own DuckDB does the work here, so it takes the same memory cap
            # (REPORTLIB_MEMORY_LIMIT) as the embedded one.
            limit = engine.memory_limit()
            cap = {"memory_limit": limit} if limit else {}
            return ibis.duckdb.connect(str(path), read_only=True, **cap)
        if wh.kind == "spark":
            return ibis.pyspark.connect(spark_session(wh.source))
        return ibis.connect(database.url_for(wh.source, wh.root))
    except DataError:
        raise
    except Exception as e:  # any backend's connection failure is a data-source problem
        lines = str(e).strip().splitlines()
        first = database.shown(lines[0]) if lines else type(e).__name__
        raise DataError(f"cannot connect: {first}", file=wh.shown) from e


def spark_session(source: str) -> object:
    """The Spark session of a source: `spark://local/<db>` (local mode, every core),
    `spark://host:7077/<db>` (a standalone master) or `sc://host:15002/<db>` (Spark Connect).

    In local mode the session of this process is reused when there is one (getOrCreate).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise DataError(
            "a Spark source needs PySpark: pip install 'reportlib[spark]'", file=source
        ) from e
    parts = urlsplit(source)
    builder = SparkSession.builder.appName("reportlib")
    if parts.scheme == "sc":
        session = builder.remote(f"sc://{parts.netloc}").getOrCreate()
    else:
        master = "local[*]" if parts.hostname in (None, "local") else f"spark://{parts.netloc}"
        session = builder.master(master).getOrCreate()
    db = spark_database(source)
    if db:
        session.catalog.setCurrentDatabase(db)
    return session


def spark_database(source: str) -> str | None:
    """The Spark catalog database a Spark source names (its path), if any."""
    path = urlsplit(source).path.strip("/")
    return path or None


def temporary(remote: ibis.BaseBackend, name: str, rows: pa.Table) -> ir.Table:
    """A small table the warehouse's queries can join, private to this session.

    PostgreSQL and DuckDB: a temporary table (gone with the connection); Spark: a
    temporary view of an in-memory DataFrame. Nothing lands in the warehouse's schemas.
    """
    if remote.name == "pyspark":
        return remote.create_view(name, ibis.memtable(rows), overwrite=True)
    return remote.create_table(name, rows, temp=True, overwrite=True)


def materialised(remote: ibis.BaseBackend, expr: ir.Table) -> ir.Table:
    """`expr` computed once into a table private to this session (Ibis's `Table.cache`).

    PostgreSQL and DuckDB: a temporary table (a DuckDB file opened read-only can still hold
    one); Spark: a cached temporary view. What is built on the result reads the rows stored
    there instead of re-running `expr` (the storage-order numbering, the anti join of the
    rejected rows). The table is dropped when the returned expression and everything built
    on it are gone, or with the connection; nothing lands in the warehouse's schemas.
    PostgreSQL never analyses a temporary table by itself: it is analysed here, so its
    joins are planned with row counts.
    """
    cached = expr.cache()
    if remote.name == "postgres":
        table = sqlglot.to_identifier(cached.get_name(), quoted=True).sql("postgres")
        cursor = remote.raw_sql(f"ANALYZE {table}")
        cursor.close()
    return cached


# --------------------------------------------------------------------------- time zones


@ibis.udf.scalar.builtin(name="timezone")
def _timezone(zone: str, ts: datetime) -> datetime:  # type: ignore[empty-body]
    """PostgreSQL's and DuckDB's timezone(zone, ts)."""


@ibis.udf.scalar.builtin(name="to_utc_timestamp")
def _to_utc(ts: datetime, zone: str) -> datetime:  # type: ignore[empty-body]
    """Spark's to_utc_timestamp(ts, zone): wall-clock time in `zone` to UTC."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _from_utc(ts: datetime, zone: str) -> datetime:  # type: ignore[empty-body]
    """Spark's from_utc_timestamp(ts, zone): UTC to wall-clock time in `zone`."""


def utc_of_local(kind: str, ts: ir.TimestampValue, zone: str) -> ir.TimestampValue:
    """A naive wall-clock time in `zone` as the naive UTC instant (DOMAIN.md §1)."""
    if zone == "UTC":
        return ts
    if kind == "spark":
        return _to_utc(ts, zone)
    return _timezone("UTC", _timezone(zone, ts))


def local_of_utc(kind: str, ts: ir.TimestampValue, zone: str) -> ir.TimestampValue:
    """A naive UTC instant as the naive wall-clock time in `zone`."""
    if zone == "UTC":
        return ts
    if kind == "spark":
        return _from_utc(ts, zone)
    return _timezone(zone, _timezone("UTC", ts))


# --------------------------------------------------------------------------- the rules' SQL

_NOT_FINITE = ("NaN", "Infinity", "-Infinity")


def portable(sql: str) -> str:
    """DuckDB SQL of the rule catalogue with `isfinite(x)` written for any engine.

    PostgreSQL's isfinite takes dates only and Spark has none: `x NOT IN (NaN, ±Infinity)`
    is the same test (NULL for NULL), since these engines compare NaN equal to itself.
    """
    tree = sqlglot.parse_one(sql, read="duckdb")

    def rewrite(node: sge.Expression) -> sge.Expression:
        name = node.sql_name() if isinstance(node, sge.Func) else ""
        if isinstance(node, sge.Anonymous) and str(node.this).lower() == "isfinite":
            arg = node.expressions[0]
        elif name.upper() in ("ISFINITE", "IS_FINITE"):
            arg = node.this
        else:
            return node
        bad = [sge.cast(sge.Literal.string(v), "DOUBLE") for v in _NOT_FINITE]
        return sge.Paren(this=sge.Not(this=sge.In(this=arg.copy(), expressions=bad)))

    return tree.transform(rewrite).sql(dialect="duckdb")
