"""Reconciliation of every run's counts (DOMAIN.md §2, §8): the tree adds up, and to the input rows.

Two checks run after the measures and before any KPI is computed:

- children: every parent's additive measures equal the sum over its children
  (`children_problems`, DOMAIN.md §2);
- company totals: node `all` of each table equals a count made directly on the kept
  (post-quarantine, DOMAIN.md §7) rows, month by month, with the same filters as the
  measures but without the join to the hierarchy levels, so a row lost or doubled on
  its way into the tree is caught. A kept fact row is a kept customer's by the
  unknown_customer rule, so the count does not look the customer up: a kept row whose
  customer were missing from the tree would be caught too, not left out of both sides.

A mismatch stops the run with a ReconciliationError: one line naming the node or the
table, the measure, the month and both figures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

import ibis
import ibis.expr.types as ir
import pandas as pd

from . import measures, periods
from .errors import ReconciliationError
from .hierarchy import Hierarchy
from .sources import Source

log = logging.getLogger(__name__)

TOLERANCE = 1e-6
"""Relative tolerance for sums of amounts (counts must match exactly; amounts to rounding)."""

SURVEY_COUNTS = ("nps_n", "csat_n", "ces_n")
TICKET_COUNTS = ("tickets_opened", "tickets_resolved")
REVENUE_SUMS = ("revenue", "invoices")
CUSTOMER_COUNTS = ("customers_active_start", "customers_retained")
WORKFORCE_SUMS = (
    "headcount",
    "leavers",
    "training_hours",
    "enps_promoters",
    "enps_passives",
    "enps_detractors",
)


def _figure(value: float) -> str:
    """A count or amount as written in the message: no trailing .0, no exponent."""
    return format(float(value), ".15g")


def _mismatch(table: str, m: measures.Measures, expected: pd.DataFrame) -> str | None:
    """Node `all` of `m` against `expected` (month × measure from the kept rows); the first mismatch."""
    months = pd.Index(range(m.first_month, m.last_month + 1), name="month")
    company = m.frame.xs("all", level="node").reindex(months)
    found = []
    for col in expected.columns:
        want = expected[col].reindex(months).fillna(0).astype("float64")
        got = (company[col] if col in company.columns else pd.Series(0.0, index=months)).fillna(0)
        diff = (got - want).abs()
        for month in diff.index[diff > TOLERANCE * (want.abs() + 1)]:
            found.append((int(month), col, got[month], want[month]))
    if not found:
        return None
    month, col, got, want = min(found, key=lambda f: f[0])
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return (
        f"company totals do not match the kept input rows: {table} {col} {periods.label(month)}: "
        f"node all has {_figure(got)} but the kept rows give {_figure(want)}{more}"
    )


def children_problems(m: measures.Measures, tree: Hierarchy) -> list[str]:
    """Check that every parent's additive measures equal the sum over its children (§2)."""
    problems = []
    f = m.frame
    cols = [c for c in measures.ADDITIVE if c in f.columns]
    for node in tree.nodes:
        kids = tree.children(node.id)
        if not kids:
            continue
        parent = cast(pd.DataFrame, f.xs(node.id, level="node")[cols])
        total = cast(pd.DataFrame, sum(f.xs(k.id, level="node")[cols] for k in kids))
        diff = (parent - total).abs()
        bad = diff[(diff > 1e-6 * (parent.abs() + 1)).any(axis=1)]
        for month, row in bad.iterrows():
            col = row.idxmax()
            at = (int(cast(int, month)), cast(str, col))
            problems.append(
                f"{node.id} {m.cadence.label(at[0])} {col}: parent {cast(float, parent.at[at]):g} "
                f"≠ sum of children {cast(float, total.at[at]):g}"
            )
    return problems


def _by_month(expr: ir.Table | pd.DataFrame) -> pd.DataFrame:
    """Execute a `month, <measures...>` aggregate (or take its frame) into a frame indexed by month."""
    df = expr.copy() if isinstance(expr, pd.DataFrame) else expr.execute()
    for col in df.columns:
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df["month"] = df["month"].astype("int64")
    return df.groupby("month").sum().astype("float64")


def survey_total_problem(src: Source, m: measures.Measures) -> str | None:
    """nps_n, csat_n, ces_n of node `all` per month against the kept responses they come from.

    The kept (post-quarantine) responses with a score, answered within the computed months
    and not after the cut-off, counted per survey and month.
    """
    r = src.tables["survey_responses"]
    rows = r.filter(
        r.responded_at_month.between(m.first_month, m.last_month),
        r.responded_at <= src.as_of,
        r.score.notnull(),
        r.survey.isin(("nps", "csat", "ces")),
    )
    expected = _by_month(
        rows.group_by(month=rows.responded_at_month).aggregate(
            **{f"{s}_n": (rows.survey == s).sum() for s in ("nps", "csat", "ces")}
        )
    )
    return _mismatch("survey_responses", m, expected.reindex(columns=list(SURVEY_COUNTS)))


def ticket_total_problem(src: Source, m: measures.Measures) -> str | None:
    """tickets_opened and tickets_resolved of node `all` per month against the kept tickets.

    The filters of `measures._tickets`: tickets opened in the month and not after the cut-off; resolved in the month, with resolved_at not after the cut-off.
    Both are counted in one pass over the tickets, grouped by (opened month, resolved
    month): a few hundred groups, each added to its opened and its resolved month here.
    """
    t = src.tables["tickets"]
    cut = ibis.literal(src.as_of, type="timestamp")
    lo, hi = m.first_month, m.last_month
    opened = t.opened_at_month.between(lo, hi) & (t.opened_at <= cut)
    resolved = (
        t.resolved_at.notnull() & (t.resolved_at <= cut) & t.resolved_at_month.between(lo, hi)
    )
    pairs = (
        t.filter(opened | resolved)
        .group_by(opened_month=t.opened_at_month, resolved_month=t.resolved_at_month)
        .aggregate(tickets_opened=opened.sum(), tickets_resolved=resolved.sum())
        .execute()
    )
    expected = pd.concat(
        [
            _by_month(
                pairs[["opened_month", "tickets_opened"]].rename(columns={"opened_month": "month"})
            ),
            _by_month(
                pairs[["resolved_month", "tickets_resolved"]]
                .rename(columns={"resolved_month": "month"})
                .dropna(subset=["month"])
            ),
        ],
        axis=1,
    )
    return _mismatch("tickets", m, expected.reindex(columns=list(TICKET_COUNTS)))


def revenue_total_problem(src: Source, m: measures.Measures) -> str | None:
    """revenue (Σ amount) and invoices of node `all` per invoice_date month against the kept invoices."""
    rev = src.tables["revenue"]
    rev = rev.mutate(month=periods.month_index(rev.invoice_date.year(), rev.invoice_date.month()))
    rows = rev.filter(rev.month.between(m.first_month, m.last_month))
    expected = _by_month(
        rows.group_by("month").aggregate(revenue=rows.amount.sum(), invoices=rows.count())
    )
    return _mismatch("revenue", m, expected.reindex(columns=list(REVENUE_SUMS)))


def customer_total_problem(src: Source, m: measures.Measures) -> str | None:
    """Customers active at each month's start, and of those still active at its end (§3 logo_retention).

    Counted on the kept customers table alone, without the hierarchy levels: a customer
    whose segment/region mapping drops it from the tree is caught here.
    """
    lo, hi = m.first_month, m.last_month
    months = measures.month_bounds(lo, hi)
    c = src.tables["customers"].select("acquired_on", "churned_on")
    x = c.cross_join(months)
    active = (x.acquired_on < x.start) & (x.churned_on.isnull() | (x.churned_on >= x.start))
    retained = active & (x.churned_on.isnull() | (x.churned_on >= x.end))
    expected = _by_month(
        x.group_by("month").aggregate(
            customers_active_start=active.sum(), customers_retained=retained.sum()
        )
    )
    return _mismatch("customers", m, expected.reindex(columns=list(CUSTOMER_COUNTS)))


def workforce_total_problem(src: Source, m: measures.Measures) -> str | None:
    """headcount, leavers, training hours and eNPS counts of node `all` per month against the kept rows."""
    w = src.tables["workforce"]
    sums = (
        w.group_by(period=w.period.strip())
        .aggregate(**{col: w[col].sum() for col in WORKFORCE_SUMS})
        .execute()
        .dropna(subset=["period"])
    )
    sums["month"] = [periods.parse(p) for p in sums.pop("period")]
    sums = sums[sums["month"].between(m.first_month, m.last_month)]
    for col in WORKFORCE_SUMS:
        sums[col] = pd.to_numeric(sums[col], errors="coerce")
    expected = sums.groupby("month").sum().astype("float64")
    return _mismatch("workforce", m, expected.reindex(columns=list(WORKFORCE_SUMS)))


COMPANY_CHECKS: dict[str, Callable[[Source, measures.Measures], str | None]] = {
    "customers": customer_total_problem,
    "survey_responses": survey_total_problem,
    "tickets": ticket_total_problem,
    "revenue": revenue_total_problem,
    "workforce": workforce_total_problem,
}
"""Per input table, the check of node `all` against its kept rows."""


def company_total_problems(src: Source, m: measures.Measures) -> list[str]:
    """Every table's company totals against its kept input rows (DOMAIN.md §2, §8); the mismatches."""
    problems = []
    for table, check in COMPANY_CHECKS.items():
        if table in m.tables and (problem := check(src, m)):
            problems.append(problem)
    return problems


def check(src: Source, m: measures.Measures, tree: Hierarchy) -> None:
    """Stop the run when children do not add up to their parent or the company to its rows."""
    problems = children_problems(m, tree)
    if problems:
        raise ReconciliationError(
            f"children do not add up to their parent ({len(problems)} cases), first: {problems[0]}"
        )
    problems = company_total_problems(src, m)
    if problems:
        raise ReconciliationError(problems[0])
    log.info(
        "reconciled: children add up, company totals equal the kept rows (%s)", ", ".join(m.tables)
    )
