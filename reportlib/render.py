"""The board pack: figures, charts and commentary → Jinja2 HTML → PDF with WeasyPrint.

`render_html` turns a `PackContext` into one HTML document (templates/board_pack.html.j2);
`write_pdf` renders it offline: WeasyPrint may read only files inside the project and
the templates folder, never the network.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import jinja2
import pandas as pd
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from . import __version__, fileio, periods
from . import commentary as commentary_mod
from . import scorecard as sc
from .charts import ADDITIVE_UNITS, Charts, all_charts
from .commentary import SUMMARY, Commentary, KpiNote, is_stale
from .config import KpiDef, Project
from .errors import ConfigError, RenderError
from .formatting import (
    DASH,
    favourable,
    format_delta,
    format_n,
    format_score,
    format_value,
    missing,
    status_style,
    unit_label,
)
from .packdata import (
    PackContext,
    below_min_n,
    load_context,
    movers,
    node_rows,
    perspectives,
    row,
    status_counts,
    version_breaks,
)

__all__ = [
    "PackContext",
    "RestrictedFetcher",
    "build_pack",
    "load_context",
    "render_html",
    "render_section",
    "templates_dir",
    "write_pdf",
]

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
MAIN_TEMPLATE = "board_pack.html.j2"
HISTORY_MONTHS = 6
"""Months of status history on the escalations page."""
SECTIONS = (
    "cover",
    "contents",
    "summary",
    "scorecard",
    "perspectives",
    "comparison",
    "escalations",
    "appendix",
)


def templates_dir(project: Project) -> Path:
    """The project's own `templates/` when it has a board pack template, else reportlib's."""
    own = project.settings.root / "templates"
    return own if (own / MAIN_TEMPLATE).is_file() else TEMPLATES


# --- formatting for the template ---------------------------------------------------------


def svg_uri(svg: str | None) -> str:
    """An SVG string as a `data:` URI for an <img>, or "" when there is no chart."""
    if not svg:
        return ""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def as_of_text(as_of: str | None, timezone: str | None = None) -> str:
    """`1 November 2026, 06:00 UTC` for an ISO timestamp; "not recorded" when there is none.

    A timestamp without a zone is in the project's time zone (DOMAIN.md §1), named when given.
    """
    if not as_of:
        return "not recorded"
    try:
        d = datetime.fromisoformat(as_of)
    except ValueError:
        return as_of
    zone = d.tzname() if d.tzinfo else timezone
    return f"{d.day} {d:%B %Y, %H:%M}" + (f" {zone}" if zone else "")


def _created(as_of: str | None, timezone: str = "UTC") -> str:
    """Document date: the data cut-off when recorded (the pack describes that snapshot), else now."""
    if as_of:
        try:
            d = datetime.fromisoformat(as_of)
            return (d if d.tzinfo else d.replace(tzinfo=ZoneInfo(timezone))).isoformat(
                timespec="seconds"
            )
        except ValueError:
            pass
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Cell:
    """A formatted delta: text, favourable or not, and its significance mark."""

    text: str
    tone: str
    mark: str


def _delta(r: pd.Series, which: str, k: KpiDef, currency: str) -> Cell:
    d = r[f"{which}_delta"]
    if missing(d):
        return Cell(DASH, "none", "")
    good = favourable(d, k.direction)
    sig = r[f"{which}_significant"]
    mark = ""
    if k.sample and not missing(sig) and not bool(sig):
        mark = "n.s."
    tone = "flat" if good is None else ("good" if good else "bad")
    if mark:
        tone = "ns"
    return Cell(format_delta(d, k.unit, currency), tone, mark)


def _score_view(ctx: PackContext, key: str) -> dict[str, Any]:
    r = row(ctx, key)
    if r is None:
        return {"score": DASH, "status": status_style(None), "status_id": "no-data", "change": ""}
    change = ""
    if not missing(r["mom_delta"]):
        d = round(float(r["mom_delta"]), 1)
        change = (
            "unchanged on last month" if d == 0 else f"{format_delta(d, 'score')} on last month"
        )
    st = "no-data" if missing(r["value"]) else str(r["status"])
    return {
        "score": format_score(r["value"]),
        "status": status_style(st),
        "status_id": st,
        "change": change,
    }


def _kpi_view(
    ctx: PackContext, k: KpiDef, rows: pd.DataFrame, charts: Charts, manual: set[str]
) -> dict[str, Any]:
    cur = ctx.project.settings.currency
    r = rows.loc[k.id] if k.id in rows.index else None
    breaks = version_breaks(ctx, k.id)
    base = {
        "id": k.id,
        "name": k.name,
        "kind": k.kind,
        "owner": k.owner,
        "responsible": k.responsible or "",
        "sample": k.sample,
        "min_n": k.in_force(ctx.period).min_n,
        "manual": k.id in manual,
        "breaks": [(periods.long_name(p), old, new) for p, old, new in breaks],
        "spark": svg_uri(charts.sparklines.get(k.id)),
        "trend": svg_uri(charts.trends.get(k.id)),
        "comparison": svg_uri(charts.comparison.get(k.id)),
        "additive": k.unit in ADDITIVE_UNITS,
    }
    if r is None:
        return {
            **base,
            "value": DASH,
            "target": DASH,
            "has_target": False,
            "threshold": "",
            "status": status_style(None),
            "status_id": "no-data",
            "mom": Cell(DASH, "none", ""),
            "yoy": Cell(DASH, "none", ""),
            "n": DASH,
            "low_n": False,
            "interval": "",
        }
    low = below_min_n(k, r["n"], ctx.period) and not missing(r["value"])
    interval = ""
    if k.sample and not missing(r["ci_low"]) and not missing(r["ci_high"]):
        interval = (
            f"{format_value(r['ci_low'], k.unit, cur)} to {format_value(r['ci_high'], k.unit, cur)}"
        )
    side = "<" if k.direction == "up" else ">"
    return {
        **base,
        "value": format_value(r["value"], k.unit, cur),
        "target": format_value(r["target"], k.unit, cur),
        "has_target": not missing(r["target"]),
        "threshold": ""
        if missing(r["threshold"])
        else f"{side} {format_value(r['threshold'], k.unit, cur)}",
        "status": status_style(str(r["status"])),
        "status_id": str(r["status"]),
        "mom": _delta(r, "mom", k, cur),
        "yoy": _delta(r, "yoy", k, cur),
        "n": format_n(r["n"]),
        "low_n": low,
        "interval": interval,
    }


def _count(x: object) -> str:
    """A count from the quality report, or a dash when it is missing or not a number."""
    try:
        return format_n(x)
    except (TypeError, ValueError):
        return DASH


def _share(x: object) -> str:
    """A 0–1 share from the quality report as a percentage, or "" when unusable."""
    try:
        return "" if missing(x) else f"{100 * float(x):.1f}%"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def _quality_view(ctx: PackContext) -> dict[str, Any] | None:
    """The quality report as rows to print; defensive about missing or odd fields."""
    q = ctx.quality
    if not q:
        return None
    gate = q.get("gate") if isinstance(q.get("gate"), dict) else {}
    max_share = _share(gate.get("max_reject_share"))
    limit = float(gate["max_reject_share"]) if max_share else None
    tables = []
    raw_tables = q.get("tables") if isinstance(q.get("tables"), dict) else {}
    for name, t in sorted(raw_tables.items()):
        if not isinstance(t, dict):
            continue
        by_rule = t.get("by_rule") if isinstance(t.get("by_rule"), dict) else {}
        share = _share(t.get("reject_share"))
        over = bool(share and limit is not None and float(t["reject_share"]) > limit)
        tables.append(
            {
                "name": str(name),
                "file": str(t.get("file") or ""),
                "rows_in": _count(t.get("rows_in")),
                "rows_kept": _count(t.get("rows_kept")),
                "rows_quarantined": _count(t.get("rows_quarantined")),
                "share": share or DASH,
                "over": over,
                "rules": [(str(rule), _count(n)) for rule, n in sorted(by_rule.items()) if n],
            }
        )
    names = {k.id: k.name for k in ctx.project.kpis}
    reduced = [
        {"kpi": names.get(str(r.get("kpi")), str(r.get("kpi"))), "share": _share(r.get("share"))}
        for r in (q.get("n_reduced") if isinstance(q.get("n_reduced"), list) else [])
        if isinstance(r, dict) and r.get("node") == ctx.node.id and _share(r.get("share"))
    ]
    passed = gate.get("passed")
    return {
        "passed": passed if isinstance(passed, bool) else None,
        "accepted": gate.get("accepted") is True,
        "reason": str(gate.get("reason") or ""),
        "max_share": max_share,
        "tables": tables,
        "n_reduced": reduced,
    }


def _manual_view(ctx: PackContext) -> list[dict[str, str]]:
    mv = ctx.manual_values
    if mv is None or mv.empty:
        return []
    ids = {ctx.node.id, *(n.id for n in ctx.tree.descendants(ctx.node.id))}
    names = {n.id: n.name for n in ctx.tree.nodes}
    cur = ctx.project.settings.currency
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
            {
                "period": periods.long_name(str(r["period"])),
                "node": names.get(str(r["node"]), str(r["node"])),
                "kpi": name,
                "computed": "none"
                if missing(r["computed_value"])
                else format_value(r["computed_value"], unit, cur),
                "value": format_value(r["value"], unit, cur),
                "n": format_n(r["n"]),
                "author": "" if missing(r["author"]) else str(r["author"]),
                "reason": "" if missing(r["reason"]) else str(r["reason"]),
            }
        )
    return out


def _perspective_name(project: Project, k: KpiDef) -> str:
    return next(p.name for p in project.hierarchy.perspectives if p.id == k.perspective)


def _status_history(ctx: PackContext, recent: list[str]) -> list[dict[str, Any]]:
    """Each KPI's status in each of the recent months (no row: no data)."""
    mine = ctx.history[ctx.history["node"] == ctx.node.id]
    by_key = dict(zip(zip(mine["kpi"], mine["period"], strict=True), mine["status"], strict=True))
    out = []
    for k in ctx.project.kpis:
        ids = [str(by_key.get((k.id, p), "no-data")) for p in recent]
        out.append(
            {"kpi": k.name, "cells": [{"status_id": i, "status": status_style(i)} for i in ids]}
        )
    return out


def _movers_view(ctx: PackContext) -> list[dict[str, str]]:
    cur = ctx.project.settings.currency
    return [
        {
            "kpi": m.kpi.name,
            "perspective": _perspective_name(ctx.project, m.kpi),
            "prev": format_value(m.prev, m.kpi.unit, cur),
            "value": format_value(m.value, m.kpi.unit, cur),
            "delta": format_delta(m.delta, m.kpi.unit, cur),
            "tone": "flat" if m.good is None else ("good" if m.good else "bad"),
            "basis": "significant at 95%" if m.kpi.sample else "material change",
        }
        for m in movers(ctx)
    ]


def _methodology_view(project: Project) -> list[dict[str, Any]]:
    cur = project.settings.currency
    return [
        {
            "name": k.name,
            "perspective": p.name,
            "definition": k.definition,
            "unit": unit_label(k.unit, cur),
            "direction": "higher is better" if k.direction == "up" else "lower is better",
            "kind": k.kind,
            "version": k.version,
            "min_n": DASH if k.min_n is None else format_n(k.min_n),
            "weight": f"{k.weight:g}",
            "owner": k.owner,
            "responsible": k.responsible or DASH,
            "interval": "95% interval" if k.sample else "census",
        }
        for p, kpis in perspectives(project)
        for k in kpis
    ]


def _history_view(project: Project) -> list[dict[str, str]]:
    """Every version of every KPI definition that has a history (DOMAIN.md §8)."""
    rows = []
    for _p, kpis in perspectives(project):
        for k in kpis:
            for v, d in k.definitions():
                if v is None:
                    continue
                rows.append(
                    {
                        "name": k.name,
                        "version": f"v{v.version}",
                        "effective_from": periods.long_name(v.effective_from),
                        "note": v.change_note,
                        "min_n": DASH if d.min_n is None else format_n(d.min_n),
                        "rule": d.rule() or DASH,
                    }
                )
    return rows


def _raci_view(project: Project) -> list[dict[str, str]]:
    """Who is responsible, accountable, consulted and informed for each KPI (DOMAIN.md §8)."""
    return [
        {
            "name": k.name,
            "accountable": k.owner,
            "responsible": k.responsible or DASH,
            "consulted": ", ".join(k.consulted) or DASH,
            "informed": ", ".join(k.informed) or DASH,
        }
        for _p, kpis in perspectives(project)
        for k in kpis
    ]


def _note_view(ctx: PackContext, k: KpiDef, since: str, note: KpiNote | None) -> dict[str, Any]:
    """The latest commentary on an escalated KPI, or an honest line saying there is none (§8)."""
    if note is None:
        when = (
            f"in {periods.long_name(ctx.period)}"
            if since == ctx.period
            else f"since {periods.long_name(since)}"
        )
        return {
            "html": None,
            "source": "",
            "flags": [],
            "more": "",
            "none": f"No commentary on {k.name} {when}.",
        }
    section = (
        "Summary"
        if note.section == SUMMARY
        else next(p.name for p in ctx.project.hierarchy.perspectives if p.id == note.section)
    )
    flags = ["Draft, not yet reviewed"] if note.draft else []
    if note.stale:
        flags.append("Written against earlier figures")
    return {
        "html": Markup(note.html),
        "source": f"Commentary of {periods.long_name(note.period)} · {section}",
        "flags": flags,
        "more": f"and {note.more} more passage{'s' if note.more != 1 else ''} on {k.name}"
        if note.more
        else "",
        "none": "",
    }


def _escalation_view(
    ctx: PackContext,
    rows: pd.DataFrame,
    e: pd.Series,
    notes: dict[str, KpiNote | None] | None = None,
) -> dict[str, Any]:
    project = ctx.project
    cur = project.settings.currency
    k = project.kpi(str(e["kpi"]))
    r = rows.loc[k.id] if k.id in rows.index else None
    note = {} if notes is None else {"note": _note_view(ctx, k, str(e["since"]), notes.get(k.id))}
    return {
        **note,
        "kpi": k.name,
        "perspective": _perspective_name(project, k),
        "owner": k.owner,
        "responsible": k.responsible or "",
        "since": periods.long_name(str(e["since"])),
        "streak": int(e["streak"]),
        "value": DASH if r is None else format_value(r["value"], k.unit, cur),
        "target": DASH if r is None else format_value(r["target"], k.unit, cur),
        "threshold": DASH if r is None else format_value(r["threshold"], k.unit, cur),
    }


def view(ctx: PackContext, charts: Charts, commentary: Commentary) -> dict[str, Any]:
    """Everything the template prints, already formatted (the template only lays it out)."""
    project = ctx.project
    rows = node_rows(ctx)
    manual_now = set()
    if ctx.manual_values is not None and not ctx.manual_values.empty:
        mv = ctx.manual_values
        manual_now = set(
            mv[(mv["node"].astype(str) == ctx.node.id) & (mv["period"].astype(str) == ctx.period)][
                "kpi"
            ].astype(str)
        )
    groups = []
    for p, kpis in perspectives(project):
        groups.append(
            {
                "id": p.id,
                "name": p.name,
                "weight": p.weight,
                "score": _score_view(ctx, f"score:{p.id}"),
                "kpis": [_kpi_view(ctx, k, rows, charts, manual_now) for k in kpis],
                "commentary": Markup(commentary.sections[p.id])
                if p.id in commentary.sections
                else None,
            }
        )
    children = ctx.tree.children(ctx.node.id)
    level_name = (
        project.hierarchy.levels[ctx.node.level]
        if children and ctx.node.level < len(project.hierarchy.levels)
        else ""
    )
    streaks = sc.red_streaks(ctx.history[ctx.history["node"] == ctx.node.id], ctx.period)
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

    def escalation_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [_escalation_view(ctx, rows, e, notes) for _, e in frame.iterrows()]

    esc = escalation_rows(ctx.escalations)
    watch = escalation_rows(approaching)
    resolved = [
        {**_escalation_view(ctx, rows, e), "status": status_style(str(e["status"]))}
        for _, e in sc.resolved_escalations(
            ctx.history[ctx.history["node"] == ctx.node.id],
            ctx.period,
            project.settings.escalate_after,
        ).iterrows()
    ]
    recent = periods.span(periods.shift(ctx.period, -(HISTORY_MONTHS - 1)), ctx.period)
    counts = status_counts(ctx)
    stale = is_stale(commentary.front_matter, ctx.scorecard_hash)
    when = periods.long_name(ctx.period)
    return {
        "title": f"{ctx.node.name}: customer-experience scorecard, {when}",
        "company": project.hierarchy.company,
        "node": ctx.node,
        "is_company": ctx.node.id == "all",
        "period": ctx.period,
        "period_name": when,
        "prev_name": periods.long_name(periods.shift(ctx.period, -1)),
        "classification": project.settings.classification,
        "as_of": as_of_text(ctx.as_of, project.settings.timezone),
        "as_of_recorded": bool(ctx.as_of),
        "created": _created(ctx.as_of, project.settings.timezone),
        "generator": f"reportlib {__version__}",
        "overall": _score_view(ctx, "score:overall"),
        "overview": svg_uri(charts.overview),
        "groups": groups,
        "counts": counts,
        "n_kpis": sum(counts.values()),
        "movers": _movers_view(ctx),
        "escalations": esc,
        "approaching": watch,
        "resolved": resolved,
        "history_months": [periods.first_day(p).strftime("%b %Y") for p in recent],
        "status_history": _status_history(ctx, recent),
        "escalate_after": project.settings.escalate_after,
        "children": [{"id": c.id, "name": c.name} for c in children],
        "comparison_title": f"{level_name.replace('_', ' ').capitalize()} comparison"
        if level_name
        else "Comparison",
        "has_comparison": bool(children) and bool(charts.comparison),
        "summary": Markup(commentary.sections[SUMMARY]) if SUMMARY in commentary.sections else None,
        "commentary": commentary,
        "commentary_stale": stale,
        "restated": (
            f"v{ctx.version}, restated on {ctx.restated_on}"
            if ctx.version > 1 and ctx.restated_on
            else f"v{ctx.version}, restated"
            if ctx.version > 1
            else None
        ),
        "quality": _quality_view(ctx),
        "methodology": _methodology_view(project),
        "raci": _raci_view(project),
        "definition_history": _history_view(project),
        "manual": _manual_view(ctx),
        "trend_months": project.settings.trend_months,
        "statuses": [
            (s, status_style(s)) for s in ("green", "amber", "red", "insufficient", "no-target")
        ],
    }


# --- HTML -------------------------------------------------------------------------


def environment(templates: Path) -> jinja2.Environment:
    """Jinja2 with autoescaping on and undefined names as errors."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(ctx: PackContext, template: str, variables: dict[str, Any]) -> str:
    env = environment(templates_dir(ctx.project))
    try:
        return env.get_template(template).render(**variables)
    except jinja2.TemplateError as e:
        where = f"{getattr(e, 'filename', None) or template}" + (
            f" line {e.lineno}" if getattr(e, "lineno", None) else ""
        )
        raise RenderError(f"template {where}: {e.message or type(e).__name__}") from e


def render_html(ctx: PackContext, charts: Charts, commentary: Commentary) -> str:
    """The whole board pack as one HTML document."""
    return _render(ctx, MAIN_TEMPLATE, view(ctx, charts, commentary))


def render_section(ctx: PackContext, charts: Charts, commentary: Commentary, section: str) -> str:
    """One section's HTML fragment (e.g. "scorecard"), for notebooks and snapshot tests."""
    if section not in SECTIONS:
        raise RenderError(f"unknown section {section!r} (sections: {', '.join(SECTIONS)})")
    return _render(ctx, f"_{section}.html.j2", view(ctx, charts, commentary))


# --- PDF ----------------------------------------------------------------------------


class RestrictedFetcher(URLFetcher):
    """WeasyPrint URL fetcher that serves `data:` URIs and files under the allowed folders only."""

    def __init__(self, roots: list[Path]) -> None:
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
        self.roots = [r.resolve() for r in roots]

    def allowed(self, url: str) -> bool:
        """True for `data:` URIs and `file:` URLs that resolve inside an allowed folder."""
        parts = urlsplit(url)
        if parts.scheme == "data":
            return True
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return False
        path = Path(unquote(parts.path)).resolve()
        return any(path.is_relative_to(r) for r in self.roots)

    def fetch(self, url: str, headers: Any = None) -> Any:
        """Fetch an allowed URL; anything else raises RenderError (WeasyPrint then skips it)."""
        if not self.allowed(url):
            raise RenderError(
                f"the board pack may not fetch {url[:120]}: only files inside the project"
            )
        return super().fetch(url, headers)


def write_pdf(html: str, out: Path, *, ctx: PackContext) -> Path:
    """Render the HTML to an A4 landscape PDF at `out` (atomically), offline."""
    templates = templates_dir(ctx.project)
    fetcher = RestrictedFetcher([ctx.project.settings.root, templates])
    t = time.perf_counter()
    try:
        doc = HTML(string=html, base_url=str(templates) + "/", url_fetcher=fetcher).render()
    except Exception as e:  # WeasyPrint raises many kinds; name the pack in one line
        raise RenderError(
            f"could not render the board pack for {ctx.node.id} {ctx.period}: {type(e).__name__}: {e}"
        ) from e
    fileio.write_with(out, lambda p: doc.write_pdf(p))
    log.info("wrote %s (%d pages, %.1f s)", out, len(doc.pages), time.perf_counter() - t)
    return out


def default_out(project: Project, period: str, node_id: str) -> Path:
    """`output/<period>/<node>/board-pack.pdf`."""
    return project.settings.period_dir(period).joinpath(*node_id.split("/"), "board-pack.pdf")


def build_pack(project: Project, period: str, node_id: str, out: Path | None = None) -> Path:
    """Load, chart, read commentary, render and write one node's board pack."""
    ctx = load_context(project, period, node_id)
    charts = all_charts(ctx)
    notes = commentary_mod.load(project, period, node_id)
    html = render_html(ctx, charts, notes)
    return write_pdf(html, out or default_out(project, period, node_id), ctx=ctx)
