"""The headline of every page: gathers what each sentence needs and sets it on the records.

`headlines` writes the sentences (pure functions); this module reads the few numbers a
ranking needs from the pack's context (overall scores of the nodes below, channel figures)
and returns the `PackView` with a `headline` on each section that has one.
"""

from __future__ import annotations

import dataclasses

from .. import headlines as hl
from .. import period_words
from ..formatting import format_score, format_value, missing
from ..hierarchy import Node
from ..packdata import PackContext, node_rows
from .records import Below, PackView

CHANNEL_KPIS = ("nps", "csat", "ces")
"""The survey KPIs the channel page's headline looks at, in this order: the first one that
has two channels with enough responses is the one the sentence is about."""


def level_words(word: str) -> str:
    """`regions` for `region`, `countries` for `country`."""
    word = word.replace("_", " ")
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


def overall_figure(ctx: PackContext, node: Node) -> hl.Figure:
    """A node's overall score as a headline figure (no value when it is not scored)."""
    rows = node_rows(ctx, node.id)
    loc = ctx.project.settings.locale
    if "score:overall" not in rows.index or missing(rows.at["score:overall", "value"]):
        return hl.Figure(node.name, None, "not scored", "insufficient")
    value = float(rows.at["score:overall", "value"])  # type: ignore[arg-type]
    status = str(rows.at["score:overall", "status"])
    return hl.Figure(node.name, value, format_score(value, loc), status)


def heatmap_headline(ctx: PackContext) -> str:
    """The weakest of the deepest level the heat-map shows (grandchildren, else children)."""
    children = ctx.tree.children(ctx.node.id)
    grand = [g for c in children for g in ctx.tree.children(c.id)]
    levels = ctx.project.hierarchy.levels
    depth = ctx.node.level + (1 if grand else 0)
    word = levels[depth] if depth < len(levels) else "node"
    nodes = grand or children
    return hl.weakest(
        [overall_figure(ctx, n) for n in nodes], word.replace("_", " "), level_words(word)
    )


def channel_figures(ctx: PackContext, kpi_id: str) -> list[hl.Figure]:
    """One KPI's figures by channel at the pack's node, channels below minimum n left out."""
    frame = ctx.channels
    if frame is None or frame.empty or kpi_id not in {k.id for k in ctx.project.kpis}:
        return []
    k = ctx.project.kpi(kpi_id)
    cur, loc = ctx.project.settings.currency, ctx.project.settings.locale
    min_n = k.in_force(ctx.period).min_n or 0
    mine = frame[(frame["node"] == ctx.node.id) & (frame["kpi"] == kpi_id)]
    out = []
    for r in mine.itertuples(index=False):
        if missing(r.value) or float(r.n) < min_n:  # type: ignore[arg-type]
            continue
        out.append(
            hl.Figure(
                name=str(r.channel).upper()
                if len(str(r.channel)) <= 3
                else str(r.channel).capitalize(),
                value=float(r.value),  # type: ignore[arg-type]
                text=format_value(r.value, k.unit, cur, loc),
                low=None if missing(r.ci_low) else float(r.ci_low),  # type: ignore[arg-type]
                high=None if missing(r.ci_high) else float(r.ci_high),  # type: ignore[arg-type]
            )
        )
    return out


def channels_headline(ctx: PackContext) -> str:
    for kpi_id in CHANNEL_KPIS:
        figures = channel_figures(ctx, kpi_id)
        if len(figures) >= 2:
            return hl.channels(hl.short_name(ctx.project.kpi(kpi_id).name), figures)
    return "Too few responses in any channel to compare the channels"


def _below_top(below: Below | None) -> tuple[int, tuple[str, int] | None]:
    if below is None or not below.escalations:
        return 0, None
    top = below.tallies[0] if below.tallies else None
    return below.escalations, (top.name, top.escalations) if top else None


def with_headlines(ctx: PackContext, view: PackView) -> PackView:
    """The pack's records with a headline on each page that states a point (see `headlines`)."""
    change = period_words.words(ctx.period, ctx.project.settings.trend_months).change
    groups = tuple(
        dataclasses.replace(g, headline=hl.perspective(g, change)) for g in view.summary.groups
    )
    esc = view.escalations
    below, top = _below_top(view.summary.below)
    overdue = sum(a.overdue for e in esc.escalations if e.actions for a in e.actions.items)
    children = ctx.tree.children(ctx.node.id)
    return dataclasses.replace(
        view,
        summary=dataclasses.replace(
            view.summary,
            groups=groups,
            headline=hl.summary(
                view.summary.overall, view.summary.escalations, below, top, overdue
            ),
        ),
        scorecard=dataclasses.replace(view.scorecard, groups=groups, headline=hl.scorecard(groups)),
        perspectives=dataclasses.replace(view.perspectives, groups=groups),
        heatmap=dataclasses.replace(
            view.heatmap, headline=heatmap_headline(ctx) if view.heatmap.shown else ""
        ),
        comparison=dataclasses.replace(
            view.comparison,
            groups=groups,
            headline=hl.ranking([overall_figure(ctx, c) for c in children])
            if view.comparison.shown
            else "",
        ),
        channels=dataclasses.replace(
            view.channels, headline=channels_headline(ctx) if view.channels.shown else ""
        ),
        verbatims=dataclasses.replace(
            view.verbatims,
            headline=hl.verbatims(
                view.verbatims.n_detractors, view.verbatims.n_promoters, view.verbatims.period_name
            ),
        ),
        escalations=dataclasses.replace(esc, headline=hl.escalations(esc, below, top)),
    )
