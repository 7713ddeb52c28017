"""The scorecard's figures as the pack shows them: a KPI's row, a score with its coverage,
the perspectives (DOMAIN.md §§4-6).

Split from `views`, which assembles these into the pack's sections.
"""

from __future__ import annotations

import base64
import logging
from typing import cast

import pandas as pd
from markupsafe import Markup

from .. import kpis as kpi_formulas
from .. import periods
from .. import scorecard as sc
from ..charts import Charts
from ..commentary import Commentary
from ..comparison import ADDITIVE_UNITS
from ..config import KpiDef, Project
from ..formatting import (
    DASH,
    favourable,
    format_count,
    format_delta,
    format_n,
    format_score,
    format_short,
    format_short_delta,
    format_value,
    missing,
    n_noun,
    period_name,
    status_style,
)
from ..packdata import (
    PackContext,
    below_min_n,
    node_rows,
    perspectives,
    row,
    version_breaks,
)
from ..period_words import words
from ..scores import coverage_phrase
from .records import (
    Cell,
    KpiView,
    PerspectiveView,
    Score,
    Status,
    Tone,
)

log = logging.getLogger(__name__)


def svg_uri(svg: str | None) -> str:
    """An SVG string as a `data:` URI for an <img>, or "" when there is no chart."""
    if not svg:
        return ""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _status(value: object) -> Status:
    return cast(Status, str(value))


def tone_of(good: bool | None) -> Tone:
    return "flat" if good is None else ("good" if good else "bad")


def _delta(r: pd.Series, which: str, k: KpiDef, currency: str, loc: str) -> Cell:
    """A MoM or YoY change with its mark (DOMAIN.md §4): `n.s.` not significant, `n.t.` not
    tested (a census KPI or a manual value on either side); across a definition change the
    change is not computed and says so."""
    raw = r.get(f"{which}_test")
    test = None if missing(raw) else str(raw)
    if test == sc.DEFINITION_CHANGED:
        return Cell("definition changed", "none", "")
    d = r[f"{which}_delta"]
    if missing(d):
        return Cell(DASH, "none", "")
    sig = r[f"{which}_significant"]
    mark = "n.s." if k.sample and not missing(sig) and not bool(sig) else ""
    tone: Tone = "ns" if mark else tone_of(favourable(d, k.direction))
    if test == sc.NOT_TESTED:  # a census change is real, if untested: keep its colour
        mark = "n.t."
    significant = k.sample and test == sc.TESTED and not missing(sig) and bool(sig)
    return Cell(format_short_delta(d, k.unit, currency, loc), tone, mark, significant)


def score_view(ctx: PackContext, key: str) -> Score:
    """A score row (`score:overall`, `score:<perspective>`) with its change on last month."""
    r = row(ctx, key)
    loc = ctx.project.settings.locale
    if r is None:
        return Score(DASH, status_style(None), "no-data", "")
    change = ""
    if not missing(r["mom_delta"]):
        d = round(float(r["mom_delta"]), 1)
        last = words(ctx.period).last
        change = (
            f"unchanged on {last}"
            if d == 0
            else f"{format_delta(d, 'score', locale=loc)} on {last}"
        )
    st: Status = "no-data" if missing(r["value"]) else _status(r["status"])
    if st == "no-data" and r["status"] == "insufficient":
        st = "insufficient"
    return Score(
        format_score(r["value"], loc), status_style(st), st, change, *coverage_text(r, key)
    )


def coverage_text(r: pd.Series, key: str) -> tuple[str, str]:
    """("3 of 4 KPIs scored", why there is no score) for a score row (DOMAIN.md §6).

    Empty strings for a row written before these columns existed.
    """
    scored, total = r.get("scored"), r.get("total")
    if missing(scored) or missing(total):
        return "", ""
    text = coverage_phrase(
        int(cast(float, scored)), int(cast(float, total)), overall=key == "score:overall"
    )
    reason = ""
    if str(r["status"]) == "insufficient":
        share = r.get("coverage")
        carried = (
            ""
            if missing(share) or not float(cast(float, share)) > 0
            else f", carrying {float(cast(float, share)):.0%} of the weight"
        )
        reason = f"Not scored: {text}{carried}; at least half is needed"
    return text, reason


def kpi_view(
    ctx: PackContext,
    k: KpiDef,
    rows: pd.DataFrame,
    charts: Charts,
    manual: set[str],
    below: dict[str, tuple[str, ...]] | None = None,
) -> KpiView:
    """One KPI of the node: figures, status, deltas, interval, and its charts as data URIs.

    `below` names, per KPI, the nodes under this one whose figure is a manual value: this
    node is computed from the raw rows and says so (DOMAIN.md §6).
    """
    cur, loc = ctx.project.settings.currency, ctx.project.settings.locale
    r = cast(pd.Series, rows.loc[k.id]) if k.id in rows.index else None
    base = {
        "id": k.id,
        "name": k.name,
        "kind": k.kind,
        "owner": k.owner,
        "responsible": k.responsible or "",
        "sample": k.sample,
        "min_n": k.in_force(ctx.period).min_n,
        "manual": k.id in manual,
        "breaks": tuple(
            (period_name(p, loc), old, new) for p, old, new in version_breaks(ctx, k.id)
        ),
        "spark": svg_uri(charts.sparklines.get(k.id)),
        "trend": svg_uri(charts.trends.get(k.id)),
        "comparison": svg_uri(charts.comparison.get(k.id)),
        "additive": k.unit in ADDITIVE_UNITS,
        "child_manual": (below or {}).get(k.id, ()),
    }
    if r is None:
        none = Cell(DASH, "none", "")
        return KpiView(
            **base,  # type: ignore[arg-type]
            value=DASH,
            target=DASH,
            has_target=False,
            threshold="",
            status=status_style(None),
            status_id="no-data",
            mom=none,
            yoy=none,
            n=DASH,
            low_n=False,
            interval="",
        )
    interval = ""
    if k.sample and not missing(r["ci_low"]) and not missing(r["ci_high"]):
        interval = (
            f"{format_value(r['ci_low'], k.unit, cur, loc)} to "
            f"{format_value(r['ci_high'], k.unit, cur, loc)}"
        )
    side = "<" if k.direction == "up" else ">"
    annual = ""
    if k.id in kpi_formulas.ANNUALISED and not missing(r["value"]):
        per_year = periods.cadence_of(ctx.period).annual
        annual = format_value(
            kpi_formulas.annualised(float(r["value"]), per_year), k.unit, cur, loc
        )
    return KpiView(
        **base,  # type: ignore[arg-type]
        value=format_short(r["value"], k.unit, cur, loc),
        target=format_short(r["target"], k.unit, cur, loc),
        has_target=not missing(r["target"]),
        threshold=""
        if missing(r["threshold"])
        else f"{side} {format_short(r['threshold'], k.unit, cur, loc)}",
        status=status_style(str(r["status"])),
        status_id=_status(r["status"]),
        mom=_delta(r, "mom", k, cur, loc),
        yoy=_delta(r, "yoy", k, cur, loc),
        n=format_n(r["n"], loc),
        n_text=format_count(r["n"], n_noun(k.id, kpi_formulas.kpi_tables(k)), loc).replace(
            " ", "\u00a0"
        ),
        low_n=below_min_n(k, r["n"], ctx.period) and not missing(r["value"]),
        interval=interval,
        uncertain=not missing(r.get("uncertain")) and bool(r.get("uncertain")),
        annualised=annual,
    )


def _manual_now(ctx: PackContext) -> set[str]:
    """KPIs of this node with a manual value or override this month."""
    mv = ctx.manual_values
    if mv is None or mv.empty:
        return set()
    mine = (mv["node"].astype(str) == ctx.node.id) & (mv["period"].astype(str) == ctx.period)
    return set(mv[mine]["kpi"].astype(str))


def manual_below(ctx: PackContext) -> dict[str, tuple[str, ...]]:
    """Per KPI, the names of the nodes below this one with a manual value this month (§6)."""
    mv = ctx.manual_values
    if mv is None or mv.empty:
        return {}
    names = {n.id: n.name for n in ctx.tree.descendants(ctx.node.id)}
    now = mv[mv["node"].astype(str).isin(names) & (mv["period"].astype(str) == ctx.period)]
    out: dict[str, list[str]] = {}
    for node, kpi in zip(now["node"].astype(str), now["kpi"].astype(str), strict=True):
        out.setdefault(kpi, []).append(names[node])
    return {kpi: tuple(sorted(set(v))) for kpi, v in out.items()}


def perspective_views(
    ctx: PackContext, charts: Charts, commentary: Commentary
) -> tuple[PerspectiveView, ...]:
    """Each perspective with its score, KPIs and commentary section."""
    rows = node_rows(ctx)
    manual = _manual_now(ctx)
    below = manual_below(ctx)
    return tuple(
        PerspectiveView(
            id=p.id,
            name=p.name,
            weight=p.weight,
            score=score_view(ctx, f"score:{p.id}"),
            kpis=tuple(kpi_view(ctx, k, rows, charts, manual, below) for k in kpis),
            commentary=Markup(commentary.sections[p.id]) if p.id in commentary.sections else None,
        )
        for p, kpis in perspectives(ctx.project)
    )


def perspective_name(project: Project, k: KpiDef) -> str:
    return next(p.name for p in project.hierarchy.perspectives if p.id == k.perspective)
