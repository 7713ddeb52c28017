"""How verbose the command line is: `-q`, `-v` and `--debug` as log levels.

Only `logging` output follows them, in the format of `reportlib.logformat` (time, level,
module); the commands' own results (stdout), and the one-line `error: ...`, stay as they
are. `-q` also silences the progress lines of `run` (see `progress.RunProgress`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Literal

from .. import logformat

Verbosity = Literal["quiet", "normal", "verbose", "debug"]

LEVELS: dict[Verbosity, int] = {
    "quiet": logging.ERROR,
    "normal": logging.WARNING,
    "verbose": logging.INFO,
    "debug": logging.DEBUG,
}
"""The root logger's level for each verbosity: `-q` keeps errors only, `-v` adds progress."""


def configure(verbosity: Verbosity) -> None:
    """Log to stderr, timestamped, at `verbosity`'s level (again: replaces the handler)."""
    logformat.configure(LEVELS[verbosity])


@contextlib.contextmanager
def session(verbosity: Verbosity) -> Iterator[None]:
    """Logging for one command line; the root logger is put back as it was afterwards."""
    with logformat.session(LEVELS[verbosity]):
        yield
