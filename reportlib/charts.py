"""Board-pack charts: trends, sparklines and the score overview as deterministic SVG strings.

Each chart has a `*_data` function that says what it shows (values, targets, zones,
ticks and their labels, from the pack's figures), a function that writes its SVG
directly from that record (`chartsvg`: milliseconds a chart, few elements for WeasyPrint
to draw) and a `*_figure` function that draws the same record with matplotlib, for a
notebook to adjust and put back with `replace_chart`. Figures are built with
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

from . import chartseries, periods
from .chartstyle import DEFAULT_STYLE, ChartStyle, UnitFormatter, styled, to_svg, value_range
from .chartsvg import (
    OverviewData,
    OverviewLine,
    SparkData,
    TrendData,
    overview_svg,
    sparkline_svg,
    trend_svg,
)
from .comparison import ADDITIVE_UNITS as ADDITIVE_UNITS
from .comparison import comparison_chart
from .comparison import comparison_figure as comparison_figure
from .config import KpiDef
from .formatting import STATUS, format_score, format_short, missing, period_tick, status_style
from .packdata import PackContext, below_min_n
from .svgwriter import ticks

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


def _gapped(x: np.ndarray, y: np.ndarray, cuts: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """x and y with a NaN point before each index in `cuts`: matplotlib then leaves a gap,
    so a line is not drawn across a definition change (DOMAIN.md §8)."""
    if not cuts:
        return x, y
    at = sorted(set(cuts))
    return np.insert(x, at, np.asarray(at) - 0.5), np.insert(y.astype("float64"), at, np.nan)


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


def _latest(status: Any, below: bool) -> tuple[str, str]:
    """(face, edge) of the latest month's dot: its status colour, hollow when below min n."""
    st = status_style(None if missing(status) else str(status))
    return ("white" if below else st.colour), st.colour


def _below(k: KpiDef, s: chartseries.Window) -> np.ndarray:
    """Months whose value rests on fewer answers than the KPI's minimum then (DOMAIN.md §4)."""
    flags = [below_min_n(k, n, p) for n, p in zip(s.n, s.period, strict=True)]
    return np.array(flags, dtype=bool) & np.isfinite(s.value)


def _zone_colours() -> tuple[tuple[str, str], ...]:
    return tuple((status, STATUS[status].colour) for status in ("red", "amber", "green"))


def _end_texts(
    k: KpiDef, ctx: PackContext, value: np.ndarray, target: np.ndarray
) -> tuple[str, str]:
    """The latest value and the latest target in force, as the pack prints them (executive
    form for amounts: `$15.0M`); "" where there is none."""
    settings = ctx.project.settings

    def short(x: float) -> str:
        return format_short(x, k.unit, settings.currency, settings.locale)

    end = short(float(value[-1])) if len(value) and np.isfinite(value[-1]) else ""
    finite = target[np.isfinite(target)]
    return end, (f"target {short(float(finite[-1]))}" if finite.size else "")


def trend_data(ctx: PackContext, kpi_id: str) -> TrendData:
    """What a KPI's trend shows at the pack's node: values, interval, target, zones, ticks."""
    k = ctx.project.kpi(kpi_id)
    months = periods.trend_length(ctx.period, ctx.project.settings.trend_months)
    found = chartseries.index(ctx)
    s = found.series(ctx.node.id, kpi_id, months)
    labels = s.period
    v, lo, hi, target, threshold = s.value, s.ci_low, s.ci_high, s.target, s.threshold
    below = _below(k, s)
    show_ci = k.sample and bool(np.isfinite(lo).any())
    ylim = value_range(k.unit, v, target, threshold, *((lo, hi) if show_ci else ()))
    yvalues = ticks(*ylim)
    ytexts = _formatter(k, ctx).format_ticks(yvalues)
    locale = ctx.project.settings.locale
    idx = [i for i, p in enumerate(labels) if chartseries.ticked(p)]
    if len(labels) <= 6:
        idx = list(range(len(labels)))
    latest = None
    if len(v) and np.isfinite(v[-1]):
        latest = _latest(s.status[-1], bool(below[-1]))
    # one month before the window too: a change in its first month is still a change
    breaks = chartseries.version_breaks(found.series(ctx.node.id, kpi_id, months + 1))
    end_text, target_text = _end_texts(k, ctx, v, target)
    return TrendData(
        labels=labels,
        xticks=tuple((i, period_tick(labels[i], locale)) for i in idx),
        value=v,
        ci_low=lo,
        ci_high=hi,
        show_ci=show_ci,
        target=target,
        threshold=threshold,
        below=below,
        direction=k.direction,
        ylim=ylim,
        yticks=tuple(zip(yvalues, ytexts, strict=True)),
        breaks=tuple((labels.index(p), old, new) for p, old, new in breaks if p in labels),
        latest=latest,
        colours=_zone_colours(),
        end_text=end_text,
        target_text=target_text,
    )


def trend_figure(ctx: PackContext, kpi_id: str, style: ChartStyle = DEFAULT_STYLE) -> Figure:
    """24-month trend as a matplotlib Figure to adjust in a notebook (the pack writes `trend_chart`).

    Value, target line (stepped), status bands, 95% band, hollow months below min n.
    """
    k = ctx.project.kpi(kpi_id)
    d = trend_data(ctx, kpi_id)
    x = np.arange(len(d.labels), dtype="float64")
    v, below = d.value, d.below
    with styled(style):
        fig = Figure(figsize=style.trend_size)
        fig.set_layout_engine("constrained", h_pad=0.02, w_pad=0.02)
        ax = fig.add_subplot()
        ax.set_ylim(*d.ylim)
        _status_bands(ax, k, d.target, d.threshold, d.ylim, style)
        if d.show_ci:
            ax.fill_between(
                x, d.ci_low, d.ci_high, color=style.ci, alpha=0.45, lw=0, zorder=1, gid="ci-band"
            )
        xe, tg = _steps(d.target)
        if np.isfinite(tg).any():
            ax.plot(
                xe, tg, color=style.target, lw=0.9, ls=(0, (3.5, 2)), zorder=2, gid="target-line"
            )
        for i, old, new in d.breaks:
            ax.axvline(
                i - 0.5,
                color=style.muted,
                lw=0.7,
                ls=":",
                zorder=2,
                gid=f"version-break-v{old}-v{new}",
            )
        # Months below min n are drawn faint: the line through them is not the KPI's story.
        cuts = tuple(i for i, _, _ in d.breaks)
        ax.plot(*_gapped(x, v, cuts), color=style.faint_series, lw=1.1, zorder=3, gid="series-all")
        ax.plot(
            *_gapped(x, np.where(below, np.nan, v), cuts),
            color=style.series,
            lw=1.4,
            zorder=3,
            gid="series",
        )
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
        if d.latest is not None:
            face, edge = d.latest
            ax.plot(
                [x[-1]],
                [v[-1]],
                ls="none",
                marker="o",
                ms=5,
                mfc=face,
                mec=edge,
                mew=1.2,
                zorder=6,
                gid="latest",
            )
        tgt = d.target[np.isfinite(d.target)]
        for text, y, weight, colour in (
            (d.end_text, v[-1] if len(v) else np.nan, "bold", style.ink),
            (d.target_text, tgt[-1] if tgt.size else np.nan, "normal", style.target),
        ):
            if text and np.isfinite(y):
                ax.annotate(
                    text,
                    xy=(1.0, float(y)),
                    xycoords=("axes fraction", "data"),
                    xytext=(3, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=6.5,
                    fontweight=weight,
                    color=colour,
                    annotation_clip=False,
                )
        ax.set_xticks([i for i, _ in d.xticks])
        ax.set_xticklabels([t for _, t in d.xticks])
        ax.set_xlim(-0.6, len(d.labels) - 0.4)
        ax.set_yticks([t for t, _ in d.yticks])
        ax.set_yticklabels([t for _, t in d.yticks])
        ax.set_ylim(*d.ylim)
    return fig


def trend_chart(ctx: PackContext, kpi_id: str, style: ChartStyle = DEFAULT_STYLE) -> str:
    """Trend chart of a KPI at the pack's node, as SVG (written directly: `chartsvg`)."""
    return trend_svg(trend_data(ctx, kpi_id), style)


# --- sparkline ----------------------------------------------------------------------


def sparkline_data(ctx: PackContext, kpi_id: str) -> SparkData:
    """What a KPI's sparkline shows: 13 months, the target, months below min n, the latest."""
    k = ctx.project.kpi(kpi_id)
    s = chartseries.index(ctx).series(ctx.node.id, kpi_id, SPARK_MONTHS)
    v, target = s.value, s.target
    below = _below(k, s)
    finite = np.concatenate([v[np.isfinite(v)], target[np.isfinite(target)]])
    ylim = (0.0, 1.0)
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        pad = (hi - lo) * 0.1 or max(abs(hi) * 0.05, 0.5)
        ylim = (lo - pad, hi + pad)
    latest = None
    if len(v) and np.isfinite(v[-1]):
        latest = _latest(s.status[-1], bool(below[-1]))
    # like the trend, one month before the window: a change in its first month still breaks
    found_breaks = chartseries.version_breaks(
        chartseries.index(ctx).series(ctx.node.id, kpi_id, SPARK_MONTHS + 1)
    )
    return SparkData(
        value=v,
        target=target,
        below=below,
        xlim=(-0.5, max(len(s), SPARK_MONTHS) - 0.5),
        ylim=ylim,
        latest=latest,
        breaks=tuple(s.period.index(p) for p, _, _ in found_breaks if p in s.period),
    )


def sparkline_figure(ctx: PackContext, kpi_id: str, style: ChartStyle = DEFAULT_STYLE) -> Figure:
    """13-month sparkline as a Figure: the line, target dashed, latest month in its status colour."""
    d = sparkline_data(ctx, kpi_id)
    x = np.arange(len(d.value), dtype="float64")
    v, below = d.value, d.below
    with styled(style):
        fig = Figure(figsize=style.spark_size)
        ax = fig.add_axes((0.04, 0.12, 0.92, 0.76))
        ax.set_axis_off()
        ax.set_ylim(*d.ylim)
        ax.set_xlim(*d.xlim)
        xe, tg = _steps(d.target)
        if np.isfinite(tg).any():
            ax.plot(xe, tg, color=style.muted, lw=0.6, ls=(0, (2, 1.5)), gid="target-line")
        ax.plot(*_gapped(x, v, d.breaks), color=style.series, lw=0.9, gid="series")
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
        if d.latest is not None:
            face, edge = d.latest
            ax.plot(
                [x[-1]],
                [v[-1]],
                ls="none",
                marker="o",
                ms=3,
                mfc=face,
                mec=edge,
                mew=0.8,
                clip_on=False,
                gid="latest",
            )
    return fig


def sparkline(ctx: PackContext, kpi_id: str, style: ChartStyle = DEFAULT_STYLE) -> str:
    """Sparkline of a KPI at the pack's node, as SVG (written directly: `chartsvg`)."""
    return sparkline_svg(sparkline_data(ctx, kpi_id), style)


# --- overview -----------------------------------------------------------------------


def overview_data(
    ctx: PackContext, months: int = SPARK_MONTHS, style: ChartStyle = DEFAULT_STYLE
) -> OverviewData:
    """The overall and perspective scores of the last `months`, with their colours and dashes."""
    specs: list[tuple[str, str, str, Any, float]] = [
        ("score:overall", "Overall", style.series, (0, (1, 0)), 2.0)
    ]
    for p, (colour, dash) in zip(
        ctx.project.hierarchy.perspectives, style.perspectives * 4, strict=False
    ):
        specs.append((f"score:{p.id}", p.name, colour, dash, 1.0))
    lines = []
    labels: tuple[str, ...] = ()
    found = chartseries.index(ctx)
    for key, name, colour, dash, width in specs:
        s = found.series(ctx.node.id, key, months)
        labels = s.period if len(s) > len(labels) else labels
        lines.append(OverviewLine(key, name, colour, dash, width, s.value))
    n = max(len(labels), 1)
    loc = ctx.project.settings.locale
    idx = (list(range(0, n, 3)) if n > 6 else list(range(n))) if labels else []
    return OverviewData(
        lines=tuple(lines),
        months=n,
        xticks=tuple((i, period_tick(labels[i], loc)) for i in idx),
        yticks=(
            (0.0, "0"),
            (10 / 3, format_score(10 / 3, loc)),
            (20 / 3, format_score(20 / 3, loc)),
            (10.0, "10"),
        ),
        colours=_zone_colours(),
    )


def overview_figure(
    ctx: PackContext, months: int = SPARK_MONTHS, style: ChartStyle = DEFAULT_STYLE
) -> Figure:
    """Overall and perspective scores (0–10) over the last months, on red/amber/green zones."""
    d = overview_data(ctx, months, style)
    with styled(style):
        fig = Figure(figsize=(5.0, 1.6))
        fig.set_layout_engine("constrained", h_pad=0.02, w_pad=0.02)
        ax = fig.add_subplot()
        for line in d.lines:
            ax.plot(
                np.arange(len(line.value)),
                line.value,
                color=line.colour,
                ls=line.dash,
                lw=line.width,
                label=line.name,
                gid=f"line-{line.key.replace(':', '-')}",
            )
        for status, colour in d.colours:
            lo, hi = {"red": (0, 10 / 3), "amber": (10 / 3, 20 / 3), "green": (20 / 3, 10)}[status]
            ax.axhspan(lo, hi, color=colour, alpha=style.band_alpha, lw=0, zorder=0)
        ax.set_ylim(0, 10)
        ax.set_yticks([v for v, _ in d.yticks])
        ax.set_yticklabels([t for _, t in d.yticks])
        if d.xticks:
            ax.set_xticks([i for i, _ in d.xticks])
            ax.set_xticklabels([t for _, t in d.xticks])
        ax.set_xlim(-0.4, d.months - 0.6)
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
    """Score overview of the executive summary, as SVG (written directly: `chartsvg`)."""
    return overview_svg(overview_data(ctx, style=style), style)


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
