"""The input files: finding a table's file, reading CSV/Parquet as a raw view, and lines.

A CSV is read with every column as text under the names of its own header (so a value
that does not parse is reported, not guessed), in UTF-8 or, failing that, Latin-1. The
quality stage reports rejected rows by their physical line, which differs from the row
number when a quoted value spans lines: `line_numbers` re-reads the file only then.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import logging
from pathlib import Path

import ibis

from ..errors import DataError
from . import engine

log = logging.getLogger(__name__)


def locate(folder: Path, name: str) -> Path | None:
    """A table's file in a folder: `<name>.parquet`, else `<name>.csv`, else None."""
    for ext in (".parquet", ".csv"):
        p = folder / f"{name}{ext}"
        if p.is_file():
            return p
    return None


def register(con: ibis.BaseBackend, path: Path, view: str, encoding: str = "utf-8") -> str:
    """Create `view` over a CSV (every column as text) or Parquet file; return its name."""
    p = engine.literal(str(path))
    if path.suffix == ".parquet":
        sql = f"CREATE OR REPLACE VIEW {engine.quote(view)} AS SELECT * FROM read_parquet({p})"
    else:
        if path.stat().st_size == 0:
            raise DataError("the file is empty (expected a header row)", file=str(path))
        sql = (
            f"CREATE OR REPLACE VIEW {engine.quote(view)} AS SELECT * FROM read_csv({p}, "
            "header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', "
            "auto_detect = false, null_padding = false, max_line_size = 100000000, "
            f"encoding = '{encoding}', columns = {csv_columns(path, encoding)})"
        )
    try:
        engine.execute(con, sql)
    except engine.Error as e:
        raise DataError(engine.error_message(e), file=str(path)) from e
    return view


def csv_columns(path: Path, encoding: str = "utf-8") -> str:
    """Read the header line ourselves so every column is text and names are kept exactly."""
    encoding = "utf-8-sig" if encoding == "utf-8" else encoding
    with path.open(newline="", encoding=encoding, errors="replace") as fh:
        header = next(csv.reader(fh), [])
    if not header or all(not h.strip() for h in header):
        raise DataError("the file has no header row", file=str(path))
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        sep = "semicolon" if ";" in header[0] else "tab"
        raise DataError(
            f"the header is one column {header[0][:60]!r}: the file looks {sep}-separated, expected commas",
            file=str(path),
        )
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise DataError(f"column {h!r} appears twice in the header", file=str(path))
        seen.add(h)
    body = ", ".join(f"{engine.literal(h)}: 'VARCHAR'" for h in header)
    return "{" + body + "}"


def line_numbers(
    path: str, rows: list[int], encoding: str = "utf-8", total: int | None = None
) -> dict[int, int]:
    """The physical line where each 1-based data row of a CSV starts (others: the row itself).

    Quoted newlines make a row span lines and blank lines are skipped by the reader, so
    when the file does not hold exactly one line per row (`total` rows + header, counted
    from its bytes) the lines are counted by re-reading it with the csv module.
    """
    if not rows:
        return {}
    p = Path(path)
    if p.suffix != ".csv" or not p.is_file():
        return {r: r for r in rows}
    if total is not None and rows_are_lines(path, total):
        return {r: r + 1 for r in rows}
    wanted, last = set(rows), max(rows)
    out: dict[int, int] = {}
    with p.open(newline="", encoding=python_encoding(encoding), errors="replace") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        row, start = 0, reader.line_num + 1
        for record in reader:
            if record:
                row += 1
                if row in wanted:
                    out[row] = start
                if row >= last:
                    break
            start = reader.line_num + 1
    return out


def rows_are_lines(path: str, total: int) -> bool:
    """True when a CSV holds its header and `total` rows on exactly one line each (row r on line r+1)."""
    p = Path(path)
    return p.suffix == ".csv" and p.is_file() and physical_lines(p) == total + 1


def python_encoding(encoding: str) -> str:
    """Python's codec for an encoding name (UTF-8 with an optional byte-order mark)."""
    return "utf-8-sig" if encoding == "utf-8" else encoding


def physical_lines(path: Path) -> int:
    """Lines in a file: newlines, plus a last line without one."""
    count, last = 0, b"\n"
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 23), b""):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def detect_encoding(path: Path) -> str:
    """`utf-8` when the whole file decodes as UTF-8, else `latin-1` (which reads any byte), with a warning."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    seen = 0
    with path.open("rb") as fh:
        for chunk in itertools.chain(iter(lambda: fh.read(1 << 24), b""), [b""]):
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                line = line_of_offset(path, seen + e.start)
                log.warning(
                    "%s is not valid UTF-8 (line %d): reading it as Latin-1; save it as UTF-8 to silence this",
                    path,
                    line,
                )
                return "latin-1"
            seen += len(chunk)
    return "utf-8"


def line_of_offset(path: Path, offset: int) -> int:
    """1-based line of a byte offset in a file."""
    with path.open("rb") as fh:
        return fh.read(offset).count(b"\n") + 1
