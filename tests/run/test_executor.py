"""The executor: every item runs once on a worker; a failing task or a dying worker fails only its item."""

from __future__ import annotations

import contextlib
import os

import pytest

from reportlib.errors import ConfigError
from reportlib.run import executor
from reportlib.run.executor import Failed, Finished, LocalExecutor, Started


def _square(_session: object, x: int) -> int:
    return x * x


def _fragile(_session: object, x: int) -> int:
    if x == 2:
        raise ValueError("two is not allowed")
    if x == 3:
        os._exit(7)  # the worker process dies mid-task
    return x


@pytest.mark.slow
def test_local_executor_runs_every_item() -> None:
    with LocalExecutor(2, contextlib.nullcontext) as ex:
        events = list(ex.map(_square, [1, 2, 3, 4]))
    finished = {e.index: e.result for e in events if isinstance(e, Finished)}
    assert finished == {0: 1, 1: 4, 2: 9, 3: 16}
    assert sorted(e.index for e in events if isinstance(e, Started)) == [0, 1, 2, 3]


@pytest.mark.slow
def test_local_executor_survives_failing_tasks_and_dead_workers() -> None:
    with LocalExecutor(2, contextlib.nullcontext) as ex:
        events = list(ex.map(_fragile, [1, 2, 3, 4, 5]))
    done = {e.index: e.result for e in events if isinstance(e, Finished)}
    failed = {e.index: e.message for e in events if isinstance(e, Failed)}
    assert failed[1] == "ValueError: two is not allowed"
    assert failed[2] == "worker process died (exit code 7)"
    assert set(done) | set(failed) == {0, 1, 2, 3, 4}
    assert all(done[i] == i + 1 for i in done)


def test_the_registry_names_the_local_executor() -> None:
    assert executor.get() is LocalExecutor
    assert executor.get("local") is LocalExecutor


def test_an_unknown_executor_is_a_config_error() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown executor 'spark'; the known executors are: dask, local"
    ):
        executor.get("spark")


def test_a_registered_executor_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor, "EXECUTORS", dict(executor.EXECUTORS))
    executor.register("inline", LocalExecutor)
    assert executor.get("inline") is LocalExecutor
    assert sorted(executor.EXECUTORS) == ["dask", "inline", "local"]


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LocalExecutor(0, contextlib.nullcontext)
