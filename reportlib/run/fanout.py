"""The fan-out: one board_pack.ipynb per node on the executor's workers (DESIGN.md "Scale").

Each worker keeps one warm kernel (`kernel.py`) for every pack it renders. A node that
fails, times out or loses its worker stops only itself: its outcome says why, and its
stamp goes to manifest.json as soon as it is known, so an interrupted run resumes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Sequence
from typing import Any

from .. import manifest
from ..layout import PeriodOutput
from .events import Emit, NodeOutcome, RunEvent
from .executor import Event, Executor, ExecutorFactory, Failed, Finished, SessionFactory, Started
from .kernel import CellFailure, KernelSession
from .plan import PackPlan, PackTask

log = logging.getLogger(__name__)

SHARED = "workers must see the project and output folders at the same paths (a shared filesystem)"


class Workers:
    """The run's executor, started on first need and stopped when the run's `with` ends.

    The scorecard step starts it early so the pack kernels warm up while the figures are
    computed; a run with nothing to render never starts it.
    """

    def __init__(self, factory: ExecutorFactory, session: SessionFactory, most: int) -> None:
        self._factory = factory
        self._session = session
        self._most = most
        self._stack = contextlib.ExitStack()
        self._executor: Executor | None = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.__exit__(*exc)  # an exception stops the workers at once

    def start(self, tasks: int) -> Executor:
        """The executor, started now with at most one worker per task if it is not running."""
        if self._executor is None:
            workers = max(1, min(self._most, tasks))
            self._executor = self._stack.enter_context(self._factory(workers, self._session))
        return self._executor

    @property
    def workers(self) -> int:
        """How many workers ran (0 when the executor was never started)."""
        return self._executor.workers if self._executor is not None else 0


def render_node(session: KernelSession, task: PackTask) -> NodeOutcome:
    """Execute board_pack.ipynb for one node in `session` (runs in a worker)."""
    t = time.perf_counter()
    started = time.time()
    execution = session.run(task.notebook, task.executed, task.parameters)
    failure = execution.failure
    if failure is None and not (task.pdf.is_file() and task.pdf.stat().st_mtime >= started - 1):
        failure = CellFailure(
            None, None, "", "MissingOutput", f"the notebook did not write {task.pdf}"
        )
    return NodeOutcome(
        node=task.node,
        status="failed" if failure else "done",
        seconds=time.perf_counter() - t,
        pdf=task.pdf,
        executed=task.executed,
        inputs=task.stamp,
        failure=failure,
        split=execution.split,
    )


def outcome(task: PackTask, event: Finished | Failed) -> NodeOutcome:
    """A finished task's outcome, with its worker; a worker's failure as the node's."""
    if isinstance(event, Finished):
        done = dataclasses.replace(event.result, worker=event.worker)
        if done.status == "done" and not task.pdf.is_file():  # a worker on another filesystem
            message = f"the worker wrote {task.pdf}, which this machine does not see: {SHARED}"
            failure = CellFailure(None, None, "", "WorkerError", message)
            return dataclasses.replace(done, status="failed", failure=failure)
        return done
    failure = CellFailure(None, None, "", "WorkerError", event.message)
    return NodeOutcome(
        task.node, "failed", 0.0, task.pdf, task.executed, task.stamp, failure, event.worker
    )


def fan_out(
    pool: Workers, tasks: Sequence[PackTask], out: PeriodOutput, emit: Emit
) -> dict[str, NodeOutcome]:
    """Render every task on the workers; each outcome is recorded and reported as it arrives."""
    if not tasks:
        return {}
    outcomes: dict[str, NodeOutcome] = {}
    event: Event
    for event in pool.start(len(tasks)).map(render_node, tasks):
        task = tasks[event.index]
        if isinstance(event, Started):
            emit(RunEvent("node-start", node=task.node, done=len(outcomes), total=len(tasks)))
            continue
        done = outcome(task, event)
        outcomes[task.node] = done
        log.debug("board pack %s: %s (worker %s)", task.node, done.split.describe(), done.worker)
        manifest.record_nodes(out, {task.node: done.stamp()})
        emit(
            RunEvent(
                "node-done", node=task.node, outcome=done, done=len(outcomes), total=len(tasks)
            )
        )
    return outcomes


def render_packs(
    pool: Workers, packs: PackPlan, out: PeriodOutput, emit: Emit
) -> tuple[NodeOutcome, ...]:
    """Announce the plan, report the current packs skipped, render the others.

    Returns every selected node's outcome, in the order the nodes were selected.
    """
    emit(RunEvent("plan", total=len(packs.tasks), nodes=tuple(t.node for t in packs.tasks)))
    for skipped in packs.skipped:
        emit(RunEvent("node-skipped", node=skipped.node, outcome=skipped))
    outcomes = {o.node: o for o in packs.skipped}
    outcomes.update(fan_out(pool, packs.tasks, out, emit))
    return tuple(outcomes[n] for n in packs.selected)
