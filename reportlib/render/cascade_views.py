"""The cascade as the pack prints it: the heat-map page and the summary's "below this node" panel.

`cascade` finds what is happening below a node; this module formats it into the records
of `records` (`HeatMap`, `Below`), as `views` does for the node's own figures.
"""

from __future__ import annotations

from .. import cascade
from ..cascade import NodeFindings
from ..comparison import child_level
from ..explain import plural, where_line
from ..formatting import format_score, format_short, format_short_delta, status_style
from ..packdata import PackContext
from .kpiviews import perspective_name
from .records import (
    Below,
    BelowMover,
    HeatCellView,
    HeatMap,
    HeatRowView,
    KpiGridRow,
    NodeTally,
    Status,
)

TALLY_ROWS = 6
"""Nodes listed by name in the summary's "below this node" panel (the rest are counted)."""

ESCALATIONS_BELOW = 30
"""At most this many escalations of the nodes below are listed (whole nodes, most first)."""

BELOW_MOVERS = 3
"""Movers of the nodes below listed in the summary."""

GRID_ROWS = 6
"""A heat-map of at most this many rows (and children) also shows every KPI at each child,
so its page is not half empty and the reader sees which KPI makes a child weak."""


def kpi_grid(ctx: PackContext) -> tuple[tuple[str, ...], tuple[KpiGridRow, ...]]:
    """(children's names, a row per KPI with each child's value and status) for the heat-map."""
    children = ctx.tree.children(ctx.node.id)
    cur = ctx.current[ctx.current["node"].isin([c.id for c in children])]
    by = {(str(r["node"]), str(r["kpi"])): r for r in cur.to_dict("records")}
    s = ctx.project.settings
    rows = []
    seen: set[str] = set()
    for k in ctx.project.kpis:
        cells = []
        for c in children:
            r = by.get((c.id, k.id))
            value = None if r is None else r["value"]
            status = "no-data" if r is None else _status(str(r["status"]))
            text = format_short(value, k.unit, s.currency, s.locale)
            cells.append(HeatCellView(text, status_style(status), status))
        p = perspective_name(ctx.project, k)
        rows.append(KpiGridRow(k.name, p, p not in seen, tuple(cells)))
        seen.add(p)
    return tuple(c.name for c in children), tuple(rows)


def _status(value: str) -> Status:
    return value if value in ("green", "amber", "red", "insufficient", "no-target") else "no-data"  # type: ignore[return-value]


def heatmap_title(ctx: PackContext) -> str:
    """`Scores by segment and region`: the levels the map shows (children, grandchildren)."""
    levels = [
        lv.replace("_", " ")
        for lv in ctx.project.hierarchy.levels[ctx.node.level : ctx.node.level + 2]
    ]
    has_grand = any(ctx.tree.children(c.id) for c in ctx.tree.children(ctx.node.id))
    shown = levels if has_grand else levels[:1]
    return "Scores by " + " and ".join(shown) if shown else "Scores below this node"


def heatmap_view(ctx: PackContext) -> HeatMap:
    """The heat-map page: children worst first, each followed by its worst children (§2, §6)."""
    found = cascade.heatmap(ctx)
    if found is None:
        return HeatMap(
            shown=False, title="", node_name=ctx.node.name, columns=(), rows=(), notes=()
        )
    loc = ctx.project.settings.locale
    rows = tuple(
        HeatRowView(
            node_id=r.node.id,
            name=r.node.name,
            depth=r.depth,
            cells=tuple(
                HeatCellView(format_score(c.score, loc), status_style(c.status), _status(c.status))
                for c in r.cells
            ),
            reds=r.reds,
            escalations=r.escalations,
            escalations_below=r.escalations_below,
        )
        for r in found.rows
    )
    notes = [
        f"{node.name}: the worst {len(ctx.tree.children(node.id)) - n} of "
        f"{len(ctx.tree.children(node.id))} below it shown, {n} omitted (each has its own pack)."
        for node, n in found.omitted
    ]
    if found.omitted_children:
        notes.append(
            f"{plural(found.omitted_children, 'child', 'children')} with the best overall scores omitted."
        )
    if found.deeper:
        notes.append(
            f"{plural(found.deeper, 'node')} further down are in their own packs, not on this map."
        )
    few = len(rows) <= GRID_ROWS and len(ctx.tree.children(ctx.node.id)) <= GRID_ROWS
    grid_nodes, grid = kpi_grid(ctx) if few else ((), ())
    return HeatMap(
        shown=True,
        title=heatmap_title(ctx),
        node_name=ctx.node.name,
        columns=tuple(title for _, title in found.columns),
        rows=rows,
        notes=tuple(notes),
        grid_title=f"Every KPI by {child_level(ctx).replace('_', ' ')}" if few else "",
        grid_nodes=grid_nodes,
        grid=grid,
    )


def below_view(ctx: PackContext, findings: tuple[NodeFindings, ...]) -> Below | None:
    """Escalations, reds and movers of every node below the pack's node, counted and listed."""
    below = ctx.tree.descendants(ctx.node.id)
    if not below:
        return None
    cur, loc = ctx.project.settings.currency, ctx.project.settings.locale
    esc = [(f.node.name, len(f.escalations)) for f in findings]
    reds = [(f.node.name, len(f.reds)) for f in findings]
    flagged = [f for f in findings if len(f.escalations) or f.reds]
    flagged.sort(key=lambda f: (-len(f.escalations), -len(f.reds)))
    # Movers from the two levels the heat-map shows: further down, n is small and a
    # branch's swing is that branch's own pack's news, not the board's.
    near = [f for f in findings if f.node.level <= ctx.node.level + 2]
    moved = sorted(
        ((f.node, m) for f in near for m in f.movers),
        key=lambda nm: (-nm[1].size, nm[0].id, nm[1].kpi.id),
    )
    return Below(
        shown=True,
        nodes=len(below),
        escalations=sum(n for _, n in esc),
        escalations_where=where_line(esc),
        reds=sum(n for _, n in reds),
        reds_where=where_line(reds),
        tallies=tuple(
            NodeTally(f.node.name, len(f.escalations), len(f.reds)) for f in flagged[:TALLY_ROWS]
        ),
        more=max(0, len(flagged) - TALLY_ROWS),
        movers=tuple(
            BelowMover(
                node=node.name,
                kpi=m.kpi.name,
                prev=format_short(m.prev, m.kpi.unit, cur, loc),
                value=format_short(m.value, m.kpi.unit, cur, loc),
                delta=format_short_delta(m.delta, m.kpi.unit, cur, loc),
                tone="flat" if m.good is None else ("good" if m.good else "bad"),
                basis="significant at 95%" if m.kpi.sample else "material change",
            )
            for node, m in moved[:BELOW_MOVERS]
        ),
        movers_total=len(moved),
        movers_nodes=sum(1 for n in below if n.level <= ctx.node.level + 2),
    )


def escalated_below(
    findings: tuple[NodeFindings, ...],
) -> tuple[list[NodeFindings], list[NodeFindings]]:
    """The nodes below with escalations, most first, split into those listed and the rest.

    Whole nodes are listed until `ESCALATIONS_BELOW` rows are reached (always at least one
    node), so the page stays a page or two even at the top of a 300-node company.
    """
    escalated = sorted(
        (f for f in findings if len(f.escalations)), key=lambda f: -len(f.escalations)
    )
    listed: list[NodeFindings] = []
    rows = 0
    for f in escalated:
        if listed and rows + len(f.escalations) > ESCALATIONS_BELOW:
            break
        listed.append(f)
        rows += len(f.escalations)
    return listed, escalated[len(listed) :]


def more_below(rest: list[NodeFindings]) -> str:
    """`and 41 more escalations in 30 nodes, each on its own pack's escalations page`."""
    if not rest:
        return ""
    n = sum(len(f.escalations) for f in rest)
    return (
        f"And {plural(n, 'more escalation')} in {plural(len(rest), 'node')} "
        "below, each on its own pack's escalations page (see the heat-map for where)."
    )
