"""Where a parent's change came from: its children's contributions, rate and mix (DOMAIN.md §9).

For a rate KPI (a value that is the n-weighted mean of its children's values: NPS, CSAT,
CES, FCR, SLA compliance, reopen rate, retention, eNPS, attrition, training hours per
FTE) the parent's change between two periods splits exactly into one term per child c,
with weight w_c = n_c / n_parent and rate r_c:

    Δ = Σ_c (w_c,1 · r_c,1 − w_c,0 · r_c,0)

and each term into a rate effect w̄_c · Δr_c and a mix effect r̄_c · Δw_c, the bars being
the two periods' means; the terms add up to the parent's Δ (DOMAIN.md §9).

The counts and values come from the scorecard history (its n column), nothing else. The
split is withheld (None) when the children's figures do not reproduce the parent's in
either period: a median (first-response and resolution hours), a ratio of two different
bases (revenue growth, NRR), a child's manual value (parents use the raw rows), or a
child's rows missing from the scorecard. A sum (revenue) splits into the children's own
changes (`additive`: no mix effect). A child with no observations in one period enters or
leaves the mix: its rate that period is taken as its other period's, so its whole term is
a mix effect.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import pandas as pd

from . import periods
from .formatting import missing
from .hierarchy import Hierarchy, Node

log = logging.getLogger(__name__)

TOLERANCE = 1e-6
"""Relative tolerance of the check that the children reproduce the parent's n and value."""


@dataclass(frozen=True)
class Contribution:
    """One child's part of the parent's change: weights, rates, and the two effects."""

    node: Node
    n0: float
    n1: float
    r0: float
    r1: float
    w0: float
    w1: float
    rate: float
    """w̄ · Δr: the child's own value moved."""
    mix: float
    """r̄ · Δw: the child's share of the parent's n moved."""

    @property
    def total(self) -> float:
        """w1·r1 − w0·r0 = rate + mix."""
        return self.rate + self.mix


@dataclass(frozen=True)
class Decomposition:
    """A parent's change in one KPI between `before` and `period`, split over its children."""

    kpi: str
    node: Node
    before: str
    period: str
    value0: float
    value1: float
    n0: float
    n1: float
    contributions: tuple[Contribution, ...]
    """One per child, largest absolute contribution first."""

    @property
    def delta(self) -> float:
        return self.value1 - self.value0


def _figures(history: pd.DataFrame, kpi: str, period: str) -> dict[str, tuple[float, float]]:
    """(value, n) per node for one KPI and period; nodes without a value are left out."""
    h = history[(history["kpi"] == kpi) & (history["period"] == period)]
    out: dict[str, tuple[float, float]] = {}
    for node, value, n in zip(h["node"], h["value"], h["n"], strict=True):
        if missing(value) or missing(n):
            continue
        out[str(node)] = (float(value), float(n))
    return out


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _reproduces(
    parent: tuple[float, float], kids: list[tuple[float, float]], additive: bool
) -> bool:
    """True when the children's n add up to the parent's and their n-weighted mean is its value.

    For an additive KPI (a sum such as revenue) the children's values add up to the parent's.
    """
    value, n = parent
    if additive:
        return _close(sum(v for v, _ in kids), value)
    total = sum(k[1] for k in kids)
    if n <= 0 or not _close(total, n):
        return False
    return _close(sum(v * k for v, k in kids) / total, value)


def decompose(
    history: pd.DataFrame,
    tree: Hierarchy,
    node_id: str,
    kpi: str,
    period: str,
    *,
    additive: bool = False,
) -> Decomposition | None:
    """The split of `node_id`'s month-on-month change in `kpi` over its children, or None.

    None when the node has no children, either month lacks the parent's figure, or the
    children's figures do not reproduce the parent's (see the module docstring). An
    `additive` KPI (a sum: revenue) splits into its children's own changes: every weight
    is 1, so there is no mix effect and each contribution is a rate effect.
    """
    children = tree.children(node_id)
    if not children:
        return None
    before = periods.shift(period, -1)
    then, now = _figures(history, kpi, before), _figures(history, kpi, period)
    if node_id not in then or node_id not in now:
        return None
    empty = (0.0, 0.0)
    for figs in (then, now):
        kids = [figs.get(c.id, empty) for c in children]
        if not _reproduces(figs[node_id], kids, additive):
            log.debug("%s %s: the children do not add up to the parent: not split", node_id, kpi)
            return None
    (value0, n0), (value1, n1) = then[node_id], now[node_id]
    parts: list[Contribution] = []
    for c in children:
        r0, c0 = then.get(c.id, (math.nan, 0.0))
        r1, c1 = now.get(c.id, (math.nan, 0.0))
        if c0 == 0 and c1 == 0:
            continue
        if additive:
            # A sum without a row that month is nothing (0) that month.
            r0, r1 = (0.0 if c.id not in then else r0), (0.0 if c.id not in now else r1)
        else:
            # A child absent from one month enters or leaves the mix: its rate is held.
            r0 = r1 if c0 == 0 else r0
            r1 = r0 if c1 == 0 else r1
        w0, w1 = (1.0, 1.0) if additive else (c0 / n0, c1 / n1)
        parts.append(
            Contribution(
                node=c,
                n0=c0,
                n1=c1,
                r0=r0,
                r1=r1,
                w0=w0,
                w1=w1,
                rate=(w0 + w1) / 2 * (r1 - r0),
                mix=(r0 + r1) / 2 * (w1 - w0),
            )
        )
    parts.sort(key=lambda p: (-abs(p.total), p.node.id))
    return Decomposition(
        kpi=kpi,
        node=tree.node(node_id),
        before=before,
        period=period,
        value0=value0,
        value1=value1,
        n0=n0,
        n1=n1,
        contributions=tuple(parts),
    )


def leaders(d: Decomposition, share: float = 2 / 3, most: int = 2) -> tuple[Contribution, ...]:
    """The few children that explain the change: largest first, until they carry `share` of it.

    "Carry" is measured on absolute contributions (children can pull in opposite
    directions); at most `most` are named, the rest are summed as "the rest".
    """
    total = sum(abs(p.total) for p in d.contributions)
    out: list[Contribution] = []
    covered = 0.0
    for p in d.contributions:
        if len(out) >= most or (total and covered >= share * total):
            break
        out.append(p)
        covered += abs(p.total)
    return tuple(out)
