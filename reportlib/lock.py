"""One process at a time per output folder: `run` and `send` hold the period's lock.

Two `send` processes at once would each send every email; two `run --force` would build
packs from each other's half-written scorecard. So both take an exclusive lock on
`output/<period>/.lock` (filelock: an OS lock that the kernel releases when the holder
dies, even by `kill -9`) and write who holds it (pid, host, command, since) beside it.
A second process fails at once with a LockError naming the holder; a lock left by a
process that is gone is taken over, with a warning that names it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import filelock

from . import fileio
from .errors import LockError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a lock."""

    pid: int
    host: str
    command: str
    since: str
    """UTC time the lock was taken, ISO 8601 to the second."""

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} ({self.command}) since {self.since}"

    def is_gone(self) -> bool:
        """True when the holder was a process on this host that no longer runs."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # it exists, under another user
            return False
        return False


def _me(command: str) -> Holder:
    return Holder(
        pid=os.getpid(),
        host=socket.gethostname(),
        command=command,
        since=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    )


def read_holder(path: Path) -> Holder | None:
    """The holder recorded at `path`, or None when there is none or it is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(**{k: data[k] for k in ("pid", "host", "command", "since")})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def command_line() -> str:
    """This process's command as a user typed it, e.g. `reportlib send --period 2026-10`."""
    args = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["python"]
    return " ".join(args)


@contextmanager
def hold(lock_file: Path, holder_file: Path, *, command: str | None = None) -> Iterator[Holder]:
    """Hold `lock_file` exclusively for the block, or raise LockError at once.

    `holder_file` records who holds it, for the message another process prints. The lock
    itself is the OS's, so it is free as soon as its holder exits, however it exits.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(lock_file), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        holder = read_holder(holder_file)
        who = holder.describe() if holder else "another process"
        raise LockError(
            f"{lock_file.parent} is in use by {who}: wait for it to finish, then try again"
        ) from None
    try:
        previous = read_holder(holder_file)
        if previous is not None:
            # The lock was free but its holder record is still there: that process died.
            state = "is gone" if previous.is_gone() else "did not release it"
            log.warning("took over the lock of %s: that process %s", previous.describe(), state)
        me = _me(command or command_line())
        fileio.write_text(holder_file, json.dumps(asdict(me), sort_keys=True) + "\n")
        try:
            yield me
        finally:
            holder_file.unlink(missing_ok=True)
    finally:
        lock.release()
