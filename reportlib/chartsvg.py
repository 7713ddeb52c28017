"""The pack's charts written directly as SVG (trend, sparkline, score overview, children comparison).

Each chart is described by a record (`TrendData`, `SparkData`, `OverviewData`,
`ComparisonData`) that `charts` and `comparison` build from the pack's figures; the same
record feeds the matplotlib figure a notebook can adjust (`charts.trend_figure`, ...) and
the SVG written here, so both show the same values, targets, bands, ticks and labels. The
SVG looks like the figure (same sizes, colours, line widths and fonts) but costs
milliseconds instead of a matplotlib draw, and WeasyPrint draws its few elements quickly.
Element ids name each feature (`target-line`, `band-red`, `below-min-n`, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .chartstyle import ChartStyle
from .svgwriter import Frame, Point, Svg, dash, middle_baseline, text_width

PT = 72.0
"""Points per inch: chart sizes are given in inches, like matplotlib's."""
PAD = 1.44
"""Outer padding in points (0.02 in, as the figures' layout engine leaves)."""
TICK_PAD = 3.5
TICK_LEN = 2.5
AXIS = "#9aa5b1"
TICK_INK = "#52606d"
DOTTED = (1.0, 1.65)


@dataclass(frozen=True, eq=False)
class TrendData:
    """What a KPI's 24-month trend shows (see `charts.trend_figure`)."""

    labels: tuple[str, ...]
    xticks: tuple[tuple[int, str], ...]
    value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    show_ci: bool
    target: np.ndarray
    threshold: np.ndarray
    below: np.ndarray
    direction: str
    ylim: tuple[float, float]
    yticks: tuple[tuple[float, str], ...]
    breaks: tuple[tuple[int, str, str], ...]
    latest: tuple[str, str] | None
    """(face, edge) colours of the latest month's dot, or None when it has no value."""
    colours: tuple[tuple[str, str], ...]
    """(status, colour) of the red, amber and green zones."""
    end_text: str = ""
    """The latest month's value as the pack prints it, written at the line's end ("" for none)."""
    target_text: str = ""
    """The target in force in the latest month ("target 45.0"), written at the target line's end."""


@dataclass(frozen=True, eq=False)
class SparkData:
    """What a KPI's 13-month sparkline shows."""

    value: np.ndarray
    target: np.ndarray
    below: np.ndarray
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    latest: tuple[str, str] | None
    breaks: tuple[int, ...] = ()
    """Indexes of the months where the KPI's definition changed: the line has a gap before each."""


@dataclass(frozen=True, eq=False)
class OverviewLine:
    key: str
    name: str
    colour: str
    dash: tuple[float, tuple[float, ...]]
    width: float
    value: np.ndarray


@dataclass(frozen=True, eq=False)
class OverviewData:
    """The overall and perspective scores (0–10) over the last months."""

    lines: tuple[OverviewLine, ...]
    months: int
    xticks: tuple[tuple[int, str], ...]
    yticks: tuple[tuple[float, str], ...]
    colours: tuple[tuple[str, str], ...]


@dataclass(frozen=True, eq=False)
class ComparisonRow:
    """One row of a comparison: a child (dot, interval) or a group of children (bar, median)."""

    label: str
    gid: str | None
    value: float
    low: float
    high: float
    marker: str
    face: str
    edge: str
    no_data: bool = False
    value_text: str = ""
    """The child's value as the pack prints it, written in the chart's right-hand column."""
    target: float = math.nan
    """The child's own target this month (NaN: none), drawn as a tick on its row."""
    target_text: str = ""
    group: np.ndarray | None = None
    group_colour: str = ""
    group_edges: tuple[float, ...] = ()


@dataclass(frozen=True, eq=False)
class ComparisonData:
    """A node's children side by side for one KPI (see `comparison.comparison_figure`)."""

    rows: tuple[ComparisonRow, ...]
    xlim: tuple[float, float]
    xticks: tuple[tuple[float, str], ...]
    parent: float
    """The parent's value as a reference line, or NaN when there is none."""
    show_ci: bool


def _steps(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(values)
    return np.repeat(np.arange(n + 1) - 0.5, 2)[1:-1], np.repeat(values, 2)


def _runs(ok: np.ndarray, cuts: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """(start, stop) of each run of True values; a run also ends before each index in `cuts`."""
    runs, start = [], None
    for i, flag in enumerate([*ok.tolist(), False]):
        if start is not None and (not flag or i in cuts):
            runs.append((start, i))
            start = None
        if flag and start is None:
            start = i
    return runs


def _target_line(
    svg: Svg,
    f: Frame,
    xe: np.ndarray,
    tg: np.ndarray,
    stroke: str,
    width: float,
    pattern: tuple[float, float],
) -> None:
    """The stepped target, dashed, where a target is in force (none: nothing drawn)."""
    if np.isfinite(tg).any():
        svg.line(
            f.points(xe, tg),
            "target-line",
            stroke=stroke,
            stroke_width=width,
            stroke_dasharray=dash(pattern, width),
        )


def _band(
    svg: Svg,
    f: Frame,
    x: np.ndarray,
    y1: np.ndarray,
    y2: np.ndarray,
    cuts: tuple[int, ...] = (),
    **attrs: object,
) -> None:
    """The area between y1 and y2 over x, one polygon per run of finite values (split
    before each index in `cuts`)."""
    ok = np.isfinite(y1) & np.isfinite(y2)
    a, b = f.clip_y(y1), f.clip_y(y2)
    for start, stop in _runs(ok, cuts):
        top = [(f.x(x[i]), f.y(b[i])) for i in range(start, stop)]
        low = [(f.x(x[i]), f.y(a[i])) for i in reversed(range(start, stop))]
        svg.polygon(top + low, **attrs)


def _value_axis(
    svg: Svg, f: Frame, yticks: tuple[tuple[float, str], ...], style: ChartStyle
) -> None:
    svg.group("grid", stroke=style.grid, stroke_width=0.5)
    for v, _ in yticks:
        svg.add("path", d=f"M{f.left:.2f} {f.y(v):.2f}H{f.right:.2f}")
    svg.end()


def _axes(
    svg: Svg,
    f: Frame,
    xticks: tuple[tuple[int, str], ...],
    yticks: tuple[tuple[float, str], ...],
    size: float,
    *,
    left_spine: bool = True,
) -> None:
    """Spines, x tick marks and both axes' labels."""
    d = (
        f"M{f.left:.2f} {f.top:.2f}V{f.bottom:.2f}H{f.right:.2f}"
        if left_spine
        else f"M{f.left:.2f} {f.bottom:.2f}H{f.right:.2f}"
    )
    svg.add("path", id="spines", d=d, fill="none", stroke=AXIS, stroke_width=0.6)
    if xticks:
        marks = "".join(f"M{f.x(i):.2f} {f.bottom:.2f}v{TICK_LEN}" for i, _ in xticks)
        svg.add("path", id="xticks", d=marks, stroke=TICK_INK, stroke_width=0.6)
    base = f.bottom + TICK_LEN + TICK_PAD + 0.75 * size
    for i, text in xticks:
        svg.text(f.x(i), base, text, size, TICK_INK, anchor="middle")
    for v, text in yticks:
        svg.text(
            f.left - TICK_PAD, middle_baseline(f.y(v), size), text, size, TICK_INK, anchor="end"
        )


def _dot(
    svg: Svg,
    p: Point,
    size: float,
    face: str,
    edge: str,
    width: float,
    gid: str | None = None,
    shape: str = "o",
) -> None:
    svg.marker(shape, p[0], p[1], size, id=gid, fill=face, stroke=edge, stroke_width=width)


def _frame(
    width: float,
    height: float,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    yticks: tuple[tuple[float, str], ...],
    xticks: tuple[tuple[int, str], ...],
    size: float,
    right: float = 0.0,
) -> Frame:
    """The plot box: room on the left for the value labels, below for the month labels."""
    label = max((text_width(t, size) for _, t in yticks), default=0.0)
    left = PAD + label + TICK_PAD
    bottom = PAD + size * 1.05 + TICK_LEN + TICK_PAD
    top = PAD + (0.5 * size if yticks else 0.0)
    if xticks:  # the last month's label is centred on its tick: keep it on the page
        last_i, last = xticks[-1]
        frac = (last_i - xlim[0]) / (xlim[1] - xlim[0])
        plot_w = width - left - PAD - right
        overhang = text_width(last, size) / 2 - (1 - frac) * plot_w
        right += max(overhang, 0.0)
    return Frame(left, top, width - left - PAD - right, height - top - bottom, xlim, ylim)


def broken(points: list[Point | None], at: tuple[int, ...] | list[int]) -> list[Point | None]:
    """The line's points with a gap before each index in `at`: a KPI's line is not drawn
    across a definition change, since the months either side measure different things
    (DOMAIN.md §4)."""
    cuts = set(at)
    out: list[Point | None] = []
    for i, p in enumerate(points):
        if i in cuts:
            out.append(None)
        out.append(p)
    return out


END_SIZE = 6.5
"""Size of the end-of-line labels (the latest value, the target) of a trend chart."""
END_GAP = 3.0


def _last_finite(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else math.nan


def _end_labels(svg: Svg, f: Frame, d: TrendData, style: ChartStyle) -> None:
    """The latest value (bold, by its dot) and the target in force (by the target line's
    end) written right of the plot; pushed apart when they would overlap."""
    wanted: list[tuple[str, str, float, str, str | None]] = []
    if d.end_text and len(d.value) and np.isfinite(d.value[-1]):
        wanted.append(("end-label", d.end_text, f.y(float(d.value[-1])), style.ink, "bold"))
    tgt = _last_finite(d.target)
    if d.target_text and math.isfinite(tgt):
        wanted.append(("target-label", d.target_text, f.y(tgt), style.target, None))
    if len(wanted) == 2:
        a, b = sorted(wanted, key=lambda w: w[2])
        gap = max(END_SIZE * 1.15 - (b[2] - a[2]), 0.0) / 2
        wanted = [(*a[:2], a[2] - gap, *a[3:]), (*b[:2], b[2] + gap, *b[3:])]
    for gid, text, y, ink, weight in wanted:
        y = middle_baseline(min(max(y, f.top + END_SIZE / 2), f.bottom - END_SIZE / 2), END_SIZE)
        svg.text(f.right + END_GAP, y, text, END_SIZE, ink, gid=gid, weight=weight)


def trend_svg(d: TrendData, style: ChartStyle) -> str:
    """The trend chart (bands, 95% band, stepped target, breaks, lines, dots, axes, and the
    latest value and the target written at the right end)."""
    w, h = style.trend_size[0] * PT, style.trend_size[1] * PT
    n = len(d.labels)
    labels = [t for t in (d.end_text, d.target_text) if t]
    right = max((BOLD * text_width(t, END_SIZE) for t in labels), default=-END_GAP) + END_GAP
    f = _frame(w, h, (-0.6, n - 0.4), d.ylim, d.yticks, d.xticks, 6.5, right=right)
    svg = Svg(w, h)
    svg.rect(0, 0, w, h, fill="white")
    lo, hi = d.ylim
    xe, tg = _steps(d.target)
    _, th = _steps(d.threshold)
    ok = np.isfinite(tg) & np.isfinite(th)
    if ok.any():
        floor, ceiling = np.full_like(tg, lo), np.full_like(tg, hi)
        zones = (
            (("red", floor, th), ("amber", th, tg), ("green", tg, ceiling))
            if d.direction == "up"
            else (("green", floor, tg), ("amber", tg, th), ("red", th, ceiling))
        )
        colours = dict(d.colours)
        for status, y1, y2 in zones:
            _band(
                svg,
                f,
                xe,
                np.where(ok, y1, np.nan),
                np.where(ok, y2, np.nan),
                id=f"band-{status}",
                fill=colours[status],
                fill_opacity=style.band_alpha,
            )
    _value_axis(svg, f, d.yticks, style)
    x = np.arange(n, dtype="float64")
    cuts = tuple(i for i, _, _ in d.breaks)
    if d.show_ci:  # like the line, the interval is not drawn across a definition change
        _band(svg, f, x, d.ci_low, d.ci_high, cuts, id="ci-band", fill=style.ci, fill_opacity=0.45)
    _target_line(svg, f, xe, tg, style.target, 0.9, (3.5, 2))
    for i, old, new in d.breaks:
        bx = f.x(i - 0.5)
        svg.line(
            [(bx, f.top), (bx, f.bottom)],
            f"version-break-v{old}-v{new}",
            stroke=style.muted,
            stroke_width=0.7,
            stroke_dasharray=dash(DOTTED, 0.7),
        )
    v = d.value
    svg.line(
        broken(f.points(x, v), cuts),
        "series-all",
        stroke=style.faint_series,
        stroke_width=1.1,
        stroke_linejoin="round",
        stroke_linecap="round",
    )
    svg.line(
        broken(f.points(x, np.where(d.below, np.nan, v)), cuts),
        "series",
        stroke=style.series,
        stroke_width=1.4,
        stroke_linejoin="round",
        stroke_linecap="round",
    )
    shown = np.isfinite(v) & ~d.below
    svg.group("markers", fill=style.series, stroke=style.series, stroke_width=1.0)
    for j in np.flatnonzero(shown).tolist():
        svg.marker("o", f.x(x[j]), f.y(v[j]), 2.6)
    svg.end()
    if d.below.any():
        svg.group("below-min-n", fill="white", stroke=style.series, stroke_width=0.9)
        for j in np.flatnonzero(d.below).tolist():
            svg.marker("o", f.x(x[j]), f.y(v[j]), 3.4)
        svg.end()
    if d.latest is not None:
        face, edge = d.latest
        _dot(svg, (f.x(x[-1]), f.y(v[-1])), 5.0, face, edge, 1.2, "latest")
    _axes(svg, f, d.xticks, d.yticks, 6.5)
    _end_labels(svg, f, d, style)
    return svg.render()


def sparkline_svg(d: SparkData, style: ChartStyle) -> str:
    """The sparkline: the line (with a gap at a definition change, as the trend), the target
    dashed, hollow months below min n, the latest dot."""
    w, h = style.spark_size[0] * PT, style.spark_size[1] * PT
    f = Frame(0.04 * w, 0.12 * h, 0.92 * w, 0.76 * h, d.xlim, d.ylim)
    svg = Svg(w, h)
    x = np.arange(len(d.value), dtype="float64")
    xe, tg = _steps(d.target)
    _target_line(svg, f, xe, tg, style.muted, 0.6, (2, 1.5))
    svg.line(
        broken(f.points(x, d.value), d.breaks),
        "series",
        stroke=style.series,
        stroke_width=0.9,
        stroke_linejoin="round",
        stroke_linecap="round",
    )
    if d.below.any():
        svg.group("below-min-n", fill="white", stroke=style.series, stroke_width=0.6)
        for j in np.flatnonzero(d.below).tolist():
            svg.marker("o", f.x(x[j]), f.y(d.value[j]), 2.0)
        svg.end()
    if d.latest is not None:
        face, edge = d.latest
        _dot(svg, (f.x(x[-1]), f.y(d.value[-1])), 3.0, face, edge, 0.8, "latest")
    return svg.render()


LEGEND_SIZE = 6.2


def overview_svg(d: OverviewData, style: ChartStyle) -> str:
    """Overall and perspective scores over red/amber/green zones, the legend on the right."""
    w, h = 5.0 * PT, 1.6 * PT
    handle, gap, row = 2.6 * LEGEND_SIZE, 0.8 * LEGEND_SIZE, 1.7 * LEGEND_SIZE
    legend = (
        handle + gap + max((text_width(line.name, LEGEND_SIZE) for line in d.lines), default=0.0)
    )
    n = max(d.months, 1)
    f = _frame(w, h, (-0.4, n - 0.6), (0.0, 10.0), d.yticks, d.xticks, 6.5, right=legend + 0.01 * w)
    svg = Svg(w, h)
    svg.rect(0, 0, w, h, fill="white")
    for status, colour in d.colours:
        lo, hi = {"red": (0, 10 / 3), "amber": (10 / 3, 20 / 3), "green": (20 / 3, 10)}[status]
        svg.rect(
            f.left,
            f.y(hi),
            f.width,
            f.y(lo) - f.y(hi),
            id=f"band-{status}",
            fill=colour,
            fill_opacity=style.band_alpha,
        )
    _value_axis(svg, f, d.yticks, style)
    for line in d.lines:
        x = np.arange(len(line.value), dtype="float64")
        _, pattern = line.dash
        dashes = None if len(pattern) < 2 or pattern[1] == 0 else dash(pattern, line.width)
        svg.line(
            f.points(x, line.value),
            f"line-{line.key.replace(':', '-')}",
            stroke=line.colour,
            stroke_width=line.width,
            stroke_dasharray=dashes,
            stroke_linejoin="round",
        )
    _axes(svg, f, d.xticks, d.yticks, 6.5)
    lx = f.right + 0.01 * f.width
    svg.group("legend")
    for i, line in enumerate(d.lines):
        y = f.top + (i + 0.5) * row
        _, pattern = line.dash
        dashes = None if len(pattern) < 2 or pattern[1] == 0 else dash(pattern, line.width)
        svg.line(
            [(lx, y), (lx + handle, y)],
            stroke=line.colour,
            stroke_width=line.width,
            stroke_dasharray=dashes,
        )
        svg.text(
            lx + handle + gap, middle_baseline(y, LEGEND_SIZE), line.name, LEGEND_SIZE, style.ink
        )
    svg.end()
    return svg.render()


BOLD = 1.06
"""Bold text is measured as the regular face this much wider (the metrics are the regular's)."""
VALUE_SIZE = 5.8
"""Size of the value and target written right of each comparison row."""


def _value_column_width(r: ComparisonRow) -> float:
    if not r.value_text:
        return 0.0
    width = BOLD * text_width(r.value_text, VALUE_SIZE)
    if r.target_text:
        width += 2.0 + text_width(r.target_text, VALUE_SIZE)
    return width


def _value_column(svg: Svg, x: float, y: float, r: ComparisonRow, style: ChartStyle) -> None:
    """A child's value (bold) and its own target (muted) right of its row."""
    if not r.value_text:
        return
    base = middle_baseline(y, VALUE_SIZE)
    gid = None if r.gid is None else f"value-{r.gid}"
    svg.text(x, base, r.value_text, VALUE_SIZE, style.ink, gid=gid, weight="bold")
    if r.target_text:
        x += BOLD * text_width(r.value_text, VALUE_SIZE) + 2.0
        tid = None if r.gid is None else f"target-text-{r.gid}"
        svg.text(x, base, r.target_text, VALUE_SIZE, style.muted, gid=tid)


def comparison_svg(d: ComparisonData, style: ChartStyle) -> str:
    """Children as status-shaped dots with 95% intervals and a tick at each child's own
    target, groups as bars, the parent as a line; each child's value and target written
    in a column on the right."""
    n = len(d.rows)
    w, h = 2.45 * PT, (0.42 + 0.2 * n) * PT
    label = max((text_width(r.label, 6.2) for r in d.rows), default=0.0)
    left = PAD + label + TICK_PAD
    bottom = PAD + 5.8 * 1.05 + TICK_LEN + TICK_PAD
    last = d.xticks[-1][1] if d.xticks else ""
    column = max((_value_column_width(r) for r in d.rows), default=0.0)
    right = PAD + max(text_width(last, 5.8) / 2, column + (END_GAP if column else 0.0))
    f = Frame(left, PAD + 1.0, w - left - right, h - PAD - 1.0 - bottom, d.xlim, (-0.6, n - 0.4))
    svg = Svg(w, h)
    svg.rect(0, 0, w, h, fill="white")
    svg.group("grid", stroke=style.grid, stroke_width=0.5)
    for v, _ in d.xticks:
        svg.add("path", d=f"M{f.x(v):.2f} {f.top:.2f}V{f.bottom:.2f}")
    svg.end()
    ys = [float(n - 1 - i) for i in range(n)]
    for r, y in zip(d.rows, ys, strict=True):
        for edge in r.group_edges:
            svg.line(
                [(f.left, f.y(y + edge)), (f.right, f.y(y + edge))],
                "group-edge",
                stroke=style.muted,
                stroke_width=0.4,
                stroke_dasharray=dash((1, 2), 0.4),
            )
    if math.isfinite(d.parent):
        px = f.x(d.parent)
        svg.line(
            [(px, f.top), (px, f.bottom)],
            "parent-line",
            stroke=style.series,
            stroke_width=0.9,
            stroke_dasharray=dash((3, 2), 0.9),
        )
    if d.show_ci:
        bars = []
        for r, y in zip(d.rows, ys, strict=True):
            if r.gid and all(math.isfinite(v) for v in (r.value, r.low, r.high)):
                a, b, yy = f.x(r.low), f.x(r.high), f.y(y)
                bars.append(
                    f"M{a:.2f} {yy:.2f}H{b:.2f}M{a:.2f} {yy - 1.8:.2f}v3.6M{b:.2f} {yy - 1.8:.2f}v3.6"
                )
        if bars:
            svg.add(
                "path",
                id="intervals",
                d="".join(bars),
                fill="none",
                stroke="#7b8794",
                stroke_width=0.8,
            )
    for r, y in zip(d.rows, ys, strict=True):
        yy = f.y(y)
        if r.group is not None:
            finite = r.group[np.isfinite(r.group)]
            if finite.size:
                svg.line(
                    [(f.x(float(finite.min())), yy), (f.x(float(finite.max())), yy)],
                    "group-range",
                    stroke=r.group_colour,
                    stroke_width=3.2,
                )
                svg.marker(
                    "|",
                    f.x(float(np.median(finite))),
                    yy,
                    6.0,
                    id="group-median",
                    stroke=style.muted,
                    stroke_width=1.2,
                )
        elif r.no_data:
            svg.text(f.left, middle_baseline(yy, 5.5), " no data", 5.5, style.muted)
        elif r.gid is not None:
            if math.isfinite(r.target):
                tx = f.x(r.target)
                svg.line(
                    [(tx, yy - 3.6), (tx, yy + 3.6)],
                    f"target-{r.gid}",
                    stroke=style.target,
                    stroke_width=1.0,
                )
            _dot(svg, (f.x(r.value), yy), 4.2, r.face, r.edge, 0.9, r.gid, r.marker)
        _value_column(svg, f.right + END_GAP, yy, r, style)
    _axes(svg, f, (), (), 5.8, left_spine=False)
    marks = "".join(f"M{f.x(v):.2f} {f.bottom:.2f}v{TICK_LEN}" for v, _ in d.xticks)
    if marks:
        svg.add("path", id="xticks", d=marks, stroke=TICK_INK, stroke_width=0.6)
    base = f.bottom + TICK_LEN + TICK_PAD + 0.75 * 5.8
    for v, text in d.xticks:
        svg.text(f.x(v), base, text, 5.8, TICK_INK, anchor="middle")
    for r, y in zip(d.rows, ys, strict=True):
        ink = style.muted if r.group is not None else TICK_INK
        svg.text(f.left - TICK_PAD, middle_baseline(f.y(y), 6.2), r.label, 6.2, ink, anchor="end")
    return svg.render()
