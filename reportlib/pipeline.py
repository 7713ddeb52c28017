"""The monthly job's steps in order: load → measures → scorecard → files (DESIGN.md "Flow of data")."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from . import fileio, kpis, measures, periods, sources
from . import hierarchy as hier
from . import scorecard as sc
from .config import Project, load_manual_values
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

    @property
    def current(self):  # -> pd.DataFrame
        return self.scorecard.period(self.period)


def _data_months(m: measures.Measures) -> tuple[int, int] | None:
    """First and last month with any counted activity at the company level."""
    f = m.frame.xs("all", level="node")
    cols = [c for c in measures.ADDITIVE if c in f.columns and c not in ("customers_active_start", "customers_retained")]
    active = f[cols].abs().sum(axis=1)
    months = active[active > 0].index
    if len(months) == 0:
        return None
    return int(months.min()), int(months.max())


def compute_scorecard(project: Project, period: str | None = None) -> ComputeResult:
    """Load the data and compute every KPI for every node and month up to `period`."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    kpis.check_catalogue(project.kpis)
    src = sources.load(project)
    timings["load"] = time.perf_counter() - t0

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
    return ComputeResult(period=period, as_of=src.as_of, tree=tree, scorecard=card, files=(), timings=timings)


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
    files = (
        fileio.write_frame(out / "scorecard.csv", current),
        fileio.write_frame(out / "scorecard.parquet", current),
        fileio.write_frame(out / "history.parquet", history),
        fileio.write_frame(out / "manual_values.csv", _overrides_frame(result.scorecard.overrides)),
    )
    timings = {**result.timings, "write": time.perf_counter() - t}
    return ComputeResult(
        period=result.period,
        as_of=result.as_of,
        tree=result.tree,
        scorecard=result.scorecard,
        files=files,
        timings=timings,
    )


def compute(project: Project, period: str | None = None) -> ComputeResult:
    """`reportlib compute`: compute and write the scorecard files."""
    return write_scorecard(project, compute_scorecard(project, period))
