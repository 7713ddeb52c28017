"""`reportlib run`: the monthly job as the reporting lead runs it (DESIGN.md "Flow of data").

scorecard.ipynb once (it calls `pipeline.compute`), then board_pack.ipynb once per node
on the executor's workers, each worker keeping one warm kernel (`kernel.py`). A step
whose inputs are unchanged since it last succeeded is skipped; a failed or timed-out
node stops only itself. Executed notebooks, PDFs and manifest.json land under
output/<period>/.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import fileio
from .config import Project
from .errors import ConfigError, NotebookExecutionError, ReportlibError
from .executor import Executor, Finished, LocalExecutor, Started, available_cores
from .kernel import CellFailure, KernelSession, _kernel_session
from .pipeline import (
    BOARD_PACK_NOTEBOOK,
    SCORECARD_NOTEBOOK,
    SCORECARD_OUTPUTS,
    notebook_path,
    resolve_period,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackTask:
    """One node's board pack to render: the notebook, where its outputs go, and its parameters."""

    node: str
    notebook: Path
    executed: Path
    pdf: Path
    parameters: dict[str, object]
    stamp: dict[str, object]
    """The stamp recorded when the pack is done: input fingerprint and digests."""


@dataclass(frozen=True)
class NodeOutcome:
    """What happened to one node's board pack in a run."""

    node: str
    status: str  # "done", "skipped" (current from an earlier run) or "failed"
    seconds: float
    pdf: Path
    executed: Path
    inputs: dict[str, object] = field(default_factory=dict, repr=False)
    """The stamp of its inputs (fingerprint and digests) as recorded in the manifest."""
    failure: CellFailure | None = None
    worker: int | None = None

    def stamp(self) -> dict[str, object]:
        return {
            **{k: v for k, v in self.inputs.items() if k in ("fingerprint", "inputs")},
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "worker": self.worker,
            **({"error": self.failure.as_dict()} if self.failure else {}),
        }

    def error(self) -> NotebookExecutionError | None:
        """The failure as a NotebookExecutionError (node, cell, source, error), or None."""
        f = self.failure
        if f is None:
            return None
        return NotebookExecutionError(
            f"board pack {self.node} failed: {f.describe()} (see {self.executed})",
            node=self.node,
            cell_index=f.cell_index,
            source=f.source,
            ename=f.ename,
            evalue=f.evalue,
            notebook=str(self.executed),
        )


def render_node(session: KernelSession, task: PackTask) -> NodeOutcome:
    """Execute board_pack.ipynb for one node in `session` (runs in a worker)."""
    t = time.perf_counter()
    started = time.time()
    failure = session.execute(task.notebook, task.executed, task.parameters)
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
    )


@dataclass(frozen=True)
class RunEvent:
    """Progress of a run, for the CLI to show: the scorecard step, then each node."""

    kind: str  # scorecard-start, scorecard-done, scorecard-skipped, plan, node-start, node-done
    node: str | None = None
    outcome: NodeOutcome | None = None
    done: int = 0
    total: int = 0
    seconds: float = 0.0
    nodes: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class RunResult:
    """What `run` did: the scorecard step, every selected node's outcome, the manifest."""

    period: str
    scorecard: str  # "done" or "skipped"
    scorecard_seconds: float
    scorecard_reason: str | None  # why it ran: "forced", "changed: data, code", ...
    nodes: tuple[NodeOutcome, ...]
    manifest: Path
    seconds: float
    packs_seconds: float
    workers: int
    stale_commentaries: tuple[str, ...] = ()
    """Nodes whose commentary was written against earlier figures (DOMAIN.md §8)."""

    @property
    def failed(self) -> tuple[NodeOutcome, ...]:
        return tuple(n for n in self.nodes if n.status == "failed")

    def count(self, status: str) -> int:
        return sum(1 for n in self.nodes if n.status == status)


def _hash_tree(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        f.relative_to(folder).as_posix(): fileio.sha256(f)
        for f in sorted(folder.rglob("*"))
        if f.is_file() and "__pycache__" not in f.parts and not f.name.startswith(".")
    }


def _scorecard_error(failure: CellFailure, executed: Path) -> ReportlibError:
    """A failed scorecard notebook as the package error it raised (a quality gate stays exit 2)."""
    from . import errors

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


def _node_ids(out: Path) -> list[str]:
    nodes = pd.read_parquet(out / "scorecard.parquet", columns=["node"])["node"]
    return list(dict.fromkeys(nodes.astype(str)))


def _stale(
    stamp: dict, parts: dict[str, object], outputs: Sequence[Path], force: bool
) -> str | None:
    """Why a step must run again (None when it is current): forced, failed, inputs changed, outputs missing."""
    from . import manifest

    if force:
        return "forced"
    if not stamp:
        return "not run before"
    if stamp.get("status") not in ("done", "skipped"):
        return f"last run {stamp.get('status', 'unknown')}"
    if stamp.get("fingerprint") != manifest.fingerprint(parts):
        changed = manifest.changed_inputs(stamp, manifest.input_digests(parts))
        return f"changed: {', '.join(changed) or 'inputs'}"
    missing = [p.name for p in outputs if not p.is_file()]
    return f"missing {', '.join(missing)}" if missing else None


def _stamp(
    status: str, seconds: float, parts: dict[str, object], **extra: object
) -> dict[str, object]:
    from . import manifest

    return {
        "status": status,
        "seconds": round(seconds, 3),
        "fingerprint": manifest.fingerprint(parts),
        "inputs": manifest.input_digests(parts),
        **extra,
    }


def run(
    project: Project,
    period: str | None = None,
    *,
    nodes: Sequence[str] | None = None,
    workers: int | None = None,
    force: bool = False,
    accept_quality: str | None = None,
    fresh_kernels: bool = False,
    on_event: Callable[[RunEvent], None] | None = None,
    executor: Callable[[int, Callable[[], KernelSession]], Executor] = LocalExecutor,
) -> RunResult:
    """`reportlib run`: scorecard.ipynb, then board_pack.ipynb per node in parallel; skips what is current."""
    from . import manifest
    from .commentary import path_for, stale_commentaries
    from .render import default_out, templates_dir

    t_run = time.perf_counter()
    emit = on_event or (lambda _e: None)
    settings = project.settings
    period = resolve_period(project, period)
    out = settings.period_dir(period)
    root = settings.root
    workers = workers or settings.workers or available_cores()
    timeout = settings.cell_timeout_seconds
    score_nb = notebook_path(project, SCORECARD_NOTEBOOK)
    pack_nb = notebook_path(project, BOARD_PACK_NOTEBOOK)
    wanted = list(dict.fromkeys(nodes or ()))
    previous = manifest.read(project, period)
    manifest.record_run_start(
        project,
        period,
        parameters={
            "period": period,
            "nodes": wanted or "all",
            "workers": workers,
            "force": force,
            "accept_quality": accept_quality,
            "fresh_kernels": fresh_kernels,
            "config": str(project.config_file),
            "output_dir": str(settings.output_path),
        },
    )
    common = {
        "period": period,
        "code": manifest.code_fingerprint(),
        "config": manifest.hash_files(manifest.config_files(project), root),
        "output_dir": str(settings.output_path),
    }
    base_params = {
        "period": period,
        "config": str(project.config_file),
        "output_dir": str(settings.output_path),
    }
    timings: dict[str, float] = {}
    outcomes: dict[str, NodeOutcome] = {}

    with contextlib.ExitStack() as stack:
        pool: Executor | None = None

        def start_pool(n_tasks: int) -> Executor:
            session = functools.partial(_kernel_session, root, fresh_kernels, timeout)
            return stack.enter_context(executor(max(1, min(workers, n_tasks)), session))

        # 1. The scorecard notebook, unless its inputs are unchanged since it last ran.
        t = time.perf_counter()
        parts: dict[str, object] = {
            **common,
            "data": manifest.hash_files(manifest.input_files(project), root),
            "notebook": fileio.sha256(score_nb),
            "accept_quality": accept_quality,
        }
        executed_score = out / "notebooks" / SCORECARD_NOTEBOOK
        stamp = manifest.stamp(previous)
        why = _stale(stamp, parts, [executed_score, *(out / n for n in SCORECARD_OUTPUTS)], force)
        score_reason = why
        if why is None:
            score_status = "skipped"
            emit(RunEvent("scorecard-skipped"))
            manifest.record_step(project, period, "scorecard", {**stamp, "status": "skipped"})
        else:
            score_status = "done"
            log.info("scorecard %s: running (%s)", period, why)
            emit(RunEvent("scorecard-start", detail=why))
            # Start the pack workers now: their kernels warm up while the scorecard computes.
            pool = start_pool(len(wanted) or workers)
            with KernelSession(root, cell_timeout=timeout) as kernel:
                failure = kernel.execute(
                    score_nb, executed_score, {**base_params, "accept_quality": accept_quality}
                )
            seconds = time.perf_counter() - t
            if failure is not None:
                manifest.record_step(
                    project,
                    period,
                    "scorecard",
                    _stamp("failed", seconds, parts, error=failure.as_dict()),
                )
                raise _scorecard_error(failure, executed_score)
            manifest.record_step(project, period, "scorecard", _stamp("done", seconds, parts))
            emit(RunEvent("scorecard-done", seconds=seconds))
        timings["scorecard"] = time.perf_counter() - t

        # 2. Which packs to render: every node (or the chosen ones) whose stamp is not current.
        t = time.perf_counter()
        known = _node_ids(out)
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise ConfigError(
                f"unknown node{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                f"the nodes of {period} are: {', '.join(known)}"
            )
        selected = wanted or known
        after = manifest.read(project, period)
        optional = {
            "manual_values": out / "manual_values.csv",
            "quality": out / "quality" / "report.json",
        }
        shared = {
            **common,
            "as_of": after.get("as_of"),
            "scorecard": {
                name: fileio.sha256(out / name) for name in ("scorecard.parquet", "history.parquet")
            },
            **{k: fileio.sha256(p) if p.is_file() else None for k, p in optional.items()},
            "templates": _hash_tree(templates_dir(project)),
            "notebook": fileio.sha256(pack_nb),
        }
        tasks: list[PackTask] = []
        for node in selected:
            note = path_for(project, period, node)
            node_parts = {
                **shared,
                "node": node,
                "commentary": fileio.sha256(note) if note.is_file() else None,
            }
            pdf = default_out(project, period, node)
            executed = pdf.parent / BOARD_PACK_NOTEBOOK
            node_stamp = manifest.stamp(after, node)
            why = _stale(node_stamp, node_parts, [pdf, executed], force)
            if why is None:
                outcomes[node] = NodeOutcome(
                    node,
                    "skipped",
                    float(node_stamp.get("seconds") or 0),
                    pdf,
                    executed,
                    node_stamp,
                )
                continue
            log.info("board pack %s: rendering (%s)", node, why)
            params = {**base_params, "node": node}
            tasks.append(
                PackTask(node, pack_nb, executed, pdf, params, _stamp("done", 0, node_parts))
            )
        emit(RunEvent("plan", total=len(tasks), nodes=tuple(t.node for t in tasks)))
        for o in outcomes.values():
            emit(RunEvent("node-skipped", node=o.node, outcome=o))

        # 3. The fan-out: one board_pack.ipynb per node, in parallel; a failure stops only its node.
        if tasks:
            pool = pool or start_pool(len(tasks))
            done = 0
            for event in pool.map(render_node, tasks):
                task = tasks[event.index]
                if isinstance(event, Started):
                    emit(RunEvent("node-start", node=task.node, done=done, total=len(tasks)))
                    continue
                if isinstance(event, Finished):
                    outcome = dataclasses.replace(event.result, worker=event.worker)
                else:
                    failure = CellFailure(None, None, "", "WorkerError", event.message)
                    outcome = NodeOutcome(
                        task.node,
                        "failed",
                        0.0,
                        task.pdf,
                        task.executed,
                        task.stamp,
                        failure,
                        event.worker,
                    )
                done += 1
                outcomes[task.node] = outcome
                manifest.record_nodes(project, period, {task.node: outcome.stamp()})
                emit(
                    RunEvent(
                        "node-done", node=task.node, outcome=outcome, done=done, total=len(tasks)
                    )
                )
        timings["packs"] = time.perf_counter() - t
    manifest.record_nodes(
        project, period, {o.node: o.stamp() for o in outcomes.values() if o.status == "skipped"}
    )
    seconds = time.perf_counter() - t_run
    timings["total"] = seconds
    manifest.record_run_end(project, period, seconds=seconds, timings=timings)
    return RunResult(
        period=period,
        scorecard=score_status,
        scorecard_seconds=timings["scorecard"],
        scorecard_reason=score_reason,
        nodes=tuple(outcomes[n] for n in selected),
        manifest=manifest.path(project, period),
        seconds=seconds,
        packs_seconds=timings["packs"],
        workers=pool.workers if pool is not None else 0,
        stale_commentaries=tuple(n for n in stale_commentaries(project, period) if n in selected),
    )
