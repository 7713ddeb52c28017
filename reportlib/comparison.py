"""The comparison page's charts: a node's children side by side, one chart per KPI.

Up to `LIMIT` children every child is drawn, in the tree's order. Beyond that (a region
with 40 branches) a chart of 40 dots on one axis cannot be read, so each KPI's chart
shows its `SHOWN` best and `SHOWN` worst children, numbered by rank, a grey bar for
the others (their range, a tick at their median) and a lighter one for the children
not ranked; `select` makes that choice and `note` says it in words under the chart.
Children are ranked by their status and score (DOMAIN.md §5, §6: the score already
places green above amber above red), then by the value in the KPI's good direction, ties
by node id, so the choice is deterministic. Children with too few answers or no data are
not ranked (DOMAIN.md §4) and only counted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import chartseries
from .chartstyle import DEFAULT_STYLE, ChartStyle, UnitFormatter, styled, value_range
from .chartsvg import ComparisonData, ComparisonRow, comparison_svg
from .config import KpiDef
from .formatting import format_short, format_value, missing, status_style
from .hierarchy import Node
from .packdata import PackContext
from .svgwriter import ticks

log = logging.getLogger(__name__)

LIMIT = 12
"""Most children a comparison chart draws in full; beyond it, the top and bottom `SHOWN`."""
SHOWN = 5
"""Children shown at each end (best, worst) when a node has more than `LIMIT`."""

ADDITIVE_UNITS = ("currency", "count")
"""A parent's value of these is the children's sum, so it is no reference line for them."""

_SHAPE_MARKER = {"circle": "o", "triangle": "^", "square": "s", "hollow": "o", "dash": "o"}
_UNRANKED = ("insufficient", "no-data")

Record = Mapping[str, Any]
"""One row of this period's scorecard (column → value)."""


@dataclass(frozen=True)
class Selection:
    """Which children one KPI's chart draws, and which it only summarises.

    `limited` is False for a node with at most `LIMIT` children: then `top` is every
    child in the tree's order and the rest is empty. Otherwise `top` holds the best
    children (best first), `bottom` the worst (worst last), `others` the ranked children
    in between (not drawn) and `unranked` those with too few answers or no data.
    """

    total: int
    top: tuple[Node, ...]
    bottom: tuple[Node, ...] = ()
    others: tuple[Node, ...] = ()
    unranked: tuple[Node, ...] = ()
    limited: bool = False
    rows: Mapping[str, Record] = field(default_factory=dict)
    """This period's row of the KPI for each child that has one (limited selections only)."""

    @property
    def shown(self) -> tuple[Node, ...]:
        return self.top + self.bottom


def rank_key(k: KpiDef, node: Node, r: Record | None) -> tuple[float, float, str] | None:
    """Sort key, best first: score, then the value in the good direction, then node id.

    None for a child that is not ranked (no row, no value, too few answers).
    """
    if r is None or missing(r["value"]) or str(r["status"]) in _UNRANKED:
        return None
    value = float(r["value"])
    if not math.isfinite(value):
        return None
    score = float(r["score"]) if not missing(r["score"]) else -1.0  # no target: after scored
    good = value if k.direction == "up" else -value
    return (-score, -good, node.id)


def select(ctx: PackContext, kpi_id: str, limit: int = LIMIT, shown: int = SHOWN) -> Selection:
    """The children of the pack's node one KPI's comparison chart draws (see `Selection`)."""
    children = ctx.tree.children(ctx.node.id)
    if len(children) <= limit:
        return Selection(total=len(children), top=children)
    k = ctx.project.kpi(kpi_id)
    rows = kpi_rows(ctx, kpi_id, children)
    keyed = [(rank_key(k, c, rows.get(c.id)), c) for c in children]
    ranked = [c for key, c in sorted((x for x in keyed if x[0] is not None), key=lambda x: x[0])]  # type: ignore[arg-type,return-value]
    unranked = tuple(c for key, c in keyed if key is None)
    top = tuple(ranked[:shown])
    bottom = tuple(ranked[max(shown, len(ranked) - shown) :])
    others = tuple(ranked[shown : max(shown, len(ranked) - shown)])
    return Selection(
        total=len(children),
        top=top,
        bottom=bottom,
        others=others,
        unranked=unranked,
        limited=True,
        rows=rows,
    )


def kpi_rows(ctx: PackContext, kpi_id: str, nodes: Sequence[Node]) -> dict[str, Record]:
    """One KPI's rows of this period for the node's children, by node id (from the pack's index)."""
    found = chartseries.index(ctx)
    rows = ((n.id, found.current(n.id, kpi_id)) for n in nodes)
    return {node: r for node, r in rows if r is not None}


def plural(level: str) -> str:
    """`branches`, `regions`, `countries`: the plural of a level's name, for the page's text."""
    word = level.replace("_", " ")
    if word.endswith(("s", "sh", "ch", "x", "z")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    return word + "s"


def child_level(ctx: PackContext) -> str:
    """Name of the level of the node's children (`branch`), or `child` past the last level."""
    levels = ctx.project.hierarchy.levels
    return levels[ctx.node.level] if ctx.node.level < len(levels) else "child"


def lede(ctx: PackContext, limit: int = LIMIT, shown: int = SHOWN) -> str:
    """What the page shows when it cannot show every child; empty when it can."""
    n = len(ctx.tree.children(ctx.node.id))
    if n <= limit:
        return ""
    return (
        f"The {n} {plural(child_level(ctx))} of {ctx.node.name}: for each KPI the {shown} "
        f"best and the {shown} worst, numbered by rank (status and score, then value); "
        "a grey bar spans the others (a tick at their median), a lighter one the children "
        "not ranked, and the line under each chart counts them"
    )


def note(ctx: PackContext, kpi_id: str, limit: int = LIMIT, shown: int = SHOWN) -> str:
    """One line under a limited chart: what is drawn, the others' median and range."""
    sel = select(ctx, kpi_id, limit, shown)
    if not sel.limited:
        return ""
    k = ctx.project.kpi(kpi_id)
    settings = ctx.project.settings

    def fmt(x: float) -> str:
        return format_value(x, k.unit, settings.currency, settings.locale)

    def spread(v: np.ndarray) -> str:
        return f"median {fmt(float(np.median(v)))} ({fmt(float(v.min()))} to {fmt(float(v.max()))})"

    words = plural(child_level(ctx))
    if sel.shown:
        parts = [f"Top {len(sel.top)} and bottom {len(sel.bottom)} of {sel.total} {words}"]
    else:
        parts = [f"None of the {sel.total} {words} ranked"]
    if sel.others:
        parts.append(f"the other {len(sel.others)}: {spread(_values(sel, sel.others))}")
    if sel.unranked:
        text = f"{len(sel.unranked)} not ranked (too few answers or no data)"
        v = _values(sel, sel.unranked)
        v = v[np.isfinite(v)]
        if v.size:
            text += f", {v.size} of them with a value: {spread(v)}"
        parts.append(text)
    return "; ".join(parts) + "."


def _values(sel: Selection, nodes: Sequence[Node]) -> np.ndarray:
    return _floats([_field(sel.rows.get(c.id), "value") for c in nodes])


def _field(r: Record | None, name: str) -> Any:
    return None if r is None else r[name]


def _floats(values: Any) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").astype("float64").to_numpy()


def _short_name(name: str) -> str:
    """`EMEA` for `Enterprise · EMEA`: the parent is already named on the page."""
    return name.split(" · ")[-1]


Rows = list[tuple[str, Node | None, Record | None]]


def _rows(ctx: PackContext, kpi_id: str, sel: Selection) -> tuple[Rows, int | None, int | None]:
    """Labelled rows top to bottom, and the indexes of the others' and the unranked rows.

    A row with no node stands for several children (drawn by `_draw_group`).
    """
    if not sel.limited:
        found = chartseries.index(ctx)
        every: Rows = [(_short_name(c.name), c, found.current(c.id, kpi_id)) for c in sel.top]
        return every, None, None
    ranks_below = len(sel.top) + len(sel.others)
    rows: Rows = [
        (f"{i + 1}. {_short_name(c.name)}", c, sel.rows.get(c.id)) for i, c in enumerate(sel.top)
    ]
    gap = None
    if sel.others:
        gap = len(rows)
        rows.append((f"{len(sel.others)} others", None, None))
    rows += [
        (f"{ranks_below + i + 1}. {_short_name(c.name)}", c, sel.rows.get(c.id))
        for i, c in enumerate(sel.bottom)
    ]
    unranked = None
    if sel.unranked and np.isfinite(_values(sel, sel.unranked)).any():
        unranked = len(rows)
        rows.append((f"{len(sel.unranked)} not ranked", None, None))
    return rows, gap, unranked


def comparison_data(
    ctx: PackContext, kpi_id: str, style: ChartStyle = DEFAULT_STYLE
) -> ComparisonData | None:
    """What one KPI's comparison shows: a row per child (or group), the axis, the parent; None for a leaf."""
    k = ctx.project.kpi(kpi_id)
    if not ctx.tree.children(ctx.node.id):
        return None
    sel = select(ctx, kpi_id)
    rows, gap, unranked_at = _rows(ctx, kpi_id, sel)
    parent = chartseries.index(ctx).current(ctx.node.id, kpi_id)

    def col(name: str) -> np.ndarray:
        return _floats([_field(r, name) for _, _, r in rows])

    v, lo, hi, tg = col("value"), col("ci_low"), col("ci_high"), col("target")
    others = _values(sel, sel.others) if sel.others else np.array([])
    unranked = _values(sel, sel.unranked) if unranked_at is not None else np.array([])
    groups = tuple(a for a in (others, unranked) if a.size)
    pv = float(parent["value"]) if parent is not None and not missing(parent["value"]) else math.nan
    show_ci = k.sample and bool(np.isfinite(lo).any())
    ref = math.nan if k.unit in ADDITIVE_UNITS else pv
    shown_targets = np.where(np.isfinite(v), tg, np.nan)
    xlim = value_range(
        k.unit, v, np.array([ref]), shown_targets, *((lo, hi) if show_ci else ()), *groups
    )
    xvalues = ticks(*xlim)
    settings = ctx.project.settings

    def short(x: float) -> str:
        return format_short(x, k.unit, settings.currency, settings.locale)

    xtexts = UnitFormatter(k.unit, settings.currency, settings.locale).format_ticks(xvalues)
    made: list[ComparisonRow] = []
    for i, (name, c, r) in enumerate(rows):
        if i in (gap, unranked_at):
            is_gap = i == gap
            made.append(
                ComparisonRow(
                    label=name,
                    gid=None,
                    value=math.nan,
                    low=math.nan,
                    high=math.nan,
                    marker="",
                    face="",
                    edge="",
                    group=others if is_gap else unranked,
                    group_colour="#c3c8cf" if is_gap else "#e3e6ea",
                    group_edges=(0.5, -0.5) if is_gap else (0.5,),
                )
            )
            continue
        assert c is not None
        if r is None or not np.isfinite(v[i]):
            made.append(
                ComparisonRow(name, None, math.nan, math.nan, math.nan, "", "", "", no_data=True)
            )
            continue
        st = status_style(str(r["status"]))
        hollow = st.shape in ("hollow", "dash")
        made.append(
            ComparisonRow(
                label=name,
                gid=f"child-{c.id.replace('/', '-')}",
                value=float(v[i]),
                low=float(lo[i]),
                high=float(hi[i]),
                marker=_SHAPE_MARKER[st.shape],
                face="white" if hollow else st.colour,
                edge=st.colour if not hollow else style.muted,
                value_text=short(float(v[i])),
                target=float(tg[i]),
                target_text=f"tgt {short(float(tg[i]))}" if np.isfinite(tg[i]) else "",
            )
        )
    return ComparisonData(
        rows=tuple(made),
        xlim=xlim,
        xticks=tuple(zip(xvalues, xtexts, strict=True)),
        parent=ref,
        show_ci=show_ci,
    )


def comparison_figure(
    ctx: PackContext, kpi_id: str, style: ChartStyle = DEFAULT_STYLE
) -> Figure | None:
    """Children of the node side by side (status-shaped dots, 95% intervals), parent as reference line.

    Beyond `LIMIT` children: the top and bottom `SHOWN` by rank and a bar for the others.
    A matplotlib Figure to adjust in a notebook; the pack writes `comparison_chart`.
    """
    d = comparison_data(ctx, kpi_id, style)
    if d is None:
        return None
    n = len(d.rows)
    y = np.arange(n, dtype="float64")[::-1]
    v = np.array([r.value for r in d.rows])
    lo, hi = np.array([r.low for r in d.rows]), np.array([r.high for r in d.rows])
    with styled(style):
        fig = Figure(figsize=(2.45, 0.42 + 0.2 * n))
        fig.set_layout_engine("constrained", h_pad=0.02, w_pad=0.02)
        ax = fig.add_subplot()
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.set_xlim(*d.xlim)
        ax.set_ylim(-0.6, n - 0.4)
        if math.isfinite(d.parent):
            ax.axvline(
                d.parent, color=style.series, lw=0.9, ls=(0, (3, 2)), zorder=1, gid="parent-line"
            )
        if d.show_ci:
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
        for i, r in enumerate(d.rows):
            if r.group is not None:
                _draw_group(ax, y[i], r.group, style, colour=r.group_colour, edges=r.group_edges)
            elif r.no_data:
                ax.text(
                    d.xlim[0],
                    y[i],
                    " no data",
                    va="center",
                    ha="left",
                    fontsize=5.5,
                    color=style.muted,
                )
            else:
                ax.plot(
                    [r.value],
                    [y[i]],
                    ls="none",
                    marker=r.marker,
                    ms=4.2,
                    mfc=r.face,
                    mec=r.edge,
                    mew=0.9,
                    zorder=3,
                    gid=r.gid,
                )
        ax.set_yticks(y)
        ax.set_yticklabels([r.label for r in d.rows])
        ax.set_xticks([t for t, _ in d.xticks])
        ax.set_xticklabels([t for _, t in d.xticks])
        ax.set_xlim(*d.xlim)
        ax.tick_params(axis="y", length=0, labelsize=6.2)
        ax.tick_params(axis="x", labelsize=5.8)
        ax.spines["left"].set_visible(False)
        for i, r in enumerate(d.rows):
            if r.group is not None:
                ax.get_yticklabels()[i].set_color(style.muted)
    return fig


def _draw_group(
    ax: Any,
    y: float,
    values: np.ndarray,
    style: ChartStyle,
    *,
    colour: str,
    edges: tuple[float, ...],
) -> None:
    """A row for several children: a bar over their range, a tick at their median, dotted edges."""
    for edge in edges:
        ax.axhline(y + edge, color=style.muted, lw=0.4, ls=(0, (1, 2)), zorder=1, gid="group-edge")
    finite = values[np.isfinite(values)]
    if not finite.size:
        return
    ax.plot(
        [finite.min(), finite.max()],
        [y, y],
        color=colour,
        lw=3.2,
        solid_capstyle="butt",
        zorder=2,
        gid="group-range",
    )
    ax.plot(
        [float(np.median(finite))],
        [y],
        ls="none",
        marker="|",
        ms=6,
        mew=1.2,
        color=style.muted,
        zorder=3,
        gid="group-median",
    )


def comparison_chart(ctx: PackContext, kpi_id: str, style: ChartStyle = DEFAULT_STYLE) -> str:
    """Comparison chart of the node's children for one KPI as SVG (written directly); empty for a leaf."""
    d = comparison_data(ctx, kpi_id, style)
    return "" if d is None else comparison_svg(d, style)
