"""What one board pack shows: the figures of a node read back from `output/<period>/`.

Charts, commentary and rendering all start from a `PackContext`, so a pack depends
only on the files `reportlib compute` wrote (and the quality report and manifest
when present), never on the raw data.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

from . import csvsafe, fileio, layout, periods, restate
from . import scorecard as sc
from .config import KpiDef, Perspective, Project
from .errors import RenderError
from .formatting import favourable, missing
from .hierarchy import Hierarchy, Node

log = logging.getLogger(__name__)

MANUAL_COLUMNS = ("period", "node", "kpi", "computed_value", "value", "n", "author", "reason")

MATERIAL_SHARE = 0.25
"""A census KPI's change counts as a mover when it is at least this share of the gap
between its target and threshold (or, without a target, this share / 5 of last month's value)."""


@dataclass(frozen=True, eq=False)
class PackContext:
    """Everything a board pack for one node and period is made from."""

    project: Project = field(repr=False)
    period: str
    node: Node
    tree: Hierarchy = field(repr=False)
    current: pd.DataFrame = field(repr=False)
    history: pd.DataFrame = field(repr=False)
    escalations: pd.DataFrame = field(repr=False)
    manual_values: pd.DataFrame = field(repr=False)
    quality: dict[str, Any] | None = field(repr=False)
    as_of: str | None
    scorecard_hash: str | None = None
    """sha256 of output/<period>/scorecard.csv: what commentary is written against."""
    version: int = 1
    """Version of the period's figures: 1 + restatements kept in output/<period>/versions (§8)."""
    restated_on: str | None = None
    """Date of the latest restatement (YYYY-MM-DD), None when never restated."""
    restated_files: tuple[str, ...] = ()
    """The data and configuration files whose change led to the latest restatement."""
    channels: pd.DataFrame | None = field(default=None, repr=False)
    """Every node's survey and ticket KPIs by channel (channels.parquet), None when not written."""
    verbatims: pd.DataFrame | None = field(default=None, repr=False)
    """The month's redacted NPS comments of every node (verbatims.parquet), None when not written."""


@dataclass(frozen=True)
class Mover:
    """A KPI that moved materially (census) or significantly (survey) since last month."""

    kpi: KpiDef
    value: float
    prev: float
    delta: float
    good: bool | None
    size: float
    significant: bool | None


def tree_from_frame(project: Project, frame: pd.DataFrame) -> Hierarchy:
    """The hierarchy of the nodes present in a scorecard, in the scorecard's order."""
    names = dict(zip(frame["node"], frame["node_name"], strict=True))
    nodes = []
    for node_id, name in names.items():
        level = 0 if node_id == "all" else node_id.count("/") + 1
        parent = None if level == 0 else ("all" if level == 1 else node_id.rsplit("/", 1)[0])
        keys = () if level == 0 else tuple(node_id.split("/"))
        nodes.append(Node(id=node_id, name=str(name), level=level, keys=keys, parent=parent))
    return Hierarchy(levels=project.hierarchy.levels, nodes=tuple(nodes))


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        log.warning("%s is unreadable (%s): ignored", path, e)
        return None
    return data if isinstance(data, dict) else None


def _as_of(
    out: layout.PeriodOutput, quality: dict[str, Any] | None, project: Project
) -> str | None:
    """The data cut-off as recorded by the run (manifest.json, quality report, settings)."""
    for source in (_read_json(out.manifest), quality):
        if source and source.get("as_of"):
            return str(source["as_of"])
    return project.settings.as_of


def _manual_values(path: Path) -> pd.DataFrame:
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=list(MANUAL_COLUMNS))
    try:
        frame = csvsafe.read_csv(path, dtype={"period": str, "node": str, "kpi": str})
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=list(MANUAL_COLUMNS))
    for col in MANUAL_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    return frame[list(MANUAL_COLUMNS)]


def load_context(project: Project, period: str, node_id: str) -> PackContext:
    """Read a node's figures for `period` from output/<period>/ (written by `reportlib compute`)."""
    periods.check(period)
    out = layout.PeriodOutput(project.settings.output_path, period)
    card = out.scorecard_parquet
    if not card.is_file():
        raise RenderError(f"{card} not found: run `reportlib compute --period {period}` first")
    current = pd.read_parquet(card)
    hist_file = out.history
    history = pd.read_parquet(hist_file) if hist_file.is_file() else current
    tree = tree_from_frame(project, current)
    try:
        node = tree.node(node_id)
    except KeyError:
        known = ", ".join(tree.ids[:8]) + (", ..." if len(tree.ids) > 8 else "")
        raise RenderError(f"node {node_id!r} is not in {card} (nodes: {known})") from None
    mine = history[history["node"] == node.id]
    escalations = sc.escalations(mine, period, project.settings.escalate_after)
    quality = _read_json(out.quality_report)
    figures = restate.current_version(out)
    return PackContext(
        project=project,
        period=period,
        node=node,
        tree=tree,
        current=current,
        history=history,
        escalations=escalations,
        manual_values=_manual_values(out.manual_values),
        quality=quality,
        as_of=_as_of(out, quality, project),
        scorecard_hash=scorecard_hash(project, period),
        version=figures.version,
        restated_on=figures.restated_on,
        restated_files=figures.changed_files,
        channels=pd.read_parquet(out.channels) if out.channels.is_file() else None,
        verbatims=pd.read_parquet(out.verbatims) if out.verbatims.is_file() else None,
    )


def scorecard_hash(project: Project, period: str) -> str | None:
    """sha256 of output/<period>/scorecard.csv, what commentary is written against (DOMAIN.md §8)."""
    periods.check(period)
    csv = layout.PeriodOutput(project.settings.output_path, period).scorecard_csv
    return fileio.sha256(csv) if csv.is_file() else None


# --- views over the context ---------------------------------------------------------


def perspectives(project: Project) -> list[tuple[Perspective, list[KpiDef]]]:
    """Perspectives in configured order, each with its KPIs in catalogue order."""
    return [
        (p, [k for k in project.kpis if k.perspective == p.id])
        for p in project.hierarchy.perspectives
    ]


def node_rows(ctx: PackContext, node_id: str | None = None) -> pd.DataFrame:
    """This period's rows of a node (default: the pack's node), indexed by kpi."""
    nid = node_id or ctx.node.id
    return ctx.current[ctx.current["node"] == nid].set_index("kpi")


def row(ctx: PackContext, kpi: str, node_id: str | None = None) -> pd.Series | None:
    """One KPI's (or `score:...`'s) row for this period, or None."""
    rows = node_rows(ctx, node_id)
    return cast(pd.Series, rows.loc[kpi]) if kpi in rows.index else None


def series(
    ctx: PackContext, kpi: str, node_id: str | None = None, months: int | None = None
) -> pd.DataFrame:
    """A KPI's history at a node, one row per period of the window (missing periods filled empty)."""
    nid = node_id or ctx.node.id
    h = ctx.history
    h = h[(h["node"] == nid) & (h["kpi"] == kpi) & (h["period"] <= ctx.period)]
    first = h["period"].min() if len(h) else ctx.period
    if months is not None:
        first = max(first, periods.shift(ctx.period, -(months - 1)))
    span = periods.span(first, ctx.period)
    return h.set_index("period").reindex(span).rename_axis("period").reset_index()


def version_breaks(ctx: PackContext, kpi: str) -> list[tuple[str, str, str]]:
    """Periods in the trend window where the KPI's definition version changed (DOMAIN.md §8)."""
    s = series(ctx, kpi)
    out: list[tuple[str, str, str]] = []
    prev: str | None = None
    for period, version in zip(s["period"], s["kpi_version"], strict=True):
        if missing(version):
            continue
        v = str(version)
        if prev is not None and v != prev:
            out.append((str(period), prev, v))
        prev = v
    return out


def below_min_n(k: KpiDef, n: object, period: str | None = None) -> bool:
    """True when a value rests on fewer observations than the KPI's minimum (§4), in force in `period` (§8)."""
    min_n = k.min_n if period is None else k.in_force(period).min_n
    return min_n is not None and (missing(n) or float(n) < min_n)  # type: ignore[arg-type]


def movers(ctx: PackContext, limit: int = 5, node_id: str | None = None) -> list[Mover]:
    """Biggest month-on-month movers: survey KPIs only when significant, census KPIs when material.

    Size is the change relative to the KPI's target–threshold gap (or, without a
    target, relative to last month's value), so KPIs in different units compare.
    `node_id` names another node of the same scorecard (default: the pack's node).
    """
    rows = node_rows(ctx, node_id)
    out: list[Mover] = []
    for k in ctx.project.kpis:
        if k.id not in rows.index:
            continue
        r = cast(pd.Series, rows.loc[k.id])
        if (
            r["status"] in ("insufficient", "no-data")
            or missing(r["mom_delta"])
            or missing(r["prev_value"])
        ):
            continue
        delta = float(r["mom_delta"])
        sig = None if missing(r["mom_significant"]) else bool(r["mom_significant"])
        if k.sample and not sig:
            continue
        gap = (
            None
            if missing(r["target"]) or missing(r["threshold"])
            else abs(float(r["target"]) - float(r["threshold"]))
        )
        if gap:
            size = abs(delta) / gap
            material = size >= MATERIAL_SHARE
        elif float(r["prev_value"]) != 0:
            size = abs(delta) / abs(float(r["prev_value"]))
            material = size >= MATERIAL_SHARE / 5
        else:
            continue
        if k.sample or material:
            out.append(
                Mover(
                    kpi=k,
                    value=float(r["value"]),
                    prev=float(r["prev_value"]),
                    delta=delta,
                    good=favourable(delta, k.direction),
                    size=size,
                    significant=sig,
                )
            )
    out.sort(key=lambda m: (-m.size, m.kpi.id))
    return out[:limit]


def status_counts(ctx: PackContext) -> dict[str, int]:
    """How many of the node's KPIs are in each status this period."""
    rows = node_rows(ctx)
    kpi_ids = [k.id for k in ctx.project.kpis if k.id in rows.index]
    counts = rows.loc[kpi_ids, "status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in sc.STATUSES}
