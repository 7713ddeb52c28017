"""The local executor: worker processes on this machine, each keeping one open session.

The run's default. Each worker is a spawned process that opens its session (a warm
Jupyter kernel) once and then runs the tasks the parent hands it one at a time over a
pipe, so the parent always knows which item a worker holds: a worker that dies fails
only that item.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .protocol import Event, Failed, Finished, SessionFactory, Started, Task, describe

log = logging.getLogger(__name__)


def _serve(open_session: SessionFactory, conn: Any) -> None:
    """A worker's loop: open the session, then run each task the parent sends until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt stops
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: the session is closed
    with ExitStack() as stack:
        try:
            session = stack.enter_context(open_session())
        except Exception as e:
            conn.send(("broken", f"worker could not start: {describe(e)}"))
            return
        try:
            conn.send(("ready", None))
            while (message := conn.recv()) is not None:
                task, item = message
                try:
                    reply = ("done", task(session, item))
                except Exception as e:
                    reply = ("failed", describe(e))
                conn.send(reply)
        except (EOFError, BrokenPipeError):
            log.debug("the parent is gone: worker stops")  # and closes its session on the way out


@dataclass
class _Worker:
    number: int
    process: Any
    conn: Any
    ready: bool = False
    running: int | None = None
    gone: str | None = None


class LocalExecutor:
    """`workers` local processes (spawned, so safe beside threads), each with one open session.

    The parent hands one item at a time to an idle worker over its pipe, so it always knows
    which item a worker holds: a worker that dies fails only that item.
    """

    def __init__(
        self, workers: int, session: SessionFactory, *, scheduler: str | None = None
    ) -> None:
        self.check(scheduler)
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._open_session = session
        self._ctx = mp.get_context("spawn")
        self._pool: list[_Worker] = []

    @staticmethod
    def check(scheduler: str | None) -> None:
        """Local processes have no scheduler: an address given with them is a mistake."""
        if scheduler is not None:
            raise ConfigError(
                f"scheduler address {scheduler!r} given, but the local executor takes none: "
                'add --executor dask (or executor = "dask" in the settings)'
            )

    def __enter__(self) -> LocalExecutor:
        for n in range(1, self.workers + 1):
            parent, child = self._ctx.Pipe()
            p = self._ctx.Process(
                target=_serve,
                args=(self._open_session, child),
                name=f"reportlib-worker-{n}",
                daemon=True,
            )
            p.start()
            child.close()
            self._pool.append(_Worker(n, p, parent))
        log.debug("started %d worker processes", self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        aborted = exc[0] is not None
        for w in self._pool:
            if w.gone is None and not aborted:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
        for w in self._pool:
            w.process.join(timeout=0 if aborted else 60)
            if w.process.is_alive():
                w.process.terminate()  # SIGTERM: the worker closes its session on the way out
                w.process.join(timeout=10)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._pool = []

    def map(self, task: Task, items: Sequence[Any]) -> Iterator[Event]:
        if not self._pool:
            raise RuntimeError("LocalExecutor.map outside its `with` block")
        queue = list(range(len(items)))[::-1]  # pop() gives the next item
        pending = len(items)
        while pending:
            for w in self._pool:
                if w.ready and w.running is None and w.gone is None and queue:
                    index = queue.pop()
                    try:
                        w.conn.send((task, items[index]))
                    except OSError:  # the worker is gone; its sentinel says so below
                        queue.append(index)
                        continue
                    w.running = index
                    yield Started(index, w.number)
            alive = [w for w in self._pool if w.gone is None]
            if not alive:
                reasons = {w.gone for w in self._pool}
                message = reasons.pop() if len(reasons) == 1 else "no worker process left"
                for index in reversed(queue):
                    yield Failed(index, None, message or "no worker process left")
                return
            ready = mp_connection.wait(
                [w.conn for w in alive] + [w.process.sentinel for w in alive]
            )
            for w in alive:
                if w.conn in ready or w.conn.poll():
                    try:
                        kind, value = w.conn.recv()
                    except (EOFError, OSError):
                        kind, value = "died", None
                    if kind == "ready":
                        w.ready = True
                        continue
                    if kind == "broken":
                        w.gone = value
                        continue
                    if kind in ("done", "failed"):
                        held, w.running = w.running, None
                        assert held is not None, "a worker replied without a task"
                        pending -= 1
                        yield (
                            Finished(held, w.number, value)
                            if kind == "done"
                            else Failed(held, w.number, value)
                        )
                        continue
                elif w.process.sentinel not in ready:
                    continue
                # The process ended, or its pipe closed, without a word.
                w.process.join(timeout=5)
                w.gone = f"worker process died (exit code {w.process.exitcode})"
                if w.running is not None:
                    index, w.running = w.running, None
                    pending -= 1
                    yield Failed(index, w.number, w.gone)
