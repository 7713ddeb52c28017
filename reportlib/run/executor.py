"""Where the board-pack notebooks run: executors registered by name (DESIGN.md "Scale").

A small registry in the manner of papermill's engines: the run asks for an executor by
name (`--executor`, or `executor` in the settings) and gets a class implementing the
protocol of `protocol.py`. `local` (worker processes on this machine, `local.py`) is the
default; `dask` (the workers of a Dask cluster, `dask.py`) fans the packs out over hosts.
"""

from __future__ import annotations

import functools

from ..errors import ConfigError
from .dask import DaskExecutor
from .local import LocalExecutor as LocalExecutor
from .protocol import Backend
from .protocol import Event as Event
from .protocol import Executor as Executor
from .protocol import ExecutorFactory as ExecutorFactory
from .protocol import Failed as Failed
from .protocol import Finished as Finished
from .protocol import SessionFactory as SessionFactory
from .protocol import Started as Started
from .protocol import available_cores as available_cores

EXECUTORS: dict[str, Backend] = {}
"""The executors a run can fan out to, by name."""

DEFAULT = "local"


def register(name: str, backend: Backend) -> None:
    """Make `backend` available as the executor `name` (a later registration replaces it)."""
    EXECUTORS[name] = backend


def get(name: str = DEFAULT) -> Backend:
    """The executor registered as `name`; ConfigError naming the known ones otherwise."""
    try:
        return EXECUTORS[name]
    except KeyError:
        known = ", ".join(sorted(EXECUTORS))
        raise ConfigError(f"unknown executor {name!r}; the known executors are: {known}") from None


def choose(name: str = DEFAULT, scheduler: str | None = None) -> ExecutorFactory:
    """The executor `name`, checked against `scheduler` now (before the run writes anything)."""
    backend = get(name)
    backend.check(scheduler)
    return functools.partial(backend, scheduler=scheduler)


register("local", LocalExecutor)
register("dask", DaskExecutor)
