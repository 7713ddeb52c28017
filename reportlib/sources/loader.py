"""Load the canonical input tables through Ibis on an embedded DuckDB (DESIGN.md "Inputs").

`source` is a folder of CSV/Parquet files (one per table), a `.duckdb` file, or an
Ibis connection URL (`database`). A folder may be anywhere the settings say; the files in
it are confined to it (`files.locate`). The settings' `[tables.<name>]` mapping says how
each table is written (file or table name, column renames, delimiter, number and date
formats, encoding, a SQL query); errors still name the user's file and column. Every table's schema is checked on load (`schema.check_schema`):
a missing file or column, or a value that does not parse, is a DataError naming file,
column and row. The result is a `Source`: typed Ibis tables, the raw views beside them
for the quality stage, where each table came from and the data cut-off.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from .. import configfile, kpis, periods
from ..config import Project, Settings, TableSettings
from ..declaration import declared_columns
from ..errors import ConfigError, DataError
from . import database, encoding, engine, files
from .schema import (
    MANUAL,
    MANUAL_COLUMNS,
    MAPPABLE,
    TableSpec,
    check_schema,
    raw_view,
    table_specs,
    typed_select,
    typed_view,
)

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
    specs: dict[str, TableSpec] = field(default_factory=dict)
    """Each loaded table's spec, with the project's mapping (column renames, formats) applied."""
    manual: tuple[str, str] | None = None
    """The raw view of kpi_values and where it was read from, when there is one (DOMAIN.md §8)."""
    remote: ibis.BaseBackend | None = None
    """The warehouse `tables` and `raw` live on, when the source is computed there
    (`reportlib.warehouse`); None when they are views of the embedded DuckDB `con`."""
    remote_kind: str | None = None
    """"postgres", "duckdb" or "spark" for a warehouse source."""
    remote_raw: dict[str, ir.Table] = field(default_factory=dict)
    """`raw` with each row's storage position beside (`warehouse.tables.stored`), for the
    stored tables of a warehouse source (a query has none)."""

    @property
    def as_of_local(self) -> datetime:
        """The cut-off in the project time zone."""
        return self.as_of.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(self.timezone))

    def as_read(self, table: str, column: str) -> str:
        """The user's name of a canonical column of a table (the mapping's rename, or itself)."""
        spec = self.specs.get(table)
        return spec.as_read(column) if spec is not None else column


Found = dict[str, tuple[str, str]]
"""Each table found: its raw view and where it was read from (a file, or source:table)."""


def _folder_tables(
    con: ibis.BaseBackend, folder: Path, tables: Mapping[str, TableSettings]
) -> tuple[Found, dict[str, str]]:
    """The tables of a folder: each one's raw view and file, and each CSV's encoding."""
    found, encodings = {}, {}
    for name in MAPPABLE:
        mapping = tables.get(name)
        path = files.locate(folder, name, mapping.file if mapping else None)
        if path is None:
            continue
        found[name], enc = _register(con, path, name, mapping)
        if enc is not None:
            encodings[name] = enc
    return found, encodings


def _register(
    con: ibis.BaseBackend, path: Path, name: str, mapping: TableSettings | None
) -> tuple[tuple[str, str], str | None]:
    """One file as the raw view of table `name`, read as its mapping says; and its encoding."""
    enc = None
    if path.suffix.lower() == ".csv":
        enc = mapping.encoding if mapping and mapping.encoding else encoding.detect(path)
        enc = encoding.UTF8 if enc in ("utf-8", "utf_8") else enc
    renamed = {user: canonical for canonical, user in (mapping.columns if mapping else {}).items()}
    view = files.register(
        con,
        path,
        raw_view(name),
        enc or encoding.UTF8,
        delimiter=mapping.delimiter if mapping else ",",
        renamed=renamed,
    )
    return (view, str(path)), enc


def _database_tables(
    con: ibis.BaseBackend, settings: Settings, specs: tuple[TableSpec, ...]
) -> tuple[Found, dict[str, str]]:
    """The tables of a database source, and kpi_values from the database or the data folder."""
    wanted = []
    for name, columns in [(s.name, [c.name for c in s.columns]) for s in specs] + [
        (MANUAL, list(MANUAL_COLUMNS))
    ]:
        m = settings.tables.get(name)
        renames = m.columns if m else {}
        wanted.append(
            database.Wanted(
                name=name,
                table=(m.table if m and m.table else name),
                columns={c: renames.get(c, c) for c in columns},
                query=m.query if m else None,
            )
        )
    found = database.open_tables(con, settings.source, settings.root, wanted)
    encodings: dict[str, str] = {}
    if MANUAL not in found:
        # A database without kpi_values: the manual values may sit in the data folder.
        mapping = settings.tables.get(MANUAL)
        path = files.locate(settings.data_path, MANUAL, mapping.file if mapping else None)
        if path is not None:
            found[MANUAL], enc = _register(con, path, MANUAL, mapping)
            if enc is not None:
                encodings[MANUAL] = enc
    return found, encodings


def manual_from_folder(con: ibis.BaseBackend, settings: Settings) -> tuple[str, str] | None:
    """kpi_values from the data folder, for a database without it: its raw view and file."""
    mapping = settings.tables.get(MANUAL)
    path = files.locate(settings.data_path, MANUAL, mapping.file if mapping else None)
    if path is None:
        return None
    found, _ = _register(con, path, MANUAL, mapping)
    return found


def check_mapping(project: Project, specs: tuple[TableSpec, ...]) -> None:
    """Every column a mapping renames must be a canonical column of its table (ConfigError)."""
    known = {s.name: [c.name for c in s.columns] for s in specs}
    known[MANUAL] = list(MANUAL_COLUMNS)
    for table, mapping in project.settings.tables.items():
        for column in mapping.columns:
            if column not in known[table]:
                key = ("tables", table, "columns", column)
                line = configfile.key_line(project.config_file, key) or configfile.key_line(
                    project.config_file, key[:3]
                )
                at = f" line {line}" if line else ""
                raise ConfigError(
                    f"{project.config_file}{at}: {'.'.join(key)}: {column!r} is not a column of "
                    f"{table} (its columns: {', '.join(known[table])})",
                    file=str(project.config_file),
                )


def _missing_where(settings: Settings, name: str) -> str:
    """Where a missing table was looked for, for the message."""
    if database.is_database(settings.source):
        return database.shown(settings.source)
    mapping = settings.tables.get(name)
    return str(
        settings.path(settings.source)
        / (mapping.file if mapping and mapping.file else f"{name}.csv")
    )


def load(project: Project) -> Source:
    """Open the source, check every table's schema, and return typed tables.

    A source computed in its warehouse (`compute`, docs/warehouse.md) is opened there
    instead: its tables stay on the warehouse (`reportlib.warehouse`).
    """
    settings = project.settings
    # Imported here: the warehouse package builds on this one.
    from ..warehouse import backend as warehouse_backend
    from ..warehouse import load as warehouse_load

    wh = warehouse_backend.chosen(settings)
    if wh is not None:
        return warehouse_load.load(project, wh)
    tz = settings.timezone
    con = engine.connect(tz)
    specs = table_specs(project.hierarchy.levels, settings.tables, declared_columns(project.kpis))
    check_mapping(project, specs)
    src = settings.source
    if database.is_database(src):
        found, encodings = _database_tables(con, settings, specs)
    else:
        folder = settings.path(src)
        if not folder.is_dir():
            raise DataError(
                "the source folder does not exist (run `reportlib sample-data` for a sample)",
                file=str(folder),
            )
        found, encodings = _folder_tables(con, folder, settings.tables)

    tables: dict[str, ir.Table] = {}
    raw: dict[str, ir.Table] = {}
    found_files: dict[str, str] = {}
    loaded: dict[str, TableSpec] = {}
    needed = kpis.tables_needed(project.kpis)
    for spec in specs:
        if spec.name not in found:
            if spec.name in needed:  # required iff a configured KPI needs it (or customers)
                raise kpis.missing_table(
                    project.kpis, spec.name, _missing_where(settings, spec.name)
                )
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
        loaded[spec.name] = spec
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
        specs=loaded,
        manual=found.get(MANUAL),
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
