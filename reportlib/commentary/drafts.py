"""Commentary drafts written from the figures: a starting point an analyst edits, never overwritten."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from .. import cascade, explain
from ..config import Project
from ..formatting import (
    format_delta,
    format_score,
    format_value,
    missing,
    period_name,
    status_style,
)
from ..packdata import (
    PackContext,
    load_context,
    movers,
    node_rows,
    perspectives,
    row,
    status_counts,
)
from ..scores import coverage_phrase
from .files import path_for

log = logging.getLogger(__name__)


def _kpi_line(ctx: PackContext, kpi_id: str) -> str:
    k = ctx.project.kpi(kpi_id)
    r = row(ctx, kpi_id)
    if r is None:
        return f"- **{k.name}**: no data."
    cur, loc = ctx.project.settings.currency, ctx.project.settings.locale
    text = f"- **{k.name}**: {format_value(r['value'], k.unit, cur, loc)}"
    if not missing(r["target"]):
        text += f" against a target of {format_value(r['target'], k.unit, cur, loc)}"
    text += f" ({status_style(r['status']).label.lower()})"
    if r["status"] == "insufficient":
        text += f", only {int(r['n']) if not missing(r['n']) else 0} responses (minimum {k.min_n})"
    if not missing(r["mom_delta"]):
        text += f"; {format_delta(r['mom_delta'], k.unit, cur, loc)} on last month"
        if k.sample and r["mom_significant"] is not None and not missing(r["mom_significant"]):
            text += "" if bool(r["mom_significant"]) else " (not significant)"
    return text + "."


def _score_sentence(ctx: PackContext, key: str, label: str) -> str:
    r = row(ctx, key)
    loc = ctx.project.settings.locale
    if r is not None and r["status"] == "insufficient" and not missing(r.get("scored")):
        done = coverage_phrase(int(r["scored"]), int(r["total"]), overall=key == "score:overall")
        return f"{label}: no score this month ({done}, less than half of the weight)."
    if r is None or missing(r["value"]):
        return f"{label}: no score this month (no KPI with a target and enough data)."
    text = f"{label}: **{format_score(r['value'], loc)} / 10** ({status_style(r['status']).label.lower()})"
    if not missing(r["mom_delta"]):
        d = float(r["mom_delta"])
        text += (
            f", {'up' if d > 0 else 'down' if d < 0 else 'unchanged'} {format_score(abs(d), loc)} on last month"
            if round(d, 1)
            else ", unchanged on last month"
        )
    return text + "."


def _below_lines(ctx: PackContext) -> list[str]:
    """Escalations and reds of the nodes below, counted and named (none for a leaf node)."""
    if not ctx.tree.descendants(ctx.node.id):
        return []
    found = cascade.findings_below(ctx)
    esc = [(f.node.name, len(f.escalations)) for f in found]
    reds = [(f.node.name, len(f.reds)) for f in found]
    n_esc, n_red = sum(n for _, n in esc), sum(n for _, n in reds)
    if not n_esc and not n_red:
        return ["Below this node, no KPI is off target.", ""]
    text = "Below this node: "
    parts = []
    if n_esc:
        parts.append(f"{explain.plural(n_esc, 'escalation')} ({explain.where_line(esc)})")
    if n_red:
        parts.append(f"{explain.plural(n_red, 'KPI')} off target ({explain.where_line(reds)})")
    return [text + "; ".join(parts) + ".", ""]


def _actions_skeleton(ctx: PackContext) -> list[str]:
    """Front-matter lines for the actions on the escalated KPIs, commented out (DOMAIN.md §8).

    `actions:` with nothing under it is no action, so the file stays a valid draft (and the
    escalations page says "No action recorded") until the owner fills an entry in and
    removes its `#`.
    """
    if not len(ctx.escalations):
        return []
    loc = ctx.project.settings.locale
    lines = [
        "actions:  # per escalated KPI: remove the '#' of an entry and fill it in;"
        " status: open, done or dropped",
    ]
    for _, e in ctx.escalations.iterrows():
        k = ctx.project.kpi(str(e["kpi"]))
        lines += [
            f"#  - kpi: {k.id}  # {k.name}, red since {period_name(str(e['since']), loc)}",
            "#    action: what is being done about it",
            f"#    owner: {k.owner}",
            "#    due: YYYY-MM-DD",
            "#    status: open",
        ]
    return lines


def draft(ctx: PackContext) -> str:
    """A Markdown starting point written from the figures: scores, movers, reds and escalations."""
    cur, loc = ctx.project.settings.currency, ctx.project.settings.locale
    when = period_name(ctx.period, loc)
    counts = status_counts(ctx)
    total = sum(counts.values())
    lines = [
        "---",
        f"node: {ctx.node.id}",
        f"period: '{ctx.period}'",
        f"scorecard_hash: {ctx.scorecard_hash or 'null'}",
        "status: draft  # remove this line once the commentary is reviewed",
        *_actions_skeleton(ctx),
        "---",
        "",
        f"# {ctx.node.name}: {when}",
        "",
        "## Summary",
        "",
        _score_sentence(ctx, "score:overall", "Overall score"),
        f"{counts['green']} of {total} KPIs are on target, {counts['amber']} to watch and "
        f"{counts['red']} off target"
        + (
            f"; {counts['insufficient']} have too few responses to judge"
            if counts["insufficient"]
            else ""
        )
        + ".",
        "",
    ]
    moved = movers(ctx)
    if moved:
        lines.append("Biggest movers since last month:")
        lines.append("")
        for m in moved:
            verb = "improved" if m.good else "worsened" if m.good is False else "moved"
            lines.append(
                f"- **{m.kpi.name}** {verb} from {format_value(m.prev, m.kpi.unit, cur, loc)} to "
                f"{format_value(m.value, m.kpi.unit, cur, loc)} ({format_delta(m.delta, m.kpi.unit, cur, loc)}"
                + (", significant" if m.significant else "")
                + ")."
            )
        lines.append("")
    else:
        lines += ["No KPI moved significantly since last month.", ""]
    sources = explain.change_sources(ctx)
    if sources:
        lines += ["Where the changes came from (contributions of the nodes below):", ""]
        lines += [f"- {s.sentence}" for s in sources]
        lines.append("")
    lines += _below_lines(ctx)
    esc = ctx.escalations
    if len(esc):
        lines.append(
            f"Escalations (off target for {ctx.project.settings.escalate_after} months or more):"
        )
        lines.append("")
        for _, e in esc.iterrows():
            k = ctx.project.kpi(str(e["kpi"]))
            lines.append(
                f"- **{k.name}**: {int(e['streak'])} months since {period_name(str(e['since']), loc)} "
                f"(owner: {k.owner})."
            )
        lines.append("")
    lines += ["_Add the story behind these figures: causes, actions, owners and dates._", ""]
    rows = node_rows(ctx)
    for p, kpis in perspectives(ctx.project):
        lines += [f"## {p.name}", "", _score_sentence(ctx, f"score:{p.id}", "Score"), ""]
        shown = [
            k.id
            for k in kpis
            if k.id in rows.index and rows.at[k.id, "status"] in ("red", "amber", "insufficient")
        ]
        shown += [m.kpi.id for m in moved if m.kpi.perspective == p.id and m.kpi.id not in shown]
        if shown:
            lines += [_kpi_line(ctx, kid) for kid in shown]
        else:
            lines.append("All KPIs with a target are on target.")
        lines += ["", f"_What drove the {p.name.lower()} figures, and what is being done?_", ""]
    return "\n".join(lines)


def _create(path: Path, text: str) -> bool:
    """Write `text` to a new file atomically; False (and nothing written) if it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.link(tmp, path)  # fails if the file exists: an analyst's edits are never overwritten
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def write_drafts(project: Project, period: str, node_ids: list[str] | None = None) -> list[Path]:
    """Write a draft for each node (default: every node) that has no commentary file yet."""
    if node_ids is None:
        node_ids = list(load_context(project, period, "all").tree.ids)
    written = []
    for node_id in node_ids:
        path = path_for(project, period, node_id)
        if path.exists():
            log.info("%s exists: left as it is", path)
            continue
        if _create(path, draft(load_context(project, period, node_id))):
            written.append(path)
    return written
