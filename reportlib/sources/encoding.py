"""Text encodings of CSV inputs: which one a file is in, and a UTF-8 copy for the engine.

Spreadsheets save CSV in several encodings. `detect` tells them apart from the bytes:

- a UTF-16 byte-order mark (little or big endian): `utf-16`;
- bytes that are valid UTF-8, with or without its byte-order mark: `utf-8`;
- otherwise a single-byte Windows/ISO file: `cp1252` when it holds bytes 0x80–0x9F that
  cp1252 defines (€, curly quotes, dashes), else `latin-1`, which reads any byte (the two
  agree on every byte outside 0x80–0x9F; latin-1 is the fallback for the five bytes cp1252
  leaves undefined).

What cannot be read correctly is refused in one line saying which encoding to save the
file in: NUL bytes without a byte-order mark (UTF-16 without a BOM), or a UTF-8 byte-order
mark on bytes that are not UTF-8. The names are Python codec names, as the quality report's
note says them ("read as cp1252").

The engine reads UTF-8 itself; any other encoding is read through `utf8_copy`, a UTF-8
copy in a temporary folder outside the project, removed as soon as the engine has read
it. Transcoding keeps every line break, so line numbers in messages are the original's.
"""

from __future__ import annotations

import codecs
import itertools
import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import DataError

log = logging.getLogger(__name__)

UTF8 = "utf-8"
CHUNK = 1 << 24
_C1 = re.compile(rb"[\x80-\x9f]")
"""Bytes where cp1252 and latin-1 differ."""
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


def python_codec(encoding: str) -> str:
    """Python's codec for an encoding name (UTF-8 with an optional byte-order mark)."""
    return "utf-8-sig" if encoding == UTF8 else encoding


def note(encoding: str) -> str | None:
    """The quality report's note on a table read in `encoding` (None for UTF-8)."""
    if encoding == UTF8:
        return None
    if encoding == "utf-16":
        return "UTF-16 with a byte-order mark: read as utf-16"
    return f"not valid UTF-8: read as {encoding}"


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        yield from iter(lambda: fh.read(CHUNK), b"")


def _utf8_error(path: Path) -> int | None:
    """Byte offset of the first byte that is not UTF-8 (None: the whole file is UTF-8)."""
    decoder = codecs.getincrementaldecoder(UTF8)()
    seen = 0
    for chunk in itertools.chain(_chunks(path), [b""]):
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as e:
            return seen + e.start
        seen += len(chunk)
    return None


def line_of_offset(path: Path, offset: int) -> int:
    """1-based line of a byte offset in a file (for single-byte and UTF-8 text)."""
    with path.open("rb") as fh:
        return fh.read(offset).count(b"\n") + 1


def detect(path: Path) -> str:
    """The encoding of a CSV file (see the module docstring); DataError when it cannot be told."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise DataError(
            "the file holds NUL bytes: it looks like UTF-16 without a byte-order mark; "
            "save it as UTF-8 (or UTF-16 with a byte-order mark)",
            file=str(path),
        )
    bad = _utf8_error(path)
    if bad is None:
        return UTF8
    line = line_of_offset(path, bad)
    if head.startswith(codecs.BOM_UTF8):
        raise DataError(
            f"the file starts with a UTF-8 byte-order mark but line {line} is not valid UTF-8: "
            "save it as UTF-8",
            file=str(path),
        )
    c1 = undefined = False
    for chunk in _chunks(path):
        c1 = c1 or _C1.search(chunk) is not None
        undefined = undefined or _CP1252_UNDEFINED.search(chunk) is not None
    encoding = "cp1252" if c1 and not undefined else "latin-1"
    log.warning(
        "%s is not valid UTF-8 (line %d): read as %s; save it as UTF-8 to silence this",
        path,
        line,
        encoding,
    )
    return encoding


@contextmanager
def utf8_copy(path: Path, encoding: str) -> Iterator[Path]:
    """A UTF-8 copy of a text file in a temporary folder (outside the project), removed after.

    Line breaks are copied as they are, so the copy's lines are the original's; a byte
    sequence the encoding cannot decode is a DataError naming the original and its line.
    """
    with tempfile.TemporaryDirectory(prefix="reportlib-") as tmp:
        copy = Path(tmp) / path.name
        decoder = codecs.getincrementaldecoder(encoding)()
        line = 1
        with copy.open("w", encoding=UTF8, newline="") as out:
            for chunk in itertools.chain(_chunks(path), [b""]):
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as e:
                    before = chunk[: max(e.start, 0)].decode(encoding, errors="ignore")
                    raise DataError(
                        f"line {line + before.count(chr(10))} is not valid {encoding}: "
                        "save the file as UTF-8",
                        file=str(path),
                    ) from e
                line += text.count("\n")
                out.write(text)
        yield copy


def count_lines(path: Path, encoding: str = UTF8) -> int:
    """Lines in a text file: newlines, plus a last line without one.

    Bytes are counted for UTF-8 and the single-byte encodings, where a newline is one byte
    that no other character contains; UTF-16 text is decoded to count them.
    """
    count, last = 0, "\n"
    if encoding.startswith("utf-16"):
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        for chunk in itertools.chain(_chunks(path), [b""]):
            text = decoder.decode(chunk, final=not chunk)
            count += text.count("\n")
            last = text[-1:] or last
        return count + (last != "\n")
    tail = b"\n"
    for chunk in _chunks(path):
        count += chunk.count(b"\n")
        tail = chunk[-1:]
    return count + (tail != b"\n")
