"""Load the canonical input tables through Ibis on an embedded DuckDB (DESIGN.md "Inputs").

`source` is a folder of CSV/Parquet files (one per table), a `.duckdb` file, or an
Ibis connection URL. A folder may be anywhere the settings say; the files in it are
confined to it (`files.locate`). Every table's schema is checked on load (`schema.check_schema`):
a missing file or column, or a value that does not parse, is a DataError naming file,
column and row. The result is a `Source`: typed Ibis tables, the raw views beside them
for the quality stage, where each table came from and the data cut-off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from .. import kpis, periods
from ..config import Project
from ..declaration import declared_columns
from ..errors import ConfigError, DataError
from . import encoding, engine, files
from .schema import TABLES, check_schema, raw_view, table_specs, typed_select, typed_view

log = logging.getLogger(__name__)


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
    """Text encoding each CSV table was read in, a Python codec name (`encoding.detect`)."""

    @property
    def as_of_local(self) -> datetime:
        """The cut-off in the project time zone."""
        return self.as_of.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(self.timezone))


def _folder_tables(
    con: ibis.BaseBackend, folder: Path
) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """The tables of a folder: each one's raw view and file, and each CSV's encoding."""
    found, encodings = {}, {}
    for name in TABLES:
        path = files.locate(folder, name)
        if path is None:
            continue
        if path.suffix == ".csv":
            encodings[name] = encoding.detect(path)
        view = files.register(con, path, raw_view(name), encodings.get(name, encoding.UTF8))
        found[name] = (view, str(path))
    return found, encodings


def _database_tables(con: ibis.BaseBackend, source: str) -> dict[str, tuple[str, str]]:
    """Tables of a .duckdb file or another Ibis backend, copied into the embedded DuckDB."""
    if source.endswith(".duckdb") and "://" not in source:
        try:
            engine.execute(con, f"ATTACH {engine.literal(source)} AS src (READ_ONLY)")
        except engine.Error as e:
            raise DataError(engine.error_message(e), file=source) from e
        names = {
            r[0]
            for r in engine.rows(
                con, "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src'"
            )
        }
        out = {}
        for name in names:
            view = raw_view(name)
            engine.execute(
                con,
                f"CREATE OR REPLACE VIEW {engine.quote(view)} AS SELECT * FROM src.{engine.quote(name)}",
            )
            out[name] = (view, f"{source}:{name}")
        return out
    try:
        remote = ibis.connect(source)
    except Exception as e:  # any backend's connection failure is a data-source problem
        raise DataError(f"cannot connect to {source}: {e}", file=source) from e
    out = {}
    for name in remote.list_tables():
        view = raw_view(name)
        con.create_table(view, remote.table(name).to_pyarrow(), overwrite=True)
        out[name] = (view, f"{source}:{name}")
    return out


def load(project: Project) -> Source:
    """Open the source, check every table's schema, and return typed tables."""
    settings = project.settings
    tz = settings.timezone
    con = engine.connect(tz)
    src = settings.source
    encodings: dict[str, str] = {}
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
        found, encodings = _folder_tables(con, folder)

    tables: dict[str, ir.Table] = {}
    raw: dict[str, ir.Table] = {}
    found_files: dict[str, str] = {}
    needed = kpis.tables_needed(project.kpis)
    for spec in table_specs(project.hierarchy.levels, declared_columns(project.kpis)):
        if spec.name not in found:
            if spec.name in needed:  # required iff a configured KPI needs it (or customers)
                where = src if "://" in src else str(settings.path(src) / f"{spec.name}.csv")
                raise kpis.missing_table(project.kpis, spec.name, where)
            continue
        view, where = found[spec.name]
        raw_types = engine.column_types(con, view)
        check_schema(con, spec, view, where, raw_types, encodings.get(spec.name, "utf-8"))
        select = ", ".join(typed_select(spec, raw_types, tz))
        typed = typed_view(spec.name)
        engine.execute(
            con,
            f"CREATE OR REPLACE VIEW {engine.quote(typed)} AS SELECT {select} FROM {engine.quote(view)}",
        )
        tables[spec.name] = con.table(typed)
        raw[spec.name] = con.table(view)
        found_files[spec.name] = where
    as_of = _as_of(con, settings.as_of, tz, tables)
    log.info("loaded %s; as_of %s UTC", ", ".join(f"{k}" for k in tables), as_of)
    return Source(
        con=con,
        tables=tables,
        files=found_files,
        as_of=as_of,
        timezone=tz,
        raw=raw,
        encodings=encodings,
    )


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
                f"SELECT greatest({', '.join(f'max({c})' for c in cols)}) AS m "
                f"FROM {engine.quote(typed_view(name))}"
            )
    latest = engine.scalar(con, f"SELECT max(m) FROM ({' UNION ALL '.join(parts)})")
    if latest is None:
        raise DataError(
            "no timestamps in survey_responses or tickets: cannot tell the data cut-off (set as_of in the config)"
        )
    return latest


def latest_complete_period(source: Source) -> str:
    """The last calendar month that ended at or before the cut-off, in the project zone."""
    local = source.as_of_local
    return periods.label(periods.month_index(local.year, local.month) - 1)
