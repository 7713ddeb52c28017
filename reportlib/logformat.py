"""The one log line format, for the command line and the processes a run starts.

A scheduled job's stderr usually ends up in a file or a journal, read after the fact, so
every log line says when it was written (ISO-8601, UTC, to the millisecond), how serious
it is and which module wrote it:

    2026-11-30T07:26:23.123Z INFO reportlib.run.plan: board pack all: rendering (not run before)

`reportlib.cli` configures it for the command's process; a run's pack workers (spawned
processes, which start with no logging set up) configure it again with the parent's level.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class UtcIsoFormatter(logging.Formatter):
    """`%(asctime)s` as ISO-8601 in UTC with milliseconds, e.g. 2026-11-30T07:26:23.123Z."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time of the record (not at set-up), so a
    redirected or captured stderr gets the lines."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


def configure(level: int) -> None:
    """Route the root logger to one timestamped stderr handler at `level`.

    Called again (each command line, or a later `-v` after the subcommand), it replaces
    its own handler rather than adding a second one, and leaves other handlers alone.
    """
    root = logging.getLogger()
    remove(root)
    handler = StderrHandler()
    handler.setFormatter(UtcIsoFormatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)


def remove(root: logging.Logger) -> None:
    """Take this module's handlers off `root`."""
    for h in list(root.handlers):
        if isinstance(h, StderrHandler):
            root.removeHandler(h)


@contextlib.contextmanager
def session(level: int) -> Iterator[None]:
    """Configure logging for one command line, and put the root logger back as it was after
    it, so a command run inside a bigger program (or a test) leaves its logging alone."""
    root = logging.getLogger()
    before = root.level
    configure(level)
    try:
        yield
    finally:
        remove(root)
        root.setLevel(before)
