"""Manual KPI values and overrides (kpi_values, DOMAIN.md §8), from any kind of source.

The loader finds kpi_values where it finds the other tables: `kpi_values.csv` or
`.parquet` in the source folder (or the file its mapping names), the `kpi_values` table
(or mapped table or query) of a database, or, for a database without one, a file in the
data folder. It is read here as text, the mapping's number format undone, and checked
by `checked`, whose messages name the file and the line (or row) as read.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from .. import periods
from ..config import KpiDef, ManualValue, TableSettings
from ..errors import ConfigError
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
    return checked(where, tuple(columns), rows, kpis, unit="line" if is_csv else "row")


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


def checked(
    file: str,
    header: tuple[str, ...],
    rows: list[tuple[int, dict[str, str | None]]],
    kpis: tuple[KpiDef, ...],
    unit: str = "line",
) -> tuple[ManualValue, ...]:
    """Check the rows of kpi_values (DOMAIN.md §8); author and reason are required on every row.

    `rows` pairs each row with its line in the file (or its row number in a Parquet file
    or database table, then `unit` is "row"); messages name `file` and that line.
    """
    ids = {k.id for k in kpis}
    out: list[ManualValue] = []
    need = {"period", "node", "kpi", "value", "n", "author", "reason"}
    missing = need - set(header)
    if missing:
        raise ConfigError(f"{file}: missing column(s) {', '.join(sorted(missing))}")
    for line, raw in rows:
        row = {k: (v or "") for k, v in raw.items()}
        where = f"{file} {unit} {line}"
        try:
            periods.parse(row["period"].strip())
        except ConfigError as e:
            raise ConfigError(f"{where}, column period: {e}", file=file) from None
        if row["kpi"] not in ids:
            raise ConfigError(f"{where}: unknown KPI {row['kpi']!r}", file=file)
        for col in ("author", "reason"):
            if not row[col].strip():
                raise ConfigError(
                    f"{where}: column {col} is empty; manual values need an author and a reason",
                    file=file,
                )
        n_raw = row["n"].strip()
        out.append(
            ManualValue(
                period=row["period"].strip(),
                node=row["node"].strip(),
                kpi=row["kpi"].strip(),
                value=_number(row["value"], where, "value"),
                n=int(_number(n_raw, where, "n")) if n_raw else None,
                author=row["author"].strip(),
                reason=row["reason"].strip(),
                line=line,
            )
        )
    return tuple(out)


def _number(text: str, where: str, column: str) -> float:
    """A finite number, or a ConfigError naming where and the column."""
    try:
        x = float(text)
    except ValueError:
        raise ConfigError(f"{where}, column {column}: {text!r} is not a number") from None
    if not math.isfinite(x):
        raise ConfigError(f"{where}, column {column}: {text!r} is not finite")
    return x
