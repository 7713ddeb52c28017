"""Manual KPI values and overrides (kpi_values, DOMAIN.md §8), from any kind of source.

The loader finds kpi_values where it finds the other tables: `kpi_values.csv` or
`.parquet` in the source folder (or the file its mapping names), the `kpi_values` table
(or mapped table or query) of a database, or, for a database without one, a file in the
data folder. It is read here as text, the mapping's number format undone, and checked
by `config.manual_values`, whose messages name the file and the line (or row) as read.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..config import KpiDef, ManualValue, TableSettings, manual_values
from . import engine
from .files import line_numbers
from .loader import Source
from .schema import MANUAL

log = logging.getLogger(__name__)


def values(
    src: Source, kpis: tuple[KpiDef, ...], mapping: TableSettings | None = None
) -> tuple[ManualValue, ...]:
    """The manual values of a loaded source (none when it has no kpi_values)."""
    if src.manual is None:
        return ()
    view, where = src.manual
    columns = list(engine.column_types(src.con, view))
    text = ", ".join(f"CAST({engine.quote(c)} AS VARCHAR)" for c in columns)
    fetched = engine.rows(src.con, f"SELECT {text} FROM {engine.quote(view)}")
    is_csv = where.lower().endswith(".csv") and Path(where).is_file()
    if is_csv:
        lines = line_numbers(
            where,
            list(range(1, len(fetched) + 1)),
            src.encodings.get(MANUAL, "utf-8"),
            len(fetched),
        )
    rows = []
    for i, values_ in enumerate(fetched, start=1):
        row = dict(zip(columns, values_, strict=True))
        if mapping is not None and "value" in row:
            row["value"] = plain_number(row["value"], mapping)
        rows.append((lines.get(i, i + 1) if is_csv else i, row))
    log.info("read %d manual value(s) from %s", len(rows), where)
    return manual_values(where, tuple(columns), rows, kpis, unit="line" if is_csv else "row")


def plain_number(text: str | None, mapping: TableSettings) -> str | None:
    """A number written with the mapping's separators (e.g. `1.182,21`) in plain form (`1182.21`)."""
    if text is None:
        return None
    out = text.strip()
    if mapping.thousands:
        out = out.replace(mapping.thousands, "")
    if mapping.decimal != ".":
        out = out.replace(mapping.decimal, ".")
    return out
