"""What an executor is: the tasks it runs, the sessions its workers keep, the events it reports.

A worker opens one *session* (for board packs: a warm Jupyter kernel) when it starts and
passes it to every task it runs, so per-worker set-up is paid once. Every executor (local
processes in `local`, a Dask cluster in `dask`) reports the same three events, so the run
(progress, manifest, audit trail) does not know which one rendered its packs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

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


ExecutorFactory = Callable[[int, SessionFactory], Executor]
"""Builds an executor from a number of workers and the session factory each worker calls."""


class Backend(Protocol):
    """An executor class as the registry holds it: checked once, then built for the run.

    `check(scheduler)` runs before the run writes anything and raises a ConfigError when the
    executor cannot be used as asked (a scheduler address it does not take, or cannot reach).
    """

    def __call__(
        self, workers: int, session: SessionFactory, *, scheduler: str | None = None
    ) -> Executor: ...

    def check(self, scheduler: str | None) -> None: ...


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def describe(e: BaseException) -> str:
    """An exception as a task's failure message: `TypeName: message`."""
    return f"{type(e).__name__}: {e}"
