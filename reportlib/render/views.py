"""From a node's figures, charts and commentary to the records each pack section prints.

`pack_view` is the one entry: it formats every figure once (through `formatting`) and
returns a `PackView`, one frozen record per section (see `records`).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from markupsafe import Markup

from .. import __version__, cascade, explain, periods
from .. import commentary as commentary_mod
from .. import comparison as cmp
from .. import scorecard as sc
from ..actions import tally_text
from ..charts import Charts
from ..commentary import SUMMARY, Commentary, KpiActions, KpiNote, is_stale
from ..config import KpiDef
from ..formatting import (
    DASH,
    DEFAULT_LOCALE,
    day_text,
    format_delta,
    format_value,
    period_name,
    period_short,
    status_style,
    timestamp_text,
)
from ..packdata import (
    PackContext,
    movers,
    node_rows,
    status_counts,
)
from . import action_views, appendix, headline_views
from .cascade_views import below_view, escalated_below, heatmap_view, more_below
from .cover_views import cover_flags, key_messages
from .kpiviews import perspective_name, perspective_views, score_view, svg_uri, tone_of
from .page_records import Restatement
from .records import (
    Channels,
    Comparison,
    Contents,
    ContentsEntry,
    Cover,
    Escalations,
    EscalationView,
    Head,
    HeatMap,
    MoverView,
    NodeEscalations,
    NoteView,
    PackView,
    Page,
    Perspectives,
    PerspectiveView,
    Scorecard,
    Status,
    StatusCell,
    StatusHistoryRow,
    Summary,
    Verbatims,
)
from .restatement_views import restatement_view
from .voice_views import channels_view, verbatims_view

log = logging.getLogger(__name__)

HISTORY_MONTHS = 6
"""Months of status history on the escalations page."""

KEY_STATUSES: tuple[Status, ...] = ("green", "amber", "red", "insufficient", "no-target")
"""The statuses the contents page explains."""


def cut_off(as_of: str, timezone: str = "UTC", configured: str | None = None) -> datetime:
    """The data cut-off as an aware time in the project's time zone; ValueError if not ISO.

    The run records the cut-off as UTC without a zone (manifest.json, the quality report);
    the `as_of` setting is written in the project's time zone (DOMAIN.md §1). A time without
    a zone is therefore UTC, unless it is the configured `as_of` itself (read when no run
    recorded one): that one is local.
    """
    d = datetime.fromisoformat(as_of)
    zone = ZoneInfo(timezone)
    if d.tzinfo is None:
        d = d.replace(tzinfo=zone if as_of == configured else UTC)
    return d.astimezone(zone)


def as_of_text(
    as_of: str | None,
    timezone: str | None = None,
    locale: str = DEFAULT_LOCALE,
    configured: str | None = None,
) -> str:
    """`1 November 2026, 07:00 Europe/Berlin`: the cut-off in the project's time zone, named.

    "not recorded" when there is none; text that is no ISO time as it is. Without a time
    zone the time is shown in UTC (see `cut_off`).
    """
    if not as_of:
        return "not recorded"
    zone = timezone or "UTC"
    try:
        d = cut_off(as_of, zone, configured)
    except ValueError:
        return as_of
    return f"{timestamp_text(d, locale)} {zone}"


def created(as_of: str | None, timezone: str = "UTC", configured: str | None = None) -> str:
    """Document date: the data cut-off when recorded (the pack describes that snapshot), else now."""
    if as_of:
        try:
            return cut_off(as_of, timezone, configured).isoformat(timespec="seconds")
        except ValueError:
            pass
    return datetime.now(UTC).isoformat(timespec="seconds")


def action_day(ctx: PackContext) -> date:
    """The day overdue actions are judged on (DOMAIN.md §8): the data cut-off's day in the
    project's time zone, so a pack rebuilt later still says what it said; the day after the
    period when no cut-off is recorded."""
    settings = ctx.project.settings
    if ctx.as_of:
        try:
            return cut_off(ctx.as_of, settings.timezone, settings.as_of).date()
        except ValueError:
            log.warning(
                "cut-off %r is not an ISO time: actions judged at the period's end", ctx.as_of
            )
    return periods.first_day(periods.shift(ctx.period, 1))


def mover_views(ctx: PackContext) -> tuple[MoverView, ...]:
    cur, loc = ctx.project.settings.currency, ctx.project.settings.locale
    return tuple(
        MoverView(
            kpi=m.kpi.name,
            perspective=perspective_name(ctx.project, m.kpi),
            prev=format_value(m.prev, m.kpi.unit, cur, loc),
            value=format_value(m.value, m.kpi.unit, cur, loc),
            delta=format_delta(m.delta, m.kpi.unit, cur, loc),
            tone=tone_of(m.good),
            basis="significant at 95%" if m.kpi.sample else "material change",
        )
        for m in movers(ctx)
    )


def note_view(ctx: PackContext, k: KpiDef, since: str, note: KpiNote | None) -> NoteView:
    """The latest commentary on an escalated KPI, or an honest line saying there is none (§8)."""
    loc = ctx.project.settings.locale
    if note is None:
        when = (
            f"in {period_name(ctx.period, loc)}"
            if since == ctx.period
            else f"since {period_name(since, loc)}"
        )
        return NoteView(None, "", (), "", f"No commentary on {k.name} {when}.")
    section = (
        "Summary"
        if note.section == SUMMARY
        else next(p.name for p in ctx.project.hierarchy.perspectives if p.id == note.section)
    )
    flags: tuple[str, ...] = ("Draft, not yet reviewed",) if note.draft else ()
    if note.stale:
        flags += ("Written against earlier figures",)
    more = (
        f"and {note.more} more passage{'s' if note.more != 1 else ''} on {k.name}"
        if note.more
        else ""
    )
    return NoteView(
        html=Markup(note.html),
        source=f"Commentary of {period_name(note.period, loc)} · {section}",
        flags=flags,
        more=more,
        none="",
    )


def escalation_view(
    ctx: PackContext,
    rows: pd.DataFrame,
    e: pd.Series,
    notes: dict[str, KpiNote | None] | None = None,
    actions: dict[str, KpiActions | None] | None = None,
    on: date | None = None,
    *,
    escalated: bool = True,
) -> EscalationView:
    """A KPI on a red streak with its figures (and, given `notes`, its latest commentary;
    given `actions` and the day `on`, its actions: `escalated` ones without say so)."""
    cur, loc = ctx.project.settings.currency, ctx.project.settings.locale
    k = ctx.project.kpi(str(e["kpi"]))
    r = rows.loc[k.id] if k.id in rows.index else None
    return EscalationView(
        kpi=k.name,
        perspective=perspective_name(ctx.project, k),
        owner=k.owner,
        responsible=k.responsible or "",
        since=period_name(str(e["since"]), loc),
        streak=int(e["streak"]),
        value=DASH if r is None else format_value(r["value"], k.unit, cur, loc),
        target=DASH if r is None else format_value(r["target"], k.unit, cur, loc),
        threshold=DASH if r is None else format_value(r["threshold"], k.unit, cur, loc),
        note=None if notes is None else note_view(ctx, k, str(e["since"]), notes.get(k.id)),
        actions=None
        if actions is None or on is None
        else action_views.actions_view(actions.get(k.id), ctx.period, on, loc, escalated=escalated),
    )


def escalations_view(
    ctx: PackContext,
    commentary: Commentary,
    findings: tuple[cascade.NodeFindings, ...] = (),
) -> Escalations:
    """Escalated, approaching and resolved KPIs, the status history (DOMAIN.md §6, §8), and the
    escalations of the nodes below (`findings` of `cascade.findings_below`), grouped by node."""
    project = ctx.project
    rows = node_rows(ctx)
    mine = ctx.history[ctx.history["node"] == ctx.node.id]
    streaks = sc.red_streaks(mine, ctx.period)
    approaching = streaks[
        (streaks["streak"] > 0) & (streaks["streak"] < project.settings.escalate_after)
    ]
    # The latest commentary on each escalated or approaching KPI (DOMAIN.md §8).
    notes = commentary_mod.kpi_notes(
        project,
        ctx.period,
        ctx.node.id,
        {
            str(e["kpi"]): str(e["since"])
            for frame in (ctx.escalations, approaching)
            for _, e in frame.iterrows()
        },
        current=commentary,
    )
    since = {
        str(e["kpi"]): str(e["since"])
        for frame in (ctx.escalations, approaching)
        for _, e in frame.iterrows()
    }
    acts = commentary_mod.kpi_actions(project, ctx.period, ctx.node.id, since, current=commentary)
    on = action_day(ctx)
    resolved = sc.resolved_escalations(mine, ctx.period, project.settings.escalate_after)
    listed, rest = escalated_below(findings)
    below_acts = {
        f.node.id: commentary_mod.kpi_actions(
            project,
            ctx.period,
            f.node.id,
            {str(e["kpi"]): str(e["since"]) for _, e in f.escalations.iterrows()},
        )
        for f in listed
    }
    own = action_views.total((acts.get(str(k)) for k in ctx.escalations["kpi"]), on)
    below_total = action_views.total(
        (a for found in below_acts.values() for a in found.values()), on
    )
    recent = periods.span(periods.shift(ctx.period, -(HISTORY_MONTHS - 1)), ctx.period)
    by_key = dict(zip(zip(mine["kpi"], mine["period"], strict=True), mine["status"], strict=True))
    history = tuple(
        StatusHistoryRow(
            kpi=k.name,
            cells=tuple(
                StatusCell(i, status_style(i))
                for i in (str(by_key.get((k.id, p), "no-data")) for p in recent)
            ),
        )
        for k in project.kpis
    )
    return Escalations(
        period_name=period_name(ctx.period, project.settings.locale),
        escalate_after=project.settings.escalate_after,
        escalations=tuple(
            escalation_view(ctx, rows, e, notes, acts, on) for _, e in ctx.escalations.iterrows()
        ),
        approaching=tuple(
            escalation_view(ctx, rows, e, notes, acts, on, escalated=False)
            for _, e in approaching.iterrows()
        ),
        resolved=tuple(
            _with_status(escalation_view(ctx, rows, e), str(e["status"]))
            for _, e in resolved.iterrows()
        ),
        history_months=tuple(period_short(p, project.settings.locale) for p in recent),
        status_history=history,
        below=tuple(
            NodeEscalations(
                node_id=f.node.id,
                name=f.node.name,
                items=tuple(
                    escalation_view(
                        ctx, node_rows(ctx, f.node.id), e, None, below_acts[f.node.id], on
                    )
                    for _, e in f.escalations.iterrows()
                ),
            )
            for f in listed
        ),
        below_more=more_below(rest),
        actions=tally_text(own) if len(ctx.escalations) else "",
        actions_below=tally_text(below_total) if listed else "",
        actions_day=day_text(on.isoformat(), project.settings.locale),
    )


def _with_status(view: EscalationView, status: str) -> EscalationView:
    return dataclasses.replace(view, status=status_style(status))


def _restated(ctx: PackContext) -> str | None:
    if ctx.version <= 1:
        return None
    on = day_text(ctx.restated_on, ctx.project.settings.locale) if ctx.restated_on else ""
    return f"v{ctx.version}, restated" + (f" on {on}" if on else "")


def _comparison_title(ctx: PackContext) -> str:
    levels = ctx.project.hierarchy.levels
    has_children = bool(ctx.tree.children(ctx.node.id))
    level = levels[ctx.node.level] if has_children and ctx.node.level < len(levels) else ""
    return f"{level.replace('_', ' ').capitalize()} comparison" if level else "Comparison"


def comparison_view(
    ctx: PackContext, groups: tuple[PerspectiveView, ...], charts: Charts
) -> Comparison:
    """The comparison page: the children side by side, or their top and bottom when many."""
    children = ctx.tree.children(ctx.node.id)
    shown = bool(children) and bool(charts.comparison)
    notes = (
        tuple((k.id, cmp.note(ctx, k.id)) for g in groups for k in g.kpis)
        if shown and len(children) > cmp.LIMIT
        else ()
    )
    return Comparison(
        title=_comparison_title(ctx),
        node_name=ctx.node.name,
        children=tuple(c.name for c in children),
        groups=groups,
        shown=shown,
        summary=cmp.lede(ctx) if shown else "",
        notes=notes,
    )


def contents_view(
    ctx: PackContext,
    groups: tuple[PerspectiveView, ...],
    comparison: Comparison,
    pages: tuple[Page, ...],
    heatmap: HeatMap | None = None,
    channels: Channels | None = None,
    verbatims: Verbatims | None = None,
    restatement: Restatement | None = None,
) -> Contents:
    """The contents page: every section and page in order, and the key to the statuses."""
    entries = [
        *(
            [ContentsEntry("#restatement", "Restatement")]
            if restatement is not None and restatement.shown
            else []
        ),
        *([ContentsEntry("#heatmap", heatmap.title)] if heatmap and heatmap.shown else []),
        ContentsEntry("#summary", "Executive summary"),
        ContentsEntry("#scorecard", "Scorecard"),
    ]
    entries += [ContentsEntry(f"#perspective-{g.id}", g.name, sub=True) for g in groups]
    if comparison.shown:
        entries.append(ContentsEntry("#comparison", comparison.title))
    if channels is not None and channels.shown:
        entries.append(ContentsEntry("#channels", "By channel"))
    if verbatims is not None and verbatims.shown:
        entries.append(ContentsEntry("#verbatims", "What customers say"))
    entries.append(ContentsEntry("#escalations", "Escalations"))
    entries += [ContentsEntry(f"#{p.id}", p.title) for p in pages]
    entries += [
        ContentsEntry("#appendix", "Appendix"),
        ContentsEntry("#quality", "Data quality", sub=True),
        ContentsEntry("#methodology", "Methodology", sub=True),
        ContentsEntry("#manual", "Manual values and overrides", sub=True),
        ContentsEntry("#raci", "Responsibilities (RACI)", sub=True),
    ]
    return Contents(
        entries=tuple(entries),
        statuses=tuple((s, status_style(s)) for s in KEY_STATUSES),
        escalate_after=ctx.project.settings.escalate_after,
    )


def pack_view(
    ctx: PackContext, charts: Charts, commentary: Commentary, pages: tuple[Page, ...] = ()
) -> PackView:
    """Everything the templates print, section by section, already formatted."""
    project = ctx.project
    settings = project.settings
    when = period_name(ctx.period, settings.locale)
    before = periods.shift(ctx.period, -1)
    # "Q2 2026", "Jan–Sep 2025": a longer period's short name reads well in brackets.
    monthly = periods.cadence_of(ctx.period).name == "month"
    prev_name = (period_name if monthly else period_short)(before, settings.locale)
    overall = score_view(ctx, "score:overall")
    groups = perspective_views(ctx, charts, commentary)
    comparison = comparison_view(ctx, groups, charts)
    counts = status_counts(ctx)
    findings = cascade.findings_below(ctx)
    heatmap = heatmap_view(ctx)
    channels = channels_view(ctx)
    voices = verbatims_view(ctx)
    restated = _restated(ctx)
    restatement = restatement_view(ctx)
    escalations = escalations_view(ctx, commentary, findings)
    view = PackView(
        head=Head(
            title=f"{ctx.node.name}: customer-experience scorecard, {when}",
            company=project.hierarchy.company,
            node_id=ctx.node.id,
            node_name=ctx.node.name,
            period=ctx.period,
            period_name=when,
            generator=f"reportlib {__version__}",
            created=created(ctx.as_of, settings.timezone, settings.as_of),
        ),
        cover=Cover(
            company=project.hierarchy.company,
            node_name=ctx.node.name,
            is_company=ctx.node.id == "all",
            period_name=when,
            prev_name=prev_name,
            classification=settings.classification,
            overall=overall,
            as_of=as_of_text(ctx.as_of, settings.timezone, settings.locale, settings.as_of),
            as_of_recorded=bool(ctx.as_of),
            restated=restated,
            generator=f"reportlib {__version__}",
            messages=key_messages(ctx, overall),
            flags=cover_flags(ctx, overall, restated),
        ),
        contents=contents_view(
            ctx, groups, comparison, pages, heatmap, channels, voices, restatement
        ),
        restatement=restatement,
        heatmap=heatmap,
        summary=Summary(
            overall=overall,
            groups=groups,
            counts=counts,
            n_kpis=sum(counts.values()),
            escalations=len(ctx.escalations),
            escalate_after=settings.escalate_after,
            overview=svg_uri(charts.overview),
            movers=mover_views(ctx),
            prev_name=prev_name,
            period_name=when,
            commentary=Markup(commentary.sections[SUMMARY])
            if SUMMARY in commentary.sections
            else None,
            draft=commentary.draft,
            stale=is_stale(commentary.front_matter, ctx.scorecard_hash),
            below=below_view(ctx, findings),
            sources=explain.split_sentences(ctx),
            actions=escalations.actions,
        ),
        scorecard=Scorecard(period_name=when, prev_name=prev_name, groups=groups),
        perspectives=Perspectives(
            groups=groups, trend_months=periods.trend_length(ctx.period, settings.trend_months)
        ),
        comparison=comparison,
        channels=channels,
        verbatims=voices,
        escalations=escalations,
        pages=pages,
        appendix=appendix.appendix_view(ctx),
    )
    return headline_views.with_headlines(ctx, view)
