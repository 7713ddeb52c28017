"""Board-pack charts: trends, sparklines and segment comparisons as deterministic SVG strings.

Each chart has a `*_figure` function that returns the matplotlib Figure (for
notebooks and tests) and a function that returns its SVG. Figures are built with
`matplotlib.figure.Figure`, never pyplot, so nothing is left in global state.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator

from . import fileio, periods
from .config import KpiDef
from .formatting import STATUS, currency_prefix, missing, status_style
from .packdata import PackContext, below_min_n, row, series, version_breaks

log = logging.getLogger(__name__)

FONT_DIR = Path(__file__).resolve().parents[1] / "templates" / "fonts"
FONT_FAMILY = "IBM Plex Sans"
FONT_FILES = ("IBMPlexSans-Regular.woff2",)
"""The complete face: matplotlib measures chart text with it; WeasyPrint draws it with the pack's fonts."""

INK = "#1f2933"
SERIES = "#1f3a5f"
FAINT_SERIES = "#a9b7c8"
CI = "#9fb3c8"
TARGET = "#3d4852"
MUTED = "#8a8f98"
GRID = "#e4e7eb"
BAND_ALPHA = 0.09

TREND_SIZE = (3.6, 1.75)
SPARK_SIZE = (1.15, 0.3)
SPARK_MONTHS = 13

_SHAPE_MARKER = {"circle": "o", "triangle": "^", "square": "s", "hollow": "o", "dash": "o"}


ADDITIVE_UNITS = ("currency", "count")
"""A parent's value of these is the children's sum, so it is no reference line for them."""

PERSPECTIVE_STYLES = (
    ("#2f6f8f", (0, (1, 0))),
    ("#8c6d3f", (0, (4, 1.5))),
    ("#6b5b95", (0, (1.2, 1.2))),
    ("#4f7f52", (0, (5, 1.5, 1.2, 1.5))),
)
"""Colour and dash per perspective line in the overview: readable in black and white too."""


@dataclass(frozen=True)
class Charts:
    """All SVG charts of one pack, by KPI id (plus the score overview of the summary)."""

    trends: dict[str, str]
    sparklines: dict[str, str]
    comparison: dict[str, str]
    overview: str = ""


# --- style ------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _font_families() -> tuple[str, ...]:
    """Register the shipped IBM Plex Sans with matplotlib (woff2 → ttf once, cached on disk).

    Chart text stays text in the SVG (`svg.fonttype: none`), so the PDF draws it in the
    pack's own embedded font; matplotlib only needs the metrics to lay it out.
    """
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    try:
        woffs = [FONT_DIR / name for name in FONT_FILES]
        for w in woffs:
            if not w.is_file():
                raise FileNotFoundError(w)
        digest = hashlib.sha256(b"".join(w.read_bytes() for w in woffs)).hexdigest()[:12]
        cache = Path(tempfile.gettempdir()) / f"reportlib-fonts-{digest}"
        for woff in woffs:
            ttf = cache / (woff.stem + ".ttf")
            if not ttf.is_file():
                font = TTFont(woff)
                font.flavor = None
                fileio.write_with(ttf, lambda p, font=font: font.save(p))
            font_manager.fontManager.addfont(str(ttf))
        return (FONT_FAMILY, "DejaVu Sans")
    except Exception as e:  # a missing font must not stop a pack: fall back to matplotlib's own
        log.warning("charts fall back to DejaVu Sans: %s", e)
        return ("DejaVu Sans",)


def rc() -> dict[str, Any]:
    """The pack's matplotlib style: seaborn "ticks" at paper scale, quiet greys, fixed SVG ids."""
    style: dict[str, Any] = {
        **sns.axes_style("ticks"),
        **sns.plotting_context("paper", font_scale=0.8),
    }
    style.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": list(_font_families()),
            "text.color": INK,
            "axes.labelcolor": INK,
            "axes.edgecolor": "#9aa5b1",
            "axes.linewidth": 0.6,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "xtick.color": "#52606d",
            "ytick.color": "#52606d",
            "xtick.major.size": 2.5,
            "ytick.major.size": 0,
            "xtick.major.width": 0.6,
            "xtick.labelsize": 6.5,
            "ytick.labelsize": 6.5,
            "axes.grid": True,
            "axes.grid.axis": "y",
            "grid.color": GRID,
            "grid.linewidth": 0.5,
            "axes.unicode_minus": True,
            "svg.fonttype": "none",
            "svg.hashsalt": "reportlib",
            "svg.image_inline": True,
            "figure.dpi": 100,
            "savefig.transparent": False,
        }
    )
    return style


@contextmanager
def styled() -> Iterator[None]:
    """Apply the pack's style while figures are built and saved."""
    with matplotlib.rc_context(rc()):
        yield


def to_svg(fig: Figure) -> str:
    """Serialise a figure as deterministic SVG (fixed ids, no date) for the pack."""
    buf = io.StringIO()
    with styled():
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "reportlib"})
    return buf.getvalue()


# --- helpers --------------------------------------------------------------------


def _decimals(step: float) -> int:
    """Fewest decimals (up to 3) that tell ticks `step` apart."""
    for d in range(4):
        if abs(step * 10**d - round(step * 10**d)) < 1e-6 * max(1.0, step * 10**d):
            return d
    return 3


class UnitFormatter(Formatter):
    """Axis ticks by unit, with just enough decimals to tell ticks apart: `$1.5m`, `97.5%`, `12 h`."""

    def __init__(self, unit: str, currency: str) -> None:
        self.unit = unit
        self.currency = currency
        self._d = 0
        self._scale = (1.0, "")

    def format_ticks(self, values: Any) -> list[str]:
        vals = [float(v) for v in values]
        self._scale = self._pick_scale(vals)
        steps = np.diff(sorted(vals)) / self._scale[0]
        self._d = _decimals(float(np.min(steps))) if len(steps) and np.min(steps) > 0 else 0
        return [self._one(v) for v in vals]

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self._one(float(x))

    def _pick_scale(self, vals: list[float]) -> tuple[float, str]:
        if self.unit != "currency":
            return (1.0, "")
        top = max((abs(v) for v in vals), default=0.0)
        for factor, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
            if top >= factor:
                return (factor, suffix)
        return (1.0, "")

    def _one(self, x: float) -> str:
        factor, suffix = self._scale
        if x == 0 and self.unit == "currency":
            return f"{currency_prefix(self.currency)}0"
        text = f"{abs(x) / factor:,.{self._d}f}"
        sign = "\u2212" if x < 0 and float(text.replace(",", "")) != 0 else ""
        if self.unit == "currency":
            return f"{sign}{currency_prefix(self.currency)}{text}{suffix}"
        return sign + text + {"percent": "%", "hours": " h"}.get(self.unit, "")


def _formatter(k: KpiDef, currency: str) -> UnitFormatter:
    return UnitFormatter(k.unit, currency)


def _floats(values: Any) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").astype("float64").to_numpy()


def _limits(k: KpiDef, *arrays: np.ndarray) -> tuple[float, float]:
    """Y range covering every finite value given, padded, never past 0/100 for percentages."""
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays]) if arrays else np.array([])
    if finite.size == 0:
        return (0.0, 100.0) if k.unit == "percent" else (0.0, 1.0)
    lo, hi = float(finite.min()), float(finite.max())
    pad = (hi - lo) * 0.12 or max(abs(hi) * 0.1, 1.0)
    lo2, hi2 = lo - pad, hi + pad
    if lo >= 0 and k.unit in ("percent", "hours", "currency", "ratio", "count"):
        lo2 = max(lo2, 0.0)
    edge = 0.04 * (hi2 - lo2)  # room for a marker sitting on a natural bound
    if k.unit == "percent" and hi <= 100:
        hi2 = min(hi2, 100.0 + edge)
    if k.unit == "points" and lo >= -100 and hi <= 100:
        lo2, hi2 = max(lo2, -100.0 - edge), min(hi2, 100.0 + edge)
    return lo2, hi2


def _steps(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a step line centred on each month: x from −0.5 to n−0.5."""
    n = len(values)
    x = np.repeat(np.arange(n + 1) - 0.5, 2)[1:-1]
    return x, np.repeat(values, 2)


def _month_ticks(ax: Any, labels: list[str]) -> None:
    """Ticks every quarter-month (Jan, Apr, Jul, Oct) labelled `Oct ’25`."""
    idx = [i for i, p in enumerate(labels) if periods.parse(p) % 3 == 0]
    if len(labels) <= 6:
        idx = list(range(len(labels)))
    ax.set_xticks(idx)
    ax.set_xticklabels([periods.first_day(labels[i]).strftime("%b ’%y") for i in idx])
    ax.set_xlim(-0.6, len(labels) - 0.4)


def _status_bands(
    ax: Any, k: KpiDef, target: np.ndarray, threshold: np.ndarray, ylim: tuple[float, float]
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
            alpha=BAND_ALPHA,
            lw=0,
            interpolate=False,
            zorder=0,
            gid=f"band-{status}",
        )


# --- trend ------------------------------------------------------------------------


def trend_figure(ctx: PackContext, kpi_id: str) -> Figure:
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
    ylim = _limits(k, v, target, threshold, *((lo, hi) if show_ci else ()))
    with styled():
        fig = Figure(figsize=TREND_SIZE)
        fig.set_layout_engine("constrained", h_pad=0.02, w_pad=0.02)
        ax = fig.add_subplot()
        ax.set_ylim(*ylim)
        _status_bands(ax, k, target, threshold, ylim)
        if show_ci:
            ax.fill_between(x, lo, hi, color=CI, alpha=0.45, lw=0, zorder=1, gid="ci-band")
        xe, tg = _steps(target)
        if np.isfinite(tg).any():
            ax.plot(xe, tg, color=TARGET, lw=0.9, ls=(0, (3.5, 2)), zorder=2, gid="target-line")
        for period, old, new in version_breaks(ctx, kpi_id):
            i = labels.index(period)
            ax.axvline(
                i - 0.5, color=MUTED, lw=0.7, ls=":", zorder=2, gid=f"version-break-v{old}-v{new}"
            )
        # Months below min n are drawn faint: the line through them is not the KPI's story.
        ax.plot(x, v, color=FAINT_SERIES, lw=1.1, zorder=3, gid="series-all")
        ax.plot(x, np.where(below, np.nan, v), color=SERIES, lw=1.4, zorder=3, gid="series")
        ok = np.isfinite(v) & ~below
        ax.plot(
            x[ok],
            v[ok],
            ls="none",
            marker="o",
            ms=2.6,
            mfc=SERIES,
            mec=SERIES,
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
                mec=SERIES,
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
        _month_ticks(ax, labels)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        ax.yaxis.set_major_formatter(_formatter(k, ctx.project.settings.currency))
        ax.set_ylim(*ylim)
    return fig


def trend_chart(ctx: PackContext, kpi_id: str) -> str:
    """Trend chart of a KPI at the pack's node, as SVG."""
    return to_svg(trend_figure(ctx, kpi_id))


# --- sparkline ----------------------------------------------------------------------


def sparkline_figure(ctx: PackContext, kpi_id: str) -> Figure:
    """13-month sparkline: the line, target dashed, latest month in its status colour."""
    k = ctx.project.kpi(kpi_id)
    s = series(ctx, kpi_id, months=SPARK_MONTHS)
    x = np.arange(len(s), dtype="float64")
    v = _floats(s["value"])
    target = _floats(s["target"])
    below = np.array(
        [below_min_n(k, n, str(p)) for n, p in zip(s["n"], s["period"], strict=True)], dtype=bool
    ) & np.isfinite(v)
    with styled():
        fig = Figure(figsize=SPARK_SIZE)
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
            ax.plot(xe, tg, color=MUTED, lw=0.6, ls=(0, (2, 1.5)), gid="target-line")
        ax.plot(x, v, color=SERIES, lw=0.9, gid="series")
        if below.any():
            ax.plot(
                x[below],
                v[below],
                ls="none",
                marker="o",
                ms=2,
                mfc="white",
                mec=SERIES,
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


def sparkline(ctx: PackContext, kpi_id: str) -> str:
    """Sparkline of a KPI at the pack's node, as SVG."""
    return to_svg(sparkline_figure(ctx, kpi_id))


# --- comparison -----------------------------------------------------------------------


def _short_name(name: str) -> str:
    """`EMEA` for `Enterprise · EMEA`: the parent is already named on the page."""
    return name.split(" · ")[-1]


def comparison_figure(ctx: PackContext, kpi_id: str) -> Figure | None:
    """Children of the node side by side (status-shaped dots, 95% intervals), parent as reference line."""
    k = ctx.project.kpi(kpi_id)
    children = ctx.tree.children(ctx.node.id)
    if not children:
        return None
    rows = [(c, row(ctx, kpi_id, c.id)) for c in children]
    parent = row(ctx, kpi_id)
    names = [_short_name(c.name) for c, _ in rows]
    y = np.arange(len(rows), dtype="float64")[::-1]

    def col(name: str) -> np.ndarray:
        return _floats([None if r is None else r[name] for _, r in rows])

    v, lo, hi = col("value"), col("ci_low"), col("ci_high")
    pv = float(parent["value"]) if parent is not None and not missing(parent["value"]) else math.nan
    show_ci = k.sample and bool(np.isfinite(lo).any())
    ref = np.array([math.nan if k.unit in ADDITIVE_UNITS else pv])
    xlim = _limits(k, v, ref, *((lo, hi) if show_ci else ()))
    with styled():
        fig = Figure(figsize=(2.45, 0.42 + 0.2 * len(rows)))
        fig.set_layout_engine("constrained", h_pad=0.02, w_pad=0.02)
        ax = fig.add_subplot()
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.set_xlim(*xlim)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        if math.isfinite(pv) and k.unit not in ADDITIVE_UNITS:
            ax.axvline(pv, color=SERIES, lw=0.9, ls=(0, (3, 2)), zorder=1, gid="parent-line")
        if show_ci:
            ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(v)
            ax.errorbar(
                v[ok],
                y[ok],
                xerr=np.vstack([v[ok] - lo[ok], hi[ok] - v[ok]]),
                fmt="none",
                ecolor="#7b8794",
                elinewidth=0.8,
                capsize=1.8,
                capthick=0.8,
                zorder=2,
                gid="intervals",
            )
        for i, (c, r) in enumerate(rows):
            if r is None or not np.isfinite(v[i]):
                ax.text(
                    xlim[0], y[i], " no data", va="center", ha="left", fontsize=5.5, color=MUTED
                )
                continue
            st = status_style(str(r["status"]))
            hollow = st.shape in ("hollow", "dash")
            ax.plot(
                [v[i]],
                [y[i]],
                ls="none",
                marker=_SHAPE_MARKER[st.shape],
                ms=4.2,
                mfc="white" if hollow else st.colour,
                mec=st.colour if not hollow else MUTED,
                mew=0.9,
                zorder=3,
                gid=f"child-{c.id.replace('/', '-')}",
            )
        ax.set_yticks(y)
        ax.set_yticklabels(names)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        ax.xaxis.set_major_formatter(_formatter(k, ctx.project.settings.currency))
        ax.tick_params(axis="y", length=0, labelsize=6.2)
        ax.tick_params(axis="x", labelsize=5.8)
        ax.spines["left"].set_visible(False)
    return fig


def comparison_chart(ctx: PackContext, kpi_id: str) -> str:
    """Comparison chart of the node's children for one KPI as SVG; empty for a leaf."""
    fig = comparison_figure(ctx, kpi_id)
    return "" if fig is None else to_svg(fig)


def overview_figure(ctx: PackContext, months: int = SPARK_MONTHS) -> Figure:
    """Overall and perspective scores (0–10) over the last months, on red/amber/green zones."""
    lines = [("score:overall", "Overall", SERIES, (0, (1, 0)), 2.0)]
    for p, (colour, dash) in zip(
        ctx.project.hierarchy.perspectives, PERSPECTIVE_STYLES * 4, strict=False
    ):
        lines.append((f"score:{p.id}", p.name, colour, dash, 1.0))
    with styled():
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
            ax.axhspan(lo, hi, color=STATUS[status].colour, alpha=BAND_ALPHA, lw=0, zorder=0)
        ax.set_ylim(0, 10)
        ax.set_yticks([0, 10 / 3, 20 / 3, 10])
        ax.set_yticklabels(["0", "3.3", "6.7", "10"])
        if labels:
            idx = list(range(0, n, 3)) if n > 6 else list(range(n))
            ax.set_xticks(idx)
            ax.set_xticklabels([periods.first_day(labels[i]).strftime("%b ’%y") for i in idx])
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


def overview_chart(ctx: PackContext) -> str:
    """Score overview of the executive summary, as SVG."""
    return to_svg(overview_figure(ctx))


def all_charts(ctx: PackContext) -> Charts:
    """Every chart the pack shows, for every KPI of the catalogue."""
    ids = [k.id for k in ctx.project.kpis]
    has_children = bool(ctx.tree.children(ctx.node.id))
    return Charts(
        trends={i: trend_chart(ctx, i) for i in ids},
        sparklines={i: sparkline(ctx, i) for i in ids},
        comparison={i: comparison_chart(ctx, i) for i in ids} if has_children else {},
        overview=overview_chart(ctx),
    )
