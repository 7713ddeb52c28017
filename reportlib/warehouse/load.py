"""`load` for a warehouse source: typed Ibis tables that stay on the warehouse.

The result is the same `sources.Source` as for files, except that `tables` and `raw` are
expressions on the warehouse's own engine (`Source.remote`), and the embedded DuckDB
(`Source.con`) holds only what is small: kpi_values, fetched, and later the quality
stage's quarantined rows (`warehouse.validate`). The data cut-off is one aggregate query.
"""

from __future__ import annotations

import logging
from datetime import datetime

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from .. import kpis
from ..config import Project
from ..declaration import declared_columns
from ..errors import DataError
from ..sources import Source, TableSpec, engine, loader, raw_view, table_specs
from ..sources.schema import MANUAL
from . import backend, tables
from .backend import Warehouse

log = logging.getLogger(__name__)


def load(project: Project, wh: Warehouse) -> Source:
    """Open the warehouse, check every table's columns and types, and return typed tables."""
    settings = project.settings
    tz = settings.timezone
    specs = table_specs(project.hierarchy.levels, settings.tables, declared_columns(project.kpis))
    loader.check_mapping(project, specs)
    remote = backend.connect(wh)
    opened = tables.open_tables(remote, wh, settings, specs)
    con = engine.connect(tz)
    manual = _manual(con, opened.get(MANUAL), project)
    typed: dict[str, ir.Table] = {}
    raw: dict[str, ir.Table] = {}
    positioned: dict[str, ir.Table] = {}
    files: dict[str, str] = {}
    loaded: dict[str, TableSpec] = {}
    needed = kpis.tables_needed(project.kpis)
    for spec in specs:
        if spec.name not in opened:
            if spec.name in needed:
                raise kpis.missing_table(project.kpis, spec.name, wh.shown)
            continue
        found = opened[spec.name]
        tables.check_types(found.raw, spec, found.where)
        tables.check_values(found.raw, spec, found.where)
        typed[spec.name] = tables.typed(found.raw, spec, wh.kind, tz)
        raw[spec.name] = found.raw
        if found.positioned is not None:
            positioned[spec.name] = found.positioned
        files[spec.name] = found.where
        loaded[spec.name] = spec
    as_of = loader.parse_as_of(settings.as_of, tz) if settings.as_of else latest_timestamp(typed)
    log.info("warehouse %s (%s): %s; as_of %s UTC", wh.shown, wh.kind, ", ".join(typed), as_of)
    return Source(
        con=con,
        tables=typed,
        files=files,
        as_of=as_of,
        timezone=tz,
        raw=raw,
        specs=loaded,
        manual=manual,
        remote=remote,
        remote_raw=positioned,
        remote_kind=wh.kind,
    )


def _manual(
    con: ibis.BaseBackend, found: tables.Opened | None, project: Project
) -> tuple[str, str] | None:
    """kpi_values (a few rows) fetched into the embedded DuckDB as text; else the data folder's file."""
    if found is None:
        return loader.manual_from_folder(con, project.settings)
    fetched = found.raw.to_pyarrow()
    text = pa.table({c: fetched[c].cast(pa.string()) for c in fetched.column_names})
    view = raw_view(MANUAL)
    with engine.registered(con, "__manual_arrow", text):
        engine.execute(
            con, f"CREATE OR REPLACE TABLE {engine.quote(view)} AS SELECT * FROM __manual_arrow"
        )
    return view, found.where


def latest_timestamp(typed: dict[str, ir.Table]) -> datetime:
    """The latest survey or ticket timestamp (DOMAIN.md §1), one small query per table."""
    latest: list[datetime] = []
    for name, cols in (
        ("survey_responses", ("responded_at",)),
        ("tickets", ("opened_at", "first_response_at", "resolved_at")),
    ):
        if name in typed:
            t = typed[name]
            found = t.aggregate(**{f"m{i}": t[c].max() for i, c in enumerate(cols)}).to_pyarrow()
            latest += [v for v in (found[f"m{i}"][0].as_py() for i in range(len(cols))) if v]
    if not latest:
        raise DataError(
            "no timestamps in survey_responses or tickets: cannot tell the data cut-off (set as_of in the config)"
        )
    return max(v.replace(tzinfo=None) for v in latest)
