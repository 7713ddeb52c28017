"""The cover's three key messages and flags, generated from the figures.

A board member who reads only the cover should learn three things: how the node stands
overall, the worst problem (an escalation, else the biggest move), and the biggest change
below it (for a node with children: where its largest move came from, else the largest
move of a descendant; for a leaf: what is off target). Each message is one sentence made
from the scorecard by the rules the rest of the pack uses (escalations DOMAIN.md §8,
movers §4, change sources §9, coverage §6), so the cover never says more than the pages
behind it. The flags say what a reader must know before trusting the figures: the period
was restated (§8), the data-quality gate was overridden.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .. import cascade, explain, period_words
from ..formatting import (
    format_score,
    format_short,
    format_short_delta,
    format_value,
    missing,
    status_style,
)
from ..packdata import Mover, PackContext, movers, row
from .page_records import CoverFlag
from .records import Score

log = logging.getLogger(__name__)

STATUS_WORDS = {
    "green": "on target",
    "amber": "below target, above the red line",
    "red": "off target (past the red line)",
}
"""How the overall status reads in a sentence (the chips' words, spelt out)."""


def _words(ctx: PackContext) -> period_words.PeriodWords:
    """ "this month" or "this quarter": the words of the pack's period."""
    return period_words.words(ctx.period, ctx.project.settings.trend_months)


def _kpi_name(ctx: PackContext, kpi_id: str) -> str:
    try:
        return ctx.project.kpi(kpi_id).name
    except KeyError:
        return kpi_id


def weakest_perspective(ctx: PackContext) -> str:
    """`the weakest perspective: Customer 6.4 (watch)`; "" when no perspective is scored."""
    scored = []
    for i, p in enumerate(ctx.project.hierarchy.perspectives):
        r = row(ctx, f"score:{p.id}")
        if r is not None and not missing(r["value"]) and str(r["status"]) in STATUS_WORDS:
            scored.append((float(r["value"]), i, p.name, str(r["status"])))
    if len(scored) < 2:
        return ""
    value, _, name, status = min(scored)
    label = status_style(status).label.lower()
    return f"the weakest perspective: {name} {format_score(value, ctx.project.settings.locale)} ({label})"


def overall_message(score: Score, weakest: str = "", this: str = "this month") -> str:
    """`Overall 7.5 / 10, on target, −0.8 on last month; the weakest perspective: Customer
    6.4 (watch).` or why there is no score; `this` names the pack's period ("this quarter")."""
    if score.status_id == "insufficient":
        reason = score.reason.removeprefix("Not scored: ")
        why = f": {reason}" if reason else ""
        return f"No overall score {this} (insufficient coverage){why}."
    if score.status_id not in STATUS_WORDS:
        return f"No overall score {this}: no scored KPIs."
    change = f", {score.change}" if score.change else ""
    tail = f"; {weakest}" if weakest else ""
    return f"Overall {score.score} / 10, {STATUS_WORDS[score.status_id]}{change}{tail}."


def _escalations(ctx: PackContext) -> list[tuple[str, str, int]]:
    """(node name, KPI id, months red) of the node's and its descendants' escalations."""
    found = [
        (ctx.node.name, str(r["kpi"]), int(r["streak"])) for _, r in ctx.escalations.iterrows()
    ]
    for f in cascade.findings_below(ctx):
        found += [
            (f.node.name, str(r["kpi"]), int(r["streak"])) for _, r in f.escalations.iterrows()
        ]
    return found


def _mover_text(ctx: PackContext, m: Mover, where: str = "") -> str:
    s = ctx.project.settings
    at = f" at {where}" if where else ""
    basis = "significant at 95%" if m.kpi.sample else "a material change"
    value = format_short(m.value, m.kpi.unit, s.currency, s.locale)
    delta = format_short_delta(m.delta, m.kpi.unit, s.currency, s.locale)
    return f"{m.kpi.name}{at} {delta} on {_words(ctx).last} to {value} ({basis})"


def problem_message(ctx: PackContext) -> str:
    """The worst escalation (longest red run, here or below), else the node's biggest move."""
    found = _escalations(ctx)
    if found:
        name, kpi, streak = sorted(found, key=lambda e: -e[2])[0]
        where = "" if name == ctx.node.name else f" at {name}"
        count = explain.plural(len(found), "escalation")
        scope = "here and below" if ctx.tree.children(ctx.node.id) else "here"
        return (
            f"{count} {scope}; the longest: {_kpi_name(ctx, kpi)}{where}, "
            f"off target {streak} {_words(ctx).step}s in a row."
        )
    mine = movers(ctx, 1)
    if mine:
        return f"No escalations. Biggest move: {_mover_text(ctx, mine[0])}."
    return f"No escalations, and no significant or material move on {_words(ctx).last}."


def below_message(ctx: PackContext) -> str:
    """Where the node's biggest move came from, else the biggest move below; for a leaf,
    the KPIs off target."""
    if ctx.tree.children(ctx.node.id):
        sources = explain.change_sources(ctx)
        if sources:
            return f"Where it came from: {sources[0].sentence}"
        below = [(f.node.name, m) for f in cascade.findings_below(ctx) for m in f.movers]
        if below:
            name, m = sorted(below, key=lambda b: (-b[1].size, b[0], b[1].kpi.id))[0]
            return f"Biggest move below: {_mover_text(ctx, m, name)}."
        return "No significant or material move in the nodes below."
    return _off_target(ctx)


def _off_target(ctx: PackContext) -> str:
    cur = ctx.current
    mine = cur[(cur["node"] == ctx.node.id) & (cur["status"] == "red")]
    reds = [k for k in ctx.project.kpis if k.id in set(mine["kpi"].astype(str))]
    if not reds:
        return f"No KPI off target {_words(ctx).this}."
    s = ctx.project.settings
    first = mine.set_index("kpi").loc[reds[0].id]
    target = format_value(first["target"], reds[0].unit, s.currency, s.locale)
    value = format_value(first["value"], reds[0].unit, s.currency, s.locale)
    more = f" and {explain.plural(len(reds) - 1, 'other')}" if len(reds) > 1 else ""
    return f"Off target: {reds[0].name} {value} against a target of {target}{more}."


def key_messages(ctx: PackContext, overall: Score) -> tuple[str, str, str]:
    """The cover's three messages: overall, the worst problem, the biggest change below."""
    return (
        overall_message(overall, weakest_perspective(ctx), _words(ctx).this),
        problem_message(ctx),
        below_message(ctx),
    )


def _gate(quality: Mapping[str, Any] | None) -> Mapping[str, Any]:
    gate = (quality or {}).get("gate")
    return gate if isinstance(gate, Mapping) else {}


def cover_flags(ctx: PackContext, overall: Score, restated: str | None) -> tuple[CoverFlag, ...]:
    """What to know before trusting the figures: restated, quality gate overridden. (A missing
    overall score is said by the first key message, with its reason.)"""
    flags: list[CoverFlag] = []
    if restated:
        flags.append(
            CoverFlag(
                "restated",
                f"Restated: figures {restated}. The restatement page lists what changed.",
            )
        )
    gate = _gate(ctx.quality)
    if gate.get("accepted") is True:
        reason = str(gate.get("reason") or "").strip()
        said = f" Reason given: {reason}" if reason else ""
        flags.append(
            CoverFlag(
                "quality-override",
                "Data-quality gate overridden: the figures include data that failed the "
                f"quality rules (see the appendix).{said}",
            )
        )
    return tuple(flags)
