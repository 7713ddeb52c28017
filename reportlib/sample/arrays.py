"""From numpy arrays to Arrow columns, and the sample tables to CSV or Parquet files.

The generators work on integer codes and epoch numbers; these helpers turn them into
labelled, fixed-width or timestamped Arrow arrays without a Python loop per row, and
write each table atomically (`fileio.write_with`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .. import fileio


def labels(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """The label of each code (`values[code]`)."""
    return pc.take(pa.array(values), pa.array(np.asarray(codes, dtype=np.int64)))


def format_ids(prefix: str, numbers: np.ndarray, width: int, *, base: int = 10) -> pa.Array:
    """Fixed-width ids such as C000042 or tf_00ff3a..., built without a Python loop per row."""
    numbers = np.asarray(numbers, dtype=np.int64)
    n = numbers.size
    while n and numbers.max() >= base**width:
        width += 1
    head = prefix.encode("ascii")
    row = len(head) + width
    chars = np.empty((n, row), dtype=np.uint8)
    chars[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    for j in range(width):
        chars[:, len(head) + j] = digits[(numbers // base ** (width - 1 - j)) % base]
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int64)
    if offsets[-1] < 2**31:
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(chars)
        )
    large = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))
    return large.cast(pa.string())


def id_width(n: int, minimum: int) -> int:
    """Digits of the ids of `n` rows, at least `minimum`."""
    return max(minimum, len(str(n)))


def timestamps(seconds: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds as a second-precision timestamp column (null where `null`)."""
    return pa.array(np.asarray(seconds, dtype=np.int64), pa.timestamp("s"), mask=null)


def dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Epoch days as a date column (null where `null`)."""
    days = np.where(null, 0, days) if null is not None else days
    return pa.array(np.asarray(days, dtype=np.int32), pa.date32(), mask=null)


def write_table(table: pa.Table, path: Path, fmt: str) -> None:
    """CSV (header, comma, empty = null, 2-decimal amounts) or Parquet, written atomically."""
    if fmt == "parquet":
        fileio.write_with(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        return
    if "amount" in table.column_names:
        i = table.column_names.index("amount")
        table = table.set_column(i, "amount", pc.cast(table["amount"], pa.decimal128(16, 2)))

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write((",".join(table.column_names) + "\n").encode("utf-8"))
            pacsv.write_csv(
                table,
                fh,
                pacsv.WriteOptions(include_header=False, quoting_style="needed"),
            )

    fileio.write_with(path, write)
