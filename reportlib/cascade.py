"""The cascade surfaced: what happens below a node, read from the scorecard of every node.

A parent's figures come from the raw rows of all its customers (DOMAIN.md §1), so a
region far off target can hide inside a segment that looks fine. These functions look
at the node's descendants in the same scorecard and history frames a pack already reads:

- `findings_below`: the escalations, reds and movers of every descendant, per node, so
  the executive summary can say "9 escalations below this node, 9 in SMB · LATAM";
- `heatmap`: the children (and their worst children) against the perspective and
  overall scores, worst first, small enough for one page at any size of hierarchy.

Nothing here formats a figure: `render` does that.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import pandas as pd

from . import scorecard as sc
from .formatting import missing
from .hierarchy import Node
from .packdata import Mover, PackContext, movers, node_rows

log = logging.getLogger(__name__)

HEATMAP_ROWS = 30
"""At most this many rows in a heat-map: it has to stay one readable page at 300 nodes."""

GRANDCHILDREN_PER_CHILD = 5
"""At most this many grandchildren (the worst) shown under each child of a heat-map."""

MOVERS_PER_NODE = 5
"""Movers looked at per descendant (as many as the node's own summary lists)."""


@dataclass(frozen=True)
class NodeFindings:
    """What a descendant of the pack's node has this month: escalations, reds and movers."""

    node: Node
    escalations: pd.DataFrame
    """Columns kpi, streak, since (DOMAIN.md §8), in catalogue order."""
    reds: tuple[str, ...]
    """KPI ids off target (red) this month, in catalogue order."""
    movers: tuple[Mover, ...]

    @property
    def empty(self) -> bool:
        return self.escalations.empty and not self.reds and not self.movers


@dataclass(frozen=True)
class HeatCell:
    """One score of a heat-map row: `score:<perspective>` or `score:overall`."""

    key: str
    score: float | None
    status: str


@dataclass(frozen=True)
class HeatRow:
    """A child (depth 1) or a grandchild (depth 2) of the pack's node."""

    node: Node
    depth: int
    cells: tuple[HeatCell, ...]
    """One per perspective in configured order, then the overall score."""
    reds: int
    escalations: int
    escalations_below: int = 0
    """Escalations of the nodes below this row's node (its own pack lists them)."""

    @property
    def overall(self) -> HeatCell:
        return self.cells[-1]


@dataclass(frozen=True)
class HeatMap:
    """The descendants of a node against its scores; `omitted` says what was left out and where."""

    columns: tuple[tuple[str, str], ...]
    """(score key, column title): the perspectives, then Overall."""
    rows: tuple[HeatRow, ...]
    omitted: tuple[tuple[Node, int], ...]
    """(child, how many of its children are not shown), for each child with some left out."""
    omitted_children: int
    """Children not shown at all (only when a node has more children than a page holds)."""
    deeper: int
    """Descendants below the grandchildren (never shown: their own packs show them)."""


def _streaks(ctx: PackContext) -> pd.DataFrame:
    """Escalations of every node this period (columns node, kpi, streak, since)."""
    return sc.escalations(ctx.history, ctx.period, ctx.project.settings.escalate_after)


def _catalogue_order(ctx: PackContext, kpi_ids: pd.Series) -> list[int]:
    order = {k.id: i for i, k in enumerate(ctx.project.kpis)}
    return [order.get(str(k), len(order)) for k in kpi_ids]


def findings_below(ctx: PackContext) -> tuple[NodeFindings, ...]:
    """Each descendant with an escalation, a red KPI or a mover this month, in hierarchy order.

    Escalations follow DOMAIN.md §8 (red for `escalate_after` months in a row), reds are
    this month's red statuses, and movers are `packdata.movers` at that node (survey KPIs
    significant at 95%, census KPIs material), the same rules as the node's own summary.
    """
    below = ctx.tree.descendants(ctx.node.id)
    if not below:
        return ()
    streaks = _streaks(ctx)
    kpi_ids = {k.id for k in ctx.project.kpis}
    cur = ctx.current
    red = cur[(cur["status"] == "red") & cur["kpi"].isin(kpi_ids)]
    out: list[NodeFindings] = []
    for node in below:
        esc = streaks[streaks["node"] == node.id][["kpi", "streak", "since"]]
        esc = (
            esc.assign(_o=_catalogue_order(ctx, esc["kpi"]))
            .sort_values("_o", kind="stable")
            .drop(columns="_o")
            .reset_index(drop=True)
        )
        mine = red[red["node"] == node.id]
        reds = tuple(k.id for k in ctx.project.kpis if k.id in set(mine["kpi"]))
        found = NodeFindings(
            node=node,
            escalations=esc,
            reds=reds,
            movers=tuple(movers(ctx, MOVERS_PER_NODE, node_id=node.id)),
        )
        if not found.empty:
            out.append(found)
    return tuple(out)


def _cell(rows: pd.DataFrame, key: str) -> HeatCell:
    if key not in rows.index or missing(rows.at[key, "value"]):
        status = str(rows.at[key, "status"]) if key in rows.index else "no-data"
        return HeatCell(key, None, status if status != "nan" else "no-data")
    return HeatCell(key, float(rows.loc[key, "value"]), str(rows.at[key, "status"]))  # type: ignore[arg-type]


def _row(
    ctx: PackContext, node: Node, depth: int, keys: list[str], streaks: pd.DataFrame
) -> HeatRow:
    rows = node_rows(ctx, node.id)
    kpi_ids = [k.id for k in ctx.project.kpis if k.id in rows.index]
    return HeatRow(
        node=node,
        depth=depth,
        cells=tuple(_cell(rows, key) for key in keys),
        reds=int((rows.loc[kpi_ids, "status"] == "red").sum()) if kpi_ids else 0,
        escalations=int((streaks["node"] == node.id).sum()),
        escalations_below=int(streaks["node"].str.startswith(node.id + "/").sum()),
    )


def worst_first(rows: list[HeatRow]) -> list[HeatRow]:
    """Lowest overall score first; rows without an overall score after the scored ones.

    Ties (and unscored rows) keep a stable order: most red KPIs first, then the node id.
    """

    def key(r: HeatRow) -> tuple[int, float, int, str]:
        s = r.overall.score
        return (s is None, math.inf if s is None else s, -r.reds, r.node.id)

    return sorted(rows, key=key)


def heatmap(ctx: PackContext, max_rows: int = HEATMAP_ROWS) -> HeatMap | None:
    """The node's children and, under each, its worst children; None for a node without children.

    Children are sorted worst first by overall score; under each child, its own children
    likewise, at most `GRANDCHILDREN_PER_CHILD` of them and fewer when the children are
    many, so the map never exceeds `max_rows` rows. What is left out is counted per child.
    """
    children = ctx.tree.children(ctx.node.id)
    if not children:
        return None
    persp = ctx.project.hierarchy.perspectives
    keys = [f"score:{p.id}" for p in persp] + ["score:overall"]
    columns = (*tuple((f"score:{p.id}", p.name) for p in persp), ("score:overall", "Overall"))
    streaks = _streaks(ctx)
    firsts = worst_first([_row(ctx, c, 1, keys, streaks) for c in children])
    omitted_children = max(0, len(firsts) - max_rows)
    firsts = firsts[:max_rows]
    budget = max_rows - len(firsts)
    per_child = min(GRANDCHILDREN_PER_CHILD, budget // len(firsts)) if firsts else 0
    rows: list[HeatRow] = []
    omitted: list[tuple[Node, int]] = []
    shown_ids = {r.node.id for r in firsts}
    for first in firsts:
        rows.append(first)
        grand = ctx.tree.children(first.node.id)
        worst = worst_first([_row(ctx, g, 2, keys, streaks) for g in grand])
        rows += worst[:per_child]
        shown_ids |= {r.node.id for r in worst[:per_child]}
        if len(worst) > per_child:
            omitted.append((first.node, len(worst) - per_child))
    grand_total = sum(len(ctx.tree.children(c.id)) for c in children)
    deeper = len(ctx.tree.descendants(ctx.node.id)) - len(children) - grand_total
    log.debug("%s heat-map: %d rows, %d nodes below not shown", ctx.node.id, len(rows), deeper)
    return HeatMap(
        columns=columns,
        rows=tuple(rows),
        omitted=tuple(omitted),
        omitted_children=omitted_children,
        deeper=deeper,
    )
