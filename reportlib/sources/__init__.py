"""The input tables (DESIGN.md "Inputs"): their schema, the files they come from, loading.

- `schema`: the canonical tables, their columns and the SQL that types them;
- `files`: finding a table's one file (confined to the folder), reading it, line numbers;
- `encoding`: telling a CSV's text encoding, and a UTF-8 copy for the engine;
- `loader`: `load(project)` → a `Source` of typed Ibis tables and the data cut-off;
- `database`: database sources (a DuckDB file attached, other databases streamed in batches);
- `manual`: kpi_values (manual values and overrides) from whatever source holds it;
- `engine`: the SQL engine's specifics (DuckDB), shared with the quality stage.
"""

from __future__ import annotations

from .encoding import note as encoding_note
from .engine import connect
from .files import line_numbers, rows_are_lines
from .loader import Source, latest_complete_period, load, parse_as_of
from .manual import values as manual_values
from .schema import (
    FINITE_LIMIT,
    MANUAL,
    TABLES,
    ColType,
    Column,
    TableSpec,
    out_of_range,
    raw_view,
    table_specs,
    typed_select_sql,
    typed_view,
)

__all__ = [
    "FINITE_LIMIT",
    "MANUAL",
    "TABLES",
    "ColType",
    "Column",
    "Source",
    "TableSpec",
    "connect",
    "encoding_note",
    "latest_complete_period",
    "line_numbers",
    "load",
    "manual_values",
    "out_of_range",
    "parse_as_of",
    "raw_view",
    "rows_are_lines",
    "table_specs",
    "typed_select_sql",
    "typed_view",
]
