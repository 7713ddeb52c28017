"""The restatement page: what changed when a period's figures were recomputed (DOMAIN.md §8).

`compute` keeps the previous scorecard of a restated period under its versions folder
(`restate.keep_previous`). The page compares that kept version with the figures the pack
shows, for the pack's node and every node below it, and lists each KPI or score whose
value, n or status differs: before, after, the change and both statuses. A status can
change without its figure (a target restated), so statuses are compared too.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .. import layout, restate
from ..formatting import (
    day_text,
    format_delta,
    format_n,
    format_score,
    format_short,
    format_short_delta,
    missing,
    period_name,
    status_style,
)
from ..packdata import PackContext
from .page_records import Restatement, RestatementRow

log = logging.getLogger(__name__)

LIMIT = 30
"""Most changed rows the page lists; the rest are counted ("and 12 more")."""

KEY = ["node", "kpi"]


def _number(x: Any) -> float:
    v = pd.to_numeric(x, errors="coerce")
    return math.nan if pd.isna(v) else float(v)


def _differs(a: Any, b: Any) -> bool:
    x, y = _number(a), _number(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) != math.isnan(y)
    return not math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12)


def _text(x: Any) -> str | None:
    return None if missing(x) else str(x)


def previous_figures(ctx: PackContext) -> pd.DataFrame | None:
    """The scorecard of the version before the current one, None when never restated."""
    out = layout.PeriodOutput(ctx.project.settings.output_path, ctx.period)
    kept = restate.version_numbers(out)
    if ctx.version <= 1 or not kept:
        return None
    # a kept version holds the scorecard files under their usual names (restate.keep_previous)
    old = out.version_dir(kept[-1]) / out.scorecard_csv.name
    if not old.is_file():
        log.warning("restated period %s has no kept scorecard at %s", ctx.period, old)
        return None
    return pd.read_csv(old, dtype={"period": str, "node": str, "kpi": str, "status": str})


def changed_rows(ctx: PackContext, old: pd.DataFrame) -> pd.DataFrame:
    """Rows of the node and its descendants whose value, n or status differs, in pack order."""
    nodes = [ctx.node.id, *(n.id for n in ctx.tree.descendants(ctx.node.id))]
    cols = [*KEY, "value", "n", "status"]
    a = old[old["node"].isin(nodes)][cols].astype({"node": str, "kpi": str})
    b = ctx.current[ctx.current["node"].isin(nodes)][cols].astype({"node": str, "kpi": str})
    both = a.merge(b, on=KEY, how="outer", suffixes=("_old", "_new"))
    keep = [
        _differs(r["value_old"], r["value_new"])
        or _differs(r["n_old"], r["n_new"])
        or _text(r["status_old"]) != _text(r["status_new"])
        for r in both.to_dict("records")
    ]
    found = both[keep].copy()
    kpi_order = {k: i for i, k in enumerate(_keys(ctx))}
    node_order = {n: i for i, n in enumerate(nodes)}
    found["_n"] = found["node"].map(node_order)
    found["_k"] = found["kpi"].map(lambda k: kpi_order.get(k, len(kpi_order)))
    return found.sort_values(["_n", "_k", "kpi"]).drop(columns=["_n", "_k"])


def _keys(ctx: PackContext) -> list[str]:
    """Scores first (overall, then the perspectives), then the KPIs in catalogue order."""
    perspectives = [f"score:{p.id}" for p in ctx.project.hierarchy.perspectives]
    return ["score:overall", *perspectives, *(k.id for k in ctx.project.kpis)]


def _name(ctx: PackContext, key: str) -> tuple[str, str]:
    """(display name, unit) of a KPI or score key."""
    if key == "score:overall":
        return "Overall score", "score"
    if key.startswith("score:"):
        names = {p.id: p.name for p in ctx.project.hierarchy.perspectives}
        return f"{names.get(key[6:], key[6:])} score", "score"
    try:
        k = ctx.project.kpi(key)
    except KeyError:
        return key, ""
    return k.name, k.unit


def _value(ctx: PackContext, x: Any, unit: str) -> str:
    s = ctx.project.settings
    if unit == "score":
        return format_score(x, s.locale)
    return format_short(x, unit, s.currency, s.locale)


def _change(ctx: PackContext, r: Mapping[Any, Any], unit: str) -> str:
    s = ctx.project.settings
    old, new = _number(r["value_old"]), _number(r["value_new"])
    if math.isnan(old) or math.isnan(new):
        return ""
    if old == new:
        n_old, n_new = _number(r["n_old"]), _number(r["n_new"])
        if n_old != n_new and not (math.isnan(n_old) or math.isnan(n_new)):
            return f"n {format_n(n_old, s.locale)} → {format_n(n_new, s.locale)}"
        return "same figure"
    if unit == "score":
        return format_delta(new - old, "score", locale=s.locale)
    return format_short_delta(new - old, unit, s.currency, s.locale)


def _row(ctx: PackContext, r: Mapping[Any, Any], names: dict[str, str]) -> RestatementRow:
    name, unit = _name(ctx, str(r["kpi"]))
    return RestatementRow(
        node=names.get(str(r["node"]), str(r["node"])),
        kpi=name,
        before=_value(ctx, r["value_old"], unit),
        after=_value(ctx, r["value_new"], unit),
        change=_change(ctx, r, unit),
        status_before=status_style(_text(r["status_old"])),
        status_after=status_style(_text(r["status_new"])),
        before_id=_text(r["status_old"]) or "no-data",
        after_id=_text(r["status_new"]) or "no-data",
    )


def changed_inputs(files: Sequence[str]) -> str:
    """What changed the figures: the files recorded with the restatement (`restate.Version`),
    or, when none was (a database source, a new reportlib, a version kept before files were
    recorded), the kinds of change that restate a period."""
    if not files:
        return "a change in its inputs (late or corrected rows, manual values or KPI definitions)"
    if len(files) > 4:
        return f"a change to {', '.join(files[:4])} and {len(files) - 4} more files"
    listed = files[0] if len(files) == 1 else f"{', '.join(files[:-1])} and {files[-1]}"
    return f"a change to {listed}"


def restatement_view(ctx: PackContext, limit: int = LIMIT) -> Restatement:
    """The restatement page of a restated period; not shown otherwise."""
    old = previous_figures(ctx)
    if old is None:
        return Restatement(shown=False)
    found = changed_rows(ctx, old)
    names = {
        ctx.node.id: ctx.node.name,
        **{n.id: n.name for n in ctx.tree.descendants(ctx.node.id)},
    }
    rows = tuple(_row(ctx, r, names) for r in found.head(limit).to_dict("records"))
    s = ctx.project.settings
    when = period_name(ctx.period, s.locale)
    on = f" on {day_text(ctx.restated_on, s.locale)}" if ctx.restated_on else ""
    below = " and the nodes below it" if ctx.tree.children(ctx.node.id) else ""
    count = len(found)
    what = (
        f"{count} figure{'s' if count != 1 else ''} or status{'es' if count != 1 else ''} "
        f"of {ctx.node.name}{below} differ from version {ctx.version - 1}"
        if count
        else f"none of the figures of {ctx.node.name}{below} changed (the changes are elsewhere)"
    )
    reason = (
        f"{when} was recomputed{on} after its figures were first issued, and "
        f"{changed_inputs(ctx.restated_files)} changed them: this is version {ctx.version}. "
        f"{what[0].upper()}{what[1:]}. Commentary written before the restatement is marked as "
        "written against earlier figures."
    )
    return Restatement(
        shown=True,
        title=f"Restatement: version {ctx.version}",
        reason=reason,
        rows=rows,
        more=max(count - limit, 0),
    )
