"""Atomic file writes and durable appends (DESIGN.md "Outputs").

Writes go to a temporary file in the same folder, then a rename, so a reader never sees
half a file. Appends to a log are flushed and fsynced, and always start on a fresh line:
a line torn by a crash is left as it is and never glued to the next record. These are the
only write idioms in the package.

Every CSV file goes through `write_csv`, which writes text a spreadsheet would run as a
formula as text (`csvsafe.safe_cell`); Parquet keeps the raw value.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from . import csvsafe


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, else it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_with(path: Path, writer: Callable[[Path], object]) -> Path:
    """Call `writer(tmp)` and move the result into place."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return path


def write_frame(path: Path, frame: pd.DataFrame) -> Path:
    """CSV or Parquet by suffix; CSV floats keep full precision (round trip exact).

    Parquet keeps every value as it is; CSV goes through `write_csv` (spreadsheet-safe text).
    """
    if path.suffix == ".parquet":
        return write_with(path, lambda p: frame.to_parquet(p, index=False))
    return write_csv(path, frame)


def write_csv(path: Path, data: pd.DataFrame | pa.Table) -> Path:
    """Write a CSV file with a header, atomically, every text cell spreadsheet-safe.

    Text a spreadsheet would evaluate as a formula (`=`, `+`, `-`, `@`, tab or CR first,
    not a number) is written with a `'` in front (`csvsafe.safe_cell`); read such a file
    back with `csvsafe.read_csv`. A pandas frame is written by pandas (floats at full
    precision), an Arrow table by Arrow (quoted where needed), as before.
    """
    if isinstance(data, pa.Table):
        table = csvsafe.safe_table(data)
        options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
        return write_with(path, lambda p: pacsv.write_csv(table, p, options))
    frame = csvsafe.safe_frame(data)
    return write_with(path, lambda p: frame.to_csv(p, index=False, lineterminator="\n"))


def append_line(path: Path, line: str) -> None:
    """Append one line (no newline inside) durably: flush and fsync before returning.

    If the file does not end with a newline (an earlier append was torn by a crash or a
    full disk), a newline is written first, so the torn line stays on its own and this
    record starts on a fresh line.
    """
    if "\n" in line or "\r" in line:
        raise ValueError("append_line takes one line without line breaks")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as fh:
        _append(fh, [line])


def append_lines_locked(
    path: Path,
    make: Callable[[list[bytes]], Sequence[str]],
    *,
    then: Callable[[], None] | None = None,
) -> int:
    """Append the lines `make(existing)` returns, under an exclusive lock from read to fsync.

    `existing` is the file's non-blank lines when the lock is taken, so a log whose next
    record depends on the ones before it (a hash chain, a dedup key) cannot be interleaved
    by two writers. The lines are appended as `append_line` does (fresh line, fsync);
    `then()`, if given, runs after the append, still under the lock (e.g. to rewrite a file
    that records the log's end). Returns how many lines were written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(0)
            lines = make([ln for ln in fh.read().splitlines() if ln.strip()])
            _check_lines(lines)
            if lines:
                _append(fh, lines)
            if then is not None:
                then()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return len(lines)


def _check_lines(lines: Sequence[str]) -> None:
    if any("\n" in line or "\r" in line for line in lines):
        raise ValueError("an appended line must not contain line breaks")


def _append(fh: BinaryIO, lines: Sequence[str]) -> None:
    """Write `lines` at the end of an open log, starting on a fresh line; flush and fsync."""
    fh.seek(0, os.SEEK_END)
    prefix = b""
    if fh.tell() > 0:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) != b"\n":
            prefix = b"\n"
    fh.seek(0, os.SEEK_END)
    fh.write(prefix + b"".join(line.encode("utf-8") + b"\n" for line in lines))
    fh.flush()
    os.fsync(fh.fileno())


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def real_path(path: Path) -> Path:
    """Where `path` leads once symbolic links are followed; OSError when it cannot be told.

    A loop of links raises RuntimeError before Python 3.13 and OSError (ELOOP) after; here
    it is always OSError with the reason "a loop of symbolic links", so every caller that
    confines a path to a folder handles one kind of failure.
    """
    try:
        return path.resolve()
    except RuntimeError as e:
        raise OSError(errno.ELOOP, "a loop of symbolic links", str(path)) from e
