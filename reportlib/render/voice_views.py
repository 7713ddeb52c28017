"""The channel page and "what customers say": records from channels.parquet and verbatims.parquet.

Both files are written by `reportlib compute` (see `channels` and `verbatims`); a pack
of a period computed before they existed simply leaves the two pages out.
"""

from __future__ import annotations

import pandas as pd

from .. import verbatims as verb
from ..formatting import format_n, format_value, missing, period_name
from ..packdata import PackContext
from .records import ChannelKpi, ChannelRow, Channels, Verbatim, Verbatims

VERBATIMS_SHOWN = 4
"""Comments shown per side (detractors, promoters)."""


def channel_name(channel: str) -> str:
    """`Email`, `In-app`; a short code such as `sms` in capitals (`SMS`)."""
    return channel.upper() if len(channel) <= 3 else channel[:1].upper() + channel[1:]


def _kpi_rows(ctx: PackContext, frame: pd.DataFrame, kpi_id: str) -> ChannelKpi | None:
    mine = frame[frame["kpi"] == kpi_id]
    if mine.empty or kpi_id not in {k.id for k in ctx.project.kpis}:
        return None
    k = ctx.project.kpi(kpi_id)
    cur, loc = ctx.project.settings.currency, ctx.project.settings.locale
    min_n = k.in_force(ctx.period).min_n
    rows = []
    for r in mine.sort_values(["n", "channel"], ascending=[False, True]).itertuples(index=False):
        interval = (
            ""
            if missing(r.ci_low) or missing(r.ci_high)
            else f"{format_value(r.ci_low, k.unit, cur, loc)} to {format_value(r.ci_high, k.unit, cur, loc)}"
        )
        rows.append(
            ChannelRow(
                channel=channel_name(str(r.channel)),
                value=format_value(r.value, k.unit, cur, loc),
                interval=interval,
                n=format_n(r.n, loc),
                low_n=min_n is not None and float(r.n) < min_n,  # type: ignore[arg-type]
            )
        )
    return ChannelKpi(name=k.name, rows=tuple(rows))


def channels_view(ctx: PackContext) -> Channels:
    """The node's survey KPIs by response channel and ticket KPIs by ticket channel (§3, §4)."""
    when = period_name(ctx.period, ctx.project.settings.locale)
    frame = ctx.channels
    if frame is None or frame.empty:
        return Channels(shown=False, period_name=when, surveys=(), tickets=())
    mine = frame[frame["node"] == ctx.node.id]
    surveys = tuple(
        v for v in (_kpi_rows(ctx, mine, kid) for kid in ("nps", "csat", "ces")) if v is not None
    )
    tickets = tuple(
        v for v in (_kpi_rows(ctx, mine, kid) for kid in ("fcr", "reopen_rate")) if v is not None
    )
    return Channels(
        shown=bool(surveys or tickets), period_name=when, surveys=surveys, tickets=tickets
    )


def _verbatim(ctx: PackContext, r: pd.Series) -> Verbatim:
    try:
        node = ctx.tree.node(str(r["node"])).name
    except KeyError:
        node = str(r["node"])
    return Verbatim(
        text=str(r["comment"]),
        score=str(int(r["score"])),
        channel=str(r["channel"]),
        node=node,
        date=str(r["responded_at"])[:10],
        same=int(r["same"]),
    )


def verbatims_view(ctx: PackContext) -> Verbatims:
    """The node's top detractor and promoter comments of the month (see `verbatims.top`)."""
    when = period_name(ctx.period, ctx.project.settings.locale)
    frame = ctx.verbatims
    if frame is None:
        return Verbatims(False, when, (), (), 0, 0)
    detr, prom = verb.top(frame, ctx.node.id, VERBATIMS_SHOWN)
    n_detr, n_prom = verb.counts(frame, ctx.node.id)
    return Verbatims(
        shown=True,
        period_name=when,
        detractors=tuple(_verbatim(ctx, r) for _, r in detr.iterrows()),
        promoters=tuple(_verbatim(ctx, r) for _, r in prom.iterrows()),
        n_detractors=n_detr,
        n_promoters=n_prom,
    )
