"""Board-pack charts: trends, sparklines and the score overview as deterministic SVG strings.

Each chart has a `*_figure` function that returns the matplotlib Figure (for
notebooks and tests) and a function that returns its SVG. Figures are built with
`matplotlib.figure.Figure`, never pyplot, so nothing is left in global state. The
comparison of a node's children is drawn by `comparison` (re-exported here).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from . import periods
from .chartstyle import DEFAULT_STYLE, ChartStyle, UnitFormatter, styled, to_svg, value_range
from .comparison import ADDITIVE_UNITS as ADDITIVE_UNITS
from .comparison import comparison_chart
from .comparison import comparison_figure as comparison_figure
from .config import KpiDef
from .formatting import STATUS, format_score, missing, period_tick, status_style
from .packdata import PackContext, below_min_n, series, version_breaks

log = logging.getLogger(__name__)

SPARK_MONTHS = 13

ChartKind = Literal["trend", "sparkline", "comparison", "overview"]


@dataclass(frozen=True)
class Charts:
    """All SVG charts of one pack, by KPI id (plus the score overview of the summary).

    The mappings are read-only: a notebook changes a chart with `replace_chart`, which
    returns a new record, so the charts a pack was drawn with are never changed behind it.
    """

    trends: Mapping[str, str]
    sparklines: Mapping[str, str]
    comparison: Mapping[str, str]
    overview: str = ""

    def __post_init__(self) -> None:
        for name in ("trends", "sparklines", "comparison"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))


def replace_chart(
    charts: Charts, kpi_id: str, figure: Figure | str, *, kind: ChartKind = "trend"
) -> Charts:
    """`charts` with one chart replaced: a KPI's trend (default), sparkline or comparison, or the overview.

    `figure` is a matplotlib Figure (e.g. from `trend_figure`, adjusted) or an SVG string.
    For `kind="overview"` the `kpi_id` is ignored. Returns a new record (`dataclasses.replace`).
    """
    svg = to_svg(figure) if isinstance(figure, Figure) else figure
    if kind == "overview":
        return dataclasses.replace(charts, overview=svg)
    if kind not in ("trend", "sparkline", "comparison"):
        raise ValueError(
            f"unknown chart kind {kind!r} (kinds: trend, sparkline, comparison, overview)"
        )
    if kind == "trend":
        return dataclasses.replace(charts, trends={**charts.trends, kpi_id: svg})
    if kind == "sparkline":
        return dataclasses.replace(charts, sparklines={**charts.sparklines, kpi_id: svg})
    return dataclasses.replace(charts, comparison={**charts.comparison, kpi_id: svg})


# --- helpers --------------------------------------------------------------------


def _formatter(k: KpiDef, ctx: PackContext) -> UnitFormatter:
    settings = ctx.project.settings
    return UnitFormatter(k.unit, settings.currency, settings.locale)


def _floats(values: Any) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").astype("float64").to_numpy()


def _steps(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a step line centred on each month: x from −0.5 to n−0.5."""
    n = len(values)
    x = np.repeat(np.arange(n + 1) - 0.5, 2)[1:-1]
    return x, np.repeat(values, 2)


def _month_ticks(ax: Any, labels: list[str], locale: str) -> None:
    """Ticks every quarter-month (Jan, Apr, Jul, Oct) labelled `Oct ’25` (in the locale)."""
    idx = [i for i, p in enumerate(labels) if periods.parse(p) % 3 == 0]
    if len(labels) <= 6:
        idx = list(range(len(labels)))
    ax.set_xticks(idx)
    ax.set_xticklabels([period_tick(labels[i], locale) for i in idx])
    ax.set_xlim(-0.6, len(labels) - 0.4)


def _status_bands(
    ax: Any,
    k: KpiDef,
    target: np.ndarray,
    threshold: np.ndarray,
    ylim: tuple[float, float],
    style: ChartStyle,
) -> None:
    """Red / amber / green zones from threshold and target, month by month (steps where they change)."""
    lo, hi = ylim
    xe, tg = _steps(target)
    _, th = _steps(threshold)
    ok = np.isfinite(tg) & np.isfinite(th)
    if not ok.any():
        return
    if k.direction == "up":
        zones = (
            ("red", np.full_like(tg, lo), th),
            ("amber", th, tg),
            ("green", tg, np.full_like(tg, hi)),
        )
    else:
        zones = (
            ("green", np.full_like(tg, lo), tg),
            ("amber", tg, th),
            ("red", th, np.full_like(tg, hi)),
        )
    for status, y1, y2 in zones:
        ax.fill_between(
            xe,
            y1,
            y2,
            where=ok,
            color=STATUS[status].colour,
            alpha=style.band_alpha,
            lw=0,
            interpolate=False,
            zorder=0,
            gid=f"band-{status}",
        )


# --- trend ------------------------------------------------------------------------


def trend_figure(ctx: PackContext, kpi_id: str, style: ChartStyle = DEFAULT_STYLE) -> Figure:
    """24-month trend: value, target line (stepped), status bands, 95% band, hollow months below min n."""
    k = ctx.project.kpi(kpi_id)
    s = series(ctx, kpi_id, months=ctx.project.settings.trend_months)
    labels = [str(p) for p in s["period"]]
    x = np.arange(len(s), dtype="float64")
    v = _floats(s["value"])
    lo, hi = _floats(s["ci_low"]), _floats(s["ci_high"])
    target, threshold = _floats(s["target"]), _floats(s["threshold"])
    below = np.array(
        [below_min_n(k, n, str(p)) for n, p in zip(s["n"], s["period"], strict=True)], dtype=bool
    ) & np.isfinite(v)
    show_ci = k.sample and bool(np.isfinite(lo).any())
    ylim = value_range(k.unit, v, target, threshold, *((lo, hi) if show_ci else ()))
    with styled(style):
        fig = Figure(figsize=style.trend_size)
        fig.set_layout_engine("constrained", h_pad=0.02, w_pad=0.02)
        ax = fig.add_subplot()
        ax.set_ylim(*ylim)
        _status_bands(ax, k, target, threshold, ylim, style)
        if show_ci:
            ax.fill_between(x, lo, hi, color=style.ci, alpha=0.45, lw=0, zorder=1, gid="ci-band")
        xe, tg = _steps(target)
        if np.isfinite(tg).any():
            ax.plot(
                xe, tg, color=style.target, lw=0.9, ls=(0, (3.5, 2)), zorder=2, gid="target-line"
            )
        for period, old, new in version_breaks(ctx, kpi_id):
            i = labels.index(period)
            ax.axvline(
                i - 0.5,
                color=style.muted,
                lw=0.7,
                ls=":",
                zorder=2,
                gid=f"version-break-v{old}-v{new}",
            )
        # Months below min n are drawn faint: the line through them is not the KPI's story.
        ax.plot(x, v, color=style.faint_series, lw=1.1, zorder=3, gid="series-all")
        ax.plot(x, np.where(below, np.nan, v), color=style.series, lw=1.4, zorder=3, gid="series")
        ok = np.isfinite(v) & ~below
        ax.plot(
            x[ok],
            v[ok],
            ls="none",
            marker="o",
            ms=2.6,
            mfc=style.series,
            mec=style.series,
            zorder=4,
            gid="markers",
        )
        if below.any():
            ax.plot(
                x[below],
                v[below],
                ls="none",
                marker="o",
                ms=3.4,
                mfc="white",
                mec=style.series,
                mew=0.9,
                zorder=5,
                gid="below-min-n",
            )
        if np.isfinite(v[-1]):
            st = status_style(
                str(s["status"].iloc[-1]) if not missing(s["status"].iloc[-1]) else None
            )
            face = "white" if below[-1] else st.colour
            ax.plot(
                [x[-1]],
                [v[-1]],
                ls="none",
                marker="o",
                ms=5,
                mfc=face,
                mec=st.colour,
                mew=1.2,
                zorder=6,
                gid="latest",
            )
        _month_ticks(ax, labels, ctx.project.settings.locale)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        ax.yaxis.set_major_formatter(_formatter(k, ctx))
        ax.set_ylim(*ylim)
    return fig


def trend_chart(ctx: PackContext, kpi_id: str, style: ChartStyle = DEFAULT_STYLE) -> str:
    """Trend chart of a KPI at the pack's node, as SVG."""
    return to_svg(trend_figure(ctx, kpi_id, style))


# --- sparkline ----------------------------------------------------------------------


def sparkline_figure(ctx: PackContext, kpi_id: str, style: ChartStyle = DEFAULT_STYLE) -> Figure:
    """13-month sparkline: the line, target dashed, latest month in its status colour."""
    k = ctx.project.kpi(kpi_id)
    s = series(ctx, kpi_id, months=SPARK_MONTHS)
    x = np.arange(len(s), dtype="float64")
    v = _floats(s["value"])
    target = _floats(s["target"])
    below = np.array(
        [below_min_n(k, n, str(p)) for n, p in zip(s["n"], s["period"], strict=True)], dtype=bool
    ) & np.isfinite(v)
    with styled(style):
        fig = Figure(figsize=style.spark_size)
        ax = fig.add_axes((0.04, 0.12, 0.92, 0.76))
        ax.set_axis_off()
        finite = np.concatenate([v[np.isfinite(v)], target[np.isfinite(target)]])
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            pad = (hi - lo) * 0.1 or max(abs(hi) * 0.05, 0.5)
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlim(-0.5, max(len(s), SPARK_MONTHS) - 0.5)
        xe, tg = _steps(target)
        if np.isfinite(tg).any():
            ax.plot(xe, tg, color=style.muted, lw=0.6, ls=(0, (2, 1.5)), gid="target-line")
        ax.plot(x, v, color=style.series, lw=0.9, gid="series")
        if below.any():
            ax.plot(
                x[below],
                v[below],
                ls="none",
                marker="o",
                ms=2,
                mfc="white",
                mec=style.series,
                mew=0.6,
                clip_on=False,
                gid="below-min-n",
            )
        if len(v) and np.isfinite(v[-1]):
            st = status_style(None if missing(s["status"].iloc[-1]) else str(s["status"].iloc[-1]))
            face = "white" if below[-1] else st.colour
            ax.plot(
                [x[-1]],
                [v[-1]],
                ls="none",
                marker="o",
                ms=3,
                mfc=face,
                mec=st.colour,
                mew=0.8,
                clip_on=False,
                gid="latest",
            )
    return fig


def sparkline(ctx: PackContext, kpi_id: str, style: ChartStyle = DEFAULT_STYLE) -> str:
    """Sparkline of a KPI at the pack's node, as SVG."""
    return to_svg(sparkline_figure(ctx, kpi_id, style))


def overview_figure(
    ctx: PackContext, months: int = SPARK_MONTHS, style: ChartStyle = DEFAULT_STYLE
) -> Figure:
    """Overall and perspective scores (0–10) over the last months, on red/amber/green zones."""
    lines: list[tuple[str, str, str, Any, float]] = [
        ("score:overall", "Overall", style.series, (0, (1, 0)), 2.0)
    ]
    for p, (colour, dash) in zip(
        ctx.project.hierarchy.perspectives, style.perspectives * 4, strict=False
    ):
        lines.append((f"score:{p.id}", p.name, colour, dash, 1.0))
    with styled(style):
        fig = Figure(figsize=(5.0, 1.6))
        fig.set_layout_engine("constrained", h_pad=0.02, w_pad=0.02)
        ax = fig.add_subplot()
        labels: list[str] = []
        for key, name, colour, dash, width in lines:
            s = series(ctx, key, months=months)
            labels = [str(p) for p in s["period"]] if len(s) > len(labels) else labels
            ax.plot(
                np.arange(len(s)),
                _floats(s["value"]),
                color=colour,
                ls=dash,
                lw=width,
                label=name,
                gid=f"line-{key.replace(':', '-')}",
            )
        n = max(len(labels), 1)
        for status, lo, hi in (
            ("red", 0, 10 / 3),
            ("amber", 10 / 3, 20 / 3),
            ("green", 20 / 3, 10),
        ):
            ax.axhspan(lo, hi, color=STATUS[status].colour, alpha=style.band_alpha, lw=0, zorder=0)
        ax.set_ylim(0, 10)
        ax.set_yticks([0, 10 / 3, 20 / 3, 10])
        loc = ctx.project.settings.locale
        ax.set_yticklabels(["0", format_score(10 / 3, loc), format_score(20 / 3, loc), "10"])
        if labels:
            idx = list(range(0, n, 3)) if n > 6 else list(range(n))
            ax.set_xticks(idx)
            ax.set_xticklabels([period_tick(labels[i], loc) for i in idx])
        ax.set_xlim(-0.4, n - 0.6)
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
            fontsize=6.2,
            handlelength=2.6,
            borderaxespad=0,
        )
    return fig


def overview_chart(ctx: PackContext, style: ChartStyle = DEFAULT_STYLE) -> str:
    """Score overview of the executive summary, as SVG."""
    return to_svg(overview_figure(ctx, style=style))


def all_charts(ctx: PackContext, style: ChartStyle = DEFAULT_STYLE) -> Charts:
    """Every chart the pack shows, for every KPI of the catalogue, drawn in `style`."""
    ids = [k.id for k in ctx.project.kpis]
    has_children = bool(ctx.tree.children(ctx.node.id))
    return Charts(
        trends={i: trend_chart(ctx, i, style) for i in ids},
        sparklines={i: sparkline(ctx, i, style) for i in ids},
        comparison={i: comparison_chart(ctx, i, style) for i in ids} if has_children else {},
        overview=overview_chart(ctx, style),
    )
