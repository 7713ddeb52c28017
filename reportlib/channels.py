"""Channel views: survey KPIs by response channel, ticket KPIs by ticket channel, per node.

Both `channel` columns are loaded and validated with the rest of the rows; here they
split one month's figures of every node. Counted at compute time from the kept rows
(after the quality rules, DOMAIN.md §7), written to output/<period>/channels.parquet,
and read back by the pack like the scorecard, so a pack still never touches raw data.

Formulas are the KPIs' own (DOMAIN.md §3: NPS, CSAT and CES top-box with the cut in force
that month; FCR and reopen rate over tickets resolved in the month). Survey KPIs carry
their 95% interval (§4: the NPS standard error, Wilson for proportions) from `stats`;
ticket KPIs are counts of every case (a census) and carry none. As for every node, a
parent's channel figure is counted from the raw rows of all its customers (§1).
"""

from __future__ import annotations

import dataclasses
import logging

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from . import measures, periods, stats
from .hierarchy import Hierarchy
from .measures import NPS_DETRACTOR_MAX, NPS_PROMOTER_MIN, Rules
from .sources import Source

log = logging.getLogger(__name__)

NOT_RECORDED = "not recorded"
"""The channel of a row whose channel is blank."""

COLUMNS = ("node", "source", "channel", "kpi", "value", "n", "ci_low", "ci_high")
"""channels.parquet: one row per node × channel × KPI of the month."""

SURVEY_KPIS = ("nps", "csat", "ces")
TICKET_KPIS = ("fcr", "reopen_rate")


def _channel(col: ir.StringValue) -> ir.StringValue:
    trimmed = col.strip().lower()
    return (trimmed.isnull() | (trimmed == "")).ifelse(NOT_RECORDED, trimmed)


def _add_up(df: pd.DataFrame, tree: Hierarchy) -> pd.DataFrame:
    """Counts of every node × channel as sums of the finest groups (exact), indexed by node id."""
    levels = tree.levels
    counts = [c for c in df.columns if c not in (*levels, "channel")]
    parts = []
    for depth in range(len(levels) + 1):
        keys = [*levels[:depth], "channel"]
        g = df.groupby(keys, sort=True)[counts].sum().reset_index()
        g["node"] = (
            [
                tree.id_for_keys(tuple(str(v) for v in k) + (None,) * (len(levels) - depth))
                for k in zip(*(g[lv] for lv in levels[:depth]), strict=True)
            ]
            if depth
            else "all"
        )
        parts.append(g[["node", "channel", *counts]])
    return pd.concat(parts, ignore_index=True)


def _in(month: ir.IntegerValue, months: tuple[int, int]) -> ir.BooleanValue:
    """The period's months: one month, or a quarter's / a year to date's months."""
    return month == months[0] if months[0] == months[1] else month.between(*months)


def _surveys(
    src: Source, levels: tuple[str, ...], months: tuple[int, int], rules: Rules
) -> ir.Table:
    r = measures.with_levels(src.tables["survey_responses"], src.tables["customers"], levels)
    r = r.filter(_in(r.responded_at_month, months), r.responded_at <= src.as_of, r.score.notnull())
    m = r.responded_at_month
    r = r.mutate(
        channel=_channel(r.channel),
        _csat_cut=rules.csat_top_box_min.expr(m, ibis.literal),
        _ces_cut=rules.ces_top_box_min.expr(m, ibis.literal),
    )
    nps, csat, ces = r.survey == "nps", r.survey == "csat", r.survey == "ces"
    return r.group_by([*levels, "channel"]).aggregate(
        nps_n=nps.sum(),
        nps_promoters=(nps & (r.score >= NPS_PROMOTER_MIN)).sum(),
        nps_detractors=(nps & (r.score <= NPS_DETRACTOR_MAX)).sum(),
        csat_n=csat.sum(),
        csat_top=(csat & (r.score >= r._csat_cut)).sum(),
        ces_n=ces.sum(),
        ces_top=(ces & (r.score >= r._ces_cut)).sum(),
    )


def _tickets(src: Source, levels: tuple[str, ...], months: tuple[int, int]) -> ir.Table:
    t = measures.with_levels(src.tables["tickets"], src.tables["customers"], levels)
    cut = ibis.literal(src.as_of, type="timestamp")
    t = t.filter(t.resolved_at.notnull(), t.resolved_at <= cut, _in(t.resolved_at_month, months))
    t = t.mutate(channel=_channel(t.channel), _reopened=t.reopened.fill_null(False))
    return t.group_by([*levels, "channel"]).aggregate(
        tickets_resolved=t.count(),
        tickets_fcr=((t.contacts == 1) & ~t._reopened).sum(),
        tickets_reopened=t._reopened.sum(),
    )


def _kpi(
    counts: pd.DataFrame, source: str, kpi: str, n: str, value: np.ndarray, interval: tuple
) -> pd.DataFrame:
    lo, hi = interval
    return pd.DataFrame(
        {
            "node": counts["node"],
            "source": source,
            "channel": counts["channel"],
            "kpi": kpi,
            "value": value,
            "n": counts[n].astype("float64"),
            "ci_low": lo,
            "ci_high": hi,
        }
    )[counts[n] > 0]


def values(surveys: pd.DataFrame | None, tickets: pd.DataFrame | None) -> pd.DataFrame:
    """KPI values, n and intervals per node × channel from the added-up counts (DOMAIN.md §3–§4)."""
    parts: list[pd.DataFrame] = []
    if surveys is not None:
        s = surveys
        nps = stats.nps_value(s["nps_promoters"], s["nps_detractors"], s["nps_n"])
        se = stats.nps_se(s["nps_promoters"], s["nps_detractors"], s["nps_n"])
        parts.append(_kpi(s, "survey", "nps", "nps_n", nps, stats.nps_interval(nps, se)))
        for kpi in ("csat", "ces"):
            n, top = s[f"{kpi}_n"].astype("float64"), s[f"{kpi}_top"].astype("float64")
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(n > 0, 100.0 * top / n, np.nan)
            parts.append(_kpi(s, "survey", kpi, f"{kpi}_n", share, stats.wilson_interval(top, n)))
    if tickets is not None:
        t = tickets
        n = t["tickets_resolved"].astype("float64")
        none = (np.full(len(t), np.nan), np.full(len(t), np.nan))
        with np.errstate(divide="ignore", invalid="ignore"):
            fcr = np.where(n > 0, 100.0 * t["tickets_fcr"] / n, np.nan)
            reopen = np.where(n > 0, 100.0 * t["tickets_reopened"] / n, np.nan)
        parts.append(_kpi(t, "ticket", "fcr", "tickets_resolved", fcr, none))
        parts.append(_kpi(t, "ticket", "reopen_rate", "tickets_resolved", reopen, none))
    if not parts:
        return pd.DataFrame(columns=list(COLUMNS))
    frame = pd.concat(parts, ignore_index=True)[list(COLUMNS)]
    return frame.sort_values(["node", "source", "kpi", "channel"], kind="stable").reset_index(
        drop=True
    )


def compute(src: Source, tree: Hierarchy, period: str, rules: Rules) -> pd.DataFrame:
    """Every node's survey and ticket KPIs by channel in `period`, from the kept rows."""
    levels = tree.levels
    c = src.tables["customers"]
    c = c.mutate(**{lv: measures.level_value(c[lv]) for lv in levels})
    src = dataclasses.replace(src, tables={**src.tables, "customers": c})
    month = periods.months_of(period)
    parts: dict[str, pd.DataFrame | None] = {"survey_responses": None, "tickets": None}
    if "survey_responses" in src.tables:
        parts["survey_responses"] = _add_up(_surveys(src, levels, month, rules).execute(), tree)
    if "tickets" in src.tables:
        parts["tickets"] = _add_up(_tickets(src, levels, month).execute(), tree)
    frame = values(parts["survey_responses"], parts["tickets"])
    log.info("channels: %d rows for %s", len(frame), period)
    return frame
