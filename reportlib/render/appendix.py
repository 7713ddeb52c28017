"""The appendix of the pack: data quality, methodology, definition history, RACI, manual values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import Project
from ..errors import ConfigError
from ..formatting import DASH, format_n, format_value, missing, period_name, unit_label
from ..packdata import PackContext, perspectives
from .appendix_records import (
    DefinitionView,
    ManualView,
    MethodView,
    QualityTableView,
    QualityView,
    RaciView,
    ReducedView,
)
from .records import Appendix


def _count(x: object, loc: str) -> str:
    """A count from the quality report, or a dash when it is missing or not a number."""
    try:
        return format_n(x, loc)
    except (TypeError, ValueError):
        return DASH


def _share(x: object, loc: str) -> str:
    """A 0–1 share from the quality report as a percentage, or "" when unusable."""
    try:
        return "" if missing(x) else format_value(100 * float(x), "percent", locale=loc)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def _mapping(x: object) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def _list(x: object) -> list[Any]:
    return x if isinstance(x, list) else []


def quality_view(ctx: PackContext) -> QualityView | None:
    """The quality report as rows to print (DOMAIN.md §7); defensive about missing or odd fields."""
    q = ctx.quality
    if not q:
        return None
    loc = ctx.project.settings.locale
    gate = _mapping(q.get("gate"))
    max_share = _share(gate.get("max_reject_share"), loc)
    limit = float(gate["max_reject_share"]) if max_share else None
    tables = []
    for name, t in sorted(_mapping(q.get("tables")).items()):
        if not isinstance(t, Mapping):
            continue
        by_rule = _mapping(t.get("by_rule"))
        share = _share(t.get("reject_share"), loc)
        over = bool(share and limit is not None and float(t["reject_share"]) > limit)
        tables.append(
            QualityTableView(
                name=str(name),
                file=str(t.get("file") or ""),
                rows_in=_count(t.get("rows_in"), loc),
                rows_kept=_count(t.get("rows_kept"), loc),
                rows_quarantined=_count(t.get("rows_quarantined"), loc),
                share=share or DASH,
                over=over,
                rules=tuple(
                    (str(rule), _count(n, loc)) for rule, n in sorted(by_rule.items()) if n
                ),
            )
        )
    names = {k.id: k.name for k in ctx.project.kpis}
    reduced = tuple(
        ReducedView(
            kpi=names.get(str(r.get("kpi")), str(r.get("kpi"))), share=_share(r.get("share"), loc)
        )
        for r in _list(q.get("n_reduced"))
        if isinstance(r, Mapping) and r.get("node") == ctx.node.id and _share(r.get("share"), loc)
    )
    passed = gate.get("passed")
    return QualityView(
        passed=passed if isinstance(passed, bool) else None,
        accepted=gate.get("accepted") is True,
        reason=str(gate.get("reason") or ""),
        max_share=max_share,
        tables=tuple(tables),
        n_reduced=reduced,
    )


def manual_views(ctx: PackContext) -> tuple[ManualView, ...]:
    """Manual values and overrides of the node and its descendants up to this period."""
    mv = ctx.manual_values
    if mv is None or mv.empty:
        return ()
    ids = {ctx.node.id, *(n.id for n in ctx.tree.descendants(ctx.node.id))}
    names = {n.id: n.name for n in ctx.tree.nodes}
    cur, loc = ctx.project.settings.currency, ctx.project.settings.locale
    out = []
    mine = mv[mv["node"].astype(str).isin(ids) & (mv["period"].astype(str) <= ctx.period)]
    for _, r in mine.sort_values(
        ["period", "node", "kpi"], ascending=[False, True, True]
    ).iterrows():
        try:
            k = ctx.project.kpi(str(r["kpi"]))
            name, unit = k.name, k.unit
        except ConfigError:  # a KPI since removed from the catalogue
            name, unit = str(r["kpi"]), "points"
        out.append(
            ManualView(
                period=period_name(str(r["period"]), loc),
                node=names.get(str(r["node"]), str(r["node"])),
                kpi=name,
                computed="none"
                if missing(r["computed_value"])
                else format_value(r["computed_value"], unit, cur, loc),
                value=format_value(r["value"], unit, cur, loc),
                n=format_n(r["n"], loc),
                author="" if missing(r["author"]) else str(r["author"]),
                reason="" if missing(r["reason"]) else str(r["reason"]),
            )
        )
    return tuple(out)


def method_views(project: Project) -> tuple[MethodView, ...]:
    """The definition of every KPI, perspective by perspective."""
    cur = project.settings.currency
    return tuple(
        MethodView(
            name=k.name,
            perspective=p.name,
            definition=k.definition,
            unit=unit_label(k.unit, cur),
            direction="higher is better" if k.direction == "up" else "lower is better",
            kind=k.kind,
            version=k.version,
            min_n=DASH if k.min_n is None else format_n(k.min_n, project.settings.locale),
            weight=f"{k.weight:g}",
            owner=k.owner,
            responsible=k.responsible or DASH,
            interval="95% interval" if k.sample else "census",
        )
        for p, kpis in perspectives(project)
        for k in kpis
    )


def definition_views(project: Project) -> tuple[DefinitionView, ...]:
    """Every version of every KPI definition that has a history (DOMAIN.md §8)."""
    return tuple(
        DefinitionView(
            name=k.name,
            version=f"v{v.version}",
            effective_from=period_name(v.effective_from, project.settings.locale),
            note=v.change_note,
            min_n=DASH if d.min_n is None else format_n(d.min_n, project.settings.locale),
            rule=d.rule() or DASH,
        )
        for _p, kpis in perspectives(project)
        for k in kpis
        for v, d in k.definitions()
        if v is not None
    )


def raci_views(project: Project) -> tuple[RaciView, ...]:
    """Who is responsible, accountable, consulted and informed for each KPI (DOMAIN.md §8)."""
    return tuple(
        RaciView(
            name=k.name,
            accountable=k.owner,
            responsible=k.responsible or DASH,
            consulted=", ".join(k.consulted) or DASH,
            informed=", ".join(k.informed) or DASH,
        )
        for _p, kpis in perspectives(project)
        for k in kpis
    )


def appendix_view(ctx: PackContext) -> Appendix:
    return Appendix(
        node_name=ctx.node.name,
        quality=quality_view(ctx),
        methodology=method_views(ctx.project),
        definition_history=definition_views(ctx.project),
        raci=raci_views(ctx.project),
        manual=manual_views(ctx),
    )
