"""`reportlib run`: the monthly job as the reporting lead runs it (DESIGN.md "Flow of data").

scorecard.ipynb once (it computes and writes the figures), then board_pack.ipynb once per
node on the executor's workers, each worker keeping one warm kernel. A step whose inputs
are unchanged since it last succeeded is skipped; a failed or timed-out node stops only
itself. Executed notebooks, PDFs and manifest.json land under output/<period>/.

The package, one concern a module:

- `plan`: the run's options, and what is stale and why (stamps, fingerprints, pack tasks);
- `scorecard_step`: scorecard.ipynb in its own kernel;
- `fanout`: the workers and the board packs rendered on them;
- `events`: progress events, node outcomes and the run's result;
- `kernel`: Jupyter kernels that execute notebooks through papermill;
- `timing`: where a pack's seconds went (kernel, notebook, charts, render);
- `executor`: where the workers run, by name (a registry): `local` processes (`local`), or
  the workers of a Dask cluster (`dask`); `protocol` is what every executor implements.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

from .. import lock, manifest, periods
from ..commentary import stale_commentaries
from ..config import Project
from . import executor as executors
from . import fanout, plan, scorecard_step, timing
from .events import Emit, NodeOutcome, RunEvent, RunResult
from .executor import ExecutorFactory

__all__ = ["NodeOutcome", "RunEvent", "RunResult", "run"]

log = logging.getLogger(__name__)


def _ignore(_event: RunEvent) -> None:
    """The event sink of a run nobody watches."""


def run(
    project: Project,
    period: str | None = None,
    *,
    nodes: Sequence[str] | None = None,
    workers: int | None = None,
    force: bool = False,
    accept_quality: str | None = None,
    fresh_kernels: bool = False,
    on_event: Emit | None = None,
    executor: str | ExecutorFactory | None = None,
    scheduler: str | None = None,
    cadence: periods.CadenceName = "month",
) -> RunResult:
    """`reportlib run`: scorecard.ipynb, then board_pack.ipynb per node in parallel; skips what is current.

    `executor` names where the packs render (default: the settings' `executor`) and
    `scheduler` is a Dask scheduler's address; both are checked before anything is written.
    `cadence` chooses the default period (month, quarter or year to date) when `period` is None.
    """
    t_run = time.perf_counter()
    emit = on_event or _ignore
    factory = choose_executor(project, executor, scheduler)
    where = executor_record(project, executor, scheduler)
    options = plan.resolve(
        project,
        period,
        nodes=nodes,
        workers=workers,
        force=force,
        accept_quality=accept_quality,
        fresh_kernels=fresh_kernels,
        cadence=cadence,
    )
    # The period's lock, held for the whole run and taken before anything is written to the
    # period folder: a second run (or a compute) on the period stops at once, naming this one.
    with lock.hold(options.out.lock, options.out.lock_holder, command=lock.command_line()):
        return _locked_run(options, emit, factory, where, t_run)


def choose_executor(
    project: Project, executor: str | ExecutorFactory | None, scheduler: str | None
) -> ExecutorFactory:
    """The run's executor: the one named (else the settings'), checked against its scheduler.

    The settings' `scheduler` goes with the settings' `executor`: naming another executor
    on the command line leaves it out.
    """
    if executor is not None and not isinstance(executor, str):
        return executor
    where = executor_record(project, executor, scheduler)
    return executors.choose(str(where["executor"]), where["scheduler"])


def executor_record(
    project: Project, executor: str | ExecutorFactory | None, scheduler: str | None
) -> dict[str, str | None]:
    """Where the packs render, as manifest.json's run parameters record it: the executor's
    name and its scheduler (a factory passed in by code is recorded by its name)."""
    settings = project.settings
    if executor is not None and not isinstance(executor, str):
        name = getattr(executor, "__name__", type(executor).__name__)
        return {"executor": name, "scheduler": scheduler}
    name = executor if executor is not None else settings.executor
    if scheduler is None and name == settings.executor:
        scheduler = settings.scheduler
    return {"executor": name, "scheduler": scheduler}


def _locked_run(
    options: plan.RunOptions,
    emit: Emit,
    factory: ExecutorFactory,
    where: Mapping[str, str | None],
    t_run: float,
) -> RunResult:
    """The run proper, under the period's lock."""
    project = options.project
    out = options.out
    previous = manifest.load(out)
    manifest.record_run_start(out, parameters={**options.parameters(), **where})
    with fanout.Workers(factory, options.worker_session(), options.workers) as pool:
        t = time.perf_counter()
        scorecard = scorecard_step.run_scorecard(options, previous, pool, emit)
        scorecard_seconds = time.perf_counter() - t
        t = time.perf_counter()
        packs = plan.plan_packs(options, manifest.load(out))
        outcomes = fanout.render_packs(pool, packs, out, emit)
        packs_seconds = time.perf_counter() - t
    manifest.record_nodes(out, {o.node: o.stamp() for o in packs.skipped})
    seconds = time.perf_counter() - t_run
    timings = {"scorecard": scorecard_seconds, "packs": packs_seconds, "total": seconds}
    # The rendered packs' seconds by part, summed (timing.py): the run says where time went.
    split = timing.total(o.split for o in outcomes if o.status != "skipped")
    timings.update({f"packs_{part}": s for part, s in split.as_dict().items()})
    manifest.record_run_end(project, out, seconds=seconds, timings=timings)
    stale = stale_commentaries(project, options.period)
    return RunResult(
        period=options.period,
        scorecard=scorecard.status,
        scorecard_seconds=scorecard_seconds,
        scorecard_reason=scorecard.reason,
        nodes=outcomes,
        manifest=out.manifest,
        seconds=seconds,
        packs_seconds=packs_seconds,
        workers=pool.workers,
        stale_commentaries=tuple(n for n in stale if n in packs.selected),
    )
