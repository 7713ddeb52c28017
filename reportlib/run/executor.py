"""Where the board-pack notebooks run: an Executor fans tasks out to workers (DESIGN.md "Scale").

Each worker opens one *session* (for board packs: a warm Jupyter kernel) when it
starts and passes it to every task it runs, so per-worker set-up is paid once.
`LocalExecutor` runs workers as local processes. Executors are registered by name
(`register`, `get`), the way papermill registers its engines, so a Dask executor can
implement the same protocol later and be chosen without touching the run.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ConfigError

log = logging.getLogger(__name__)

SessionFactory = Callable[[], AbstractContextManager[Any]]
"""Opens a worker's session; called once in each worker (must be picklable: a module-level callable)."""

Task = Callable[[Any, Any], Any]
"""`task(session, item) -> result`, run in a worker (must be picklable: a module-level function)."""


@dataclass(frozen=True)
class Started:
    """A worker took item `index`."""

    index: int
    worker: int


@dataclass(frozen=True)
class Finished:
    """Item `index` finished with `result`."""

    index: int
    worker: int
    result: Any


@dataclass(frozen=True)
class Failed:
    """Item `index` raised, or its worker could not start or died; `message` says which."""

    index: int
    worker: int | None
    message: str


Event = Started | Finished | Failed


class Executor(Protocol):
    """Runs `task(session, item)` for every item on workers; yields events as they happen."""

    workers: int

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

    def map(self, task: Task, items: Sequence[Any]) -> Iterator[Event]:
        """Yield a Started and then a Finished or Failed event for every item."""
        ...


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _serve(open_session: SessionFactory, conn: Any) -> None:
    """A worker's loop: open the session, then run each task the parent sends until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt stops
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: the session is closed
    with ExitStack() as stack:
        try:
            session = stack.enter_context(open_session())
        except Exception as e:
            conn.send(("broken", f"worker could not start: {_describe(e)}"))
            return
        try:
            conn.send(("ready", None))
            while (message := conn.recv()) is not None:
                task, item = message
                try:
                    reply = ("done", task(session, item))
                except Exception as e:
                    reply = ("failed", _describe(e))
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

    def __init__(self, workers: int, session: SessionFactory) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._open_session = session
        self._ctx = mp.get_context("spawn")
        self._pool: list[_Worker] = []

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


ExecutorFactory = Callable[[int, SessionFactory], Executor]
"""Builds an executor from a number of workers and the session factory each worker calls."""

EXECUTORS: dict[str, ExecutorFactory] = {}
"""The executors a run can fan out to, by name."""

DEFAULT = "local"


def register(name: str, factory: ExecutorFactory) -> None:
    """Make `factory` available as the executor `name` (a later registration replaces it)."""
    EXECUTORS[name] = factory


def get(name: str = DEFAULT) -> ExecutorFactory:
    """The executor registered as `name`; ConfigError naming the known ones otherwise."""
    try:
        return EXECUTORS[name]
    except KeyError:
        known = ", ".join(sorted(EXECUTORS))
        raise ConfigError(f"unknown executor {name!r}; the known executors are: {known}") from None


register("local", LocalExecutor)
