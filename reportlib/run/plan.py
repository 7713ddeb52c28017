"""What a run must do, and why: the scorecard step and the board packs that are not current.

A step is current when its stamp in manifest.json says it succeeded, the fingerprint of
its named inputs (data, configuration, code, notebook, templates, commentary, ...) is the
one recorded, and its outputs are on disk. Otherwise `stale` says why it must run, and
that reason is what the CLI and the log show ("forced", "changed: data, code", ...).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import (
    commentary,
    fileio,
    hierarchy,
    layout,
    logformat,
    manifest,
    periods,
    pipeline,
    resources,
    sources,
)
from ..config import Project
from ..errors import ConfigError
from ..layout import PeriodOutput
from .events import NodeOutcome, StepStatus
from .executor import SessionFactory, available_cores
from .kernel import KernelSession, worker_session

log = logging.getLogger(__name__)


def notebook(project: Project, name: str) -> Path:
    """A notebook from the project's own notebooks/ folder, else reportlib's."""
    try:
        return resources.find(project.settings.root, "notebooks", name)
    except FileNotFoundError as e:
        raise ConfigError(str(e)) from None


@dataclass(frozen=True)
class RunOptions:
    """A run's request, resolved: the period's layout, the notebooks, workers and switches."""

    project: Project
    out: PeriodOutput
    nodes: tuple[str, ...]
    """The nodes asked for, in order, without repeats; () for every node."""
    workers: int
    force: bool
    accept_quality: str | None
    fresh_kernels: bool
    cell_timeout: int | None
    scorecard_notebook: Path
    pack_notebook: Path
    common: Mapping[str, object]
    """The inputs every step's fingerprint includes: period, code, the figures' configuration
    (not distribution.yaml nor `[smtp]`: no pack shows them), output folder."""

    @property
    def period(self) -> str:
        return self.out.period

    def parameters(self) -> dict[str, object]:
        """The run's parameters as manifest.json records them."""
        return {
            "period": self.period,
            "nodes": list(self.nodes) or "all",
            "workers": self.workers,
            "force": self.force,
            "accept_quality": self.accept_quality,
            "fresh_kernels": self.fresh_kernels,
            "config": str(self.project.config_file),
            "output_dir": str(self.project.settings.output_path),
        }

    def notebook_parameters(self) -> dict[str, object]:
        """The papermill parameters both notebooks take."""
        return {
            "period": self.period,
            "config": str(self.project.config_file),
            "output_dir": str(self.project.settings.output_path),
        }

    def worker_session(self) -> SessionFactory:
        """What each pack worker opens once: a warm kernel (picklable: a partial of a module
        function), after logging as this process does (a spawned worker starts without)."""
        return functools.partial(
            logged_worker_session,
            logging.getLogger().getEffectiveLevel(),
            self.project.settings.root,
            self.fresh_kernels,
            self.cell_timeout,
        )


def logged_worker_session(
    level: int, cwd: Path, fresh: bool, cell_timeout: int | None
) -> KernelSession:
    """A pack worker's session, its log lines timestamped like the parent's, at `level`."""
    logformat.configure(level)
    return worker_session(cwd, fresh, cell_timeout)


def resolve(
    project: Project,
    period: str | None,
    *,
    nodes: Sequence[str] | None,
    workers: int | None,
    force: bool,
    accept_quality: str | None,
    fresh_kernels: bool,
    cadence: periods.CadenceName = "month",
) -> RunOptions:
    """The run's options: the period (latest complete period of `cadence` if None), workers, notebooks.

    Everything asked for is checked here, before the run takes the lock or touches the
    manifest: the period (a real month, not after the data cut-off), each node (one of the
    hierarchy's, else a one-line error naming close matches), the worker count and the
    notebooks. A typo therefore leaves output/ exactly as it was, "finished" mark included.
    """
    settings = project.settings
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: give at least 1")
    if period is not None:
        periods.check(period)
    src = sources.load(project)
    period = pipeline.resolve_period(project, period, src=src, cadence=cadence)
    asked = pipeline.check_nodes(project, nodes or (), src=src)
    commentary.check_folder(project)
    commentary.check_period(project, period)
    return RunOptions(
        project=project,
        out=PeriodOutput(settings.output_path, period),
        nodes=asked,
        workers=workers or settings.workers or available_cores(),
        force=force,
        accept_quality=accept_quality,
        fresh_kernels=fresh_kernels,
        cell_timeout=settings.cell_timeout_seconds,
        scorecard_notebook=notebook(project, layout.SCORECARD_NOTEBOOK),
        pack_notebook=notebook(project, layout.BOARD_PACK_NOTEBOOK),
        common={
            "period": period,
            "code": manifest.code_fingerprint(),
            "config": manifest.figure_config(project),
            "output_dir": str(settings.output_path),
        },
    )


# --------------------------------------------------------------------------- stamps


def stale(
    stamp: Mapping[str, object],
    parts: Mapping[str, object],
    outputs: Sequence[Path],
    force: bool,
) -> str | None:
    """Why a step must run again (None when it is current): forced, failed, inputs changed, outputs missing."""
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


def stamp(
    status: StepStatus, seconds: float, parts: Mapping[str, object], **extra: object
) -> dict[str, object]:
    """A step's record for manifest.json: status, seconds, the fingerprint and digests of its inputs."""
    return {
        "status": status,
        "seconds": round(seconds, 3),
        "fingerprint": manifest.fingerprint(parts),
        "inputs": manifest.input_digests(parts),
        **extra,
    }


def hash_tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` by relative path (no caches, no hidden files)."""
    if not folder.is_dir():
        return {}
    return {
        f.relative_to(folder).as_posix(): fileio.sha256(f)
        for f in sorted(folder.rglob("*"))
        if f.is_file() and "__pycache__" not in f.parts and not f.name.startswith(".")
    }


# --------------------------------------------------------------------------- the scorecard step


def scorecard_inputs(options: RunOptions) -> dict[str, object]:
    """What the scorecard step's outputs depend on: data, configuration, code, notebook, override."""
    project = options.project
    return {
        **options.common,
        "data": manifest.hash_files(manifest.input_files(project), project.settings.root),
        "notebook": fileio.sha256(options.scorecard_notebook),
        "accept_quality": options.accept_quality,
    }


def scorecard_outputs(out: PeriodOutput) -> list[Path]:
    """The files the scorecard step must leave: its executed notebook and the figures."""
    return [out.scorecard_notebook, *out.scorecard_files]


# --------------------------------------------------------------------------- the packs


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
    reason: str
    """Why it is rendered: "not run before", "changed: commentary", ..."""


@dataclass(frozen=True)
class PackPlan:
    """The board packs of a run: the nodes selected, those to render and those already current."""

    selected: tuple[str, ...]
    tasks: tuple[PackTask, ...]
    skipped: tuple[NodeOutcome, ...]


def selected_nodes(options: RunOptions) -> tuple[str, ...]:
    """The nodes asked for (all of the computed scorecard's by default); ConfigError for unknown ones."""
    known = options.out.nodes()
    unknown = [n for n in options.nodes if n not in known]
    if unknown:
        raise ConfigError(
            f"unknown node{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the nodes of {options.period} are: {hierarchy.known_nodes(known, unknown)}"
        )
    return options.nodes or tuple(known)


def pack_inputs(options: RunOptions, recorded: manifest.Manifest | None) -> dict[str, object]:
    """What every node's pack depends on: the figures, quality report, templates and notebook."""
    from ..render import templates_dir  # weasyprint and matplotlib: only when packs are planned

    out = options.out
    optional = {"manual_values": out.manual_values, "quality": out.quality_report}
    return {
        **options.common,
        "as_of": recorded.as_of if recorded is not None else None,
        "scorecard": {p.name: fileio.sha256(p) for p in (out.scorecard_parquet, out.history)},
        **{k: fileio.sha256(p) if p.is_file() else None for k, p in optional.items()},
        "templates": hash_tree(templates_dir(options.project)),
        "notebook": fileio.sha256(options.pack_notebook),
    }


def plan_packs(options: RunOptions, recorded: manifest.Manifest | None) -> PackPlan:
    """Every selected node whose pack is not current becomes a task; the others are skipped."""
    from ..commentary import path_for

    out = options.out
    selected = selected_nodes(options)
    shared = pack_inputs(options, recorded)
    tasks: list[PackTask] = []
    skipped: list[NodeOutcome] = []
    for node in selected:
        note = path_for(options.project, options.period, node)
        parts = {
            **shared,
            "node": node,
            "commentary": fileio.sha256(note) if note.is_file() else None,
        }
        pdf, executed = out.pack_pdf(node), out.executed_notebook(node)
        node_stamp = manifest.stamp(recorded, node)
        why = stale(node_stamp, parts, [pdf, executed], options.force)
        if why is None:
            seconds = float(node_stamp.get("seconds") or 0)
            skipped.append(NodeOutcome(node, "skipped", seconds, pdf, executed, node_stamp))
            continue
        log.info("board pack %s: rendering (%s)", node, why)
        params = {**options.notebook_parameters(), "node": node}
        done = stamp("done", 0, parts)
        tasks.append(PackTask(node, options.pack_notebook, executed, pdf, params, done, why))
    return PackPlan(selected, tuple(tasks), tuple(skipped))
