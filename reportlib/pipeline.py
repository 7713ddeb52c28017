"""The monthly job's steps in order: load → measures → scorecard → files (DESIGN.md "Flow of data")."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from . import audit, fileio, kpis, measures, periods, quality, restate, sources
from . import hierarchy as hier
from . import scorecard as sc
from .config import Project, load_manual_values
from .errors import (
    ConfigError,
    DataError,
    NotebookExecutionError,
    ReconciliationError,
    ReportlibError,
)
from .executor import Executor, Finished, LocalExecutor, Started, available_cores

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComputeResult:
    """What `compute` produced: the scorecard, the tree, the files and how long each step took."""

    period: str
    as_of: datetime
    tree: hier.Hierarchy
    scorecard: sc.Scorecard
    files: tuple[Path, ...]
    timings: dict[str, float] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    """The data-quality report (output/<period>/quality/report.json), see `quality.py`."""
    quarantine: dict[str, Any] = field(default_factory=dict)
    """Rejected rows per table (pyarrow Tables), written as quality/<table>.rejected.csv."""

    @property
    def current(self) -> pd.DataFrame:
        """The scorecard rows of the requested period."""
        return self.scorecard.period(self.period)


def _data_months(m: measures.Measures) -> tuple[int, int] | None:
    """First and last month with any counted activity at the company level."""
    f = m.frame.xs("all", level="node")
    cols = [
        c
        for c in measures.ADDITIVE
        if c in f.columns and c not in ("customers_active_start", "customers_retained")
    ]
    active = f[cols].abs().sum(axis=1)
    months = active[active > 0].index
    if len(months) == 0:
        return None
    return int(months.min()), int(months.max())


def _checked_period(project: Project, src: sources.Source, period: str | None) -> str:
    """`period`, or the latest complete month; refused when it is after the data cut-off."""
    if period is None:
        period = sources.latest_complete_period(src)
        log.info("no period given: using the latest complete month %s", period)
    last = periods.parse(period)
    as_of_month = src.as_of_local.year * 12 + src.as_of_local.month - 1
    if last > as_of_month:
        raise ConfigError(
            f"period {period} is after the data cut-off {src.as_of_local:%Y-%m-%d %H:%M} "
            f"({project.settings.timezone}); the latest complete month is {sources.latest_complete_period(src)}"
        )
    return period


def validate_source(
    project: Project, src: sources.Source, period: str, accept_quality: str | None = None
) -> quality.QualityResult:
    """The quality rules (DOMAIN.md §7); a failed gate writes quality/ and then stops the run."""
    checked = quality.validate(project, src, period, accept_quality)
    if checked.gate_failed:
        qdir = project.settings.period_dir(period) / "quality"
        quality.write(qdir, checked.report, checked.rejected)
        quality.enforce(checked, qdir)
    return checked


def validate(
    project: Project, period: str | None = None, accept_quality: str | None = None
) -> tuple[quality.QualityResult, tuple[Path, ...]]:
    """`reportlib validate`: load, apply the rules, write quality/ (the caller enforces the gate)."""
    src = sources.load(project)
    period = _checked_period(project, src, period)
    checked = quality.validate(project, src, period, accept_quality)
    qdir = project.settings.period_dir(period) / "quality"
    return checked, quality.write(qdir, checked.report, checked.rejected)


def _with_n_reduced(
    project: Project,
    checked: quality.QualityResult,
    tree: hier.Hierarchy,
    values: dict[str, pd.DataFrame],
    month: int,
) -> quality.QualityResult:
    """Note KPIs whose n in `month` the quarantine cut by > 10%: the month's measures on the quarantined rows."""
    tables = checked.report["tables"]
    if not any(tables[t]["rows_quarantined"] for t in (*quality.FACTS, "workforce") if t in tables):
        return checked
    dropped = measures.compute(checked.quarantined, tree, month, month)
    return quality.with_n_reduced(
        checked, quality.n_reduced(values, kpis.compute_all(project.kpis, dropped.frame), month)
    )


SURVEY_COUNTS = ("nps_n", "csat_n", "ces_n")


def survey_total_problem(src: sources.Source, m: measures.Measures) -> str | None:
    """The company's survey counts against the kept rows they come from (DOMAIN.md §2, §8).

    Σ nps_n + csat_n + ces_n of node `all` over the computed months must equal the kept
    (post-quarantine) nps/csat/ces responses with a score, of a known customer, answered
    within those months and not after the cut-off. Returns the mismatch, or None.
    """
    r = src.tables["survey_responses"]
    known = src.tables["customers"].select("customer_id").distinct()
    rows = r.filter(
        r.responded_at_month.between(m.first_month, m.last_month),
        r.responded_at <= src.as_of,
        r.score.notnull(),
        r.survey.isin(("nps", "csat", "ces")),
        r.customer_id.isin(known.customer_id),
    )
    expected = int(rows.count().execute())
    company = m.frame.xs("all", level="node")
    counted = int(company[[c for c in SURVEY_COUNTS if c in company.columns]].to_numpy().sum())
    if counted == expected:
        return None
    return f"company survey counts add up to {counted} but {expected} kept responses fall in the months computed"


def compute_scorecard(
    project: Project, period: str | None = None, accept_quality: str | None = None
) -> ComputeResult:
    """Load and validate the data, then compute every KPI for every node and month up to `period`."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    kpis.check_catalogue(project.kpis)
    src = sources.load(project)
    timings["load"] = time.perf_counter() - t0

    period = _checked_period(project, src, period)
    last = periods.parse(period)
    t = time.perf_counter()
    checked = validate_source(project, src, period, accept_quality)
    src = checked.source
    timings["quality"] = time.perf_counter() - t
    trend = project.settings.trend_months
    first = last - (trend - 1) - 12  # a year before the trend window, for YoY deltas

    t = time.perf_counter()
    tree = hier.build(project.hierarchy, measures.combos(src, project.hierarchy.levels))
    m = measures.compute(src, tree, first, last)
    timings["measures"] = time.perf_counter() - t
    span = _data_months(m)
    if span is None or span[0] > last:
        raise DataError(f"no data in or before {period}: nothing to compute")
    problems = measures.reconcile(m, tree)
    if problems:
        raise ReconciliationError(
            f"children do not add up to their parent ({len(problems)} cases), first: {problems[0]}"
        )
    if "survey_responses" in m.tables and (problem := survey_total_problem(src, m)):
        raise ReconciliationError(problem)

    t = time.perf_counter()
    values = kpis.compute_all(project.kpis, m.frame)
    manual = load_manual_values(_manual_values_path(project), project.kpis)
    card = sc.build(project, tree, values, m.frame.index, manual)
    # Months before the data starts carry no information: keep the rest.
    card = sc.Scorecard(
        frame=card.frame[card.frame["period"] >= periods.label(span[0])].reset_index(drop=True),
        overrides=card.overrides,
    )
    timings["scorecard"] = time.perf_counter() - t
    t = time.perf_counter()
    checked = _with_n_reduced(project, checked, tree, values, last)
    timings["quality"] += time.perf_counter() - t
    return ComputeResult(
        period=period,
        as_of=src.as_of,
        tree=tree,
        scorecard=card,
        files=(),
        timings=timings,
        quality=checked.report,
        quarantine=checked.rejected,
    )


def _manual_values_path(project: Project) -> Path:
    src = project.settings.source
    if "://" in src or src.endswith(".duckdb"):
        return project.settings.data_path / "kpi_values.csv"
    return project.settings.path(src) / "kpi_values.csv"


def _overrides_frame(overrides: tuple[sc.Override, ...]) -> pd.DataFrame:
    cols = [f.name for f in dataclasses.fields(sc.Override)]
    return pd.DataFrame([dataclasses.astuple(o) for o in overrides], columns=cols)


def write_scorecard(project: Project, result: ComputeResult) -> ComputeResult:
    """Write scorecard.csv/.parquet and history.parquet under output/<period>/ atomically."""
    t = time.perf_counter()
    out = project.settings.period_dir(result.period)
    current = result.scorecard.period(result.period)
    history = result.scorecard.window(result.period, project.settings.trend_months)
    # Restated figures: keep the previous files under versions/<n>/ first (DOMAIN.md §8).
    restate.keep_previous(out, result.period, current, audit.path(project.settings.output_path))
    files = (
        fileio.write_frame(out / "scorecard.csv", current),
        fileio.write_frame(out / "scorecard.parquet", current),
        fileio.write_frame(out / "history.parquet", history),
        fileio.write_frame(out / "manual_values.csv", _overrides_frame(result.scorecard.overrides)),
    )
    if result.quality:
        files += quality.write(out / "quality", result.quality, result.quarantine)
    audit.append(
        audit.path(project.settings.output_path),
        [
            *audit.override_events(result.scorecard.overrides),
            *audit.quality_events(result.quality),
        ],
    )
    timings = {**result.timings, "write": time.perf_counter() - t}
    return ComputeResult(
        period=result.period,
        as_of=result.as_of,
        tree=result.tree,
        scorecard=result.scorecard,
        files=files,
        timings=timings,
        quality=result.quality,
        quarantine=result.quarantine,
    )


def compute(
    project: Project, period: str | None = None, accept_quality: str | None = None
) -> ComputeResult:
    """`reportlib compute`: validate, compute and write the scorecard and quality files."""
    return write_scorecard(project, compute_scorecard(project, period, accept_quality))


# --------------------------------------------------------------------------- notebooks and `reportlib run`
# The monthly job as the reporting lead runs it: scorecard.ipynb once (it calls `compute`),
# then board_pack.ipynb once per node on the executor's workers, each worker keeping one
# warm kernel. Executed notebooks, PDFs and manifest.json land under output/<period>/.

SCORECARD_NOTEBOOK = "scorecard.ipynb"
BOARD_PACK_NOTEBOOK = "board_pack.ipynb"
REPO_NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
KERNEL_NAME = "python3"
WARM_IMPORTS = "import reportlib.charts, reportlib.commentary, reportlib.pipeline, reportlib.render"
"""Run once in each worker's kernel so the board-pack notebooks find these modules imported."""

_RESET = "get_ipython().reset(new_session=True)"
"""Between two notebooks in one kernel: an empty namespace and execution counts from 1."""

_ENGINE = "reportlib-session"
SCORECARD_OUTPUTS = ("scorecard.csv", "scorecard.parquet", "history.parquet")


def open_project(config: str | Path | None = None, output_dir: str | Path | None = None) -> Project:
    """The project for a notebook: `config` or the one found from the working directory."""
    from .config import load_project

    project = load_project(config)
    if output_dir is None:
        return project
    settings = project.settings.model_copy(update={"output_dir": Path(output_dir)})
    return project.model_copy(update={"settings": settings})


def resolve_period(project: Project, period: str | None) -> str:
    """`period`, or the latest complete month of the data when it is None."""
    if period is not None:
        periods.parse(period)
        return period
    latest = sources.latest_complete_period(sources.load(project))
    log.info("no period given: using the latest complete month %s", latest)
    return latest


def pack_period(project: Project, period: str | None) -> str:
    """The period a board pack is for; computes the scorecard first when it is not on disk yet."""
    period = resolve_period(project, period)
    out = project.settings.period_dir(period)
    if not all((out / name).is_file() for name in SCORECARD_OUTPUTS):
        log.info("no scorecard for %s yet: computing it", period)
        scorecard_step(project, period)
    return period


def scorecard_step(
    project: Project, period: str | None = None, accept_quality: str | None = None
) -> ComputeResult:
    """Compute and write the scorecard files, and record the computation in manifest.json."""
    from . import manifest

    t = time.perf_counter()
    result = compute(project, period, accept_quality)
    manifest.record_compute(project, result, seconds=time.perf_counter() - t)
    return result


def summary_table(project: Project, current: pd.DataFrame) -> pd.DataFrame:
    """Nodes × perspective scores, overall score and status for one period (as in `reportlib compute`)."""
    scores = current[current["kpi"].str.startswith("score:")]
    wide = scores.pivot_table(
        index="node", columns="kpi", values="value", aggfunc="first", dropna=False
    )
    status = scores[scores["kpi"] == "score:overall"].set_index("node")["status"]
    names = current.drop_duplicates("node").set_index("node")["node_name"]
    order = list(dict.fromkeys(current["node"]))
    columns = {f"score:{p.id}": p.name for p in project.hierarchy.perspectives}
    columns["score:overall"] = "Overall"
    table = wide.reindex(index=order, columns=list(columns)).rename(columns=columns).round(1)
    table.insert(0, "node", names.reindex(order))
    table["status"] = status.reindex(order)
    table.index.name = "id"
    table.columns.name = None
    return table


def quality_summary(project: Project, period: str) -> tuple[str, pd.DataFrame] | None:
    """The quality gate's outcome and rows in/kept/quarantined per table (None without a report)."""
    import json

    path = project.settings.period_dir(period) / "quality" / "report.json"
    if not path.is_file():
        return None
    report = json.loads(path.read_text(encoding="utf-8"))
    gate = report.get("gate") or {}
    rows = []
    for name, t in (report.get("tables") or {}).items():
        if isinstance(t, dict):
            share = t.get("reject_share")
            rows.append(
                {
                    "table": name,
                    "rows in": t.get("rows_in"),
                    "kept": t.get("rows_kept"),
                    "quarantined": t.get("rows_quarantined"),
                    "share %": None if share is None else round(100 * float(share), 2),
                    "by rule": ", ".join(
                        f"{r} {n}" for r, n in (t.get("by_rule") or {}).items() if n
                    ),
                }
            )
    outcome = "passed" if gate.get("passed") else "overridden" if gate.get("accepted") else "failed"
    reason = f": {gate['reason']}" if gate.get("reason") else ""
    limit = gate.get("max_reject_share")
    limit_text = "" if limit is None else f" (limit {100 * float(limit):g}% quarantined per table)"
    tables = pd.DataFrame(rows).set_index("table") if rows else pd.DataFrame()
    return f"quality gate {outcome}{reason}{limit_text}", tables


def notebook_path(project: Project, name: str) -> Path:
    """A notebook from the project's own notebooks/ folder, else reportlib's."""
    for folder in (project.settings.root / "notebooks", REPO_NOTEBOOKS):
        if (folder / name).is_file():
            return folder / name
    raise ConfigError(
        f"notebook {name} not found in {project.settings.root / 'notebooks'} or {REPO_NOTEBOOKS}"
    )


@dataclass(frozen=True)
class CellFailure:
    """Where a notebook failed: cell index and first source line, and the error (like papermill's)."""

    cell_index: int | None
    execution_count: int | None
    source: str
    ename: str
    evalue: str

    def describe(self) -> str:
        where = "" if self.cell_index is None else f"cell {self.cell_index}"
        if self.execution_count is not None:
            where += f" (In [{self.execution_count}])"
        if self.source:
            where += f" `{self.source}`"
        what = f"{self.ename}: {self.evalue}" if self.evalue else self.ename
        return f"{where.strip()}: {what}" if where else what

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _first_line(source: str, width: int = 100) -> str:
    line = next(
        (s.strip() for s in source.splitlines() if s.strip() and not s.strip().startswith("#")), ""
    )
    return line if len(line) <= width else line[: width - 1] + "…"


def _failure(e: BaseException) -> CellFailure:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(e, PapermillExecutionError):
        return CellFailure(
            cell_index=e.cell_index,
            execution_count=e.exec_count,
            source=_first_line(e.source or ""),
            ename=str(e.ename),
            evalue=" ".join(str(e.evalue).split()),
        )
    return CellFailure(None, None, "", type(e).__name__, " ".join(str(e).split()))


@functools.cache
def _session_engine() -> type:
    """A papermill engine that runs in an open kernel through an open client, and leaves both open."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine

    class SessionEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name: str,
            log_output: bool = False,
            stdout_file=None,
            stderr_file=None,
            start_timeout: float = 60,
            execution_timeout: float | None = None,
            km=None,
            kc=None,
            **_kwargs: object,
        ):
            client = PapermillNotebookClient(
                nb_man,
                km=km,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logging.getLogger("papermill"),
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client.kc = kc  # nbclient then neither starts a client nor stops the kernel
            return client.execute()

    return SessionEngine


class KernelSession:
    """One Jupyter kernel, and one client to it, that run notebooks one after another.

    Warm (default): the kernel stays up, `warm` code runs once (imports), and the
    namespace is reset before each notebook. Fresh: a new kernel for each notebook.
    """

    def __init__(
        self,
        cwd: Path,
        *,
        fresh: bool = False,
        warm: str | None = None,
        kernel_name: str = KERNEL_NAME,
        startup_timeout: float = 120,
    ) -> None:
        self.cwd = Path(cwd)
        self.fresh = fresh
        self.warm = warm
        self.kernel_name = kernel_name
        self.startup_timeout = startup_timeout
        self._km = None
        self._kc = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._used = False

    def __enter__(self) -> KernelSession:
        from papermill.engines import papermill_engines

        papermill_engines.register(_ENGINE, _session_engine())
        self._tmp = tempfile.TemporaryDirectory(prefix="reportlib-kernel-")
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stop()
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def _start(self) -> None:
        try:
            self._launch()
        except Exception as e:
            self._stop()
            raise NotebookExecutionError(
                f"could not start the Jupyter kernel {self.kernel_name!r}: {type(e).__name__}: {e}",
                kernel=self.kernel_name,
            ) from e
        if self.warm and not self.fresh:
            self._silent(self.warm, check=False)

    def _launch(self) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        assert self._tmp is not None
        # IPC sockets in a private folder: no TCP ports, nothing left in the working directory.
        km = AsyncKernelManager(
            kernel_name=self.kernel_name, transport="ipc", ip=str(Path(self._tmp.name) / "k")
        )
        self._km = km
        run_sync(km.start_kernel)(
            cwd=str(self.cwd), extra_arguments=["--HistoryManager.hist_file=:memory:"]
        )
        kc = km.client()
        kc.start_channels()
        self._kc = kc
        run_sync(kc.wait_for_ready)(timeout=self.startup_timeout)
        kc.allow_stdin = False
        self._used = False

    def _stop(self) -> None:
        from jupyter_core.utils import run_sync

        km, kc, self._km, self._kc = self._km, self._kc, None, None
        if kc is not None:
            kc.stop_channels()
        if km is None:
            return
        try:
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=True)
        except Exception as e:  # a kernel that will not stop must not hide the run's outcome
            log.warning("kernel shutdown: %s", e)
        finally:
            run_sync(km.cleanup_resources)()

    def _silent(self, code: str, *, check: bool = True) -> None:
        from jupyter_core.utils import run_sync

        kc = self._kc

        async def go() -> dict:
            msg_id = kc.execute(code, silent=True, store_history=False)
            while True:
                reply = await kc.get_shell_msg(timeout=self.startup_timeout)
                if reply["parent_header"].get("msg_id") == msg_id:
                    return reply

        content = run_sync(go)().get("content", {})
        if content.get("status") != "ok":
            message = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"
            if check:
                raise RuntimeError(f"kernel set-up failed: {message}")
            log.warning(
                "kernel warm-up failed (%s); the notebook will show the real error", message
            )

    def _prepare(self) -> None:
        from jupyter_core.utils import run_sync

        if self._km is None or not run_sync(self._km.is_alive)():
            log.warning("the kernel is gone: starting a new one")
            self._stop()
            self._start()
        elif self._used and self.fresh:
            self._stop()
            self._start()
        elif not self.fresh and (self._used or self.warm):
            self._silent(_RESET)
        self._used = True

    def execute(
        self, notebook: Path, output: Path, parameters: dict[str, object]
    ) -> CellFailure | None:
        """Run `notebook` with `parameters` and save it executed at `output`; the failure, if any.

        The executed notebook, a failed one too, replaces `output` atomically once complete.
        """
        import papermill

        t = time.perf_counter()
        self._prepare()
        log.debug("kernel ready for %s in %.2fs", output, time.perf_counter() - t)
        output.parent.mkdir(parents=True, exist_ok=True)
        # papermill writes the file itself (and wants the .ipynb suffix): a fresh hidden name.
        tmp = output.with_name(f".{output.stem}.{secrets.token_hex(6)}.ipynb")
        failure = None
        try:
            papermill.execute_notebook(
                str(notebook),
                str(tmp),
                parameters=parameters,
                engine_name=_ENGINE,
                kernel_name=self.kernel_name,
                progress_bar=False,
                km=self._km,
                kc=self._kc,
            )
        except Exception as e:  # any failure is the notebook's outcome, reported per node
            failure = _failure(e)
        try:
            if tmp.is_file():
                os.replace(tmp, output)
        finally:
            tmp.unlink(missing_ok=True)
        log.debug("executed %s in %.2fs", output, time.perf_counter() - t)
        return failure


def _kernel_session(cwd: Path, fresh: bool) -> KernelSession:
    return KernelSession(cwd, fresh=fresh, warm=WARM_IMPORTS)


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
            session = functools.partial(_kernel_session, root, fresh_kernels)
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
            with KernelSession(root) as kernel:
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
