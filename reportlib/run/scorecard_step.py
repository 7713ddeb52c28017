"""The scorecard step: scorecard.ipynb in its own kernel, unless its inputs are unchanged.

The notebook calls `notebook.scorecard_step`, which computes and writes the figures and
records the computation in manifest.json; this step records the notebook's own stamp.
A failed notebook is raised as the package error it raised, so a quality gate that
stops the run is still exit code 2.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from .. import errors, manifest
from ..errors import NotebookExecutionError, ReportlibError
from . import plan
from .events import Emit, RunEvent, ScorecardOutcome
from .fanout import Workers
from .kernel import CellFailure, KernelSession

log = logging.getLogger(__name__)


def scorecard_error(failure: CellFailure, executed: Path) -> ReportlibError:
    """A failed scorecard notebook as the package error it raised (a quality gate stays exit 2)."""
    cls = getattr(errors, failure.ename, None)
    if (
        isinstance(cls, type)
        and issubclass(cls, ReportlibError)
        and cls is not NotebookExecutionError
    ):
        try:
            return cls(failure.evalue)
        except TypeError:
            pass
    return NotebookExecutionError(
        f"scorecard notebook failed: {failure.describe()} (see {executed})",
        node=None,
        cell_index=failure.cell_index,
        source=failure.source,
        ename=failure.ename,
        evalue=failure.evalue,
        notebook=str(executed),
    )


def run_scorecard(
    options: plan.RunOptions,
    recorded: manifest.Manifest | None,
    pool: Workers,
    emit: Emit,
) -> ScorecardOutcome:
    """Execute scorecard.ipynb if it is stale (starting the pack workers meanwhile); record its stamp."""
    t = time.perf_counter()
    out = options.out
    parts = plan.scorecard_inputs(options)
    previous = manifest.stamp(recorded)
    why = plan.stale(previous, parts, plan.scorecard_outputs(out), options.force)
    if why is None:
        emit(RunEvent("scorecard-skipped"))
        manifest.record_step(out, "scorecard", {**previous, "status": "skipped"})
        return ScorecardOutcome("skipped", None)
    log.info("scorecard %s: running (%s)", options.period, why)
    emit(RunEvent("scorecard-start", detail=why))
    # Start the pack workers now: their kernels warm up while the scorecard computes.
    pool.start(len(options.nodes) or options.workers)
    parameters = {**options.notebook_parameters(), "accept_quality": options.accept_quality}
    root = options.project.settings.root
    with KernelSession(root, cell_timeout=options.cell_timeout) as kernel:
        failure = kernel.execute(options.scorecard_notebook, out.scorecard_notebook, parameters)
    seconds = time.perf_counter() - t
    if failure is not None:
        error = plan.stamp("failed", seconds, parts, error=failure.as_dict())
        manifest.record_step(out, "scorecard", error)
        raise scorecard_error(failure, out.scorecard_notebook)
    manifest.record_step(out, "scorecard", plan.stamp("done", seconds, parts))
    emit(RunEvent("scorecard-done", seconds=seconds))
    return ScorecardOutcome("done", why)
