"""Counted measures per node × period, one Ibis query per input table (DESIGN.md "Flow of data").

A period is a month, or with a longer cadence (`periods.Cadence`: a quarter, a year to
date) the rows of all its months grouped together: medians over the quarter's rows,
retention from the customers active at its start, never a combination of monthly figures
(DOMAIN.md §8). The frame's `month` index then holds the period's index in its cadence.

Every node's figures come from the raw rows of the customers under it (DOMAIN.md §1):
each query groups the same rows by every prefix of the hierarchy levels and unions
the results, so a parent is never an average of its children. The result is one wide
frame indexed by (node, month) whose columns are counts, sums and medians; the KPI
formulas in `kpis.py` turn them into values.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from . import hierarchy as hier
from . import kpis, periods
from .buckets import by_period, in_periods, month_bounds
from .config import TOP_BOX_DEFAULT, KpiDef
from .errors import DataError
from .hierarchy import Hierarchy
from .sources import Source

log = logging.getLogger(__name__)

# NPS cut-offs (DOMAIN.md §3); the CSAT/CES top-box cuts and the SLA rule are versioned
# parameters of their KPIs' definitions (§8), see `Rules`.
NPS_PROMOTER_MIN = 9
NPS_DETRACTOR_MAX = 6

EXACT = "decimal(38, 6)"
"""Amounts (revenue, training hours) are summed as decimals, exact to a millionth: a sum of
floats depends on the order DuckDB's threads add them, and the same inputs must give the
same bytes (DOMAIN.md §8: a restatement is a change of inputs, never of summation order)."""

ADDITIVE = (
    "customers_active_start",
    "customers_retained",
    "nps_n",
    "nps_promoters",
    "nps_detractors",
    "csat_n",
    "csat_top",
    "ces_n",
    "ces_top",
    "tickets_opened",
    "tickets_answered",
    "sla_considered",
    "sla_met",
    "tickets_resolved",
    "tickets_fcr",
    "tickets_reopened",
    "invoices",
    "revenue",
    "nrr_cohort",
    "nrr_base",
    "nrr_current",
    "headcount",
    "leavers",
    "training_hours",
    "enps_promoters",
    "enps_passives",
    "enps_detractors",
)
"""Measures that add up from children to parent exactly (checked by reconciliation)."""

MEDIANS = ("first_response_hours_median", "resolution_hours_median")

PERIOD_MONTHS = kpis.PERIOD_MONTHS
"""Column of a longer cadence's frame: months in each period, to turn the summed monthly
headcounts into the period's average headcount (`kpis.py`). Absent for months."""


@dataclass(frozen=True)
class Piecewise:
    """A definition parameter by month: `initial`, then each (month index, value) from that month on."""

    initial: object
    changes: tuple[tuple[int, object], ...] = ()

    def expr(self, month: ir.IntegerValue, value: Callable[[object], ir.Value]) -> ir.Value:
        """The parameter for each row's `month`, each value turned into an expression by `value`."""
        if not self.changes:
            return value(self.initial)
        cases = [(month >= m, value(v)) for m, v in reversed(self.changes)]
        return ibis.cases(*cases, else_=value(self.initial))


@dataclass(frozen=True)
class Rules:
    """The versioned parameters the counted measures depend on (DOMAIN.md §3, §8).

    Each is applied month by month, so a period is counted with the definition in force for it.
    """

    csat_top_box_min: Piecewise = Piecewise(TOP_BOX_DEFAULT["csat"])
    ces_top_box_min: Piecewise = Piecewise(TOP_BOX_DEFAULT["ces"])
    sla_hours: Piecewise = Piecewise(None)
    """None: each ticket's own `sla_hours`."""
    sla_met_by: Piecewise = Piecewise("first_response")


def _piecewise(k: KpiDef, name: str) -> Piecewise:
    """Parameter `name` of KPI `k` as it changes over its definition history."""
    steps = [(v, getattr(d, name)) for v, d in k.definitions()]
    changes = tuple(
        (periods.parse(v.effective_from), value)
        for (_, before), (v, value) in itertools.pairwise(steps)
        if v is not None and value != before
    )
    return Piecewise(steps[0][1], changes)


def rules(kpis: tuple[KpiDef, ...]) -> Rules:
    """The measures' rules from the KPI catalogue; KPIs not in it keep DOMAIN.md's defaults."""
    by_id = {k.id: k for k in kpis}
    found: dict[str, Piecewise] = {}
    for kpi_id in ("csat", "ces"):
        if kpi_id in by_id:
            found[f"{kpi_id}_top_box_min"] = _piecewise(by_id[kpi_id], "top_box_min")
    if "sla_compliance" in by_id:
        found["sla_hours"] = _piecewise(by_id["sla_compliance"], "sla_hours")
        found["sla_met_by"] = _piecewise(by_id["sla_compliance"], "sla_met_by")
    return Rules(**found)


@dataclass(frozen=True)
class Measures:
    """Wide frame of measures indexed by (node, month index), complete over nodes × months."""

    frame: pd.DataFrame
    first_month: int
    last_month: int
    tables: tuple[str, ...]
    cadence: periods.Cadence = periods.MONTH
    """The periods the rows were grouped by; `first_month`/`last_month` are their indexes."""


def level_value(col: ir.StringValue) -> ir.StringValue:
    trimmed = col.strip()
    return (trimmed.isnull() | (trimmed == "")).ifelse(hier.UNASSIGNED, trimmed)


def grouped(
    t: ir.Table,
    levels: tuple[str, ...],
    month: str,
    aggs: Callable[[ir.Table], dict[str, ir.Value]],
    *,
    every_level: bool = False,
) -> ir.Table:
    """Group `t` by month and the finest level (segment×region), in one scan.

    Counts and sums of the coarser nodes are added up from these groups afterwards
    (exact: sums of sums). Measures that do not add up, the medians, pass
    `every_level=True`: the rows are then grouped by every prefix of `levels`
    (all, segment, segment×region) and unioned, null standing for a rolled-up level.
    """
    depths = range(len(levels) + 1) if every_level else (len(levels),)
    parts = []
    for depth in depths:
        keys = [t[lv] for lv in levels[:depth]]
        g = t.group_by([*keys, t[month].name("month")]).aggregate(**aggs(t))
        g = g.mutate(**{lv: ibis.null().cast("string") for lv in levels[depth:]})
        parts.append(g.select(*levels, "month", *aggs(t).keys()))
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def with_levels(fact: ir.Table, customers: ir.Table, levels: tuple[str, ...]) -> ir.Table:
    cust = customers.select("customer_id", *levels)
    return fact.inner_join(cust, "customer_id")


def _surveys(
    src: Source,
    levels: tuple[str, ...],
    lo: int,
    hi: int,
    rules: Rules,
    cadence: periods.Cadence = periods.MONTH,
) -> ir.Table:
    r = with_levels(src.tables["survey_responses"], src.tables["customers"], levels)
    r = r.select(*levels, "survey", "score", "responded_at", "responded_at_month")
    r = r.filter(
        in_periods(r.responded_at_month, lo, hi, cadence),
        r.responded_at <= src.as_of,
        r.score.notnull(),
    )
    month = r.responded_at_month
    r = r.mutate(
        _csat_cut=rules.csat_top_box_min.expr(month, ibis.literal),
        _ces_cut=rules.ces_top_box_min.expr(month, ibis.literal),
    )

    def aggs(t: ir.Table) -> dict[str, ir.Value]:
        nps, csat, ces = t.survey == "nps", t.survey == "csat", t.survey == "ces"
        return {
            "nps_n": nps.sum(),
            "nps_promoters": (nps & (t.score >= NPS_PROMOTER_MIN)).sum(),
            "nps_detractors": (nps & (t.score <= NPS_DETRACTOR_MAX)).sum(),
            "csat_n": csat.sum(),
            "csat_top": (csat & (t.score >= t._csat_cut)).sum(),
            "ces_n": ces.sum(),
            "ces_top": (ces & (t.score >= t._ces_cut)).sum(),
        }

    r, period = by_period(r, "responded_at_month", cadence)
    return grouped(r, levels, period, aggs)


def _hours(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    return (later.epoch_seconds() - earlier.epoch_seconds()) / 3600.0


def _tickets(
    src: Source,
    levels: tuple[str, ...],
    lo: int,
    hi: int,
    as_of: datetime,
    rules: Rules,
    cadence: periods.Cadence = periods.MONTH,
) -> tuple[ir.Table, ...]:
    t = with_levels(src.tables["tickets"], src.tables["customers"], levels)
    cut = ibis.literal(as_of, type="timestamp")
    answered = t.first_response_at.notnull() & (t.first_response_at <= cut)
    resolved = t.resolved_at.notnull() & (t.resolved_at <= cut)
    response_h = _hours(t.first_response_at, t.opened_at)
    # DOMAIN.md §3 sla_compliance, with the rule in force for the month the ticket was opened (§8):
    # the deadline is the ticket's own sla_hours or one for all, met by first response or resolution.
    month = t.opened_at_month
    deadline_h = rules.sla_hours.expr(
        month,
        lambda h: t.sla_hours.cast("float64") if h is None else ibis.literal(float(cast(float, h))),
    )
    by_resolution = rules.sla_met_by.expr(month, lambda v: ibis.literal(v == "resolution"))
    done = by_resolution.ifelse(resolved, answered)
    done_h = by_resolution.ifelse(_hours(t.resolved_at, t.opened_at), response_h)
    t = t.mutate(
        _answered=answered,
        _response_h=answered.ifelse(response_h, ibis.null().cast("float64")),
        # Considered when done or the deadline has passed; pending ones are left out.
        _sla_considered=deadline_h.notnull()
        & (done | ((t.opened_at.epoch_seconds() + deadline_h * 3600.0) < cut.epoch_seconds())),
        _sla_met=deadline_h.notnull() & done & (done_h <= deadline_h),
        _resolved=resolved,
        _reopened=t.reopened.fill_null(False),
        _resolution_h=_hours(t.resolved_at, t.opened_at),
    )
    # Only the columns the aggregates read: the engine keeps this relation once for the
    # several groupings below (a materialised CTE), so a narrow one is a smaller one.
    t = t.select(
        *levels,
        "opened_at_month",
        "opened_at",
        "resolved_at_month",
        "contacts",
        "_answered",
        "_response_h",
        "_sla_considered",
        "_sla_met",
        "_resolved",
        "_reopened",
        "_resolution_h",
    )
    opened = t.filter(in_periods(t.opened_at_month, lo, hi, cadence), t.opened_at <= cut)
    resolved = t.filter(t._resolved, in_periods(t.resolved_at_month, lo, hi, cadence))
    opened, opened_in = by_period(opened, "opened_at_month", cadence)
    resolved, resolved_in = by_period(resolved, "resolved_at_month", cadence)
    null_i = ibis.null().cast("int64")

    def opened_counts(x: ir.Table) -> dict[str, ir.Value]:
        return {
            "tickets_opened": x.count(),
            "tickets_answered": x._answered.sum(),
            "sla_considered": x._sla_considered.sum(),
            "sla_met": x._sla_met.sum(),
            "tickets_resolved": null_i,
            "tickets_fcr": null_i,
            "tickets_reopened": null_i,
        }

    def resolved_counts(x: ir.Table) -> dict[str, ir.Value]:
        return {
            "tickets_opened": null_i,
            "tickets_answered": null_i,
            "sla_considered": null_i,
            "sla_met": null_i,
            "tickets_resolved": x.count(),
            "tickets_fcr": ((x.contacts == 1) & ~x._reopened).sum(),
            "tickets_reopened": x._reopened.sum(),
        }

    def opened_median(x: ir.Table) -> dict[str, ir.Value]:
        return {
            "first_response_hours_median": x._response_h.median(),
            "resolution_hours_median": ibis.null().cast("float64"),
        }

    def resolved_median(x: ir.Table) -> dict[str, ir.Value]:
        return {
            "first_response_hours_median": ibis.null().cast("float64"),
            "resolution_hours_median": x._resolution_h.median(),
        }

    def opened_all(x: ir.Table) -> dict[str, ir.Value]:
        return {**opened_counts(x), **opened_median(x)}

    def resolved_all(x: ir.Table) -> dict[str, ir.Value]:
        return {**resolved_counts(x), **resolved_median(x)}

    # Two attributions (opened in p, resolved in p) of one table, in one query over one
    # scan of the tickets: the medians need the raw rows of every node, so every node's
    # rows are grouped, and the counts ride along (the same integers as adding up the
    # finest groups).
    both = ibis.union(
        grouped(opened, levels, opened_in, opened_all, every_level=True),
        grouped(resolved, levels, resolved_in, resolved_all, every_level=True),
        distinct=False,
    )
    return (both,)


def _revenue(
    src: Source,
    levels: tuple[str, ...],
    lo: int,
    hi: int,
    cadence: periods.Cadence = periods.MONTH,
) -> ir.Table:
    rev = src.tables["revenue"]
    month = periods.month_index(rev.invoice_date.year(), rev.invoice_date.month())
    # A period's revenue against the same period a year earlier (DOMAIN.md §3 nrr, §8).
    year = cadence.per_year
    if cadence.name == "month":
        in_range = rev.mutate(month=month).filter(ibis._.month.between(lo - year, hi))
    else:
        in_range = rev.filter(in_periods(month, lo - year, hi, cadence)).mutate(
            month=cadence.bucket(month)
        )
    cm = in_range.group_by("customer_id", "month").aggregate(
        cur=ibis._.amount.cast(EXACT).sum(), invoices=ibis._.count()
    )
    prev = cm.select("customer_id", month=cm.month + year, base=cm.cur)
    j = cm.outer_join(prev, ["customer_id", "month"])
    j = j.select(
        customer_id=ibis.coalesce(j.customer_id, j.customer_id_right),
        month=ibis.coalesce(j.month, j.month_right),
        cur=j.cur.fill_null(0),
        invoices=j.invoices.fill_null(0),
        base=j.base,
    ).filter(ibis._.month.between(lo, hi))
    j = with_levels(j, src.tables["customers"], levels)

    def aggs(t: ir.Table) -> dict[str, ir.Value]:
        # DOMAIN.md §3 nrr: cohort = customers with (positive) revenue in p-12.
        in_cohort = t.base.notnull() & (t.base > 0)
        return {
            "invoices": t.invoices.sum(),
            "revenue": t.cur.sum(),
            "nrr_cohort": in_cohort.sum(),
            "nrr_base": in_cohort.ifelse(t.base, 0).sum(),
            "nrr_current": in_cohort.ifelse(t.cur, 0).sum(),
        }

    return grouped(j, levels, "month", aggs)


def _customers(
    src: Source,
    levels: tuple[str, ...],
    lo: int,
    hi: int,
    cadence: periods.Cadence = periods.MONTH,
) -> ir.Table:
    months = month_bounds(lo, hi, cadence)
    c = src.tables["customers"].select("customer_id", "acquired_on", "churned_on", *levels)
    x = c.cross_join(months)
    # DOMAIN.md §3 logo_retention: S = acquired before the start, not churned before it.
    in_s = (x.acquired_on < x.start) & (x.churned_on.isnull() | (x.churned_on >= x.start))
    kept = in_s & (x.churned_on.isnull() | (x.churned_on >= x.end))
    x = x.mutate(_in_s=in_s, _kept=kept)

    def aggs(t: ir.Table) -> dict[str, ir.Value]:
        return {"customers_active_start": t._in_s.sum(), "customers_retained": t._kept.sum()}

    return grouped(x, levels, "month", aggs)


def _workforce(
    src: Source,
    levels: tuple[str, ...],
    lo: int,
    hi: int,
    cadence: periods.Cadence = periods.MONTH,
) -> ir.Table:
    w = src.tables["workforce"]
    p = w.period.strip()
    w = w.mutate(
        month=periods.month_index(p.substr(0, 4).cast("int64"), p.substr(5, 2).cast("int64")),
        **{lv: level_value(w[lv]) for lv in levels},
    )
    if cadence.name == "month":
        w = w.filter(ibis._.month.between(lo, hi))
    else:
        # The monthly rows of the period's months, summed: eNPS counts add up, and the
        # headcount becomes an average in kpis.py (Σ headcount / months).
        w = w.filter(in_periods(w.month, lo, hi, cadence)).mutate(month=cadence.bucket(w.month))

    def aggs(t: ir.Table) -> dict[str, ir.Value]:
        return {
            "headcount": t.headcount.sum(),
            "leavers": t.leavers.sum(),
            "training_hours": t.training_hours.cast(EXACT).sum(),
            "enps_promoters": t.enps_promoters.sum(),
            "enps_passives": t.enps_passives.sum(),
            "enps_detractors": t.enps_detractors.sum(),
        }

    return grouped(w, levels, "month", aggs)


def _customers_levels(src: Source, levels: tuple[str, ...]) -> Source:
    """The same source with blank level values in customers mapped to 'unassigned'."""
    c = src.tables["customers"]
    c = c.mutate(**{lv: level_value(c[lv]) for lv in levels})
    return dataclasses.replace(src, tables={**src.tables, "customers": c})


def combos(src: Source, levels: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Distinct level-value combinations of customers and workforce (the tree's leaves)."""
    src = _customers_levels(src, levels)
    frames = [src.tables["customers"].select(*levels).distinct().execute()]
    if "workforce" in src.tables:
        w = src.tables["workforce"]
        frames.append(w.select(**{lv: level_value(w[lv]) for lv in levels}).distinct().execute())
    out: set[tuple[str, ...]] = set()
    for f in frames:
        out.update(tuple(str(v) for v in row) for row in f.itertuples(index=False))
    return sorted(out)


def add_up(df: pd.DataFrame, levels: tuple[str, ...]) -> pd.DataFrame:
    """Counts of every coarser node as sums of the finest groups (exact; no averages)."""
    parts = [df]
    for depth in range(len(levels)):
        keys = [*levels[:depth], "month"]
        g = df.groupby(keys, sort=False).sum(numeric_only=True, min_count=1).reset_index()
        parts.append(g.assign(**{lv: None for lv in levels[depth:]}))
    return pd.concat(parts, ignore_index=True)


def by_node(df: pd.DataFrame, tree: Hierarchy) -> pd.DataFrame:
    """Index rows of level keys (None = rolled up) by node id and month."""
    levels = tree.levels
    keys = zip(*(df[lv] for lv in levels), strict=True)
    df = df.assign(
        node=[tree.id_for_keys(tuple(None if pd.isna(v) else v for v in k)) for k in keys]
    ).drop(columns=list(levels))
    # Ticket counts come in two halves (opened / resolved): add them per node × month.
    return df.groupby(["node", "month"]).sum(min_count=1)


def collect(expr: ir.Table, tree: Hierarchy, index: pd.MultiIndex) -> pd.DataFrame:
    """Run one grouped query (see `grouped`) and index its measures by node and month.

    Groups at the finest level are added up to every coarser node, unless the query
    grouped every level itself (the medians). Missing node × month cells are NaN.
    """
    levels = tree.levels
    # Rows in a fixed order: DuckDB returns groups in any order, and the sums below
    # (coarser nodes from the finest groups) must add the same numbers in the same order.
    df = expr.execute()
    for col in df.columns.difference([*levels, "month"]):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df = df.sort_values([*levels, "month", *df.columns.difference([*levels, "month"])])
    df = df.reset_index(drop=True)
    if not any(c in MEDIANS for c in df.columns):
        df = add_up(df, levels)
    return by_node(df, tree).reindex(index)


def require_finite(wide: pd.DataFrame) -> None:
    """Refuse measures holding ±inf: no figure may rest on an impossible value.

    The quality rules (DOMAIN.md §7 non_finite, sla_range, workforce_range) quarantine
    the inputs that could make one; this is the backstop, naming the first measure,
    node and month, so a run never ends well with an infinite figure.
    """
    numbers = wide.select_dtypes("number")
    bad = np.isinf(numbers.to_numpy(dtype="float64"))
    if not bad.any():
        return
    row, col = (int(i[0]) for i in np.nonzero(bad))
    node, month = numbers.index[row]
    name = str(numbers.columns[col])
    value = float(numbers.to_numpy(dtype="float64")[row, col])
    raise DataError(
        f"measure {name} is {value} for node {node} in {periods.label(int(month))}: "
        "an input value is not a finite number; refusing to compute figures from it"
    )


More = Callable[[Source, int, int], Sequence[ir.Table]]
"""More grouped queries (see `grouped`) of counts and sums, e.g. the declared KPIs' measures
(`declared.queries`): given the source (customers' levels mapped) and the month range."""


def compute(
    src: Source,
    tree: Hierarchy,
    first_month: int,
    last_month: int,
    rules: Rules | None = None,
    more: More | None = None,
    cadence: periods.Cadence = periods.MONTH,
) -> Measures:
    """Run one query per table for months [first_month, last_month] and all nodes.

    `rules` are the versioned definition parameters (see `rules()`); None means DOMAIN.md's defaults.
    `more`: further queries of additive measures (a node × month without rows is 0).
    `cadence`: with a quarter or a year to date, first_month and last_month are period
    indexes of that cadence and every measure is counted over a period's rows (`more`,
    the declared KPIs' monthly queries, is then not run: they are monthly only).
    """
    rules = rules or Rules()
    levels = tree.levels
    src = _customers_levels(src, levels)
    lo, hi = first_month, last_month
    c = cadence
    queries = {
        "customers": lambda: (_customers(src, levels, lo, hi, c),),
        "survey_responses": lambda: (_surveys(src, levels, lo, hi, rules, c),),
        "tickets": lambda: _tickets(src, levels, lo, hi, src.as_of, rules, c),
        "revenue": lambda: (_revenue(src, levels, lo, hi, c),),
        "workforce": lambda: (_workforce(src, levels, lo, hi, c),),
    }
    if c.name != "month":
        more = None
    index = pd.MultiIndex.from_product(
        [list(tree.ids), list(range(lo, hi + 1))], names=["node", "month"]
    )
    wide = pd.DataFrame(index=index)
    used = []
    for table, build in queries.items():
        if table not in src.tables:
            continue
        used.append(table)
        for expr in build():
            for col, series in collect(expr, tree, index).items():
                wide[col] = series.fillna(0) if col in ADDITIVE else series
    for expr in more(src, lo, hi) if more else ():
        for col, series in collect(expr, tree, index).items():
            wide[col] = series.fillna(0)
    if c.name != "month":
        wide[PERIOD_MONTHS] = float(c.months)
    require_finite(wide)
    unit = "months" if c.name == "month" else f"{c.name} periods"
    log.info(
        "measures: %d nodes × %d %s from %s", len(tree.ids), hi - lo + 1, unit, ", ".join(used)
    )
    return Measures(frame=wide, first_month=lo, last_month=hi, tables=tuple(used), cadence=c)
