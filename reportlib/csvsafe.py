"""Spreadsheet-safe CSV cells: text that a spreadsheet would run as a formula is written as text.

A spreadsheet that opens a CSV file reads a cell beginning with `=`, `+`, `-` or `@` (and,
in some programs, a tab or a carriage return) as a formula, so a segment name or a survey
comment like `=HYPERLINK("http://x","y")` would run on the reader's machine. Every CSV file
reportlib writes goes through `fileio.write_csv`, which passes each text cell (and each
column name) through `safe_cell`: the ONE place that decides. Parquet files keep the raw
value.

The rule, cell by cell:

- a text cell whose first character is one of `TRIGGERS` gets a single quote `'` in front,
  which spreadsheets show as text and do not evaluate;
- unless the whole cell is a plain decimal number (`-12.5`, `+3`, `-1e-5`): a negative
  number stays a number. `-inf` or `-nan` are not numbers a spreadsheet knows, so they are
  quoted like any other text;
- numbers, dates and missing values (written as an empty cell) are never changed;
- a text cell that already begins with quotes in front of a trigger (`'=x`) gets one more,
  so `restore_cell` can always give back the exact original value (`read_csv` does that
  for the files reportlib reads back).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""

QUOTE = "'"

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
"""A plain decimal number, as a spreadsheet reads one (no `inf`, `nan` or thousands separators)."""


def is_number(text: str) -> bool:
    """True if `text` is a plain decimal number such as `-12.5`, `+3` or `1e-5`."""
    return _NUMBER.fullmatch(text) is not None


def _risky(text: str) -> bool:
    """True if `text`, after any leading quotes, would be read as a formula."""
    core = text.lstrip(QUOTE)
    return core.startswith(TRIGGERS) and not is_number(core)


def safe_cell(text: str) -> str:
    """The cell as written to a CSV file: `'` in front of text a spreadsheet would evaluate.

    `safe_cell("=SUM(A1)") == "'=SUM(A1)"`, `safe_cell("-12.5") == "-12.5"`,
    `safe_cell("'=x") == "''=x"`, and every other text is returned unchanged.
    """
    return QUOTE + text if _risky(text) else text


def restore_cell(text: str) -> str:
    """The value `safe_cell` was given: `restore_cell(safe_cell(s)) == s` for every string."""
    return text[1:] if text.startswith(QUOTE) and _risky(text) else text


def _map_text(frame: pd.DataFrame, fn: Callable[[str], str]) -> pd.DataFrame:
    """A copy of `frame` with `fn` applied to every text cell and column name."""
    out = frame.copy()
    for i in range(out.shape[1]):
        values = out.iloc[:, i]
        if (
            pd.api.types.is_object_dtype(values)
            or pd.api.types.is_string_dtype(values)
            or isinstance(values.dtype, pd.CategoricalDtype)
        ):  # numbers, booleans and dates have nothing to escape
            mapped = [fn(v) if isinstance(v, str) else v for v in values.astype(object)]
            out.isetitem(i, np.array(mapped, dtype=object))
    out.columns = [fn(c) if isinstance(c, str) else c for c in out.columns]
    return out


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell and column name passed through `safe_cell`."""
    return _map_text(frame, safe_cell)


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The inverse of `safe_frame` for a frame read back from a CSV file."""
    return _map_text(frame, restore_cell)


def _text_type(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def safe_table(table: pa.Table) -> pa.Table:
    """A copy of an Arrow table with every text cell and column name passed through `safe_cell`."""
    columns = []
    for col in table.columns:
        if pa.types.is_dictionary(col.type) and _text_type(col.type.value_type):
            col = col.cast(col.type.value_type)
        if _text_type(col.type):
            values = [None if v is None else safe_cell(v) for v in col.to_pylist()]
            columns.append(pa.array(values, type=col.type))
        else:
            columns.append(col)
    return pa.table(columns, names=[safe_cell(n) for n in table.column_names])


def read_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    """`pandas.read_csv` of a CSV file reportlib wrote, with its text cells restored."""
    return restore_frame(pd.read_csv(path, **kwargs))
