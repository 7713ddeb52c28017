"""The input files: finding a table's file, reading CSV/Parquet as a raw view, and lines.

A table's file is `<name>.csv` or `<name>.parquet` in the source folder: both at once is
an error naming the two (reportlib never picks one silently), and a file that is a link
resolving outside the folder is refused. A CSV is read with every column as text under
the names of its own header (so a value that does not parse is reported, not guessed),
in the encoding `encoding.detect` found: the engine reads UTF-8 itself and other
encodings from a UTF-8 copy. The quality stage reports rejected rows by their physical
line, which differs from the row number when a quoted value spans lines: `line_numbers`
re-reads the file only then.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping
from pathlib import Path

import ibis

from .. import fileio
from ..errors import DataError
from . import encoding as enc
from . import engine

log = logging.getLogger(__name__)

EXTENSIONS = (".parquet", ".csv")
"""The file types a table may come as."""


def locate(folder: Path, name: str, file: str | None = None) -> Path | None:
    """A table's file in a folder (`<name>.parquet` or `<name>.csv`), None when there is none.

    `file` is the file name the table's mapping gives instead (then it must exist).
    Two files for one table is a DataError naming both; so is a file that resolves (through
    a link) outside the folder or to nothing.
    """
    if file is not None:
        path = folder / file
        if not _present(path):
            raise DataError(
                f"the file of table {name} (tables.{name}.file) does not exist", file=str(path)
            )
        if path.suffix.lower() not in EXTENSIONS:
            raise DataError(f"table {name}: expected a .csv or .parquet file", file=str(path))
        return confined(path, folder)
    found = [p for p in (folder / f"{name}{ext}" for ext in EXTENSIONS) if _present(p)]
    if len(found) > 1:
        raise DataError(
            f"table {name} is given as two files, {found[1]} and {found[0]}: "
            "keep one (reportlib never picks one of them)"
        )
    return confined(found[0], folder) if found else None


def _present(path: Path) -> bool:
    return path.is_file() or path.is_symlink()


def confined(path: Path, folder: Path) -> Path:
    """`path` when it resolves to a file inside `folder` (itself resolved); else a DataError.

    The folder is the one the settings name, wherever it is; the files in it may be links
    only to files inside it.
    """
    try:
        real = fileio.real_path(path)
    except OSError as e:
        raise DataError(f"the file cannot be resolved ({e.strerror})", file=str(path)) from e
    if not real.is_relative_to(folder.resolve()):
        raise DataError(
            f"the file is a link to {real}, outside the source folder {folder}: refused "
            "(copy the file into the folder instead)",
            file=str(path),
        )
    if not real.is_file():
        raise DataError(f"the file is a link to {real}, which is not a file", file=str(path))
    return path


def register(
    con: ibis.BaseBackend,
    path: Path,
    view: str,
    encoding: str = enc.UTF8,
    *,
    delimiter: str = ",",
    renamed: Mapping[str, str] | None = None,
) -> str:
    """Make `view` hold a CSV (every column as text) or Parquet file; return its name.

    Parquet and UTF-8 CSV are views over the file; a CSV in another encoding is read once
    from a UTF-8 copy into a table of that name (the copy is removed at once). `renamed`
    maps a user's column name to its canonical name (the table's mapping): the view
    carries the canonical name, the values stay as read.
    """
    renamed = renamed or {}
    p = engine.literal(str(path))
    if path.suffix.lower() == ".parquet":
        select = _renaming(con, f"read_parquet({p})", renamed, path)
        _run(con, f"CREATE OR REPLACE VIEW {engine.quote(view)} AS {select}", path)
        return view
    if path.stat().st_size == 0:
        raise DataError("the file is empty (expected a header row)", file=str(path))
    columns = csv_columns(path, encoding, delimiter, renamed)
    if encoding == enc.UTF8:
        sql = (
            f"CREATE OR REPLACE VIEW {engine.quote(view)} AS {_read_csv(path, columns, delimiter)}"
        )
        _run(con, sql, path)
        return view
    with enc.utf8_copy(path, encoding) as copy:
        sql = (
            f"CREATE OR REPLACE TABLE {engine.quote(view)} AS {_read_csv(copy, columns, delimiter)}"
        )
        _run(con, sql, path, copy)
    return view


def _renaming(con: ibis.BaseBackend, relation: str, renamed: Mapping[str, str], path: Path) -> str:
    """`SELECT` every column of a relation, the user's renamed ones under their canonical names."""
    if not renamed:
        return f"SELECT * FROM {relation}"
    try:
        names = [r[0] for r in engine.rows(con, f"DESCRIBE SELECT * FROM {relation}")]
    except engine.Error as e:
        raise DataError(engine.error_message(e), file=str(path)) from e
    _check_renames(names, renamed, path)
    items = ", ".join(
        f"{engine.quote(n)} AS {engine.quote(renamed[n])}" if n in renamed else engine.quote(n)
        for n in names
    )
    return f"SELECT {items} FROM {relation}"


def _check_renames(names: list[str], renamed: Mapping[str, str], path: Path) -> None:
    """Every column the mapping renames must be in the file, and its canonical name not also.

    So a canonical name in the raw view is the user's renamed column whenever the mapping
    renames it (`TableSpec.as_read` holds).
    """
    present = set(names)
    absent = [user for user in renamed if user not in present]
    if absent:
        raise DataError(
            f"required column(s) missing: {', '.join(absent)} (found: {', '.join(names)})",
            file=str(path),
            column=absent[0],
        )
    for user, canonical in renamed.items():
        if user in present and canonical in present and canonical != user:
            raise DataError(
                f"column {user!r} is mapped to {canonical!r}, but the file also has a column "
                f"{canonical!r}: map or rename one of them",
                file=str(path),
                column=user,
            )


MAX_LINE_SIZE = 100_000_000
"""The longest CSV row the reader accepts, in bytes (a quoted value may span many lines)."""


def _read_csv(path: Path, columns: str, delimiter: str = ",") -> str:
    """The `read_csv` call of a raw view: every column as text, under `columns`' names.

    The reader's buffer is kept just above the longest row: left to DuckDB it is 16 times
    that (1.5 GiB), which a capped engine (`engine.MEMORY_LIMIT_VARIABLE`) cannot allocate
    and which a large file would fill.
    """
    return (
        f"SELECT * FROM read_csv({engine.literal(str(path))}, "
        f"header = true, all_varchar = true, delim = {engine.literal(delimiter)}, "
        "quote = '\"', escape = '\"', "
        f"auto_detect = false, null_padding = false, max_line_size = {MAX_LINE_SIZE}, "
        f"buffer_size = {MAX_LINE_SIZE + 1}, encoding = 'utf-8', columns = {columns})"
    )


def _run(con: ibis.BaseBackend, sql: str, path: Path, copy: Path | None = None) -> None:
    """Run a reading statement; an engine error names the file (the original, not a copy)."""
    try:
        engine.execute(con, sql)
    except engine.Error as e:
        message = engine.error_message(e)
        if copy is not None:
            message = message.replace(str(copy), str(path))
        raise DataError(message, file=str(path)) from e


_SEPARATORS = {";": "semicolon", "\t": "tab", ",": "comma", "|": "pipe"}


def csv_columns(
    path: Path,
    encoding: str = enc.UTF8,
    delimiter: str = ",",
    renamed: Mapping[str, str] | None = None,
) -> str:
    """Read the header line ourselves so every column is text and names are kept exactly.

    A column the mapping renames (`renamed`: user's name -> canonical) gets its canonical name.
    """
    renamed = renamed or {}
    with path.open(newline="", encoding=enc.python_codec(encoding), errors="replace") as fh:
        header = next(csv.reader(fh, delimiter=delimiter), [])
    if not header or all(not h.strip() for h in header):
        raise DataError("the file has no header row", file=str(path))
    if len(header) == 1:
        other = next((s for s in _SEPARATORS if s != delimiter and s in header[0]), None)
        if other is not None:
            expected = _SEPARATORS.get(delimiter, repr(delimiter))
            raise DataError(
                f"the header is one column {header[0][:60]!r}: the file looks "
                f"{_SEPARATORS[other]}-separated, expected {expected}s"
                + ("" if delimiter != "," else f" (set tables.<table>.delimiter = {other!r})"),
                file=str(path),
            )
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise DataError(f"column {h!r} appears twice in the header", file=str(path))
        seen.add(h)
    _check_renames(header, renamed, path)
    body = ", ".join(f"{engine.literal(renamed.get(h, h))}: 'VARCHAR'" for h in header)
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
    if total is not None and rows_are_lines(path, total, encoding):
        return {r: r + 1 for r in rows}
    wanted, last = set(rows), max(rows)
    out: dict[int, int] = {}
    with p.open(newline="", encoding=enc.python_codec(encoding), errors="replace") as fh:
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


def rows_are_lines(path: str, total: int, encoding: str = enc.UTF8) -> bool:
    """True when a CSV holds its header and `total` rows on exactly one line each (row r on line r+1)."""
    p = Path(path)
    return p.suffix == ".csv" and p.is_file() and physical_lines(p, encoding) == total + 1


def physical_lines(path: Path, encoding: str = enc.UTF8) -> int:
    """Lines in a file: newlines, plus a last line without one."""
    return enc.count_lines(path, encoding)
