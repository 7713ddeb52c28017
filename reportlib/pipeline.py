"""Compute the scorecard: load → quality → measures → reconcile → scorecard → files (DESIGN.md "Flow of data").

Also `open_project` and `resolve_period`, which the CLI, the `run` package and the
notebook API (`reportlib.notebook`) share. Executing the notebooks is the `run` package
(`reportlib run`).
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from . import (
    audit,
    channels,
    declared,
    fileio,
    kpis,
    layout,
    lock,
    manifest,
    measures,
    periods,
    quality,
    reconcile,
    restate,
    sources,
    verbatims,
    warehouse,
)
from . import hierarchy as hier
from . import scorecard as sc
from .config import Project
from .errors import ConfigError, DataError, ReconciliationError

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
    quality: quality.QualityReport | None = None
    """The data-quality report (output/<period>/quality/report.json), see `quality/`."""
    quarantine: dict[str, Any] = field(default_factory=dict)
    """Rejected rows per table (pyarrow Tables), written as quality/<table>.rejected.csv."""
    channels: pd.DataFrame | None = None
    """KPIs by channel this month (`channels`), written as channels.parquet."""
    verbatims: pd.DataFrame | None = None
    """This month's NPS comments, redacted (`verbatims`), written as verbatims.parquet."""

    @property
    def current(self) -> pd.DataFrame:
        """The scorecard rows of the requested period."""
        return self.scorecard.period(self.period)


def _data_months(m: measures.Measures) -> tuple[int, int] | None:
    """First and last month with any counted activity at the company level."""
    f = m.frame.xs("all", level="node")
    assert isinstance(f, pd.DataFrame)
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


def check_catalogue(project: Project) -> None:
    """Every built-in KPI has a formula and every declared one reads what it can (ConfigError)."""
    kpis.check_catalogue(project.kpis)
    catalogue = str(project.settings.data_path / "kpis.yaml")
    declared.check(project.kpis, project.hierarchy.levels, catalogue)


def latest_period(src: sources.Source, cadence: periods.CadenceName = "month") -> str:
    """The latest complete period of `cadence`: month, quarter (its three months complete)
    or year to date (January to the latest complete month)."""
    month = sources.latest_complete_period(src)
    return month if cadence == "month" else periods.latest(cadence, month)


def _checked_period(
    project: Project,
    src: sources.Source,
    period: str | None,
    cadence: periods.CadenceName = "month",
) -> str:
    """`period`, or the latest complete period of `cadence`; refused when it is after the data cut-off.

    A quarter or a year to date is refused like a month when its last month is after
    the cut-off's month (DOMAIN.md §1, §8).
    """
    if period is None:
        period = latest_period(src, cadence)
        log.info("no period given: using the latest complete %s %s", cadence, period)
    last = periods.months_of(period)[1]
    as_of_month = periods.month_index(src.as_of_local.year, src.as_of_local.month)
    if last > as_of_month:
        latest = latest_period(src, periods.cadence_of(period).name)
        raise ConfigError(
            f"period {period} is after the data cut-off {src.as_of_local:%Y-%m-%d %H:%M} "
            f"({project.settings.timezone}); the latest complete "
            f"{'month' if periods.cadence_of(period).name == 'month' else 'period'} is {latest}"
        )
    return period


def _validated(
    project: Project, src: sources.Source, period: str, accept_quality: str | None
) -> quality.QualityResult:
    """The quality rules, in the warehouse for a source computed there (docs/warehouse.md)."""
    if src.remote is not None:
        return warehouse.validate(project, src, period, accept_quality)
    return quality.validate(project, src, period, accept_quality)


def validate_source(
    project: Project, src: sources.Source, period: str, accept_quality: str | None = None
) -> quality.QualityResult:
    """The quality rules (DOMAIN.md §7); a failed gate writes quality/ and then stops the run."""
    checked = _validated(project, src, period, accept_quality)
    if checked.gate_failed:
        out = layout.checked(project.settings.output_path, period)
        quality.write(out, checked.report, checked.rejected)
        quality.enforce(checked.report, out)
    return checked


def validate(
    project: Project,
    period: str | None = None,
    accept_quality: str | None = None,
    cadence: periods.CadenceName = "month",
) -> tuple[quality.QualityResult, tuple[Path, ...]]:
    """`reportlib validate`: load, apply the rules, write quality/ (the caller enforces the gate)."""
    check_catalogue(project)
    src = sources.load(project)
    period = _checked_period(project, src, period, cadence)
    checked = _validated(project, src, period, accept_quality)
    out = layout.checked(project.settings.output_path, period)
    return checked, quality.write(out, checked.report, checked.rejected)


def _with_n_reduced(
    project: Project,
    checked: quality.QualityResult,
    tree: hier.Hierarchy,
    values: dict[str, pd.DataFrame],
    month: int,
    cadence: periods.Cadence = periods.MONTH,
) -> quality.QualityResult:
    """Note KPIs whose n in `month` the quarantine cut by > 10%: the month's measures on the quarantined rows.

    With a longer cadence, `month` is the index of its period (a quarter, a year to date).
    """
    tables = checked.report.tables
    if not any(tables[t].rows_quarantined for t in (*quality.FACTS, "workforce") if t in tables):
        return checked
    dropped = measures.compute(
        checked.quarantined,
        tree,
        month,
        month,
        measures.rules(project.kpis),
        declared.queries(project.kpis, project.hierarchy.levels),
        cadence,
    )
    reduced = kpis.compute_all(project.kpis, dropped.frame, cadence)
    return quality.with_n_reduced(checked, quality.n_reduced(values, reduced, month))


def compute_scorecard(
    project: Project,
    period: str | None = None,
    accept_quality: str | None = None,
    *,
    src: sources.Source | None = None,
    cadence: periods.CadenceName = "month",
) -> ComputeResult:
    """Load and validate the data, then compute every KPI for every node and month up to `period`.

    A quarter (`2026-Q3`) or a year to date (`2026-09-YTD`) is computed the same way with
    its periods in place of months: every KPI from the raw rows of the period's months
    (DOMAIN.md §8), the trend over its earlier periods. `cadence` chooses the latest
    complete period when `period` is None.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    check_catalogue(project)
    if src is None:
        src = sources.load(project)
    timings["load"] = time.perf_counter() - t0

    period = _checked_period(project, src, period, cadence)
    each = periods.cadence_of(period)
    last = periods.index(period)
    t = time.perf_counter()
    checked = validate_source(project, src, period, accept_quality)
    src = checked.source
    timings["quality"] = time.perf_counter() - t
    trend = periods.trend_length(period, project.settings.trend_months)
    first = last - (trend - 1) - each.per_year  # a year before the trend window, for YoY deltas

    t = time.perf_counter()
    tree = hier.build(project.hierarchy, measures.combos(src, project.hierarchy.levels))
    more = declared.queries(project.kpis, project.hierarchy.levels)
    m = measures.compute(src, tree, first, last, measures.rules(project.kpis), more, each)
    timings["measures"] = time.perf_counter() - t
    span = _data_months(m)
    if span is None or span[0] > last:
        raise DataError(f"no data in or before {period}: nothing to compute")
    # Children add up to parents, and the company to the kept input rows (DOMAIN.md §2, §8).
    t = time.perf_counter()
    if each.name == "month":
        reconcile.check(src, m, tree)
    else:
        # The company totals are checked month by month against the rows in a monthly run;
        # a longer period's counts are sums over the same rows, so here: children add up.
        problems = reconcile.children_problems(m, tree)
        if problems:
            raise ReconciliationError(
                f"children do not add up to their parent ({len(problems)} cases), first: {problems[0]}"
            )
    timings["reconcile"] = time.perf_counter() - t

    t = time.perf_counter()
    values = kpis.compute_all(project.kpis, m.frame, each)
    manual = sources.manual_values(src, project.kpis, project.settings.tables.get(sources.MANUAL))
    index = m.frame.index
    assert isinstance(index, pd.MultiIndex)  # node × month
    card = sc.build(project, tree, values, index, manual, each)
    # Months before the data starts carry no information: keep the rest.
    card = sc.Scorecard(
        frame=card.frame[card.frame["period"] >= each.label(span[0])].reset_index(drop=True),
        overrides=card.overrides,
    )
    timings["scorecard"] = time.perf_counter() - t
    t = time.perf_counter()
    checked = _with_n_reduced(project, checked, tree, values, last, each)
    timings["quality"] += time.perf_counter() - t
    # What the pack shows beside the scorecard: KPIs by channel and the month's comments.
    by_channel = channels.compute(src, tree, period, measures.rules(project.kpis))
    comments = verbatims.compute(src, tree, period)
    return ComputeResult(
        period=period,
        as_of=src.as_of,
        tree=tree,
        scorecard=card,
        files=(),
        timings=timings,
        quality=checked.report,
        quarantine=checked.rejected,
        channels=by_channel,
        verbatims=comments,
    )


def _overrides_frame(overrides: tuple[sc.Override, ...]) -> pd.DataFrame:
    cols = [f.name for f in dataclasses.fields(sc.Override)]
    return pd.DataFrame([dataclasses.astuple(o) for o in overrides], columns=cols)


def write_scorecard(project: Project, result: ComputeResult) -> ComputeResult:
    """Write scorecard.csv/.parquet and history.parquet under output/<period>/ atomically.

    The CSV files (scorecard, manual values, quarantine) are spreadsheet-safe
    (`fileio.write_csv`); the Parquet files keep every value as computed.
    """
    t = time.perf_counter()
    out = layout.checked(project.settings.output_path, result.period)
    audit_log = audit.path(project.settings.output_path)
    # A cut, emptied or deleted audit log is refused before anything is written, rather than
    # continued or restarted as a fresh chain that would verify (DOMAIN.md §8). A log from
    # before heads existed passes: the append below writes its head.
    audit.check(
        audit_log,
        anchors=manifest.audit_anchors(project.settings.output_path),
        require_head=False,
    )
    current = result.scorecard.period(result.period)
    trend = periods.trend_length(result.period, project.settings.trend_months)
    history = result.scorecard.window(result.period, trend)
    # Restated figures: keep the previous files under versions/<n>/ first (DOMAIN.md §8).
    restate.keep_previous(
        out, current, audit_log, changed_files=lambda: manifest.files_changed_since(project, out)
    )
    files: tuple[Path, ...] = (
        fileio.write_csv(out.scorecard_csv, current),
        fileio.write_frame(out.scorecard_parquet, current),
        fileio.write_frame(out.history, history),
        fileio.write_csv(out.manual_values, _overrides_frame(result.scorecard.overrides)),
    )
    if result.channels is not None:
        files += (fileio.write_frame(out.channels, result.channels),)
    if result.verbatims is not None:
        files += (fileio.write_frame(out.verbatims, result.verbatims),)
    if result.quality:
        files += quality.write(out, result.quality, result.quarantine)
    audit.append(
        audit_log,
        [
            *audit.override_events(result.scorecard.overrides),
            *audit.quality_events(result.quality.to_dict() if result.quality else None),
        ],
    )
    manifest.record_audit(out, audit.current_anchor(audit_log))
    timings = {**result.timings, "write": time.perf_counter() - t}
    return dataclasses.replace(result, files=files, timings=timings)


def compute(
    project: Project,
    period: str | None = None,
    accept_quality: str | None = None,
    *,
    lock_command: str | None = None,
    cadence: periods.CadenceName = "month",
) -> ComputeResult:
    """`reportlib compute`: validate, compute and write the scorecard and quality files.

    With `lock_command` (the CLI's `compute`), the period's lock is held from before the
    first file is written to the end, so a compute never writes under a running `run`.
    Without it the caller holds the lock already (the scorecard notebook inside `run`).
    """
    if lock_command is None:
        result = compute_scorecard(project, period, accept_quality, cadence=cadence)
        return write_scorecard(project, result)
    t = time.perf_counter()
    check_catalogue(project)
    src = sources.load(project)
    loaded = time.perf_counter() - t
    period = _checked_period(project, src, period, cadence)
    out = layout.checked(project.settings.output_path, period)
    with lock.hold(out.lock, out.lock_holder, command=lock_command):
        result = compute_scorecard(project, period, accept_quality, src=src)
        result = dataclasses.replace(result, timings={**result.timings, "load": loaded})
        return write_scorecard(project, result)


# --------------------------------------------------------------------------- for the notebooks
# What scorecard.ipynb and board_pack.ipynb call; `reportlib run` (the `run` package)
# executes them.


def open_project(config: str | Path | None = None, output_dir: str | Path | None = None) -> Project:
    """The project for a notebook: `config` or the one found from the working directory."""
    from .config import load_project

    project = load_project(config)
    if output_dir is None:
        return project
    settings = project.settings.model_copy(update={"output_dir": Path(output_dir)})
    return project.model_copy(update={"settings": settings})


def resolve_period(
    project: Project,
    period: str | None,
    *,
    src: sources.Source | None = None,
    cadence: periods.CadenceName = "month",
) -> str:
    """`period`, or the latest complete period of `cadence` (a month by default) when it is None.

    With `src` (the data, already loaded) a given period is also checked against the
    data cut-off, so a caller can refuse a month after it before writing anything.
    """
    if period is not None:
        periods.check(period)
        return period if src is None else _checked_period(project, src, period)
    if src is None:
        src = sources.load(project)
    latest = latest_period(src, cadence)
    log.info("no period given: using the latest complete %s %s", cadence, latest)
    return latest


def node_ids(project: Project, src: sources.Source | None = None) -> tuple[str, ...]:
    """The node ids of the hierarchy the data makes (DOMAIN.md §2), company first."""
    if src is None:
        src = sources.load(project)
    return hier.build(project.hierarchy, measures.combos(src, project.hierarchy.levels)).ids


def check_nodes(
    project: Project, nodes: Sequence[str], *, src: sources.Source | None = None
) -> tuple[str, ...]:
    """`nodes` without repeats, once each is a node of the hierarchy; ConfigError otherwise.

    The error names the first unknown node and the closest known ids, so a typo in
    `--node` is refused in one line before anything is written.
    """
    wanted = tuple(dict.fromkeys(nodes))
    if not wanted:
        return wanted
    known = node_ids(project, src)
    unknown = [n for n in wanted if n not in known]
    if not unknown:
        return wanted
    first = unknown[0]
    close = difflib.get_close_matches(first, known, n=3, cutoff=0.5)
    hint = (
        f"did you mean {' or '.join(close)}?"
        if close
        else f"the nodes are {', '.join(known[:12])}{', ...' if len(known) > 12 else ''}"
    )
    more = f" (and {len(unknown) - 1} more unknown)" if len(unknown) > 1 else ""
    raise ConfigError(f"--node {first!r}: no such node in the hierarchy{more}; {hint}")
